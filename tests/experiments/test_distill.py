import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.experiments.distill import kd_loss_fn
from multiview.sim.config import ModelConfig, TheoremsConfig
from multiview.sim.losses import (
    hinton_kd_term,
    logit_kd_term,
    logit_up_kd_term,
    paper_kd_term,
    two_sided_kd_term,
)
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


@pytest.mark.parametrize("loss", ["paper", "hinton", "two_sided", "logits", "logits_up"])
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


def test_two_sided_term_gradient_is_the_untruncated_difference():
    _, _, _, g = _setup()
    f = g + jnp.array([[1.0, 0.0, -1.0]])
    tau = 2.0
    df = np.asarray(jax.grad(lambda f: two_sided_kd_term(f, g, tau))(f))
    c = np.asarray(jax.nn.softmax(f / tau, 1) - jax.nn.softmax(g / tau, 1)) / f.shape[0]
    np.testing.assert_allclose(df, c, rtol=1e-5, atol=1e-7)
    # it pushes both ways, and its gradient rows sum to zero (no common inflation)
    assert np.any(df > 0) and np.any(df < 0)
    np.testing.assert_allclose(df.sum(1), 0.0, atol=1e-6)
    # and it is 1/tau times the gradient of Hinton's tau^2 KL
    dh = np.asarray(jax.grad(lambda f: hinton_kd_term(f, g, tau))(f))
    np.testing.assert_allclose(df, dh / tau, rtol=1e-4, atol=1e-7)


def test_logit_term_matches_centred_scores_and_ignores_a_common_shift():
    _, _, _, g = _setup()
    assert abs(float(logit_kd_term(g + 5.0, g))) < 1e-5
    f = g + jnp.array([[1.0, 0.0, -1.0]])
    df = np.asarray(jax.grad(lambda f: logit_kd_term(f, g))(f))
    expected = np.broadcast_to(np.array([[1.0, 0.0, -1.0]]), f.shape) / f.shape[0]
    np.testing.assert_allclose(df, expected, rtol=1e-5, atol=1e-6)


def test_logit_up_term_only_raises_scores_below_the_teacher():
    _, _, _, g = _setup()
    f = g + jnp.array([[1.0, 0.0, -2.0]])
    df = np.asarray(jax.grad(lambda f: logit_up_kd_term(f, g))(f))
    expected = np.broadcast_to(np.array([[0.0, 0.0, -2.0]]), f.shape) / f.shape[0]
    np.testing.assert_allclose(df, expected, atol=1e-6)
    assert abs(float(logit_up_kd_term(g + 3.0, g))) < 1e-6  # above the teacher: no push


def test_softening_is_the_default_reading_of_the_papers_temperature():
    import math

    th = TheoremsConfig()
    assert th.kd_reading == "softening"
    # softmax(tau F) = softmax(F / log^2 k): a divisor above 1 (softens)
    assert th.kd_temperature(10) == pytest.approx(math.log(10) ** 2)
    sharp = TheoremsConfig(kd_reading="sharpening")
    assert sharp.kd_temperature(10) == pytest.approx(1 / math.log(10) ** 2)
    assert TheoremsConfig(kd_tau=0.5).kd_temperature(10) == pytest.approx(2.0)
    from multiview.errors import ConfigError

    with pytest.raises(ConfigError, match="kd_reading"):
        TheoremsConfig(kd_reading="hot")


def test_oracle_teacher_scores_follow_the_true_coefficients():
    from multiview.sim.dark_knowledge import oracle_teacher_scores

    cfg = ModelConfig(q=3, varrho=3.0)
    coef = jnp.zeros((2, 3, 2)).at[0, 1, 0].set(1.0).at[1, 2, 1].set(0.4)
    g = np.asarray(oracle_teacher_scores(cfg, coef, lam=10.0, share=0.5))
    # 10 * 1.0 = 10 > varrho: linear, 10 - 2 = 8; 10 * 0.4 = 4 > 3: 4 - 2 = 2; halved
    np.testing.assert_allclose(g, [[0, 4.0, 0], [0, 0, 1.0]], atol=1e-5)
