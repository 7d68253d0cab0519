"""The config options of every experiment command: ``--preset``, ``--config FILE``, one
option per config field (and per experiment field), and ``KEY=VALUE`` overrides after the
command, resolved in that order into the frozen configs the command receives. The kernel
baselines' settings (:class:`~multiview.sim.experiment_config.KernelConfig`) have no flags:
``kernels.NAME=VALUE`` overrides and a ``[kernels]`` table of the config file set them."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import fields as dc_fields
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from multiview.errors import ConfigError
from multiview.sim.config import (
    PRESETS,
    TheoremsConfig,
    all_fields,
    field_help,
    preset,
    scale_schedule,
    theorems_preset,
    with_overrides,
)
from multiview.sim.config_file import ConfigValues, parse_overrides, read_config_file
from multiview.sim.experiment_config import KernelConfig

__all__ = ["ConfigFileOpt", "OverridesArg", "with_config_options"]


def _option(
    name: str, typ: type, help_text: str, panel: str, default: Any, note: str = ""
) -> inspect.Parameter:
    if typ is tuple:  # ensemble_sizes: a comma-separated list on the command line
        typ = str
        default = ",".join(map(str, default))
    help_text = f"{help_text} (default: {default}{note})"
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[typ],  # noqa: UP045 - typer needs Optional here
            typer.Option(help=help_text, rich_help_panel=panel),
        ],
    )


_PRESET_NOTE = " in the default preset"


def _theorems_config(values: dict[str, Any], preset_name: str = "default") -> TheoremsConfig:
    given = {k: v for k, v in values.items() if v is not None}
    if isinstance(given.get("ensemble_sizes"), str):
        try:
            given["ensemble_sizes"] = tuple(int(v) for v in given["ensemble_sizes"].split(","))
        except ValueError:
            raise ConfigError(
                f"ensemble_sizes = {given['ensemble_sizes']!r} is invalid: must be a "
                "comma-separated list of integers, e.g. 1,2,4,8,16"
            ) from None
    return theorems_preset(preset_name, **given)  # the preset's settings, options win


def _given_twice(flags: dict[str, Any], extra: dict[str, Any]) -> None:
    """Refuse a field set both by a flag and by a ``key=value`` override to another value."""
    for name, value in extra.items():
        flag = flags.get(name)
        if flag is not None and str(flag) != str(value) and flag != value:
            raise ConfigError(
                f"{name} is given twice: --{name.replace('_', '-')} {flag} and "
                f"{name}={value}; give one of them"
            )


ConfigFileOpt = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option(
        "--config",
        help="start from this config file: a run's config.json (reproduces that run), or a "
        "TOML / JSON file with the config's fields (nested [data] tables or flat); flags and "
        "KEY=VALUE overrides win over it (default: none)",
        show_default=False,
        rich_help_panel="Config fields",
    ),
]
OverridesArg = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional here
    typer.Argument(
        metavar="KEY=VALUE",
        help="config overrides after the command, by field name or dotted: k=20 "
        "data.noise_scale=1.5 theorems.teacher_size=4 kernels.rf_width=128 (checked as the "
        "flags are)",
        show_default=False,
    ),
]


def with_config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func(cfg: SimConfig, [th: TheoremsConfig,] [kc: KernelConfig,] **rest)``
    ``--preset``, ``--config FILE``, ``KEY=VALUE`` overrides and one option per config field
    (and per experiment field when it takes ``th``; the kernel fields, when it takes ``kc``,
    are set by ``kernels.NAME=VALUE`` overrides and the config file only).

    The wrapper resolves, in order, the preset, the config file, the flags and the
    overrides (a later one wins; a flag and an override that disagree are refused), and
    validates once; errors are reported by :func:`add_command`.
    """
    sig = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)  # string annotations resolved
    wants_th = "th" in sig.parameters
    wants_kc = "kc" in sig.parameters
    rest = [
        p.replace(annotation=hints.get(name, p.annotation))
        for name, p in sig.parameters.items()
        if name not in ("cfg", "th", "kc")
    ]
    params = [
        inspect.Parameter(
            "overrides", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=OverridesArg
        ),
        inspect.Parameter(
            "preset_name",
            inspect.Parameter.KEYWORD_ONLY,
            default="default",
            annotation=Annotated[
                str,
                typer.Option(
                    "--preset",
                    help="named preset the config fields start from: " + ", ".join(PRESETS),
                ),
            ],
        ),
        inspect.Parameter(
            "config_file", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigFileOpt
        ),
    ]
    taken = {p.name for p in rest}
    field_names = [name for name, _, _ in all_fields() if name not in taken]
    params += [
        _option(name, typ, field_help(name), "Config fields", default, _PRESET_NOTE)
        for name, typ, default in all_fields()
        if name not in taken
    ]
    th_names = [f.name for f in dc_fields(TheoremsConfig)] if wants_th else []
    params += [
        _option(name, type(value), field_help(name), "Experiment fields", value)
        for name, value in ((n, getattr(TheoremsConfig(), n)) for n in th_names)
    ]

    @functools.wraps(func)
    def wrapper(**kwargs):
        flags = {n: kwargs.pop(n) for n in field_names}
        th_flags = {n: kwargs.pop(n) for n in th_names}
        name = kwargs.pop("preset_name")
        path = kwargs.pop("config_file")
        extra = parse_overrides(kwargs.pop("overrides"))
        if extra.theorems and not wants_th:
            raise ConfigError(
                f"{', '.join(extra.theorems)}: an experiment field; this command has none"
            )
        if extra.kernels and not wants_kc:
            raise ConfigError(
                f"{', '.join('kernels.' + n for n in extra.kernels)}: a kernel-baseline field; "
                "this command runs no kernel baselines"
            )
        _given_twice(flags, extra.sim)
        _given_twice(th_flags, extra.theorems)
        file = read_config_file(path) if path is not None else ConfigValues()
        given = {k: v for k, v in flags.items() if v is not None}
        values = {**file.sim, **given, **extra.sim}
        cfg = with_overrides(preset(name), **values)
        if values.get("steps") is None:  # not given: the preset's schedule, scaled with k, N
            cfg = scale_schedule(preset(name), cfg)
        if wants_th:
            th_given = {k: v for k, v in th_flags.items() if v is not None}
            th_values = {**file.theorems, **th_given, **extra.theorems}
            kwargs["th"] = _theorems_config(th_values, name)
        if wants_kc:  # the file's kernel fields are ignored by a command without kernels
            kwargs["kc"] = KernelConfig(**{**file.kernels, **extra.kernels})
        return func(cfg, **kwargs)

    wrapper.__signature__ = sig.replace(
        parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in rest] + params
    )
    return wrapper
