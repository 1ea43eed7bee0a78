"""Built-in task plugins and the text pipeline."""
