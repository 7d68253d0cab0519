"""experiments/airbench_reference/airbench94_reference.py: the harness that runs airbench94's own file on this
project's data on the CPU. The reference itself is not in this repository (and tests never
download), so a stand-in written against the same interface checks the harness: its GPU calls
reach the CPU, its training set is not class-sorted, and the results land where ``--out``
says even though the reference needs a change of working directory. Skipped without torch."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from multiview.cifar.fixtures import write_image_zip

pytest.importorskip("torch")
SCRIPT = (
    Path(__file__).resolve().parents[2]
    / "experiments"
    / "airbench_reference"
    / "airbench94_reference.py"
)

# The reference's interface: a loader whose tensors go to `gpu=0`, fp16, .cuda(), CUDA events,
# torchvision's Normalize, and ./cifar10/{train,test}.pt read relative to the working folder.
STAND_IN = """
import os
import torch
import torchvision.transforms as T

hyp = {"opt": {"train_epochs": 9.9}}


class CifarLoader:
    def __init__(self, path, train=True, batch_size=500, aug=None, drop_last=None,
                 shuffle=None, gpu=0):
        name = os.path.join(path, "train.pt" if train else "test.pt")
        data = torch.load(name, map_location=torch.device(gpu))
        self.images = (data["images"].half() / 255).permute(0, 3, 1, 2)
        self.labels = data["labels"]
        self.normalize = T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def main(run):
    train, test = CifarLoader("cifar10"), CifarLoader("cifar10", train=False)
    net = torch.nn.Linear(3, 10).half().cuda()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    x = train.normalize(train.images).mean(dim=(2, 3))
    end.record()
    torch.cuda.synchronize()
    print(f"classes among the first 8: {len(set(train.labels[:8].tolist()))}")
    print(f"epochs {hyp['opt']['train_epochs']} dtype {x.dtype} {net(x).shape[1]} outputs")
    print(f"test {len(test.labels)} elapsed {start.elapsed_time(end) >= 0}")
    return 0.5
"""


def test_the_harness_runs_a_reference_shaped_file_on_the_cpu(tmp_path):
    ref = tmp_path / "airbench94.py"
    ref.write_text(STAND_IN)
    data = tmp_path / "tiny.zip"
    write_image_zip(data, classes=tuple("abcd"), per_class_train=8, per_class_test=2)
    # Relative paths, as a user types them: each must still mean the caller's folder after
    # the harness changes into --work for the reference.
    cmd = [sys.executable, str(SCRIPT), "--airbench", ref.name, "--data", str(data)]
    cmd += ["--out", "res.json", "--work", "work", "--data-dir", "cache", "--epochs", "2"]
    cmd += ["--threads", "1"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "res.json").read_text())  # relative to the caller's folder
    assert result["train_images"] == 32 and result["test_images"] == 8
    assert result["mean_tta_val_acc"] == 0.5
    log = result["runs"][0]["log"]
    assert "epochs 2.0 dtype torch.float32 10 outputs" in log  # --epochs reached hyp; fp32
    assert "test 8 elapsed True" in log
    # The image folder loads class by class; the reference must see a shuffled training set.
    assert "classes among the first 8: 1" not in log
    assert "classes among the first 8:" in log and log in proc.stdout
    # A second call must not replace the result: one line, exit code 2, the file unchanged.
    before = (tmp_path / "res.json").read_bytes()
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2
    assert again.stderr.strip().startswith("error:") and len(again.stderr.splitlines()) == 1
    assert (tmp_path / "res.json").read_bytes() == before
