"""Shared fixtures: paths to bundled test data, the CLI runner, and a device fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shared_data() -> Path:
    """The team's real datasets beside the checkout (../shared/data); skipped where absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED


class Cli:
    """Runs ``dnacnn`` in-process and splits stdout / stderr."""

    def __init__(self) -> None:
        from dnacnn.cli import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(self.app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture(params=["cpu", "cuda"])
def device(request) -> str:
    """Run a test on the CPU and, where a GPU exists, on CUDA (skipped cleanly without one)."""
    import torch

    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return request.param


def assert_one_line_error(result, *fragments: str, code: int = 1) -> str:
    """A user error: exit ``code``, one line on stderr holding every fragment, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """The hostile-input suite's folder (``tests/hostile``), made current: a model (``m.dnacnn``,
    24 bp, scores a motif; copied as ``m.bw``), 200 Zou sequences (``seqs.txt``) with labels
    (``labels.txt``), 20 of them as FASTA (``seqs.fa``), an indexed genome (``genome.fa`` +
    ``.fai``) and a VCF (``calls.vcf``)."""
    import shutil

    from test_variants import motif_model

    from dnacnn.io.bed import open_genome

    lines = (DATA / "zou_sequences.txt").read_text().splitlines()[:200]
    labels = (DATA / "zou_labels.txt").read_text().splitlines()[:200]
    (tmp_path / "seqs.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    (tmp_path / "seqs.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(lines[:20])))
    shutil.copy(DATA / "interp_genome.fa", tmp_path / "genome.fa")
    shutil.copy(DATA / "vcf_small.vcf", tmp_path / "calls.vcf")
    open_genome(tmp_path / "genome.fa").close()  # the .fai exists before any snapshot
    motif_model(tmp_path / "m.dnacnn")
    shutil.copy(tmp_path / "m.dnacnn", tmp_path / "m.bw")  # scan's -o m.bw names the track m.bw
    monkeypatch.chdir(tmp_path)
    return tmp_path
