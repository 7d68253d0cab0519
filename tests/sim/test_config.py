import pytest

from multiview.errors import ConfigError
from multiview.sim.config import (
    PRESETS,
    DataConfig,
    ModelConfig,
    SimConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    preset,
    with_overrides,
)


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: DataConfig(d=10), "d"),
        (lambda: DataConfig(patches=3), "patches"),
        (lambda: DataConfig(single_view_frac=1.5), "single_view_frac"),
        (lambda: DataConfig(single_view_frac=-0.1), "single_view_frac"),
        (lambda: DataConfig(k=-3), "k"),
        (lambda: DataConfig(views=1), "views"),
        (lambda: DataConfig(n_train=0), "n_train"),
        (lambda: DataConfig(noise_scale=-1.0), "noise_scale"),
        (lambda: DataConfig(off_target_mode="sometimes"), "off_target_mode"),
        (lambda: ModelConfig(q=1), "q"),
        (lambda: ModelConfig(varrho=0.0), "varrho"),
        (lambda: ModelConfig(width=0), "width"),
        (lambda: TrainConfig(lr=-1.0), "lr"),
        (lambda: TrainConfig(steps=0), "steps"),
        (lambda: SimConfig(seeds=0), "seeds"),
        (lambda: SimConfig(train=TrainConfig(batch_size=10_000)), "batch_size"),
    ],
)
def test_bad_values_name_the_field_and_the_range(make, field):
    with pytest.raises(ConfigError) as err:
        make()
    msg = str(err.value)
    assert msg.startswith(f"{field} = ")
    assert "must be" in msg
    assert "\n" not in msg


def test_presets_are_valid_and_roundtrip_through_dicts():
    for name in PRESETS:
        cfg = preset(name)
        assert config_from_dict(config_to_dict(cfg)) == cfg


def test_overrides_reach_every_section_and_revalidate():
    cfg = with_overrides(preset("default"), k=5, width=7, lr=0.5, seeds=3, views=3)
    assert (cfg.data.k, cfg.model.width, cfg.train.lr, cfg.seeds, cfg.data.views) == (
        5,
        7,
        0.5,
        3,
        3,
    )
    with pytest.raises(ConfigError, match="d = 8"):
        with_overrides(cfg, d=8)
    with pytest.raises(ConfigError, match="unknown config field"):
        with_overrides(cfg, nonsense=1)
    with pytest.raises(ConfigError, match="preset"):
        preset("huge")


def test_separated_presets_carry_their_experiment_settings():
    from multiview.sim.config import TheoremsConfig, theorems_preset
    from multiview.sim.regimes import THEOREMS_REGIMES

    for name in ("separated", "separated-gpu"):
        assert name in PRESETS and name in THEOREMS_REGIMES
        th = theorems_preset(name)
        assert th.kd_loss == "logits" and th.kd_weight == 0.2 and th.student_steps > 0
        # the paper's step for the average; the lr x 4 variant is an extra row
        assert th.average_lr_scale == 1.0 and th.average_extra_lr_scale == 4.0
        # options still win over the preset's settings
        assert theorems_preset(name, kd_weight=0.5).kd_weight == 0.5
        assert theorems_preset(name, kd_loss=None).kd_loss == "logits"
    assert theorems_preset("default") == TheoremsConfig()
    assert PRESETS["separated"].data.k == 20 and PRESETS["separated-gpu"].data.k == 40
