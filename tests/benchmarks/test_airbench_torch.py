"""The `gpu` preset's recipe against an independent PyTorch statement of airbench94's.

The PyTorch side is written from airbench94's *stated* hyperparameters and PyTorch's own
optimizer semantics (``torch.optim.SGD`` parameter groups, a summed loss, ``LambdaLR``, the
lookahead as airbench describes it), not from this project's unit conversions; the two must
train the same network from the same weights on the same batches to the same parameters.
Skipped without torch (the ``bench`` extra).
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from multiview.cifar.augment import normalize
from multiview.cifar.config import NetConfig
from multiview.cifar.fixtures import fake_images
from multiview.cifar.losses import cross_entropy
from multiview.cifar.nets import build_net
from multiview.cifar.optim import lookahead_init, lookahead_step, make_optimizer
from multiview.cifar.presets import AIRBENCH94

torch = pytest.importorskip("torch")
nn = torch.nn

# airbench94's hyperparameters as it states them.
HYP = dict(lr=11.5, momentum=0.85, weight_decay=0.0153, bias_scaler=64.0, label_smoothing=0.2)
STEPS, SPE, BATCH, WIDTH = 12, 4, 32, 8


def _torch_net(widths):
    def group(c_in, c_out):
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding="same", bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(c_out, eps=1e-12, momentum=0.4, affine=True),
            nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding="same", bias=False),
            nn.BatchNorm2d(c_out, eps=1e-12, momentum=0.4, affine=True),
            nn.GELU(),
        )

    net = nn.Sequential(
        nn.Conv2d(3, 24, 2, padding=0, bias=True),
        nn.GELU(),
        group(24, widths[0]),
        group(widths[0], widths[1]),
        group(widths[1], widths[2]),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(widths[2], 10, bias=False),
    )
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.requires_grad = False  # airbench: no trained scale
    net[0].weight.requires_grad = False  # the frozen whitening filters
    return net


def _copy_into(net, params, state):
    t = lambda a: torch.tensor(np.asarray(a))  # noqa: E731
    with torch.no_grad():
        net[0].weight.copy_(t(state["whiten_w"]).permute(3, 2, 0, 1))
        net[0].bias.copy_(t(params["whiten_b"]))
        for i in range(3):
            g, p = net[2 + i], params[f"g{i}"]
            g[0].weight.copy_(t(p["a"]["w"]).permute(3, 2, 0, 1))
            g[4].weight.copy_(t(p["b"]["w"]).permute(3, 2, 0, 1))
            g[2].bias.copy_(t(p["a"]["bn"]["bias"]))
            g[5].bias.copy_(t(p["b"]["bn"]["bias"]))
        net[7].weight.copy_(t(params["head"]["w"]).T)


def _torch_params(net):
    p = {"whiten_b": net[0].bias, "head": net[7].weight.T}
    for i in range(3):
        g = net[2 + i]
        p[f"g{i}"] = {
            "a": g[0].weight.permute(2, 3, 1, 0),
            "b": g[4].weight.permute(2, 3, 1, 0),
            "bn_a": g[2].bias,
            "bn_b": g[5].bias,
        }
    return p


def test_one_recipe_two_frameworks():
    torch.manual_seed(0)
    y = np.arange(STEPS * BATCH) % 10
    x = np.asarray(normalize(fake_images(y, 10, 0)))  # (N, 32, 32, 3) float32
    # airbench's lr is per example (summed loss): on a batch-mean loss it scales with the batch.
    cfg = dataclasses.replace(
        AIRBENCH94,
        epochs=STEPS // SPE,
        batch_size=BATCH,
        lr=AIRBENCH94.lr * BATCH / 1024,
        warmup_epochs=0.75,
        whiten_bias_epochs=1,
    )
    jnet = build_net(NetConfig("airbench", width=WIDTH))
    params, state = jnet.init(jax.random.key(0), jnp.asarray(x))
    tnet = _torch_net((WIDTH, 4 * WIDTH, 4 * WIDTH))
    _copy_into(tnet, params, state)

    # ---- PyTorch, airbench's way: a summed loss and "per 1024 examples" hyperparameters.
    kilostep = 1024 * (1 + 1 / (1 - HYP["momentum"]))
    lr = HYP["lr"] / kilostep
    wd = HYP["weight_decay"] * BATCH / kilostep
    lr_b = lr * HYP["bias_scaler"]
    norm_b = [m.bias for m in tnet.modules() if isinstance(m, nn.BatchNorm2d)]
    other = [p for p in tnet.parameters() if p.requires_grad and all(p is not b for b in norm_b)]
    opt = torch.optim.SGD(
        [
            dict(params=norm_b, lr=lr_b, weight_decay=wd / lr_b),
            dict(params=other, lr=lr, weight_decay=wd / lr),
        ],
        momentum=HYP["momentum"],
        nesterov=True,
    )
    warm = int(STEPS * 0.25)  # the warm-up fraction of this test's schedule (3 of 12 steps)

    def factor(step):
        if step < warm:
            return 0.2 * (1 - step / warm) + step / warm
        return (1 - (step - warm) / (STEPS - warm)) + 0.07 * (step - warm) / (STEPS - warm)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    ema = {k: v.clone() for k, v in tnet.state_dict().items()}
    loss_fn = nn.CrossEntropyLoss(label_smoothing=HYP["label_smoothing"], reduction="none")
    tnet.train()
    for step in range(STEPS):
        tnet[0].bias.requires_grad = step < SPE  # whitening bias: the first epoch only
        xb = torch.tensor(x[step * BATCH : (step + 1) * BATCH]).permute(0, 3, 1, 2)
        loss = loss_fn(tnet(xb) / 9.0, torch.tensor(y[step * BATCH : (step + 1) * BATCH])).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        t = step + 1
        if t % 5 == 0 or t == STEPS:
            decay = 1.0 if t == STEPS and t % 5 else 0.95**5 * (t / STEPS) ** 3
            with torch.no_grad():
                for e, v in zip(ema.values(), tnet.state_dict().values(), strict=True):
                    if v.dtype.is_floating_point:
                        e.lerp_(v, 1 - decay)
                        v.copy_(e)

    # ---- this project: a batch-mean loss, the preset's converted units.
    opt_j = make_optimizer(cfg, SPE)
    opt_state, ema_j = opt_j.init(params), lookahead_init(params, state)

    def loss_j(p, s, xb, yb):
        logits, new_s = jnet.apply(p, s, xb, train=True)
        return cross_entropy(logits, yb, smoothing=0.2), new_s

    grad_fn = jax.jit(jax.grad(loss_j, has_aux=True))
    for step in range(STEPS):
        sl = slice(step * BATCH, (step + 1) * BATCH)
        grads, state = grad_fn(params, state, jnp.asarray(x[sl]), jnp.asarray(y[sl]))
        updates, opt_state = opt_j.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        params, state, ema_j = lookahead_step(
            cfg, STEPS, jnp.asarray(step + 1), params, state, ema_j
        )

    tp = _torch_params(tnet)
    pairs = [(params["whiten_b"], tp["whiten_b"]), (params["head"]["w"], tp["head"])]
    for i in range(3):
        p, q = params[f"g{i}"], tp[f"g{i}"]
        pairs += [(p["a"]["w"], q["a"]), (p["b"]["w"], q["b"])]
        pairs += [(p["a"]["bn"]["bias"], q["bn_a"]), (p["b"]["bn"]["bias"], q["bn_b"])]
    for mine, theirs in pairs:
        theirs = theirs.detach().numpy()
        scale = max(float(np.abs(theirs).max()), 1e-6)
        assert float(np.abs(np.asarray(mine) - theirs).max()) / scale < 2e-4
    assert math.isfinite(float(loss.detach()))
