import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multiview.sim.config import ModelConfig
from multiview.sim.model import forward, init_weights, relu_derivative, smoothed_relu

jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize("q", [2, 3, 4])
@pytest.mark.parametrize("varrho", [0.3, 1.0, 2.0])
def test_smoothed_relu_values_and_slopes_at_zero_and_varrho(q, varrho):
    f = lambda z: smoothed_relu(z, q, varrho)  # noqa: E731
    df = jax.grad(f)
    assert float(f(0.0)) == 0.0
    assert float(f(-1.0)) == 0.0
    assert float(df(-0.5)) == 0.0
    assert float(df(0.0)) == 0.0
    np.testing.assert_allclose(float(f(varrho)), varrho / q, rtol=1e-6)
    np.testing.assert_allclose(float(df(varrho)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(float(df(varrho * 0.5)), 0.5 ** (q - 1), rtol=1e-5)
    np.testing.assert_allclose(float(f(3 * varrho)), 3 * varrho - (1 - 1 / q) * varrho, rtol=1e-6)


@settings(max_examples=50, deadline=None)
@given(q=st.integers(2, 5), varrho=st.floats(0.1, 3.0))
def test_smoothed_relu_is_continuous_and_c1_at_the_kink(q, varrho):
    eps = 1e-3 * varrho
    f = lambda z: float(smoothed_relu(jnp.float32(z), q, varrho))  # noqa: E731
    df = lambda z: float(jax.grad(lambda t: smoothed_relu(t, q, varrho))(jnp.float32(z)))  # noqa: E731
    assert abs(f(varrho - eps) - f(varrho + eps)) < 3 * eps
    assert abs(df(varrho - eps) - df(varrho + eps)) < 0.02
    assert f(varrho + eps) >= f(varrho - eps)  # monotone


def test_forward_matches_explicit_sum():
    cfg = ModelConfig(width=3, q=3, varrho=0.5)
    k, d, n, P = 4, 16, 5, 6
    w = init_weights(cfg, k, d, jax.random.key(0)) * 50
    x = jax.random.normal(jax.random.key(1), (n, P, d))
    out = np.asarray(forward(cfg, w, x))
    wn, xn = np.asarray(w, np.float64), np.asarray(x, np.float64)
    ref = np.zeros((n, k))
    for i in range(k):
        for r in range(3):
            pre = xn @ wn[i, r]  # (n, P)
            ref[:, i] += np.asarray(smoothed_relu(jnp.asarray(pre, jnp.float32), 3, 0.5)).sum(1)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_gradient_matches_finite_differences():
    cfg = ModelConfig(width=2, q=3, varrho=0.4)
    k, d, n, P = 3, 8, 6, 4
    w = init_weights(cfg, k, d, jax.random.key(2)) * 100
    x = jax.random.normal(jax.random.key(3), (n, P, d))
    y = jnp.arange(n) % k

    def loss(w):
        f = forward(cfg, w, x)
        return jnp.mean(jax.nn.logsumexp(f, 1) - f[jnp.arange(n), y])

    with jax.enable_x64(True):
        w64 = jnp.asarray(w, jnp.float64)
        x64 = jnp.asarray(x, jnp.float64)

        def loss64(w):
            pre = jnp.einsum("kmd,npd->nkmp", w, x64)
            f = smoothed_relu(pre, cfg.q, cfg.varrho).sum((2, 3))
            return jnp.mean(jax.nn.logsumexp(f, 1) - f[jnp.arange(n), y])

        g = np.asarray(jax.grad(loss64)(w64))
        rng = np.random.default_rng(0)
        for _ in range(12):
            idx = tuple(rng.integers(0, s) for s in w.shape)
            e = np.zeros(w.shape)
            e[idx] = 1e-6
            fd = (float(loss64(w64 + e)) - float(loss64(w64 - e))) / 2e-6
            np.testing.assert_allclose(g[idx], fd, rtol=1e-4, atol=1e-8)
    # and the float32 gradient used in training agrees with the float64 one
    np.testing.assert_allclose(np.asarray(jax.grad(loss)(w)), g, rtol=2e-2, atol=1e-5)


def test_relu_derivative_is_the_gradient_of_the_activation():
    z = jnp.linspace(-2.0, 5.0, 701)
    for q in (1, 2, 3):
        auto = jax.vmap(jax.grad(lambda t, q=q: smoothed_relu(t, q, 3.0)))(z)
        np.testing.assert_allclose(relu_derivative(z, q, 3.0), auto, rtol=1e-6, atol=1e-7)
