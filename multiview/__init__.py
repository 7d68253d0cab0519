"""multiview: a JAX laboratory for the multi-view theory of ensembles and distillation."""

__version__ = "0.1.0"
