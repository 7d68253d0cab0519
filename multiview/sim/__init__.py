"""The simulator: configs, data, model, losses, the seed-parallel trainer, seeds and blocks,
devices and hosts, metrics, predictions and the kernel models. Imports only
:mod:`multiview.errors`, :mod:`multiview.io` and :mod:`multiview.stats` from outside itself.

Layers, low to high: ``config`` / ``seeds`` -> ``data`` -> ``model`` -> ``losses`` ->
``parallel`` -> ``train`` -> ``metrics`` / ``predictions`` -> ``single`` -> ``blocks`` ->
``distributed``; ``kernels`` beside ``single``.
"""
