"""Speed work on the trainer: the benchmark drivers (run from the repository root as
``python -m benchmarks.<driver>``), the GPU measurement and the research code it times (the
GD-step variants, the Pallas weight-gradient kernel and its tile tuning, the compiled
programs' reader). Not part of the installed package; ``multiview bench`` runs
:mod:`multiview.bench`."""
