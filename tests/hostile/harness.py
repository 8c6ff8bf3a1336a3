"""The hostile-input harness (issue 17): one way to feed a command bad input and check the promise.

The promise, for every user-facing command: exit 1 (2 for usage errors), exactly one line on
stderr naming the file, record or option and the fix, no traceback, inputs untouched and no
leftovers.  :func:`refused` checks all of it against a :func:`snapshot` of the folder taken
before the run; :func:`refused_process` does the same for a real ``dnacnn`` process (signals,
file descriptors, environment).  ``work`` (a fixture of ``tests/conftest.py``) is a
folder holding a small model, sequences, labels, an indexed genome and a VCF, made current.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from conftest import assert_one_line_error


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its kind, content hash and mode (links as their target)."""
    state = {}
    for path in sorted(Path(folder).rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            state[key] = "link:" + os.readlink(path)
        elif path.is_dir():
            state[key] = f"dir:{path.stat().st_mode & 0o777:o}"
        elif path.is_file():
            state[key] = f"{hashlib.sha256(path.read_bytes()).hexdigest()}:{path.stat().st_mode & 0o777:o}"
        else:
            state[key] = "special"
    return state


def refused(cli, folder: Path, args: list, *fragments: str, code: int = 1) -> str:
    """Run ``dnacnn args`` in-process: exit ``code``, one stderr line holding every fragment, no
    traceback, and ``folder`` exactly as before (no output, no temporary, inputs untouched)."""
    before = snapshot(folder)
    line = assert_one_line_error(cli(*args), *fragments, code=code)
    assert snapshot(folder) == before, "the folder changed"
    return line


def run_process(args: list, cwd: Path, timeout: float = 120, env: dict | None = None, **kw):
    """``python -m dnacnn args`` as a real process in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "dnacnn", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        **kw,
    )


def refused_process(folder: Path, args: list, *fragments: str, code: int = 1, env: dict | None = None) -> str:
    """:func:`refused` for a real process run in ``folder``."""
    before = snapshot(folder)
    proc = run_process(args, folder, env=env)
    result = SimpleNamespace(exit_code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
    line = assert_one_line_error(result, *fragments, code=code)
    assert snapshot(folder) == before, "the folder changed"
    return line


def zou_stores(folder: Path) -> Path:
    """Write into ``folder`` 200 Zou sequences (``seqs.txt``, 50 bp) with labels and two stores of
    them: ``s.store`` (random split) and ``f.store`` (2 folds); returns ``folder``."""
    from conftest import DATA

    from dnacnn.encode import encode
    from dnacnn.encode_options import EncodeOptions

    (folder / "seqs.txt").write_text("\n".join((DATA / "zou_sequences.txt").read_text().splitlines()[:200]) + "\n")
    (folder / "labels.txt").write_text("\n".join((DATA / "zou_labels.txt").read_text().splitlines()[:200]) + "\n")
    common = dict(format="lines", labels=str(folder / "labels.txt"), progress=False)
    encode(folder / "seqs.txt", folder / "s.store", EncodeOptions(**common))
    encode(folder / "seqs.txt", folder / "f.store", EncodeOptions(split="folds", folds=2, **common))
    return folder
