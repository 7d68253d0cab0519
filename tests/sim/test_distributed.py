"""Two local processes on loopback (jax.distributed) split a sweep; the merge equals one run."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

from multiview.experiments.simulate import run_simulation
from multiview.sim.blocks import seed_blocks
from multiview.sim.distributed import process_blocks

WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from multiview.sim.config import config_from_dict
    from multiview.experiments.simulate import run_distributed_simulation
    import json, jax
    cfg = config_from_dict(json.loads(sys.argv[2]))
    r = run_distributed_simulation(cfg, sys.argv[1])
    assert jax.process_count() == 2
    if r is not None:
        np.savez(sys.argv[1] + "/merged.npz", weights=np.asarray(r.weights),
                 loss=r.history.records["loss"], test_acc_multi=r.per_seed["test_acc_multi"])
    print("done", jax.process_index(), flush=True)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_process_blocks_partition_the_global_blocks():
    for seeds, chunk, count in [(5, 0, 2), (10, 3, 3), (3, 0, 4), (64, 8, 3)]:
        size, _ = process_blocks(seeds, chunk, 0, count)
        mine = [b for i in range(count) for b in process_blocks(seeds, chunk, i, count)[1]]
        assert mine == seed_blocks(seeds, size)


def test_two_processes_on_loopback_merge_to_the_single_process_result(tmp_path, tiny_config):
    import dataclasses
    import json

    from multiview.sim.config import config_to_dict

    cfg = dataclasses.replace(tiny_config, seeds=5)  # blocks of 3 and 2 seeds
    out = tmp_path / "run"
    port = _free_port()
    procs = []
    for pid in range(2):
        env = {
            **os.environ,
            "MULTIVIEW_COORDINATOR": f"127.0.0.1:{port}",
            "MULTIVIEW_NUM_PROCESSES": "2",
            "MULTIVIEW_PROCESS_ID": str(pid),
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(out), json.dumps(config_to_dict(cfg))],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        single = run_simulation(cfg)  # the reference, while the two processes run
        logs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log
    assert sorted(f.name for f in (out / "blocks").glob("seeds_*.npz")) == [
        "seeds_000000_000003.npz",
        "seeds_000003_000005.npz",
    ]
    merged = np.load(out / "merged.npz")
    np.testing.assert_allclose(merged["weights"], np.asarray(single.weights), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(merged["loss"], single.history.records["loss"], rtol=1e-5)
    np.testing.assert_array_equal(merged["test_acc_multi"], single.per_seed["test_acc_multi"])
