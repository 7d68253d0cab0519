import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.experiments.distill import kd_loss_fn
from multiview.sim.config import ModelConfig, TheoremsConfig
from multiview.sim.losses import hinton_kd_term, paper_kd_term
from multiview.sim.model import forward, init_weights


def _setup():
    cfg = ModelConfig(width=2, q=3, varrho=1.0, init_std=0.3)
    k, d, n, P = 3, 8, 5, 4
    w = init_weights(cfg, k, d, jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (n, P, d))
    g = 3.0 * jax.random.normal(jax.random.key(2), (n, k))
    return cfg, w, x, g


def test_truncated_kd_gradient_matches_the_papers_formula():
    cfg, w, x, g = _setup()
    tau = 0.5
    grad = jax.grad(lambda w: paper_kd_term(forward(cfg, w, x), g, tau))(w)
    # E_n[ sum_i (softmax_i(F/tau) - softmax_i(G/tau))^- grad F_i ]
    f = forward(cfg, w, x)
    c = np.minimum(np.asarray(jax.nn.softmax(f / tau, 1) - jax.nn.softmax(g / tau, 1)), 0)
    jac = np.asarray(jax.jacobian(lambda w: forward(cfg, w, x))(w))  # (n, k, *w.shape)
    expected = np.einsum("ni,ni...->...", c, jac) / x.shape[0]
    np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-4, atol=1e-7)
    assert np.all(c <= 0) and np.any(c < 0)


def test_truncated_term_only_pushes_scores_up():
    cfg, w, x, g = _setup()
    f = forward(cfg, w, x)
    # d term / d F = c <= 0: a gradient step on the term raises every score it touches
    df = jax.grad(lambda f: paper_kd_term(f, g, 0.5))(f)
    assert np.all(np.asarray(df) <= 0)


def test_hinton_term_is_zero_at_the_teacher_and_positive_elsewhere():
    _, _, _, g = _setup()
    assert abs(float(hinton_kd_term(g, g, 4.0))) < 1e-5
    assert float(hinton_kd_term(g + jnp.array([[1.0, 0.0, -1.0]]), g, 4.0)) > 0


@pytest.mark.parametrize("loss", ["paper", "hinton"])
def test_kd_loss_keeps_the_teacher_frozen(loss):
    cfg, w, x, g = _setup()
    from multiview.sim.data import Dataset

    n = x.shape[0]
    ds = Dataset(
        x,
        jnp.zeros_like(x),
        jnp.arange(n) % 3,
        jnp.zeros(n, bool),
        jnp.full(n, -1),
        jnp.zeros((n, 3, 2)),
        jnp.full((n, 4), -1),
    )
    fn = kd_loss_fn(cfg, TheoremsConfig(kd_loss=loss), k=3)
    grads = jax.grad(lambda p: fn(p, {"train": ds}, None)[0])({"w": w, "teacher": g})
    assert np.all(np.asarray(grads["teacher"]) == 0)
    assert np.any(np.asarray(grads["w"]) != 0)
