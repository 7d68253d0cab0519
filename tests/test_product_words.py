"""The product speaks of what the tool does, not of how it was made: no development-stage
numbers, GPU leases, sessions, engineers, branches or issue numbers in any tracked text file
or file name. History lives in CHANGELOG.md, by date."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Words about the project's making, each with what to say instead.
PATTERNS = {
    r"(?i)\bstops? [0-9]+\b|\bstop-[0-9]+\b": "a stop number: give the date or the reason",
    r"(?i)\bleas(e|es|ed|ing)\b": "a lease: say 'a GPU run'",
    r"(?i)\blent\b": "a lent machine: say 'a GPU'",
    r"(?i)\bengineers?\b": "an engineer: say what the job was",
    r"(?i)\b(this|next|that|another|previous|earlier|later) sessions?\b": "a session",
    r"(?i)\bon (the )?branch\b|\bgit branch\b|\bbranch `": "a development branch",
    r"(?i)issues?[ _#-]?#?[0-9]+": "an issue number: say what it was about",
    r"(?:(?<=[-_ (])|^)s2[0-9]\b": "a stop used as a version tag: name it by meaning",
}
_COMPILED = [(re.compile(p), why) for p, why in PATTERNS.items()]

#: History is kept here, by date.
ALLOWED = ("CHANGELOG.md", "tests/test_product_words.py")

#: Files being rewritten elsewhere right now; their hits are known. Empty this as they land.
PENDING: tuple[str, ...] = ()


def scan_text(name: str, text: str) -> list[str]:
    """``name:line: word (why)`` for every hit in ``text``, and in ``name`` itself (line 0)."""
    hits = []
    for i, line in enumerate([name, *text.splitlines()]):
        for rx, why in _COMPILED:
            for m in rx.finditer(line):
                hits.append(f"{name}:{i}: {m.group(0)!r} ({why})")
    return hits


def tracked_files(root: Path = ROOT) -> list[str]:
    """The tracked files (``git ls-files``), or every file under ``root`` without git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True, timeout=60
        ).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        skip = {".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".ruff_cache"}
        names = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if x not in skip and not x.endswith(".egg-info")]
            names += [str((Path(d) / f).relative_to(root)) for f in files]
        return names


def scan_repo(root: Path = ROOT, exempt: tuple[str, ...] = ALLOWED + PENDING) -> list[str]:
    """Every hit in the tracked text files (a file that is not UTF-8 text: its name only)."""
    hits = []
    for name in tracked_files(root):
        if name in exempt:
            continue
        try:
            text = (root / name).read_bytes().decode()
        except (OSError, UnicodeDecodeError):
            text = ""
        if "\0" in text:
            text = ""
        hits += scan_text(name, text)
    return hits


def test_no_words_about_how_the_project_was_made():
    hits = scan_repo()
    assert not hits, "words about the project's making:\n" + "\n".join(hits)


def test_pending_and_allowed_files_exist():
    names = set(tracked_files())
    assert set(ALLOWED + PENDING) <= names, "an allowed or pending path is gone: drop it"


def test_the_scanner_finds_planted_words(tmp_path):
    planted = (
        "fixed in stop 12, which also traced stop-26's drift\n"
        "measured on the next lease (a lent H100)\n"
        "another engineer's jobs; see issue 13 and issue #11\n"
        "plain prose: Ctrl-C stops after the block; please release the lock\n"
    )
    hits = scan_text("notes/cifar-cpu-s26/README.md", planted)
    found = " ".join(hits)
    for word in ("stop 12", "stop-26", "lease", "lent", "engineer", "issue 13", "issue #11"):
        assert repr(word) in found, word
    assert "notes/cifar-cpu-s26/README.md:0: 's26'" in found  # the file name too
    assert not [h for h in hits if ":4:" in h]  # the plain line passes
    # and through the whole-repository scan, on a planted file in a repository of its own
    (tmp_path / "a.md").write_text(planted)
    (tmp_path / "figures" / "before_issue13").mkdir(parents=True)
    (tmp_path / "figures" / "before_issue13" / "b.png").write_bytes(b"\x89PNG\0")
    hits = scan_repo(tmp_path, exempt=())
    assert any(h.startswith("a.md:1: 'stop 12'") for h in hits)
    assert any(h.startswith("figures/before_issue13/b.png:0:") for h in hits)
