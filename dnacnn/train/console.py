"""What a training run tells its user: the banner, epoch lines, progress bars and history TSV.

Contract: :func:`banner` says, before the first progress bar, what the run is about to do (model
and parameters, rows, device and precision, epochs and batches, what the ``*`` of the epoch lines
means); :func:`log` writes one line on stderr from rank 0 only; :func:`progress_bar` is an
epoch's tqdm bar; :func:`write_history` writes the per-epoch history TSV atomically.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from dnacnn.io.tsv import write_table

MIN_VALID_ROWS = 20  # fewer validation rows: one warning that early stopping will be noisy


def banner(rank, world, model, spec, store, record, device, precision, objective, n_epoch_rows, n_valid) -> None:
    """What this run is about to do, before the first progress bar: model and parameters, rows,
    device and precision, epochs and batches, and what the ``*`` of the epoch lines means."""
    import torch

    from dnacnn.models import count_parameters

    enc, n_train = store.encoding, int(store.manifest["split_counts"]["train"])
    unit = "bp" if enc.kind == "dna" else "markers"
    log(
        rank,
        f"train: {spec['name']} ({sum(count_parameters(model)):,} parameters) on {store.path.name}: "
        f"{n_train:,} train / {n_valid:,} valid rows of {enc.length:,} {unit}, {store.task}",
    )
    if record["fresh_negatives"]:
        k = int(record["shuffles_per_positive"])
        shuffles = "a new shuffle" if k == 1 else f"{k} new shuffles"
        log(
            rank,
            f"train: each epoch: the {n_epoch_rows // (1 + k):,} training positives + {shuffles} of each "
            f"= {n_epoch_rows:,} rows",
        )
    where = str(device)
    if device.type == "cuda":
        where += f" ({torch.cuda.get_device_name(device)})"
    elif device.type == "cpu":
        threads = torch.get_num_threads()
        where += f" ({threads} thread{'s' * (threads != 1)})"
    if world > 1:
        where += f" x {world} processes"
    batch, epochs = int(record["batch_size"]), int(record["epochs"])
    steps = math.ceil(math.ceil(n_epoch_rows / batch) / world)
    log(rank, f"train: {where}, {precision}: up to {epochs} epoch{'s' * (epochs != 1)} x {steps:,} batches of {batch}")
    if not n_valid:
        log(rank, "train: no validation rows: every epoch runs and the last one's weights are saved")
        return
    metric = f"val_{objective.metric_name}"
    patience = int(record["patience"])
    log(
        rank,
        f"train: * marks a new best {metric} (its weights are saved); early stop after {patience} "
        f"epoch{'s' * (patience != 1)} without one",
    )
    if n_valid < MIN_VALID_ROWS:
        log(
            rank,
            f"warning: the validation split has {n_valid} row{'s' * (n_valid != 1)}: early stopping and the best "
            "epoch will be noisy; re-encode with a larger 'dnacnn encode --valid-frac' (e.g. 0.1)",
        )
    # the validation metric imports scikit-learn (seconds on a busy machine): now, under the banner,
    # not in a blank pause after the first epoch's progress bar
    import sklearn.metrics  # noqa: F401


def log(rank: int, message: str) -> None:
    """``message`` on stderr, from rank 0 only."""
    if rank == 0:
        print(message, file=sys.stderr, flush=True)


def progress_bar(enabled: bool, total: int, desc: str):
    """An epoch's tqdm bar of ``total`` batches (off when not ``enabled`` or not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="batch", leave=False, disable=None if enabled else True)


HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "val_metric", "lr", "seconds")  # the history TSV's header


def write_history(path: Path, rows: list[dict]) -> None:
    """The history TSV, one row per epoch, written atomically."""
    import pandas as pd

    write_table(path, pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), "%.6g")
