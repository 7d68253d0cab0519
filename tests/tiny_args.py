"""The smallest simulator the command-line tests train, as options of any training command.

One table, so that the CLI, sweep, theorems, contract and interrupt tests agree on what "tiny"
means and a test that needs other values says only what differs: ``tiny_args(steps=30)``.
"""

#: Option -> value; underscores become dashes on the command line.
TINY = {
    "k": 4,
    "d": 64,
    "patches": 8,
    "n_train": 40,
    "n_test": 40,
    "width": 2,
    "steps": 20,
    "chunks": 2,
    "log_points": 5,
    "seeds": 4,
}


def tiny_args(**changes) -> list[str]:
    """``["--k", "4", ...]`` for :data:`TINY` updated by ``changes`` (``None`` drops an option)."""
    args: list[str] = []
    for name, value in {**TINY, **changes}.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", str(value)]
    return args
