"""The studies: one folder each, with its question, command, answer and date in its README,
its drivers, and its ``results/``. Run a driver from the repository root as
``python -m experiments.<study>.<driver>``; the index is ``experiments/README.md``."""
