"""What a training run carries from epoch to epoch and what it returns.

Contract: :class:`LoopState` is the part of a run a checkpoint saves and restores (epoch, best
metric and epoch, epochs without improvement, history rows, best weights); :class:`TrainResult`
is what :func:`dnacnn.train.train` returns about the model it wrote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LoopState:
    epoch: int = 0
    best_metric: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list = field(default_factory=list)
    best_weights: dict | None = None


@dataclass
class TrainResult:
    model_path: Path
    history_path: Path
    best_epoch: int
    best_metric: float
    metric_name: str
    epochs_run: int
    seconds: float
    device: str
