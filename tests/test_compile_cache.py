"""The test suite's shared compilation cache under pytest-xdist (conftest.py): a cache entry
that another worker is still writing is read as a damaged file. JAX must then warn with the
message pyproject's filterwarnings ignores, and compile afresh to the right result."""

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = textwrap.dedent(
    """
    import json, warnings
    import jax, jax.numpy as jnp
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = jax.jit(lambda x: jnp.sin(x) * 3.0 + x)(jnp.arange(4.0))
    print(json.dumps([str(w.message) for w in caught if w.category is UserWarning]))
    print(float(y.sum()))
    """
)


def _run(cache: Path) -> tuple[list[str], float]:
    env = {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
        "JAX_PLATFORMS": "cpu",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    messages, total = proc.stdout.strip().splitlines()[-2:]
    return json.loads(messages), float(total)


def test_a_half_written_cache_entry_warns_as_filtered_and_compiles_afresh(tmp_path):
    cache = tmp_path / "cache"
    clean, expected = _run(cache)
    assert clean == [] and len(list(cache.iterdir())) > 0
    for entry in cache.iterdir():  # every entry cut in half, as a reader mid-write sees it
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])
    messages, total = _run(cache)
    assert total == expected
    assert messages, "a damaged entry was read without a warning"
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    filters = pytest_options["ini_options"]["filterwarnings"]
    (ignored,) = [f.split(":")[1] for f in filters if "compilation cache" in f]
    assert all(m.startswith(ignored) for m in messages), messages
