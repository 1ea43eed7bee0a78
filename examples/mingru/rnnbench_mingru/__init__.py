"""minGRU for rnnbench: see plugin.py."""
