"""Where in (noise, N) do single models learn one view and ensembles gain?"""
