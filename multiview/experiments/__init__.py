"""Experiments: each a pure function of a config that trains seeds and measures predictions."""
