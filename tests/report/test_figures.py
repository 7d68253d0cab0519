"""Every figure of a quick run renders at a readable size and aspect, and tells its
prediction: the lottery, memorization, training curves, Lambda on a symlog axis with the
learned threshold, and accuracy by method from 0 with labels clear of the error bars."""

import numpy as np
import pytest
from PIL import Image

import multiview as mv
from multiview.report import plots
from multiview.report.page import build_report
from multiview.report.page_parts import WIDE_PX
from multiview.report.simulation import write_simulation_figures

FIGURES = {
    "lambda.png",
    "learned_views.png",
    "accuracy.png",
    "lottery.png",
    "memorization.png",
    "training_curves.png",
}


@pytest.fixture(scope="module")
def quick_run():
    cfg = mv.preset("quick", seeds=3, steps=60, n_train=40, n_test=50, d=64, k=4, chunks=2)
    return mv.simulate(cfg, progress=False)


def _size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_every_figure_of_a_quick_run_has_a_readable_size_and_aspect(quick_run, tmp_path):
    paths = write_simulation_figures(quick_run, tmp_path)
    assert {p.name for p in paths.values()} == FIGURES
    for path in paths.values():
        width, height = _size(path)
        assert 400 <= width <= 1400 and 200 <= height <= 1100, (path.name, width, height)
        assert 0.5 <= width / height <= 3.0, (path.name, width, height)


def test_lambda_keeps_zero_values_draws_the_threshold_and_no_stall_claim():
    steps = np.array([0, 1, 10, 100])
    lam = np.full((1, 4, 1, 2), 0.01)
    lam[0, :, 0, 1] = [0.0, 0.0, 0.5, 4.0]  # starts at 0, climbs past the threshold
    fig = plots.plot_lambda_trajectories(steps, lam, threshold=1.5)
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"  # 0 stays on the axis (a log axis drops it)
    assert any(np.allclose(line.get_ydata(), 1.5) for line in ax.get_lines())
    assert "stall" not in fig._suptitle.get_text() and "1.5" in fig._suptitle.get_text()
    plots.plt.close(fig)


def test_method_accuracy_starts_at_0_with_labels_past_the_error_bars():
    methods = {f"method_{i}_with_a_long_name": (0.5 + 0.02 * i, 0.05) for i in range(12)}
    fig = plots.plot_method_accuracy(methods)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] == 0
    for text, (m, s) in zip(ax.texts, methods.values(), strict=True):
        assert text.get_position()[0] > m + s  # right of the error bar's end
    width, height = fig.get_size_inches()
    assert 0.5 <= width / height <= 3.0
    plots.plt.close(fig)


def test_the_report_gives_wide_figures_a_whole_row(quick_run, tmp_path):
    quick_run.save(tmp_path / "run")
    page = build_report(tmp_path / "run").read_text()
    for name in FIGURES:
        assert f"figures/{name}" in page
    wide = [n for n in FIGURES if _size(tmp_path / "run" / "figures" / n)[0] > WIDE_PX]
    assert "lambda.png" in wide and page.count('<figure class="wide">') == len(wide)
    assert str(tmp_path) not in page  # the header names the run, not its absolute path
