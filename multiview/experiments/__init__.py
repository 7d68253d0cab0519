"""Experiments: each a pure function of a config that trains seeds and measures predictions."""

from collections.abc import Callable

#: ``progress(label)`` -> an ``on_chunk(steps_done, total)`` callback for one training stage
#: (or None): how experiments report to a progress display without knowing about it.
Progress = Callable[[str], Callable[[int, int], None] | None]
