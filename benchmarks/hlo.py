"""Reading a compiled XLA program (``jit(f).lower(...).compile().as_text()``) offline.

The GPU script saves the optimized HLO of every step variant it times, so what the GPU
ran can be read after the run: which kernels, how many GEMMs, and how many full writes of
the big pre-activation tensor (each is one more pass over HBM, the step's bound).
"""

from __future__ import annotations

import collections
import re

import numpy as np

__all__ = ["hlo_summary"]

# An HLO instruction line: "%name = <shape> opcode(operands), attributes". The opcode is the
# first lower-case word directly followed by "(" after the "=" (shapes never are).
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*.*?\s([a-z][a-z0-9\-]*)\(")
_CALLED = re.compile(r"(?:calls|to_apply)=\{?%?([\w.\-]+)")
_FREE = ("parameter", "constant", "get-tuple-element", "tuple", "bitcast")  # no kernel
_CONTROL = ("while", "call", "conditional")  # run kernels, are none (and pass tuples through)
_ARRAY = re.compile(r"\b(pred|[a-z]+)(\d*)\[([\d,]*)\]")  # f32[3200,80]: kind, bits, dims


def _big_bytes(shape: str, big_elements: int) -> int:
    """Bytes of the arrays of exactly ``big_elements`` elements (any layout) in an HLO
    output shape (``f32[3200,80]{1,0}`` or a tuple of such)."""
    total = 0
    for kind, bits, dims in _ARRAY.findall(shape):
        size = int(np.prod([int(x) for x in dims.split(",") if x]))
        if size == big_elements:
            total += size * (1 if kind == "pred" else max(1, int(bits or 8) // 8))
    return total


def hlo_summary(text: str, big_elements: int | None = None) -> dict[str, int]:
    """Counts of the scheduled instructions of an HLO module by opcode, plus
    ``fusion:<kind>`` and ``custom-call:<target>`` breakdowns, ``kernels`` (all but loops
    and calls) and ``gemm`` (dots, fusions around a dot, GEMM custom calls): what runs as a
    kernel.

    Computations called by a fusion, custom call or reduction (``calls=`` / ``to_apply=``)
    are bodies, not kernels, and are not counted. A ``transpose`` or ``copy`` left at the
    top level is a kernel of its own: one more read and write of its operand.

    ``big_elements`` (the pre-activation tensor's size, ``N P S k m``): also count, as
    ``big:<opcode>`` and ``big_bytes_written``, the kernels whose outputs hold arrays of that
    many elements, i.e. the full writes of that tensor (each is read again later).
    """
    comps: dict[str, list[str]] = {}
    lines: list[str] | None = None
    for line in text.splitlines():
        if line[:1].strip() and line.rstrip().endswith("{"):  # a computation's header
            name = line.removeprefix("ENTRY ").split()[0].lstrip("%")
            lines = comps.setdefault(name, [])
        elif line.strip() == "}":
            lines = None
        elif lines is not None:
            lines.append(line)
    bodies = set()
    for body in comps.values():
        for line in body:
            m = _INSTR.match(line)
            if m and m.group(1) != "call":
                bodies.update(_CALLED.findall(line))
    has_dot = {name for name, body in comps.items() if any(" dot(" in line for line in body)}
    counts: collections.Counter[str] = collections.Counter()
    for name, body in comps.items():
        if name in bodies:
            continue
        for line in body:
            m = _INSTR.match(line)
            if not m or m.group(1) in _FREE:
                continue
            op = m.group(1)
            counts[op] += 1
            if op in _CONTROL:
                continue
            counts["kernels"] += 1
            called = _CALLED.findall(line)
            if op == "dot" or (op == "fusion" and called and called[0] in has_dot):
                counts["gemm"] += 1
            elif op == "custom-call" and re.search(r'target="[^"]*(gemm|matmul)', line, re.I):
                counts["gemm"] += 1
            if big_elements:
                written = _big_bytes(line.split("=", 1)[1].split(f" {op}(")[0], big_elements)
                if written:
                    counts[f"big:{op}"] += 1
                    counts["big_bytes_written"] += written
            if op == "fusion":
                kind = re.search(r"kind=(k\w+)", line)
                counts[f"fusion:{kind.group(1) if kind else '?'}"] += 1
            elif op == "custom-call":
                target = re.search(r'custom_call_target="([^"]+)"', line)
                counts[f"custom-call:{target.group(1) if target else '?'}"] += 1
    return dict(sorted(counts.items()))
