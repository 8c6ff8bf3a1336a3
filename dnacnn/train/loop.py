"""``dnacnn train``: fit a CNN from a layer spec on a tensor store and write a model file.

Contract: ``train(store_path, out_path, TrainSettings) -> TrainResult``.  The store's ``train``
rows are fitted, its ``valid`` rows drive early stopping (patience, best weights restored) and
reduce-on-plateau; ``test`` rows are never touched here.  Batches are uint8 codes expanded to
one-hot on the device (:mod:`dnacnn.train.batches` says which rows an epoch reads).

Reproducibility: every epoch reseeds torch and the batch order from ``(seed, epoch)``, so the same
seed trains on the same batches, and a run resumed from its last checkpoint (``--resume``) ends
with the same weights as an uninterrupted run on the same device.  Checkpoints are safetensors
(no pickle), written atomically each epoch to ``OUT.ckpt`` and removed when training ends.  With
``--resume`` the checkpoint is instead replaced, atomically, by the finished model (a hard link to
``OUT``: no extra space), so at every moment it describes the run: a job killed after the model
was written, whose model a workflow manager then deletes as incomplete (a SLURM time limit during
the wrap-up), re-saves the model on its next ``--resume`` instead of training from epoch 1.  A
finished checkpoint of other settings or of another store is ignored (the run starts afresh).

Several GPUs: launch with ``torchrun --nproc-per-node N -m dnacnn train ...``; each rank trains on
its shard of every epoch's batches under DistributedDataParallel (:mod:`dnacnn.train.distributed`),
all ranks validate identically so early stopping agrees without communication, and rank 0 alone
writes files.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from dnacnn.device import cpu_has_bf16, resolve_device, resolve_precision, reuse_freed_memory, set_threads
from dnacnn.errors import DnacnnError, SettingError
from dnacnn.modelfile import MODEL_FORMAT
from dnacnn.store import Store
from dnacnn.train import distributed
from dnacnn.train.additive import fit_additive
from dnacnn.train.averaging import RecentBatches, WeightAverage, has_batchnorm
from dnacnn.train.batches import TrainingRows, has_shuffled_negatives, row_indices, validation_rows
from dnacnn.train.checkpoint import check_resumable, checkpoint_meta, finished_run, link_or_copy, load_checkpoint
from dnacnn.train.console import banner, log, write_history
from dnacnn.train.epoch import end_epoch, final_weights, train_epoch
from dnacnn.train.objective import Objective
from dnacnn.train.optimizer import make_optimizer, make_scheduler
from dnacnn.train.run import Run
from dnacnn.train.settings import TrainSettings, history_path, resolve_settings
from dnacnn.train.state import LoopState, TrainResult


def train(
    store_path: str | os.PathLike, out_path: str | os.PathLike, settings: TrainSettings | None = None
) -> TrainResult:
    """Train ``settings.model`` on the store at ``store_path``; write the model to ``out_path``."""
    import torch

    settings = settings or TrainSettings()
    started = time.time()
    run = prepare(store_path, Path(out_path), settings)
    build(run)
    state = start_or_resume(run)
    if isinstance(state, TrainResult):  # the checkpoint held this very run, finished
        return state
    record = run.record
    valid = validation_rows(run.store, run.valid_idx)
    workers = settings.num_workers if settings.num_workers is not None else (4 if run.device.type == "cuda" else 0)
    rows = TrainingRows(run.store, run.train_idx, record, run.device, run.rank, run.world, workers)
    # batch-norm statistics are re-estimated for the weights that are validated and saved
    recent = RecentBatches(enabled=has_batchnorm(run.model))
    for epoch in range(state.epoch + 1, int(record["epochs"]) + 1):
        t0 = time.time()
        torch.manual_seed(record["seed"] * 100_003 + epoch)
        batches, n_batches = rows.epoch(epoch)
        loss = train_epoch(run, batches, n_batches, epoch, recent)
        if end_epoch(run, state, valid, recent, epoch, loss, t0):
            break
        if settings.max_minutes and (time.time() - started) / 60 > settings.max_minutes:
            log(run.rank, f"stopping: --max-minutes {settings.max_minutes} reached")
            break
    final_weights(run, state, recent)
    seconds = time.time() - started
    save(run, state, seconds)
    distributed.leave(run.world)
    best = (state.best_epoch, state.best_metric, run.objective.metric_name, state.epoch)
    return TrainResult(run.out_path, run.history_path, *best, seconds, str(run.device))


def prepare(store_path: str | os.PathLike, out_path: Path, settings: TrainSettings) -> Run:
    """The store (one fold held out with ``fold``), the spec, the resolved settings, the device
    and precision (the process group joined under torchrun), all checked against each other."""
    from dnacnn.models import load_spec

    check_outputs(store_path, out_path, settings)
    spec = load_spec(settings.model)
    spec = {**spec, **settings.overrides} if settings.overrides else spec
    record = resolve_settings(spec, settings)
    store = Store.open(store_path)
    if settings.fold is not None:
        store = store.for_fold(settings.fold)
    record["store_digest"] = store_digest(store)
    rank, world, local_rank = distributed.distributed_env()
    device = distributed.join(resolve_device(settings.device), world, local_rank)
    set_threads(settings.threads)
    if device.type == "cpu":
        reuse_freed_memory()
    precision = record["precision"] = resolve_precision(settings.precision, device)
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        log(rank, "note: this CPU has no bf16 arithmetic (AVX512-BF16/AMX); bf16 is emulated and slower than fp32")
    train_idx, valid_idx = row_indices(store, "train"), row_indices(store, "valid")
    if len(train_idx) == 0:
        raise DnacnnError(f"{store.path}: the store has no training rows; re-encode with a train split")
    check_store(store, record)
    check_labels_present(store, train_idx, valid_idx)
    ckpt = out_path.with_name(out_path.name + ".ckpt")
    meta = checkpoint_meta(ckpt, strict=True) if settings.resume else None
    if meta is not None and meta.get("format") != MODEL_FORMAT:  # before the banner: one line
        check_resumable(ckpt, meta, record)
    return Run(settings, record, store, spec, out_path, rank, world, device, precision, train_idx, valid_idx)


def check_outputs(store_path, out_path: Path, settings: TrainSettings) -> None:
    """One line, before anything is read, if the model, its checkpoint or the history would
    replace the store or the spec (or a folder holding one), or one another."""
    from dnacnn.io.outputs import check_output_file

    inputs = [store_path, settings.model if Path(settings.model).is_file() else None]
    history = history_path(out_path, settings.history)
    check_output_file(out_path, inputs)
    check_output_file(out_path.with_name(out_path.name + ".ckpt"), inputs)
    if history.resolve() == out_path.resolve():
        raise SettingError("history", f"names the model file {out_path}", "give the history another name")
    check_output_file(history, inputs, "--history")


def labelled_counts(store: Store, idx: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Per task, how many of the rows ``idx`` have a label (not NaN), read ``chunk`` rows at a time."""
    counts = np.zeros(store.labels.shape[1], np.int64)
    for start in range(0, len(idx), chunk):
        counts += (~np.isnan(np.asarray(store.labels[idx[start : start + chunk]]))).sum(axis=0)
    return counts


def check_labels_present(store: Store, train_idx: np.ndarray, valid_idx: np.ndarray) -> None:
    """One line if a task has no label in the training split (all NaN, as ``--targets`` windows
    without data give): it would train on NaN losses; or if the validation split has rows but no
    label at all, so that early stopping would follow NaN."""
    names = store.label_names
    empty = np.flatnonzero(labelled_counts(store, train_idx) == 0)
    if len(empty):
        task = names[empty[0]] if empty[0] < len(names) else str(empty[0] + 1)
        more = f" (and {len(empty) - 1} more tasks)" if len(empty) > 1 else ""
        raise DnacnnError(
            f"{store.path}: task '{task}'{more} has no label in the training split (every one is missing, NaN); "
            "re-encode the store with labels for it (e.g. --targets windows that hold data), or leave the task out"
        )
    if len(valid_idx) and not labelled_counts(store, valid_idx).any():
        raise DnacnnError(
            f"{store.path}: the validation split's {len(valid_idx):,} rows have no label (every one is missing, "
            "NaN), so early stopping has nothing to follow; re-encode the store with labelled validation rows, "
            "or with --split giving no validation rows"
        )


def store_digest(store: Store) -> str:
    """The sha256 of the store's manifest (its inputs' sha256, counts, split, fold, when it was
    written): a checkpoint made on another store, or on this one re-encoded, is not resumed."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(store.manifest, sort_keys=True, default=str).encode()).hexdigest()


def check_store(store: Store, record: dict) -> None:
    """Augmentations that need DNA and fresh negatives that need shuffled negatives; resolves
    ``fresh_negatives: auto`` from how the store was made."""
    enc = store.encoding
    if record["rc_augment"] and enc.kind != "dna":
        raise SettingError("rc_augment", "works on DNA only; this store holds genotypes", "turn it off")
    for key in ("mutation_rate", "max_shift"):
        if float(record[key]) and enc.kind != "dna":
            raise SettingError(key, "works on DNA only and this store holds genotypes", "set it to 0 (spec or option)")
    if record["max_shift"] >= enc.length:
        raise SettingError(
            "max_shift",
            f"{record['max_shift']} would shift {enc.length}-base sequences out of view",
            f"use less than {enc.length}",
        )
    if record["fresh_negatives"] == "auto":
        record["fresh_negatives"] = has_shuffled_negatives(store)
    if record["fresh_negatives"] and (store.task != "binary" or store.manifest["n_tasks"] != 1):
        raise SettingError("fresh_negatives", "needs a single-task binary store (positives + shuffled negatives)")


def n_outputs(store: Store) -> int:
    """Output units: one per class of a multiclass store, else one per task."""
    return int(len(store.manifest.get("classes") or [])) if store.task == "multiclass" else store.manifest["n_tasks"]


def build(run: Run) -> None:
    """The model (seeded), objective, optimizer, scheduler, input expansion, autocast, grad
    scaler and weight average of ``run``; the banner; the ridge fit of ``additive: ridge``."""
    import torch

    from dnacnn.codes import Expander
    from dnacnn.models import build_model

    store, record, device, enc = run.store, run.record, run.device, run.store.encoding
    torch.manual_seed(record["seed"])
    run.model = build_model(run.spec, enc.channels, enc.length, n_outputs(store), store.task).to(device)
    train_labels = np.asarray(store.labels[run.train_idx])
    if record["fresh_negatives"]:  # what an epoch trains on: each positive and its new shuffles
        n_pos = int(np.sum(train_labels == 1))
        train_labels = np.repeat(np.float32([[1], [0]]), [n_pos, n_pos * int(record["shuffles_per_positive"])], 0)
    head = run.model.head_activation
    run.objective = Objective(store.task, head, train_labels, str(record["pos_weight"]), device)
    run.optimizer = make_optimizer(
        record["optimizer"], run.model.parameters(), float(record["lr"]), float(record["weight_decay"])
    )
    run.scheduler = make_scheduler(run.optimizer, int(record["lr_patience"]))
    run.expand = Expander(enc, store.marker_means, device=device)
    run.net = distributed.wrap(run.model, device, run.world)
    n_epoch_rows, n_valid = len(train_labels), len(run.valid_idx)
    del train_labels  # 4 bytes a row: the objective keeps what it needs
    banner(run.rank, run.world, run.model, run.spec, store, record, device, run.precision, run.objective,
           n_epoch_rows, n_valid)  # fmt: skip
    if run.model.additive is not None:
        record["additive_alpha"] = fit_additive(run.model, store, run.train_idx, run.objective)
        alphas = ", ".join("-" if a is None else f"{a:.3g}" for a in record["additive_alpha"])
        log(run.rank, f"additive: ridge fitted on {len(run.train_idx):,} training rows (penalty {alphas})")
    run.average = WeightAverage(run.model, float(record["ema"])) if float(record["ema"]) else None
    run.autocast = autocast(device, run.precision)
    run.scaler = torch.amp.GradScaler("cuda") if run.precision == "fp16" else None


def autocast(device, precision: str):
    """The autocast context of a precision (a no-op for fp32)."""
    import contextlib

    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def start_or_resume(run: Run) -> LoopState | TrainResult:
    """The loop state to start from: fresh, or the checkpoint's with ``--resume``; the result
    itself when the checkpoint is this run, finished (its model is written again)."""
    resume, ckpt_path, rank = run.settings.resume, run.ckpt_path, run.rank
    ckpt_meta = checkpoint_meta(ckpt_path, strict=resume)
    finished_record = ckpt_meta is not None and ckpt_meta.get("format") == MODEL_FORMAT
    if not resume and ckpt_meta is not None and not finished_record:
        epoch = ckpt_meta.get("loop", {}).get("epoch", "?")
        log(rank, f"note: {ckpt_path} holds an interrupted run (after epoch {epoch}); starting afresh and "
                  "replacing it (add --resume to continue it instead)")  # fmt: skip
    if not resume or ckpt_meta is None:
        return LoopState()
    finished = finished_run(ckpt_meta, ckpt_path, run.spec, run.record, run.store, run.out_path, run.history_path)
    if finished is not None:
        history, result = finished
        log(rank, f"{ckpt_path} holds this run, finished after epoch {result.epochs_run}; writing the model again")
        if rank == 0:
            link_or_copy(ckpt_path, run.out_path)
            write_history(run.history_path, history)
        distributed.leave(run.world)
        return result
    if finished_record:
        log(rank, f"ignoring {ckpt_path}: a finished run with other settings or another store; starting afresh")
        return LoopState()
    state = load_checkpoint(ckpt_path, run.model, run.optimizer, run.scheduler, run.record, run.average)
    log(rank, f"resuming from {ckpt_path} after epoch {state.epoch}")
    return state


def model_meta(run: Run, state: LoopState, seconds: float) -> dict:
    """What the model file records besides its tensors."""
    import torch

    store, objective = run.store, run.objective
    return {
        "spec": run.spec,
        "encoding": store.encoding.to_dict(),
        "task": store.task,
        "label_names": store.label_names,
        "classes": store.manifest.get("classes"),
        "n_outputs": n_outputs(store),
        "head": run.model.head_activation,
        "target_mean": objective.target_mean,
        "target_std": objective.target_std,
        "marker_means": store.marker_means,
        "settings": {**run.record, "device": str(run.device), "world_size": run.world},
        "metric_name": objective.metric_name,
        "best_epoch": state.best_epoch,
        "best_val_metric": state.best_metric,
        "history": state.history,
        "store": {
            "path": str(store.path),
            "inputs": store.manifest.get("inputs"),
            "split_counts": store.manifest.get("split_counts"),
            "fold": store.manifest.get("fold"),
        },
        "seconds": round(seconds, 2),
        "torch_version": torch.__version__,
    }


def save(run: Run, state: LoopState, seconds: float) -> None:
    """Write the model (rank 0): with ``--resume`` over the checkpoint first, then linked to OUT."""
    if run.rank != 0:
        return
    from dnacnn.modelfile import save_model

    meta = model_meta(run, state, seconds)
    if run.settings.resume:
        # the finished model replaces the epoch checkpoint first, then becomes OUT: a kill at
        # any moment leaves a checkpoint that a retry resumes from or re-saves
        save_model(run.ckpt_path, run.model, meta)
        link_or_copy(run.ckpt_path, run.out_path)
    else:
        save_model(run.out_path, run.model, meta)
        run.ckpt_path.unlink(missing_ok=True)
