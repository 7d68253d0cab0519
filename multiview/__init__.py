"""multiview: a JAX laboratory for the multi-view theory of ensembles and distillation.

The curated public API: configs and presets, the experiments' entry functions and the
writers of their results. Everything else is importable from its module (see
docs/architecture.md for the layout).
"""

__version__ = "0.1.0"

import importlib  # noqa: E402

#: Where each name of the public API lives. They are imported on first use (PEP 562), so
#: ``import multiview`` is instant and the console script can handle Ctrl-C before JAX loads.
_EXPORTS = {
    "ConfigError": "multiview.errors",
    "DataError": "multiview.errors",
    "MultiviewError": "multiview.errors",
    "SimulationResult": "multiview.experiments.simulate",
    "run_distributed_simulation": "multiview.experiments.simulate",
    "run_simulation": "multiview.experiments.simulate",
    "run_sweep": "multiview.experiments.sweep",
    "run_theorems": "multiview.experiments.theorems",
    "write_simulation": "multiview.report.simulation",
    "plot_heatmaps": "multiview.report.sweep",
    "write_theorems": "multiview.report.theorems",
    "PRESETS": "multiview.sim.config",
    "DataConfig": "multiview.sim.config",
    "ModelConfig": "multiview.sim.config",
    "SimConfig": "multiview.sim.config",
    "TheoremsConfig": "multiview.sim.config",
    "TrainConfig": "multiview.sim.config",
    "preset": "multiview.sim.config",
    "with_overrides": "multiview.sim.config",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'multiview' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "__version__",
    "ConfigError",
    "DataConfig",
    "DataError",
    "ModelConfig",
    "MultiviewError",
    "PRESETS",
    "SimConfig",
    "SimulationResult",
    "TheoremsConfig",
    "TrainConfig",
    "plot_heatmaps",
    "preset",
    "run_distributed_simulation",
    "run_simulation",
    "run_sweep",
    "run_theorems",
    "with_overrides",
    "write_simulation",
    "write_theorems",
]
