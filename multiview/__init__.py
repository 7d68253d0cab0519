"""multiview: a JAX laboratory for the multi-view theory of ensembles and distillation.

The curated public API: configs and presets (``preset("quick", noise_scale=2.0)``), one
function per experiment returning a typed result (``simulate``, ``theorems``, ``ensemble``,
``distill``, ``self_distill``, ``train_average``, ``sweep``, ``cifar_experiments``), ``load``
for any run folder, figures of results, and the lower-level entry points and writers.
Everything else is importable from its module (see docs/architecture.md for the layout).
"""

__version__ = "0.1.0"

import importlib  # noqa: E402

#: Where each name of the public API lives. They are imported on first use (PEP 562), so
#: ``import multiview`` is instant and the console script can handle Ctrl-C before JAX loads.
_EXPORTS = {
    "cifar_experiments": "multiview.api",
    "distill": "multiview.api",
    "ensemble": "multiview.api",
    "preset": "multiview.api",
    "self_distill": "multiview.api",
    "simulate": "multiview.api",
    "sweep": "multiview.api",
    "theorems": "multiview.api",
    "theorems_config": "multiview.api",
    "train_average": "multiview.api",
    "CifarRun": "multiview.results",
    "Prediction": "multiview.results",
    "Predictions": "multiview.prediction_list",
    "SimulationRun": "multiview.results",
    "SweepRun": "multiview.results",
    "TheoremsRun": "multiview.results",
    "load": "multiview.results",
    "plot_accuracy": "multiview.plotting",
    "plot_ensemble_curve": "multiview.plotting",
    "plot_lambda": "multiview.plotting",
    "plot_learned_views": "multiview.plotting",
    "plot_lottery": "multiview.plotting",
    "plot_memorization": "multiview.plotting",
    "plot_phase_diagram": "multiview.plotting",
    "plot_training_curves": "multiview.plotting",
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
    "KernelConfig": "multiview.sim.experiment_config",
    "ModelConfig": "multiview.sim.config",
    "SimConfig": "multiview.sim.config",
    "TheoremsConfig": "multiview.sim.config",
    "TrainConfig": "multiview.sim.config",
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
    # configs and presets
    "DataConfig",
    "KernelConfig",
    "ModelConfig",
    "PRESETS",
    "SimConfig",
    "TheoremsConfig",
    "TrainConfig",
    "preset",
    "theorems_config",
    "with_overrides",
    # experiments
    "cifar_experiments",
    "distill",
    "ensemble",
    "self_distill",
    "simulate",
    "sweep",
    "theorems",
    "train_average",
    # results
    "CifarRun",
    "Prediction",
    "Predictions",
    "SimulationRun",
    "SweepRun",
    "TheoremsRun",
    "load",
    # figures
    "plot_accuracy",
    "plot_ensemble_curve",
    "plot_lambda",
    "plot_learned_views",
    "plot_lottery",
    "plot_memorization",
    "plot_phase_diagram",
    "plot_training_curves",
    # errors
    "ConfigError",
    "DataError",
    "MultiviewError",
    # lower-level entry points and writers
    "SimulationResult",
    "plot_heatmaps",
    "run_distributed_simulation",
    "run_simulation",
    "run_sweep",
    "run_theorems",
    "write_simulation",
    "write_theorems",
]
