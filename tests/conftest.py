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
