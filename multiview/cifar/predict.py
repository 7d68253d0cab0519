"""Evaluation-mode logits of trained CNNs, with airbench's test-time augmentation.

TTA levels (:class:`~multiview.cifar.config.CifarTrainConfig`): none; ``tta_flip``, the mean
of an image's and its mirror's logits; ``tta_translate`` as well, half the weight on that and
half on the same for the image shifted one pixel up-left and one pixel down-right (reflect
padding) - airbench's level 2, six views per image.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from multiview.cifar.augment import normalize
from multiview.cifar.config import CifarTrainConfig
from multiview.cifar.nets import Net
from multiview.cifar.train import Trained, map_models, resolve_strategy

__all__ = ["predict_logits", "make_predict", "translate_views"]


def translate_views(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The two one-pixel shifts of ``x`` ``(B, H, W, C)`` that airbench's TTA uses: content
    moved down-right and up-left, the border filled by reflection. Each ``(B, H, W, C)``."""
    h, w = x.shape[1], x.shape[2]
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    return padded[:, :h, :w], padded[:, 2 : h + 2, 2 : w + 2]


def predict_logits(
    net: Net,
    trained: Trained,
    images: np.ndarray,
    *,
    cfg: CifarTrainConfig,
) -> np.ndarray:
    """Evaluation-mode logits of every model on ``images`` ``(N, 32, 32, 3)`` uint8.

    Returns ``(runs, members, N, C)`` float32, test-time augmented as ``cfg`` says (module
    docstring).
    """
    tta = 2 if cfg.tta_translate else int(cfg.tta_flip)
    batch_logits = make_predict(net, cfg.dtype, tta, resolve_strategy(cfg.seed_parallel))
    n = images.shape[0]
    bs = min(cfg.eval_batch_size, n)
    outs = []
    for start in range(0, n, bs):
        xb = images[start : start + bs]
        pad = bs - xb.shape[0]
        if pad:
            xb = np.concatenate([xb, np.zeros((pad, *xb.shape[1:]), xb.dtype)])
        outs.append(np.asarray(batch_logits(trained.params, trained.state, jnp.asarray(xb))))
        if pad:
            outs[-1] = outs[-1][:, :, : bs - pad]
    return np.concatenate(outs, axis=2)


@functools.lru_cache(maxsize=16)
def make_predict(net: Net, dtype, tta: int, strategy: str):
    """Jitted ``(params, state, images (B, 32, 32, 3) uint8) -> logits (runs, members, B, C)``
    at TTA level ``tta`` (0 none, 1 mirror, 2 mirror and translate)."""

    @jax.jit
    def batch_logits(params, state, xb):
        x = normalize(xb)

        def member(pm, sm):
            def logits(v):
                out = net.apply(pm, sm, v, train=False, dtype=dtype)[0]
                if tta >= 1:
                    out = 0.5 * (
                        out + net.apply(pm, sm, v[:, :, ::-1], train=False, dtype=dtype)[0]
                    )
                return out

            out = logits(x)
            if tta >= 2:
                a, b = translate_views(x)
                out = 0.5 * out + 0.25 * (logits(a) + logits(b))
            return out

        def run(p, s):
            return map_models(member, strategy, p, s)

        return map_models(run, strategy, params, state)

    return batch_logits
