"""Distillation as the best recipes do it: the consistent teacher sees the student's own
augmented batch, the patient student trains longer next to an as-long control, and the
student's gain is read as a share of the ensemble's with an interval."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from multiview.cifar.augment import normalize
from multiview.cifar.config import CifarConfig, CifarTrainConfig, DistillConfig, NetConfig
from multiview.cifar.distill import kd_teacher_models, student_train_config, train_students
from multiview.cifar.fixtures import fake_images
from multiview.cifar.losses import distillation_loss
from multiview.cifar.nets import build_net
from multiview.cifar.presets import PRESETS, preset_config
from multiview.cifar.summary import contrasts, recovered_shares, runs_summary
from multiview.cifar.train import Trained, make_epoch_keys, make_init, make_step, step_batch
from multiview.cli import app
from multiview.errors import ConfigError
from multiview.report.cifar import format_table
from multiview.stats import paired_interval, ratio_interval

NET = build_net(NetConfig("tiny", width=4, num_classes=4))
N, B = 32, 16


def _setup(**train_kw):
    y = np.random.default_rng(0).permutation(np.arange(N) % 4).astype(np.int32)
    x = fake_images(y, 4, 0)
    # Crops and flips, so that an augmented image differs from the stored one.
    cfg = CifarTrainConfig(
        epochs=1, batch_size=B, lr=0.05, warmup_epochs=0.0, crop_padding=4, **train_kw
    )
    sample = normalize(jnp.asarray(x))
    student = make_init(NET, cfg, 1, N // B)(jax.random.split(jax.random.key(0), 2), sample)
    teacher = make_init(NET, cfg, 3, N // B)(jax.random.split(jax.random.key(9), 2), sample)
    perms, keys, flips = make_epoch_keys(N)(jax.random.split(jax.random.key(5), 2), 0)
    return x, y, cfg, student, Trained(*teacher[:2]), (perms, keys, flips)


@pytest.mark.parametrize("strategy", ["unroll", "vmap"])  # the CPU's and the GPU's
def test_consistent_teacher_sees_the_students_augmented_batch(strategy):
    x, y, cfg, (params, state, opt), teacher, (perms, keys, flips) = _setup()
    distill = DistillConfig(alpha=1.0, temperature=2.0, teacher="consistent")
    step = make_step(NET, cfg, distill, strategy, B, N // B, "models")
    xa, ya = jnp.asarray(x), jnp.asarray(y)
    loss = step(params, state, opt, perms, keys, flips, tuple(teacher), 0, 1, xa, ya)[3]

    def expected(run, teacher_sees_augmented):
        idx, xb, yb = step_batch(cfg, perms[run], keys[run], flips[run], 1, B, xa, ya)
        pick = jax.tree_util.tree_map(lambda a: a[run], (params, state))
        student = NET.apply(*jax.tree_util.tree_map(lambda a: a[0], pick), xb, train=True)[0]
        seen = xb if teacher_sees_augmented else normalize(xa[idx])
        t = [
            NET.apply(
                *jax.tree_util.tree_map(lambda a, m=m: a[run, m], tuple(teacher)), seen, train=False
            )[0]
            for m in range(3)
        ]
        return float(
            distillation_loss(student, yb, jnp.mean(jnp.stack(t), 0), alpha=1.0, temperature=2.0)
        )

    for run in range(2):
        assert float(loss[run]) == pytest.approx(expected(run, True), rel=1e-4, abs=1e-5)
        # The same teacher on the stored (un-augmented) images gives another loss: the check
        # can tell the two apart.
        assert abs(float(loss[run]) - expected(run, False)) > 2e-4  # 6x the tolerance


def test_precomputed_teacher_reads_its_logits_by_image_index():
    x, y, cfg, (params, state, opt), _, (perms, keys, flips) = _setup()
    step = make_step(NET, cfg, DistillConfig(alpha=1.0, temperature=1.0), "unroll", B, N // B)
    logits = jnp.asarray(np.random.default_rng(1).normal(size=(2, N, 4)), jnp.float32)
    xa, ya = jnp.asarray(x), jnp.asarray(y)
    loss = step(params, state, opt, perms, keys, flips, logits, 0, 0, xa, ya)[3]
    idx, xb, yb = step_batch(cfg, perms[0], keys[0], flips[0], 0, B, xa, ya)
    student = NET.apply(
        *jax.tree_util.tree_map(lambda a: a[0, 0], (params, state)), xb, train=True
    )[0]
    want = distillation_loss(student, yb, logits[0][idx], alpha=1.0, temperature=1.0)
    assert float(loss[0]) == pytest.approx(float(want), rel=1e-4)


def _fake_students(cfg):
    """train_students with a recording trainer: which methods, streams, recipes, teachers."""
    calls = {}
    s = cfg.seeds
    single = Trained({"w": np.arange(s, dtype=np.float32).reshape(s, 1, 1)}, {})
    single_train = np.random.default_rng(0).normal(size=(s, 10, 3)).astype(np.float32)

    def train(name, stream, runs, **kw):
        calls[name] = {"stream": stream, "runs": runs, **kw}
        return np.zeros((runs, 5, 3), np.float32)

    recorded = []
    modes = train_students(
        train, cfg, single, single_train, [[0, 1], [2, 3]], lambda name, _t: recorded.append(name)
    )
    return calls, modes, recorded, single_train


def test_both_teacher_modes_pair_their_students_and_the_teachers():
    cfg = CifarConfig(seeds=4, ensemble_size=2, distill=DistillConfig(teacher="both"))
    calls, modes, recorded, single_train = _fake_students(cfg)
    assert modes == {
        "kd": "consistent",
        "self_distill": "consistent",
        "kd_precomputed": "precomputed",
        "self_distill_precomputed": "precomputed",
    }
    assert recorded == list(modes) and "single_long" not in calls
    for name, c in calls.items():  # single model i's initialization and data order
        assert (c["stream"], c["data_stream"], c["runs"]) == (1, 1, 4)
        assert c["train_cfg"].epochs == cfg.train.epochs
        assert c["distill"].teacher == modes[name]
    kd_models = calls["kd"]["teacher_models"].params["w"]
    assert kd_models.shape == (4, 2, 1) and (kd_models == [[0], [1]]).all()  # group 0, for all
    sd_models = calls["self_distill"]["teacher_models"].params["w"][:, 0, 0]
    assert sd_models.tolist() == [3, 0, 1, 2]  # student i <- single model i - 1
    assert (
        calls["kd"]["teacher_logits"] is None and calls["kd_precomputed"]["teacher_models"] is None
    )
    np.testing.assert_allclose(
        calls["kd_precomputed"]["teacher_logits"][3], single_train[:2].mean(0)
    )
    np.testing.assert_allclose(
        calls["self_distill_precomputed"]["teacher_logits"][0], single_train[3]
    )


def test_patient_student_trains_longer_next_to_an_as_long_control():
    cfg = CifarConfig(seeds=4, ensemble_size=2, distill=DistillConfig(epochs_multiplier=3))
    calls, modes, _, _ = _fake_students(cfg)
    assert set(calls) == {"kd", "self_distill", "single_long"}
    assert modes["single_long"] == "none" and modes["kd"] == "consistent"
    for name in calls:
        assert calls[name]["train_cfg"].epochs == 3 * cfg.train.epochs
        assert (calls[name]["stream"], calls[name]["data_stream"]) == (1, 1)  # single i's
    assert "teacher_models" not in calls["single_long"]  # the control has no teacher
    assert student_train_config(cfg).warmup_epochs == cfg.train.warmup_epochs
    assert student_train_config(dataclasses.replace(cfg, distill=DistillConfig())) is cfg.train


def test_kd_teacher_models_repeat_the_group_for_every_student():
    single = Trained({"w": np.arange(10.0).reshape(5, 1, 2)}, {"s": np.ones((5, 1))})
    t = kd_teacher_models(single, [1, 3], runs=4)
    assert t.params["w"].shape == (4, 2, 2) and t.state["s"].shape == (4, 2)
    assert (t.params["w"][2] == [[2, 3], [6, 7]]).all()


def test_ratio_interval_is_fieller_and_says_when_unbounded():
    rng = np.random.default_rng(0)
    num, den = rng.normal(1.0, 0.3, 40), rng.normal(2.0, 0.01, 40)
    r = ratio_interval(num, den)
    assert r["mean"] == pytest.approx(num.mean() / den.mean())
    # A near-exact denominator: Fieller's interval is the numerator's interval / the mean.
    p = paired_interval(num, np.zeros(40))
    assert r["low"] == pytest.approx(p["low"] / den.mean(), rel=0.02)
    assert r["high"] == pytest.approx(p["high"] / den.mean(), rel=0.02)
    wide = ratio_interval(num, [1.0, -0.5, 0.8])  # the denominator's interval covers 0
    assert wide["low"] == -np.inf and wide["high"] == np.inf
    assert np.isnan(ratio_interval(num, [2.0])["low"])


def test_recovered_share_and_contrasts_in_the_summary_and_table():
    runs = {
        "single": [0.50, 0.52, 0.51, 0.53, 0.50, 0.52],
        "ensemble": [0.55, 0.56],
        "kd": [0.53, 0.53, 0.54, 0.55, 0.53, 0.54],
        "kd_precomputed": [0.51, 0.53, 0.52, 0.54, 0.51, 0.53],
        "single_long": [0.51, 0.53, 0.52, 0.54, 0.51, 0.53],
    }
    groups = [[0, 1, 2], [3, 4, 5]]
    shares = recovered_shares(runs, groups)
    kd_gain = 100 * (np.mean(runs["kd"]) - np.mean(runs["single"]))
    ens_gain = 100 * (np.mean(runs["ensemble"]) - np.mean(runs["single"]))
    assert shares["kd"]["mean"] == pytest.approx(100 * kd_gain / ens_gain)
    over_long = 100 * (np.mean(runs["kd"]) - np.mean(runs["single_long"]))
    assert shares["kd over single_long"]["mean"] == pytest.approx(100 * over_long / ens_gain)
    c = contrasts(runs)
    assert c["kd - kd_precomputed"]["mean"] == pytest.approx(4 / 3)  # points, seed-paired
    assert set(c) == {"kd - kd_precomputed", "kd - single_long", "kd_precomputed - single_long"}
    table = format_table({**runs_summary(runs, groups), "teacher_modes": {"kd": "consistent"}})
    assert "Share of the ensemble's gain recovered" in table and "as long as the students" in table
    assert "knowledge distillation: consistent" in table


def test_every_preset_distills_from_unsmoothed_consistent_teachers():
    for name in PRESETS:
        cfg = preset_config(name)
        assert cfg.train.label_smoothing == 0.0 and cfg.distill.teacher == "consistent"


def test_cpu_small_has_disjoint_groups_so_every_row_has_an_interval():
    small = preset_config("cpu-small")
    groups = small.seeds // small.ensemble_size
    assert groups >= 2 and 2 <= small.train_average_runs <= groups  # ensembles and averages
    # Work in single-model epochs: each consistent student step also runs its teachers
    # forward (about a third of a training step each). cpu-small was ~15 min on 2 cores at
    # 16 * (3 * 5 + 5) = 320 units; its budget is 30 min.
    k = small.ensemble_size
    work = small.train.epochs * (
        small.seeds * (1 + (1 + k / 3) + 4 / 3) + small.train_average_runs * k
    )
    assert work <= 2 * 320


@pytest.mark.parametrize(
    "args, words",
    [
        (["--kd-teacher", "teacherless"], "distill.teacher"),
        (["--student-epochs-multiplier", "0"], "student-epochs-multiplier"),
        (["--skip", "everything"], "skip"),
        (["--label-smoothing", "1.5"], "label_smoothing"),
    ],
)
def test_bad_distillation_flags_are_one_line_before_any_work(args, words, tmp_path):
    res = CliRunner().invoke(
        app, ["cifar", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "o"), *args]
    )
    assert res.exit_code == 2 and words in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()  # refused before the data was read


def test_distill_config_is_validated():
    with pytest.raises(ConfigError, match="epochs_multiplier"):
        DistillConfig(epochs_multiplier=1.5)
    with pytest.raises(ConfigError, match="skip"):
        CifarConfig(skip=("single",))
    assert DistillConfig(teacher="both").modes == ("consistent", "precomputed")


def test_skipping_self_distillation_trains_only_the_kd_students():
    cfg = CifarConfig(
        seeds=4, ensemble_size=2, distill=DistillConfig(teacher="both"), skip=("self_distill",)
    )
    calls, modes, _, _ = _fake_students(cfg)
    assert set(calls) == set(modes) == {"kd", "kd_precomputed"}
