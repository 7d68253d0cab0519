"""Networks: output shapes, batch norm under the seed axis (vmap == per-seed), mixed precision."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.cifar.config import NetConfig
from multiview.cifar.layers import conv
from multiview.cifar.nets import build_net, param_count, whitening_kernel
from multiview.errors import ConfigError

SMALL = [("tiny", 4, 16), ("airbench", 8, 16), ("resnet18", 4, 16), ("wrn", 1, 10)]


@pytest.mark.parametrize("arch,width,depth", SMALL)
def test_forward_shapes_and_state_update(arch, width, depth):
    net = build_net(NetConfig(arch, width=width, depth=depth, num_classes=7))
    x = jax.random.normal(jax.random.key(0), (4, 32, 32, 3))
    params, state = net.init(jax.random.key(1), x)
    logits, new_state = net.apply(params, state, x, train=True)
    assert logits.shape == (4, 7) and logits.dtype == jnp.float32
    assert jax.tree_util.tree_structure(new_state) == jax.tree_util.tree_structure(state)
    eval_logits, same_state = net.apply(params, state, x, train=False)
    assert eval_logits.shape == (4, 7)
    assert param_count(params) > 0


def test_batch_norm_is_per_seed_under_vmap():
    net = build_net(NetConfig("tiny", width=4))
    keys = jax.random.split(jax.random.key(0), 3)
    params, state = jax.vmap(lambda k: net.init(k))(keys)
    x = jax.random.normal(jax.random.key(1), (3, 8, 32, 32, 3))  # a different batch per seed
    apply = lambda p, s, xb: net.apply(p, s, xb, train=True)  # noqa: E731
    batched_logits, batched_state = jax.vmap(apply)(params, state, x)
    for i in range(3):
        pi, si = jax.tree_util.tree_map(lambda a, i=i: a[i], (params, state))
        li, ni = apply(pi, si, x[i])
        np.testing.assert_allclose(batched_logits[i], li, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            batched_state["c0"]["bn"]["mean"][i], ni["c0"]["bn"]["mean"], rtol=1e-5, atol=1e-6
        )


def test_mixed_precision_forward_is_close():
    net = build_net(NetConfig("tiny", width=4))
    x = jax.random.normal(jax.random.key(0), (4, 32, 32, 3))
    params, state = net.init(jax.random.key(1))
    full, _ = net.apply(params, state, x, train=False)
    half, _ = net.apply(params, state, x, train=False, dtype=jnp.bfloat16)
    assert half.dtype == jnp.float32
    np.testing.assert_allclose(full, half, atol=0.1 * float(jnp.abs(full).max()) + 0.05)


def test_whitening_kernel_whitens_patches():
    x = jax.random.normal(jax.random.key(0), (64, 32, 32, 3)) * jnp.array([1.0, 2.0, 0.5]).reshape(
        1, 1, 1, 3
    )
    k = whitening_kernel(x, eps=0.0)
    assert k.shape == (2, 2, 3, 24)

    y = conv(x, k[..., :12], padding="VALID").reshape(-1, 12)
    cov = np.cov(np.asarray(y).T)
    np.testing.assert_allclose(cov, np.eye(12), atol=0.1)


def test_bad_net_config():
    with pytest.raises(ConfigError, match="net.arch"):
        NetConfig("vgg")
    with pytest.raises(ConfigError, match="net.depth"):
        NetConfig("wrn", depth=12)
