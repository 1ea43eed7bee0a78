"""IndRNN for rnnbench: see plugin.py."""
