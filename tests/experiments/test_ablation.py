import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.experiments.ablation import remove_own_view, run_view_ablation
from multiview.experiments.simulate import SimulationResult
from multiview.sim.data import make_datasets
from multiview.sim.model import init_weights
from multiview.sim.seeds import data_key


@pytest.fixture(scope="module")
def datasets(tiny_config):
    return make_datasets(tiny_config.data, data_key(tiny_config))


@pytest.mark.parametrize("view", [0, 1])
def test_removing_a_view_zeroes_its_projection_and_nothing_else(tiny_config, datasets, view):
    ds, feats = datasets.test_multi, datasets.features
    k, V, d = feats.shape
    out = remove_own_view(ds, feats, view)

    def proj(data):
        return jnp.einsum(
            "npd,fd->npf",
            data.x - data.noise,
            feats.reshape(k * V, d),
        )

    before, after = np.asarray(proj(ds)), np.asarray(proj(out))
    f = np.asarray(ds.y) * V + view
    removed = np.take_along_axis(after, f[:, None, None], axis=2)[..., 0]
    np.testing.assert_allclose(removed, 0.0, atol=1e-5)
    assert np.take_along_axis(before, f[:, None, None], axis=2).sum() > 1.0  # it was there
    keep = np.ones_like(before, bool)
    np.put_along_axis(keep, f[:, None, None].repeat(before.shape[1], 1), False, axis=2)
    np.testing.assert_allclose(after[keep], before[keep], atol=1e-5)
    np.testing.assert_array_equal(out.noise, ds.noise)
    assert float(jnp.abs(out.coef[jnp.arange(len(f)), ds.y, view]).max()) == 0.0
    assert not np.any(np.asarray(out.patch_feature) == f[:, None])


def test_view_ablation_on_a_planted_model(tiny_config, datasets):
    """A model whose class-i neurons are exactly view 0 of class i relies on view 0 only."""
    cfg = tiny_config
    k, V, d = datasets.features.shape
    S = 4
    w = jnp.stack([3.0 * datasets.features[:, [0, 0], :]] * S)  # (S, k, m=2, d): view 0 only
    w = w + 1e-3 * jax.vmap(lambda kk: init_weights(cfg.model, k, d, kk))(
        jax.random.split(jax.random.key(0), S)
    )
    learned = np.zeros((S, k, V), bool)
    learned[..., 0] = True
    sim = SimulationResult(cfg, datasets, w, None, {"learned": learned}, {})
    groups = np.arange(S).reshape(2, 2)
    res = run_view_ablation(cfg, sim, groups, kd_w=w[:2], sd_w=None)
    (pred,) = res["predictions"]
    assert pred.id == "view_ablation"
    m = res["methods"]
    assert m["ablation_single_intact"]["multi_view"]["mean"] > 0.9
    # Removing the learned view leaves the model blind to the class.
    assert m["ablation_single_learned_view_removed"]["multi_view"]["mean"] < 0.6
    assert m["ablation_single_other_view_removed"]["multi_view"]["mean"] > 0.9
    assert "ablation_kd_view_removed" in m and "ablation_sd_view_removed" not in m
    assert pred.holds is False  # the planted "ensemble" shares the same single view
