"""Reports: results directories, Markdown tables and figures of the experiments' results.

``plots`` (matplotlib, Agg) and ``tables`` at the bottom; ``simulation``, ``theorems``,
``sweep`` and ``cifar`` write the outputs of the experiment of the same name. Reports read
results, they never train.
"""
