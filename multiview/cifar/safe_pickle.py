"""Reading the official CIFAR python pickles without running code from them.

``pickle.load`` imports and calls whatever a file names, so a crafted ``batches.meta`` in a
user's ``--data`` folder would run arbitrary code. The official files hold only a dict of
bytes / str keys, lists of ints and bytes, and one uint8 numpy array; this unpickler admits
exactly the classes that rebuild those (numpy's array reconstruction, its dtype, and numpy
scalars) and refuses every other global before anything is called.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

__all__ = ["UnsafePickleError", "safe_loads", "ALLOWED_GLOBALS"]

# (module, name) pairs a CIFAR pickle may reference. numpy 1.x wrote ``numpy.core``; numpy 2
# reads it as ``numpy._core``; both spellings rebuild the same plain array.
ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),  # protocol 5 arrays
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global outside :data:`ALLOWED_GLOBALS` (nothing was executed)."""


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """Python 3 pickles bytes (protocol <= 2) as ``_codecs.encode(text, "latin1")``; admit
    that one use, not ``_codecs.encode`` with any codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UnsafePickleError(f"refusing _codecs.encode with {encoding!r}")
    return text.encode("latin1")


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: a CIFAR file holds only arrays, lists, "
                "bytes and numbers"
            )
        return super().find_class(module, name)


def safe_loads(blob: bytes) -> Any:
    """Unpickle ``blob`` (bytes-keyed, as the Python-2 CIFAR files are) with only the builtin
    containers, bytes, strings, numbers and numpy arrays admitted.

    Raises :class:`UnsafePickleError` for any other global, and the usual
    ``pickle.UnpicklingError`` / ``EOFError`` / ``ValueError`` for damaged input.
    """
    return _Restricted(io.BytesIO(blob), encoding="bytes").load()
