"""The pieces of one training run, set up once and handed to the epoch functions.

Contract: a :class:`Run` holds what :func:`dnacnn.train.train` sets up before the first epoch:
the caller's settings and the resolved ones it records (``record``), the store and its split
rows, the spec, the process's place under DDP, the device and precision, and the model with its
objective, optimizer, scheduler, input expansion, autocast context, fp16 grad scaler and weight
average.  It holds no behaviour beyond the paths it derives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dnacnn.store import Store
from dnacnn.train.settings import TrainSettings, history_path


@dataclass
class Run:
    settings: TrainSettings
    record: dict  # the resolved settings, as the model file records them
    store: Store
    spec: dict
    out_path: Path
    rank: int
    world: int
    device: Any
    precision: str
    train_idx: np.ndarray
    valid_idx: np.ndarray
    model: Any = None
    net: Any = None  # the model, or its DistributedDataParallel wrapper
    objective: Any = None
    optimizer: Any = None
    scheduler: Any = None
    expand: Any = None
    autocast: Any = None
    scaler: Any = None
    average: Any = None

    @property
    def ckpt_path(self) -> Path:
        return self.out_path.with_name(self.out_path.name + ".ckpt")

    @property
    def history_path(self) -> Path:
        return history_path(self.out_path, self.settings.history)
