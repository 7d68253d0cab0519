"""The one way config fields are declared and checked: help text kept with the field, and
one-line messages that name the field and its allowed range."""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from multiview.errors import ConfigError

__all__ = ["config_field", "check", "check_int", "check_float", "FLOAT32_MAX"]


def config_field(default: Any, help: str) -> Any:
    """A config field with its ``--help`` text kept beside it (dataclass metadata)."""
    return field(default=default, metadata={"help": help})


def check(cond: bool, name: str, allowed: str, value: Any) -> None:
    if not cond:
        raise ConfigError(f"{name} = {value!r} is invalid: must be {allowed}")


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo
    ok = ok and (hi is None or value <= hi)
    rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    check(ok, name, rng, value)


#: The largest finite float32: the simulator computes in float32, so a larger value would
#: become infinity only after the compute (a figure that cannot be drawn, NaN results).
FLOAT32_MAX = 3.4028234663852886e38


def check_float(name: str, value: Any, lo: float, hi: float | None = None, open_lo=False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and abs(value) > FLOAT32_MAX:
        check(False, name, f"a number float32 can hold (|x| <= {FLOAT32_MAX:.4g})", value)
    if ok:
        ok = value > lo if open_lo else value >= lo
        ok = ok and (hi is None or value <= hi)
    lo_s = f"> {lo}" if open_lo else f">= {lo}"
    rng = f"a number {lo_s}" if hi is None else f"a number in {'(' if open_lo else '['}{lo}, {hi}]"
    check(ok, name, rng, value)
