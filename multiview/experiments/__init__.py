"""Experiments: each a function of a config that trains seeds and measures predictions.

One module per experiment; each imports only :mod:`multiview.sim` (and the base modules
``errors``, ``io``, ``stats``), never a sibling, except the two composites: ``theorems``
runs the others, ``sweep`` runs ``simulate`` per grid cell.
"""

from collections.abc import Callable

#: ``progress(label)`` -> an ``on_chunk(steps_done, total)`` callback for one training stage
#: (or None): how experiments report to a progress display without knowing about it. A
#: display may also count stages reused from disk (a resumed run): ``skip(label, count)``.
Progress = Callable[[str], Callable[[int, int], None] | None]


def no_progress(_label: str) -> None:
    """The :data:`Progress` that reports nothing."""
    return None
