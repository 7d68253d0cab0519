"""multiview: a JAX laboratory for the multi-view theory of ensembles and distillation.

The curated public API: configs and presets, the experiments' entry functions and the
writers of their results. Everything else is importable from its module (see
docs/architecture.md for the layout).
"""

__version__ = "0.1.0"

from multiview.errors import ConfigError, DataError, MultiviewError  # noqa: E402
from multiview.experiments.simulate import (  # noqa: E402
    SimulationResult,
    run_distributed_simulation,
    run_simulation,
)
from multiview.experiments.sweep import run_sweep  # noqa: E402
from multiview.experiments.theorems import run_theorems  # noqa: E402
from multiview.report.simulation import write_simulation  # noqa: E402
from multiview.report.sweep import plot_heatmaps  # noqa: E402
from multiview.report.theorems import write_theorems  # noqa: E402
from multiview.sim.config import (  # noqa: E402
    PRESETS,
    DataConfig,
    ModelConfig,
    SimConfig,
    TheoremsConfig,
    TrainConfig,
    preset,
    with_overrides,
)

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
