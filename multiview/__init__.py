"""multiview: a JAX laboratory for the multi-view theory of ensembles and distillation.

The curated public API (see README's "Python API" and ``examples/quickstart.ipynb``)::

    import multiview as mv

    r = mv.simulate(mv.preset("quick", seeds=4))   # a SimulationRun
    r.predictions                                   # Prediction records (id, measured, holds...)
    mv.plot_lambda(r)                               # a matplotlib figure
    r.save("runs/mine"); mv.load("runs/mine") == r  # the CLI's run folders

Configs and presets; one function per experiment (``simulate``, ``theorems``, ``ensemble``,
``distill``, ``self_distill``, ``train_average``, ``sweep``, ``cifar_experiments``), each returning a
frozen result with ``.predictions``, ``.save(dir)`` and a verdict table in notebooks;
``load``; figures of results. Everything else is importable from its module (see
docs/architecture.md for the layout).
"""

__version__ = "0.1.0"

from multiview.api import (  # noqa: E402
    cifar_experiments,
    distill,
    ensemble,
    preset,
    self_distill,
    simulate,
    sweep,
    theorems,
    theorems_config,
    train_average,
)
from multiview.errors import ConfigError, DataError, MultiviewError  # noqa: E402
from multiview.experiments.simulate import (  # noqa: E402
    SimulationResult,
    run_distributed_simulation,
    run_simulation,
)
from multiview.experiments.sweep import run_sweep  # noqa: E402
from multiview.experiments.theorems import run_theorems  # noqa: E402
from multiview.plotting import (  # noqa: E402
    plot_accuracy,
    plot_ensemble_curve,
    plot_lambda,
    plot_learned_views,
    plot_phase_diagram,
)
from multiview.report.simulation import write_simulation  # noqa: E402
from multiview.report.sweep import plot_heatmaps  # noqa: E402
from multiview.report.theorems import write_theorems  # noqa: E402
from multiview.results import (  # noqa: E402
    CifarRun,
    Prediction,
    SimulationRun,
    SweepRun,
    TheoremsRun,
    load,
)
from multiview.sim.config import (  # noqa: E402
    PRESETS,
    DataConfig,
    ModelConfig,
    SimConfig,
    TheoremsConfig,
    TrainConfig,
    with_overrides,
)

__all__ = [
    "__version__",
    # configs and presets
    "DataConfig",
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
    "SimulationRun",
    "SweepRun",
    "TheoremsRun",
    "load",
    # figures
    "plot_accuracy",
    "plot_ensemble_curve",
    "plot_lambda",
    "plot_learned_views",
    "plot_phase_diagram",
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
