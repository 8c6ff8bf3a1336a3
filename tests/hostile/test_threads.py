"""``--threads``: auto or a whole number of threads, on every command that takes it (issue 17, item 6).

``train``, ``tune``, ``cv``, ``predict``, ``evaluate`` and ``scan`` take ``--threads auto`` (the
default) or a whole number from 1 to 4 per CPU; anything else (zero, negative, a fraction, a
float written with an exponent, hex, an empty value, a number past the limit, a word) is one
line naming ``--threads``, exit 1, before the command reads or writes anything else.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from harness import refused, zou_stores

ZOU_MODEL = Path(__file__).resolve().parents[2] / "galaxy" / "test-data" / "zou.dnacnn"

COMMANDS = {
    "train": ["train", "s.store", "--model", "zou2019", "--epochs", "1", "-o", "t.dnacnn", "--no-progress"],
    "tune": ["tune", "s.store", "--model", "zou2019", "--trials", "1", "--no-progress", "-o", "tu"],
    "cv": ["cv", "f.store", "--model", "zou2019", "--epochs", "1", "--no-progress", "-o", "cvout"],
    "predict": ["predict", "m.dnacnn", "seqs.fa", "--no-progress", "-o", "p.tsv"],
    "evaluate": ["evaluate", "zou.dnacnn", "s.store", "--no-baseline", "-o", "ev"],
    "scan": ["scan", "m.dnacnn", "genome.fa", "--no-progress", "-o", "scan.bw"],
}

# each a different way to be wrong: what the parser must not take for a thread count
BAD = {
    "zero": "0",
    "negative": "-1",
    "minus zero": "-0",
    "fraction": "2.5",
    "exponent": "1e9",
    "hex": "0x2",
    "empty": "",
    "blank": " ",
    "word": "two",
    "nan": "nan",
    "near auto": "autox",
    "past the limit": str(4 * (os.cpu_count() or 1) + 1),
    "huge": "99999999999999999999999",
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """``s.store`` (200 Zou sequences of 50 bp, random split) and ``f.store`` (2 folds), once."""
    return zou_stores(tmp_path_factory.mktemp("stores"))


@pytest.fixture
def here(work, clean) -> Path:
    """``work`` with the clean stores and a model trained on such sequences (``zou.dnacnn``)."""
    shutil.copytree(clean / "s.store", work / "s.store")
    shutil.copytree(clean / "f.store", work / "f.store")
    shutil.copy(ZOU_MODEL, work / "zou.dnacnn")
    return work


@pytest.mark.parametrize("value", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_thread_count_is_one_line(cli, here, command, value):
    line = refused(cli, here, [*COMMANDS[command], "--threads", value], "--threads must be auto or a whole number")
    assert repr(value) in line


@pytest.mark.parametrize("command", ["train", "predict", "scan"])
def test_auto_and_a_number_are_taken(cli, here, command):
    """The same commands run with ``--threads auto`` and ``--threads 1`` (the values the refusals spare)."""
    for value in ("auto", "1"):
        result = cli(*COMMANDS[command], "--threads", value)
        assert result.exit_code == 0, result.stderr
        for out in ("t.dnacnn", "t.history.tsv", "p.tsv", "scan.bw"):
            (here / out).unlink(missing_ok=True)
