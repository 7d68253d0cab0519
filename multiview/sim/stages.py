"""Finished stages of a long run on disk, so that an interrupted run resumes where it stopped.

A *stage* is one experiment of a composite run (``theorems``: training the average, the KD
students, ...). Its result is a tree of dicts, lists, tuples, numpy and JAX arrays, numpy
scalars, Python numbers (NaN and infinities too), strings, None, and the result types of
:data:`TYPES` (:class:`~multiview.sim.train.History`,
:class:`~multiview.sim.predictions.Prediction`, :class:`~multiview.sim.predictions.Bar`).

Each finished stage is one ``.npz`` written atomically (:func:`multiview.io.save_npz`):
its arrays under ``a0, a1, ...`` and, under ``__tree__``, the UTF-8 JSON of the tree's shape
with every array replaced by its name, beside the stage's *key* (the full config the stage
was computed with). A tree read back is equal to the one written, value for value, dtype for
dtype and type for type (a JAX array comes back as a JAX array, a tuple as a tuple), so a
resumed run computes bit for bit what an uninterrupted one does. No pickle: an object of a
type outside :data:`TYPES` (or an object array) is refused when the stage is saved.

Why one file per stage and not per array: a stage is whole or absent; a file that cannot
be read back (flipped bits, truncated) is kept beside as ``NAME.npz.damaged`` and the stage
is computed again, as for blocks of seeds (:mod:`multiview.sim.blocks`).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview.errors import DamagedFileError, DamagedFileWarning, DataError
from multiview.io import load_npz, save_npz, set_aside, to_jsonable
from multiview.sim.predictions import Bar, Prediction
from multiview.sim.train import History

__all__ = [
    "STAGES_DIR",
    "TYPES",
    "encode_tree",
    "decode_tree",
    "save_stage",
    "load_stage",
    "StageStore",
]

#: The folder of a run that holds its finished stages (``out/stages/<stage>.npz``).
STAGES_DIR = "stages"

#: The result types a stage may hold, by the name written in its file: a file names a type,
#: never code to run.
TYPES: dict[str, type] = {"History": History, "Prediction": Prediction, "Bar": Bar}

_TREE = "__tree__"  # the member of the .npz that holds the tree's JSON
_FORMAT = 1


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, jax.Array))


def _array(value: Any, arrays: dict[str, np.ndarray]) -> dict[str, str]:
    arr = np.asarray(value)
    if arr.dtype.hasobject or arr.dtype.kind == "V":
        raise TypeError(f"a stage cannot hold an array of dtype {arr.dtype} (it needs pickle)")
    name = f"a{len(arrays)}"
    arrays[name] = arr
    # how it comes back: a JAX array, a numpy array (0-d ones too) or a numpy scalar
    kind = "jax" if isinstance(value, jax.Array) else "numpy"
    return {"array": name, "as": "scalar" if isinstance(value, np.generic) else kind}


def encode_tree(tree: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """``(node, arrays)``: the JSON-able shape of ``tree`` and its arrays by name.

    Every node that is not a string, an int, a bool or None is an object tagged by its first
    key (``float``, ``list``, ``tuple``, ``dict`` as ``[key, value]`` pairs so that keys keep
    their type and order, ``array`` with ``as``, ``type`` with ``fields``): a dict of the
    tree is never written as a JSON object, so nothing in a tree can be mistaken for a tag.
    Raises ``TypeError`` for a value of any other type.
    """
    arrays: dict[str, np.ndarray] = {}

    def enc(value: Any) -> Any:
        if value is None or isinstance(value, (str, bool)):
            return value
        if type(value) is int:
            return value
        if type(value) is float:
            return {"float": repr(value)}  # exact, and 'nan' / 'inf' are kept
        if _is_array(value):
            return _array(value, arrays)
        name = type(value).__name__
        if TYPES.get(name) is type(value):
            if dataclasses.is_dataclass(value):
                fields = {f.name: enc(getattr(value, f.name)) for f in dataclasses.fields(value)}
            else:  # a NamedTuple
                fields = {f: enc(getattr(value, f)) for f in type(value)._fields}
            return {"type": name, "fields": fields}
        if type(value) is dict:
            return {"dict": [[enc(k), enc(v)] for k, v in value.items()]}
        if type(value) is list:
            return {"list": [enc(v) for v in value]}
        if type(value) is tuple:
            return {"tuple": [enc(v) for v in value]}
        raise TypeError(f"a stage cannot hold a {type(value).__qualname__} ({value!r:.80})")

    return enc(tree), arrays


def decode_tree(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The tree :func:`encode_tree` made ``node`` and ``arrays`` of. A node it did not write
    raises ``ValueError``, ``KeyError`` or ``TypeError`` (:func:`load_stage` calls the file
    damaged)."""
    if node is None or isinstance(node, (str, bool, int)):
        return node
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise ValueError(f"not a node of a stage: {node!r:.80}")
    if "float" in node:
        return float(node["float"])
    if "list" in node:
        return [decode_tree(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(decode_tree(v, arrays) for v in node["tuple"])
    if "dict" in node:
        return {decode_tree(k, arrays): decode_tree(v, arrays) for k, v in node["dict"]}
    if "array" in node:
        arr = arrays[node["array"]]
        if node["as"] == "jax":
            return jnp.asarray(arr)
        return arr[()] if node["as"] == "scalar" else arr
    if "type" in node:
        fields = {k: decode_tree(v, arrays) for k, v in node["fields"].items()}
        return TYPES[node["type"]](**fields)
    raise ValueError(f"not a node of a stage: {node!r:.80}")


def _jsonable_key(key: Any) -> Any:
    """``key`` as it reads back from JSON (tuples as lists, NaN as null)."""
    return json.loads(json.dumps(to_jsonable(key)))


def save_stage(path: str | Path, tree: Any, key: Any) -> Path:
    """Write ``tree`` (computed with ``key``: a JSON-able config) to the ``.npz`` ``path``,
    atomically. Raises ``TypeError`` (nothing written) for a value :func:`encode_tree`
    refuses."""
    node, arrays = encode_tree(tree)
    body = {"format": _FORMAT, "key": _jsonable_key(key), "tree": node}
    text = json.dumps(body, allow_nan=False).encode("utf-8")
    return save_npz(path, **arrays, **{_TREE: np.frombuffer(text, dtype=np.uint8)})


def load_stage(path: str | Path, key: Any) -> tuple[bool, Any]:
    """``(True, tree)`` for the stage in ``path`` if it was computed with ``key``;
    ``(False, None)`` if it was computed with another key (it must not be reused).
    A file that cannot be read back raises :class:`~multiview.errors.DamagedFileError`."""
    arrays = load_npz(path)
    try:
        body = json.loads(arrays.pop(_TREE).tobytes().decode("utf-8"))
        if body.get("format") != _FORMAT:
            raise ValueError(f"format {body.get('format')!r}, not {_FORMAT}")
        if body["key"] != _jsonable_key(key):
            return False, None
        return True, decode_tree(body["tree"], arrays)
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise DamagedFileError(
            f"{path} is damaged (not a stage this version wrote: {type(err).__name__}: {err})"
        ) from None


class StageStore:
    """The finished stages of one run in ``folder`` (``out/stages``), all computed with
    ``key`` (the run's full config and whatever else the stages depend on).

    With ``resume``, every saved stage of ``names`` is read once, here, before any compute:
    a damaged file is set aside with a :class:`~multiview.errors.DamagedFileWarning` and a
    file of another key is ignored; both are computed again (and overwritten). Without
    ``resume`` nothing is read and every stage is computed and overwritten.
    """

    def __init__(self, folder: str | Path, key: Any, names: Iterable[str] = (), resume=False):
        self.folder = Path(folder)
        self.key = _jsonable_key(key)
        self.saved: dict[str, Any] = {}
        if resume:
            for name in names:
                found, tree = self._read(name)
                if found:
                    self.saved[name] = tree

    def path(self, name: str) -> Path:
        """The file of stage ``name``: ``folder/<name>.npz``."""
        return self.folder / f"{name}.npz"

    def _read(self, name: str) -> tuple[bool, Any]:
        path = self.path(name)
        if not path.exists():
            return False, None
        try:
            found, tree = load_stage(path, self.stage_key(name))
        except (OSError, ValueError) as err:  # DamagedFileError is a ValueError
            try:
                set_aside(path, f"the stage {name!r} is computed again")
            except OSError:
                raise DataError(f"--resume: the stage file {path} is damaged ({err})") from None
            return False, None
        if not found:
            warnings.warn(
                f"{path} was computed with another config; the stage {name!r} is computed again",
                DamagedFileWarning,
                stacklevel=3,
            )
        return found, tree

    def stage_key(self, name: str) -> dict[str, Any]:
        """The key stage ``name`` is saved with: the store's key and the stage's name."""
        return {"stage": name, "run": self.key}

    def __contains__(self, name: str) -> bool:
        return name in self.saved

    def __getitem__(self, name: str) -> Any:
        return self.saved[name]

    def save(self, name: str, tree: Any) -> None:
        """Write stage ``name`` (atomically: a reader sees the whole stage or none).

        A result holding a value no stage file can hold is not written, with a warning (a
        resumed run computes it again): saving is for resuming, and must never end the run
        that has just computed the result."""
        try:
            save_stage(self.path(name), tree, self.stage_key(name))
        except TypeError as err:
            warnings.warn(
                f"the stage {name!r} was not saved ({err}); a resumed run computes it again",
                DamagedFileWarning,
                stacklevel=2,
            )
        self.saved[name] = tree
