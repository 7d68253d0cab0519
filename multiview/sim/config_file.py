"""Config values from outside the flags: a config file and ``key=value`` overrides.

A config file is a run folder's ``config.json`` (``{"config": {...}, "theorems": {...},
"run": {...}}``: the resolved config, so the run is reproduced bit for bit), or a JSON or
TOML file with the same fields, nested (``[data]`` / ``{"data": {...}}``) or flat
(``k = 20``), with the experiment settings in a ``theorems`` table and the kernel baselines'
in a ``kernels`` table. ``key=value`` overrides name a field by its leaf name or dotted
(``k=20``, ``data.noise_scale=1.5``, ``theorems.teacher_size=4``); a kernel field only dotted
(``kernels.rf_width=128``: its ``seeds`` and ``batch`` are not the simulation's). Every value is checked against the field's type here, and its
range by the config classes, with the same one-line errors as the flags.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from multiview.errors import ConfigError
from multiview.sim.config import DataConfig, ModelConfig, TrainConfig, all_fields
from multiview.sim.experiment_config import KernelConfig, TheoremsConfig

__all__ = ["ConfigValues", "read_config_file", "parse_overrides"]

#: The sections a dotted key or a nested file may name, and the leaf fields each holds.
_SECTIONS = {
    "data": {f.name for f in dataclasses.fields(DataConfig)},
    "model": {f.name for f in dataclasses.fields(ModelConfig)},
    "train": {f.name for f in dataclasses.fields(TrainConfig)},
}
_SIM_TYPES = {name: typ for name, typ, _ in all_fields()}


def _field_types(cls) -> dict[str, type]:
    """Each field of the config class ``cls`` and the type of its default."""
    return {f.name: type(getattr(cls(), f.name)) for f in dataclasses.fields(cls)}


_TH_TYPES = _field_types(TheoremsConfig)
_TH_SECTION = "theorems"
_KERNEL_TYPES = _field_types(KernelConfig)
_KERNEL_SECTION = "kernels"
#: The tables beside the simulation's sections: the experiment and kernel-baseline settings.
_EXTRA_SECTIONS = (_TH_SECTION, _KERNEL_SECTION)
#: The element type of each tuple field (a list, or comma-separated on the command line).
_ITEM_TYPES = {"ensemble_sizes": int, "kinds": str}


@dataclasses.dataclass
class ConfigValues:
    """Field values by leaf name: ``sim`` (data, model, train and top-level fields of
    :class:`SimConfig`), ``theorems`` (fields of :class:`TheoremsConfig`) and ``kernels``
    (fields of :class:`KernelConfig`)."""

    sim: dict[str, Any] = dataclasses.field(default_factory=dict)
    theorems: dict[str, Any] = dataclasses.field(default_factory=dict)
    kernels: dict[str, Any] = dataclasses.field(default_factory=dict)


def _typed(name: str, value: Any, typ: type, where: str) -> Any:
    """``value`` (text from the command line, or a JSON / TOML value) as a ``typ`` value."""

    def bad(must: str) -> ConfigError:
        return ConfigError(f"{name} = {value!r} is invalid{where}: must be {must}")

    if typ is tuple:  # ensemble_sizes, kinds: a list, or comma-separated values
        item = _ITEM_TYPES.get(name, int)
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise bad("a list of integers, e.g. 1,2,4,8" if item is int else "a list, e.g. rf,ntk")
        return tuple(
            _typed(name, v.strip() if isinstance(v, str) else v, item, where) for v in items
        )
    if isinstance(value, str) and typ is not str:
        text = value.strip()
        try:
            value = int(text) if typ is int else float(text)
        except ValueError:
            raise bad("an integer" if typ is int else "a number") from None
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise bad("an integer")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if not math.isfinite(value):
            raise bad("a finite number")
        return float(value)
    if not isinstance(value, str):
        raise bad("a string")
    return value


def _place(name: str, section: str | None, where: str) -> str:
    """Which config a leaf field belongs to (``sim``, ``theorems`` or ``kernels``), checking
    that a named ``section`` holds it."""
    if section == _KERNEL_SECTION:
        if name in _KERNEL_TYPES:
            return "kernels"
    elif section == _TH_SECTION:
        if name in _TH_TYPES:
            return "theorems"
    elif section in _SECTIONS:
        if name in _SECTIONS[section]:
            return "sim"
    elif section is None:
        if name in _SIM_TYPES:
            return "sim"
        if name in _TH_TYPES:
            return "theorems"
    shown = f"{section}.{name}" if section else name
    raise ConfigError(f"unknown config field {shown!r}{where}")


def _add(values: ConfigValues, name: str, section: str | None, raw: Any, where: str) -> None:
    kind = _place(name, section, where)
    types = {"sim": _SIM_TYPES, "theorems": _TH_TYPES, "kernels": _KERNEL_TYPES}[kind]
    getattr(values, kind)[name] = _typed(name, raw, types[name], where)


def _from_mapping(body: dict[str, Any], where: str) -> ConfigValues:
    if isinstance(body.get("config"), dict):  # a run folder's config.json
        inner = dict(body["config"])
        for section in _EXTRA_SECTIONS:
            if isinstance(body.get(section), dict):
                inner[section] = body[section]
        body = inner
    values = ConfigValues()
    for key, val in body.items():
        if key in _SECTIONS or key in _EXTRA_SECTIONS:
            if not isinstance(val, dict):
                raise ConfigError(f"{key} is invalid{where}: must be a table of fields")
            for name, raw in val.items():
                _add(values, name, key, raw, where)
        else:
            _add(values, key, None, val, where)
    return values


def read_config_file(path: str | Path) -> ConfigValues:
    """The field values of a config file: a run's ``config.json``, or a ``.json`` /
    ``.toml`` file with the config's fields. One-line :class:`ConfigError` when the file is
    missing, unreadable, or names an unknown field or a value of the wrong type."""
    path = Path(path)
    where = f" in {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"--config {path}: cannot read it ({err.__class__.__name__})") from None
    try:
        if path.suffix.lower() == ".toml":
            body = tomllib.loads(text)
        else:
            body = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise ConfigError(f"--config {path}: not valid {kind} ({err})") from None
    if not isinstance(body, dict):
        raise ConfigError(f"--config {path}: expected a table of config fields")
    return _from_mapping(body, where)


def parse_overrides(items: list[str] | None) -> ConfigValues:
    """``["k=20", "data.noise_scale=1.5", ...]`` as typed field values (a later item wins,
    as in Hydra). One-line :class:`ConfigError` for an item without ``=``, an unknown field,
    or a value of the wrong type."""
    values = ConfigValues()
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"{item!r} is not an override: give KEY=VALUE, e.g. k=20 or data.noise_scale=1.5"
            )
        section, _, name = key.rpartition(".")
        if section and section not in _SECTIONS and section not in _EXTRA_SECTIONS:
            raise ConfigError(f"unknown config field {key!r}")
        _add(values, name.replace("-", "_"), section or None, raw, "")
    return values
