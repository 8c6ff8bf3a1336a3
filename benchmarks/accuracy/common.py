"""Shared helpers of the accuracy benchmarks: paths, a quiet training call, markdown tables.

Every benchmark goes through the library itself (``dnacnn.encode.encode`` -> ``dnacnn.train.train``
-> ``dnacnn.predict.predict_store`` -> ``dnacnn.metrics.compute_metrics``), so the numbers measure
the tool as users run it.  Results are printed as markdown and written atomically to
``benchmarks/accuracy/results/NAME.md``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
SHARED = REPO.parent / "shared" / "data"


def shared_data(name: str) -> Path:
    """Path of a dataset under ``../shared/data`` (or ``$DNACNN_SHARED_DATA``)."""
    root = Path(os.environ.get("DNACNN_SHARED_DATA", SHARED))
    path = root / name
    if not path.exists():
        sys.exit(f"{path}: dataset not found; set DNACNN_SHARED_DATA to the folder holding {name}/")
    return path


def train_quiet(store, out, **options):
    """``dnacnn.train.train`` without progress output; returns the TrainResult."""
    import contextlib
    import io

    from dnacnn.train import TrainSettings, train

    options.setdefault("progress", False)
    options.setdefault("device", "cpu")
    with contextlib.redirect_stderr(io.StringIO()):
        return train(store, out, TrainSettings(**options))


def score_split(model_path, store_path, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """``(y_true (n, tasks), scores (n, columns))`` of one split, through the library's predictor."""
    from dnacnn.predict import predict_store

    _, y, scores = predict_store(model_path, store_path, split=split, device="cpu")
    return y, scores


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def mean_range(values, digits: int = 3) -> str:
    """``mean (min-max)`` of a list of numbers."""
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} ({values.min():.{digits}f}-{values.max():.{digits}f})"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    import torch

    return (
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), Python {platform.python_version()}"
    )


def write_result(name: str, text: str) -> Path:
    """Print ``text`` and write it atomically to ``results/NAME.md``."""
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n")
    os.replace(tmp, path)
    print(f"\nwritten to {path.relative_to(REPO)}", file=sys.stderr)
    return path
