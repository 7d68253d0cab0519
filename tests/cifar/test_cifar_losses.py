"""CIFAR losses (multiview.cifar.losses): cross-entropy, Hinton's distillation, accuracy."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from multiview.cifar.losses import cross_entropy, distillation_loss
from multiview.stats import accuracy

B, C = 6, 4
# No subnormals: XLA on CPU flushes them to zero and numpy does not, so argmax could differ.
logits = hnp.arrays(
    np.float32, (B, C), elements=st.floats(-20, 20, width=32, allow_subnormal=False)
)
labels = hnp.arrays(np.int32, (B,), elements=st.integers(0, C - 1))
SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(logits, labels)
def test_cross_entropy_is_the_mean_negative_log_softmax_of_the_label(z, y):
    expected = -np.mean(np.asarray(jax.nn.log_softmax(z))[np.arange(B), y])
    np.testing.assert_allclose(
        cross_entropy(jnp.asarray(z), jnp.asarray(y)), expected, rtol=1e-5, atol=1e-5
    )
    assert float(cross_entropy(jnp.asarray(z), jnp.asarray(y))) >= 0


@SETTINGS
@given(logits, labels, st.floats(0.0, 0.9))
def test_label_smoothing_mixes_the_label_with_the_uniform_target(z, y, s):
    z, y = jnp.asarray(z), jnp.asarray(y)
    uniform = -jnp.mean(jax.nn.log_softmax(z)) * 1.0  # mean over samples and classes
    mixed = (1 - s) * cross_entropy(z, y) + s * uniform
    np.testing.assert_allclose(cross_entropy(z, y, smoothing=s), mixed, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(logits, logits, labels, st.floats(0.5, 8.0))
def test_alpha_weights_the_soft_term_zero_gives_cross_entropy(z, t, y, temp):
    z, t, y = jnp.asarray(z), jnp.asarray(t), jnp.asarray(y)
    hard = distillation_loss(z, y, t, alpha=0.0, temperature=temp)
    np.testing.assert_allclose(hard, cross_entropy(z, y), rtol=1e-5, atol=1e-5)
    soft = distillation_loss(z, y, t, alpha=1.0, temperature=temp)
    assert float(soft) >= -1e-4  # T^2 KL >= 0
    half = distillation_loss(z, y, t, alpha=0.5, temperature=temp)
    np.testing.assert_allclose(half, 0.5 * soft + 0.5 * hard, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(logits, labels, st.floats(0.5, 8.0))
def test_the_soft_term_vanishes_when_the_student_is_the_teacher(z, y, temp):
    z, y = jnp.asarray(z), jnp.asarray(y)
    assert abs(float(distillation_loss(z, y, z, alpha=1.0, temperature=temp))) < 1e-3


@SETTINGS
@given(
    hnp.arrays(np.float32, (3, B, C), elements=st.floats(-5, 5, width=32, allow_subnormal=False)),
    labels,
)
def test_accuracy_is_the_argmax_hit_rate_per_leading_index(z, y):
    got = np.asarray(accuracy(jnp.asarray(z), jnp.asarray(y), xp=jnp))
    np.testing.assert_allclose(got, [(np.argmax(m, -1) == y).mean() for m in z])
