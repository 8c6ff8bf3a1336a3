"""``dnacnn train``: fit a CNN from a layer spec on a tensor store and write a model file.

Contract: ``train(store_path, out_path, TrainOptions) -> TrainResult``.  The store's ``train``
rows are fitted, its ``valid`` rows drive early stopping (patience, best weights restored) and
reduce-on-plateau; ``test`` rows are never touched here.  Batches are uint8 codes expanded to
one-hot on the device.  The running loss is summed on the device: no host sync per step.

Epochs: every training row is used exactly once per epoch, in batches of ``batch_size``.  A
training split under ``PRELOAD_BYTES`` (2 GiB of codes and labels) is read once and held in
memory (on the GPU when training there); its batches are a fresh full permutation of the split
each epoch.  A larger split is streamed from the store (:mod:`dnacnn.stream`): each epoch is a
*block shuffle*, not a full permutation - the split is cut in store order into blocks of about
16 MiB (a multiple of the batch size), the blocks are permuted, and the rows of each window of 8
consecutive blocks of that order are permuted and cut into batches (one batch an epoch can be
short).  Blocks are read with plain sequential reads by ``--num-workers`` threads (at least one)
while the previous window trains, and dropped from the page cache, so the input path holds two
windows (~256 MiB) whatever the size of the store; what still grows with it is the training
split's row indices (4 bytes a row, int32) and, while the objective is set up, its labels; a
validation split over ``VALID_PRELOAD_BYTES`` is read chunk by chunk each epoch
(``benchmarks/results/stream_bench.md``).

Reproducibility: every epoch reseeds torch and the batch order (either kind) from ``(seed,
epoch)``, so the same seed trains on the same batches, and a run resumed from its last
checkpoint (``--resume``) ends with the same weights as an uninterrupted run on the same
device.  Checkpoints are safetensors (no pickle), written atomically each epoch to ``OUT.ckpt``
and removed when training ends.  With ``--resume`` the checkpoint is instead
replaced, atomically, by the finished model (a hard link to ``OUT``: no extra space), so at every
moment it describes the run: a job killed after the model was written, whose model a workflow
manager then deletes as incomplete (a SLURM time limit during the wrap-up), re-saves the model on
its next ``--resume`` instead of training from epoch 1.  A finished checkpoint of other settings
or of another store is ignored (the run starts afresh, as without a checkpoint).

Several GPUs: launch with ``torchrun --nproc-per-node N -m dnacnn train ...``; each rank trains
on its shard of every epoch's batches under DistributedDataParallel (NCCL on GPUs, gloo on CPU),
all ranks validate identically so early stopping agrees without communication, and rank 0
alone writes files.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dnacnn.cpu import reuse_freed_memory
from dnacnn.encoding import DNA_N
from dnacnn.errors import DnacnnError
from dnacnn.modelfile import FORMAT
from dnacnn.store import Store
from dnacnn.stream import BlockReader, BlockShuffle, stream_batches

DEFAULTS = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "batch_size": 64,
    "epochs": 30,
    "patience": 5,
    "lr_patience": 2,
    "rc_augment": False,
    # auto: on when the store's negatives are dinucleotide shuffles made by `dnacnn encode
    # --negatives shuffle` (binary, one task); new shuffles each epoch keep the net from
    # memorising a fixed negative set (DeepBind ENCODE: mean ROC AUC 0.930 fixed, 0.945 fresh)
    "fresh_negatives": "auto",
    # with fresh negatives: how many new shuffles of each positive an epoch trains on; more
    # shuffles sample the background better (pos_weight auto keeps the classes balanced)
    "shuffles_per_positive": 1,
    # decay of an exponential moving average of the weights (0: off); validation, early stopping
    # and the saved model use the averaged weights (Polyak averaging: less step-to-step noise);
    # presets switch it on where it was measured to help (tfbind)
    "ema": 0.0,
    # augmentation: each base of a training sequence is substituted with this probability, anew
    # at every step (EvoAug's random mutation, Lee et al. 2023), so the net cannot memorise the
    # exact training positives; presets switch it on where it was measured to help (tfbind)
    "mutation_rate": 0.0,
    # augmentation: each training sequence moves by a random offset of up to this many bases
    # either way, N filling the bases that come in (ChIP-seq summits are imprecise; the stochastic
    # shift of Basset/Basenji, EvoAug's translocation)
    "max_shift": 0,
}
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


@dataclass
class TrainOptions:
    """Training settings; ``None`` means the spec's ``train:`` value, else :data:`DEFAULTS`."""

    model: str = "tfbind"
    optimizer: str | None = None
    lr: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    patience: int | None = None
    lr_patience: int | None = None
    rc_augment: bool | None = None
    fresh_negatives: bool | None = None
    shuffles_per_positive: int | None = None
    ema: float | None = None
    mutation_rate: float | None = None
    max_shift: int | None = None
    pos_weight: str = "auto"  # auto | none | a number
    seed: int = 0
    fold: int | None = None  # a store encoded with --split folds: train with this fold held out
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    num_workers: int | None = None
    threads: int | None = None
    max_minutes: float | None = None
    resume: bool = False
    history: str | None = None
    progress: bool = True
    overrides: dict = field(default_factory=dict)  # extra spec keys from --set


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


# --------------------------------------------------------------------------- setup helpers


def resolve_device(name: str = "auto"):
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a clear error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DnacnnError("--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DnacnnError(f"unknown --device {name!r}; use auto, cpu, cuda or cuda:N") from None


def resolve_precision(precision: str, device) -> str:
    """``auto``: bf16 (else fp16) autocast on CUDA; on the CPU bf16 where the CPU computes bf16
    in hardware (AVX512-BF16 or AMX), else fp32.

    Without bf16 hardware oneDNN emulates it and training runs several times slower than fp32
    (6-10x measured on an AVX2-only AMD EPYC); with it, bf16 autocast trains 1.1-1.5x faster
    (an AVX512-BF16 AMD EPYC, ``benchmarks/train_bench.py``) at the same accuracy on the Zou
    primer and DeepBind ENCODE (``docs/accuracy.md``).  Weights and optimizer state stay fp32.
    """
    import torch

    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise DnacnnError(f"unknown --precision {precision!r}; use auto, fp32, bf16 or fp16")
    if precision == "fp16" and device.type != "cuda":
        raise DnacnnError("--precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    return precision


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware (AVX512-BF16 or AMX tiles)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_settings(spec: dict, opts: TrainOptions) -> dict:
    """Merge built-in defaults < the spec's ``train:`` block < explicit options."""
    unknown = sorted(set(spec.get("train") or {}) - set(DEFAULTS))
    if unknown:  # a typo such as `epoch: 50` would otherwise be silently ignored
        raise DnacnnError(
            f"model {spec.get('name', 'spec')!r}: unknown key {unknown[0]!r} in its train: block; "
            f"use one of {', '.join(DEFAULTS)}"
        )
    settings = {**DEFAULTS, **(spec.get("train") or {})}
    for key in DEFAULTS:
        value = getattr(opts, key)
        if value is not None:
            settings[key] = value
    if settings["optimizer"] not in OPTIMIZERS:
        raise DnacnnError(f"unknown optimizer {settings['optimizer']!r}; use one of {', '.join(OPTIMIZERS)}")
    shift = settings["max_shift"]
    if isinstance(shift, bool) or not isinstance(shift, int | float) or shift != int(shift) or shift < 0:
        raise DnacnnError(f"--max-shift must be a whole number of bases, 0 or more, got {shift!r}")
    settings["max_shift"] = int(shift)
    for key in ("batch_size", "epochs", "shuffles_per_positive"):
        if int(settings[key]) < 1:
            raise DnacnnError(f"--{key.replace('_', '-')} must be at least 1, got {settings[key]}")
    if float(settings["lr"]) <= 0:
        raise DnacnnError(f"--lr must be positive, got {settings['lr']}")
    if not 0 <= float(settings["ema"]) < 1:
        raise DnacnnError(f"--ema must be in [0, 1) (0 turns it off), got {settings['ema']}")
    if not 0 <= float(settings["mutation_rate"]) <= 0.75:  # 0.75: every base already random
        raise DnacnnError(
            f"--mutation-rate must be in [0, 0.75] (0 turns it off; e.g. 0.05), got {settings['mutation_rate']}"
        )
    settings.update(
        pos_weight=opts.pos_weight,
        seed=opts.seed,
        precision=opts.precision,
        max_minutes=opts.max_minutes,
    )
    return settings


def make_optimizer(name: str, params, lr: float, weight_decay: float):
    """The optimizer, as one fused kernel per step where this torch has one for it (Adam, AdamW
    and SGD on CPU and CUDA since torch 2.4): the per-parameter loop of ops costs ~20% of a
    step on small networks such as ``deepbind``."""
    import torch

    params = list(params)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    kind, extra = {
        "adam": (torch.optim.Adam, {}),
        "adamw": (torch.optim.AdamW, {}),
        "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    }[name]
    try:
        return kind(params, lr=lr, weight_decay=weight_decay, fused=True, **extra)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this torch or device
        return kind(params, lr=lr, weight_decay=weight_decay, **extra)


# --------------------------------------------------------------------------- data


class EpochBatches:
    """Sampler of index batches: a fresh permutation per epoch from ``(seed, epoch)``; under DDP
    each rank takes an equal-sized shard of the batches."""

    def __init__(self, indices: np.ndarray, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.indices, self.batch_size, self.seed = indices, batch_size, seed
        self.rank, self.world = rank, world
        self.epoch = 0

    def batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        perm = self.indices[rng.permutation(len(self.indices))]
        batches = [perm[i : i + self.batch_size] for i in range(0, len(perm), self.batch_size)]
        if self.world > 1:
            per_rank = len(batches) // self.world
            batches = batches[self.rank * per_rank : (self.rank + 1) * per_rank]
        return batches

    def __iter__(self):
        return iter(self.batches())

    def __len__(self):
        n = math.ceil(len(self.indices) / self.batch_size)
        return n // self.world if self.world > 1 else n


def has_shuffled_negatives(store: Store) -> bool:
    """The store's negatives were made by ``dnacnn encode --negatives shuffle`` (binary, one task)."""
    settings = store.manifest.get("settings") or {}
    return settings.get("negatives") == "shuffle" and store.task == "binary" and store.manifest["n_tasks"] == 1


def fresh_negative_codes(
    store: Store, train_idx: np.ndarray, seed: int, epoch: int, per_positive: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """DeepBind-style training set for one epoch: the training positives plus ``per_positive``
    new dinucleotide shuffles of each, as (codes ((1 + k) p, L), labels ((1 + k) p, 1))."""
    from dnacnn.shuffle import dinucleotide_shuffle_batch

    labels = np.asarray(store.labels[train_idx])
    pos = train_idx[labels[:, 0] == 1]
    pos_codes = np.asarray(store.codes[np.sort(pos)])
    rng = np.random.default_rng([seed, epoch, 7])
    neg_codes = np.concatenate([dinucleotide_shuffle_batch(pos_codes, rng) for _ in range(per_positive)])
    codes = np.concatenate([pos_codes, neg_codes])
    y = np.concatenate([np.ones((len(pos_codes), 1), np.float32), np.zeros((len(neg_codes), 1), np.float32)])
    return codes, y


# --------------------------------------------------------------------------- losses and metrics


class Objective:
    """Loss and validation metric for a task and output head.

    Binary heads use BCE with ``pos_weight`` (n_neg / n_pos of the training labels by default);
    the 2-unit softmax head uses cross-entropy with the same class weight; regression targets are
    standardised with the training mean and sd, which the model file records.
    """

    def __init__(self, task: str, head: str, train_labels: np.ndarray, pos_weight: str, device) -> None:
        import torch

        self.task, self.head = task, head
        self.metric_name = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "pearson_r"}[task]
        self.target_mean = self.target_std = None
        self.pos_weight = None
        if task == "regression":
            self.target_mean = np.nanmean(train_labels, axis=0).astype(np.float32)
            self.target_std = np.nanstd(train_labels, axis=0).astype(np.float32)
            self.target_std[self.target_std == 0] = 1.0
            self._mean = torch.as_tensor(self.target_mean, device=device)
            self._std = torch.as_tensor(self.target_std, device=device)
        if task == "binary" and pos_weight != "none":
            if pos_weight == "auto":
                pos = np.nansum(train_labels, axis=0)
                neg = np.sum(np.isfinite(train_labels), axis=0) - pos
                pw = np.where(pos > 0, neg / np.maximum(pos, 1), 1.0).astype(np.float32)
            else:
                try:
                    pw = np.full(train_labels.shape[1], float(pos_weight), np.float32)
                except ValueError:
                    raise DnacnnError(f"--pos-weight must be auto, none or a number, got {pos_weight!r}") from None
            self.pos_weight = torch.as_tensor(pw, device=device)

    def loss(self, logits, y):
        import torch
        import torch.nn.functional as F

        logits = logits.float()
        if self.head == "softmax2":
            weight = (
                None
                if self.pos_weight is None
                else torch.stack([torch.ones_like(self.pos_weight[0]), self.pos_weight[0]])
            )
            return F.cross_entropy(logits, y[:, 0].long(), weight=weight)
        if self.head == "softmax":
            return F.cross_entropy(logits, y[:, 0].long())
        mask = torch.isfinite(y)
        y = torch.nan_to_num(y)
        if self.head == "linear":
            err = (logits - (y - self._mean) / self._std) ** 2
            return (err * mask).sum() / mask.sum().clamp(min=1)
        losses = F.binary_cross_entropy_with_logits(logits, y, pos_weight=self.pos_weight, reduction="none")
        return (losses * mask).sum() / mask.sum().clamp(min=1)

    def scores(self, logits):
        """Logits -> probabilities (classification) or values on the original scale (regression)."""
        from dnacnn.predict import scores_from_logits

        return scores_from_logits(logits, self.head, self.target_mean, self.target_std)

    def metric(self, y: np.ndarray, scores: np.ndarray) -> float:
        """Validation metric (higher is better), macro over tasks."""
        from sklearn.metrics import roc_auc_score

        if self.task == "multiclass":
            return float((scores.argmax(1) == y[:, 0]).mean())
        values = []
        for t in range(y.shape[1]):
            ok = np.isfinite(y[:, t])
            yt, st = y[ok, t], scores[ok, t]
            if self.task == "binary":
                if len(np.unique(yt)) == 2:
                    values.append(roc_auc_score(yt, st))
            elif len(yt) > 2 and np.std(st) > 0 and np.std(yt) > 0:
                values.append(np.corrcoef(yt.astype(np.float64), st.astype(np.float64))[0, 1])
        return float(np.mean(values)) if values else float("nan")


# --------------------------------------------------------------------------- the loop


def train(store_path: str | os.PathLike, out_path: str | os.PathLike, opts: TrainOptions | None = None) -> TrainResult:
    """Train ``opts.model`` on the store at ``store_path``; write the model to ``out_path``."""
    import torch

    from dnacnn.models import build_model, load_spec

    opts = opts or TrainOptions()
    started = time.time()
    store = Store.open(store_path)
    if opts.fold is not None:
        store = store.for_fold(opts.fold)
    out_path = Path(out_path)
    spec = load_spec(opts.model)
    spec = {**spec, **opts.overrides} if opts.overrides else spec
    settings = resolve_settings(spec, opts)
    rank, world, local_rank = _distributed_env()
    device = resolve_device(opts.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if opts.threads:
        torch.set_num_threads(opts.threads)
    if device.type == "cpu":
        reuse_freed_memory()
    precision = resolve_precision(opts.precision, device)
    settings["precision"] = precision
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        _log(rank, "note: this CPU has no bf16 arithmetic (AVX512-BF16/AMX); bf16 is emulated and slower than fp32")

    train_idx, valid_idx = _row_indices(store, "train"), _row_indices(store, "valid")
    if len(train_idx) == 0:
        raise DnacnnError(f"{store.path}: the store has no training rows; re-encode with a train split")
    enc = store.encoding
    task = store.task
    n_outputs = int(len(store.manifest.get("classes") or [])) if task == "multiclass" else store.manifest["n_tasks"]
    if settings["rc_augment"] and enc.kind != "dna":
        raise DnacnnError("--rc-augment works on DNA only; this store holds genotypes")
    for key in ("mutation_rate", "max_shift"):
        option = f"--{key.replace('_', '-')}"
        if float(settings[key]) and enc.kind != "dna":
            raise DnacnnError(
                f"{option} works on DNA only and this store holds genotypes; pass {option} 0 or drop it from the spec"
            )
    if settings["max_shift"] >= enc.length:
        raise DnacnnError(
            f"--max-shift {settings['max_shift']} would shift {enc.length}-base sequences out of view; "
            f"use less than {enc.length}"
        )
    if settings["fresh_negatives"] == "auto":
        settings["fresh_negatives"] = has_shuffled_negatives(store)
    if settings["fresh_negatives"] and (task != "binary" or store.manifest["n_tasks"] != 1):
        raise DnacnnError("--fresh-negatives needs a single-task binary store (positives + shuffled negatives)")

    torch.manual_seed(settings["seed"])
    model = build_model(spec, enc.channels, enc.length, n_outputs, task).to(device)
    head = model.head_activation
    train_labels = np.asarray(store.labels[train_idx])
    if settings["fresh_negatives"]:  # what an epoch trains on: each positive and its new shuffles
        n_pos = int(np.sum(train_labels == 1))
        train_labels = np.repeat(np.float32([[1], [0]]), [n_pos, n_pos * int(settings["shuffles_per_positive"])], 0)
    objective = Objective(task, head, train_labels, str(settings["pos_weight"]), device)
    optimizer = make_optimizer(
        settings["optimizer"], model.parameters(), float(settings["lr"]), float(settings["weight_decay"])
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=int(settings["lr_patience"])
    )
    from dnacnn.encoding import Expander

    expand = Expander(enc, store.marker_means, device=device)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    _banner(rank, world, model, spec, store, settings, device, precision, objective, len(train_labels), len(valid_idx))
    del train_labels  # 4 bytes a row: the objective keeps what it needs
    if model.additive is not None:
        settings["additive_alpha"] = _fit_additive(model, store, train_idx, objective)
        alphas = ", ".join("-" if a is None else f"{a:.3g}" for a in settings["additive_alpha"])
        _log(rank, f"additive: ridge fitted on {len(train_idx):,} training rows (penalty {alphas})")

    average = WeightAverage(model, float(settings["ema"])) if float(settings["ema"]) else None
    ckpt_path = out_path.with_name(out_path.name + ".ckpt")
    history_path = Path(opts.history) if opts.history else out_path.with_name(out_path.stem + ".history.tsv")
    state = LoopState()
    ckpt_meta = _checkpoint_meta(ckpt_path, strict=opts.resume)
    finished_record = ckpt_meta is not None and ckpt_meta.get("format") == FORMAT
    if not opts.resume and ckpt_meta is not None and not finished_record:
        epoch = ckpt_meta.get("loop", {}).get("epoch", "?")
        _log(rank, f"note: {ckpt_path} holds an interrupted run (after epoch {epoch}); starting afresh and "
                   "replacing it (add --resume to continue it instead)")  # fmt: skip
    if opts.resume and ckpt_meta is not None:
        finished = _finished_run(ckpt_meta, ckpt_path, spec, settings, store, out_path, history_path)
        if finished is not None:
            history, result = finished
            _log(rank, f"{ckpt_path} holds this run, finished after epoch {result.epochs_run}; writing the model again")
            if rank == 0:
                _link_or_copy(ckpt_path, out_path)
                _write_history(history_path, history)
            _leave_process_group(world)
            return result
        if finished_record:
            _log(rank, f"ignoring {ckpt_path}: a finished run with other settings or another store; starting afresh")
        else:
            state = _load_checkpoint(ckpt_path, model, optimizer, scheduler, settings, average)
            _log(rank, f"resuming from {ckpt_path} after epoch {state.epoch}")

    valid = _validation_rows(store, valid_idx)
    sampler = EpochBatches(train_idx, int(settings["batch_size"]), settings["seed"], rank, world)
    workers = opts.num_workers if opts.num_workers is not None else (4 if device.type == "cuda" else 0)
    autocast = _autocast(device, precision)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    # A training split that fits is read once and batched by indexing in memory (on the GPU
    # when training there), instead of a memory-map gather and a host->device copy per batch.
    # A larger one is streamed in shuffled blocks of consecutive rows (dnacnn.stream).
    resident = streamed = None
    if not settings["fresh_negatives"] and _fits_in_memory(store, len(train_idx)):
        resident = _resident(_preload(store, train_idx), device)
    elif not settings["fresh_negatives"]:
        row_bytes = _row_bytes(store)
        streamed = BlockShuffle(train_idx, int(settings["batch_size"]), settings["seed"], row_bytes, rank, world)
        reader = BlockReader(store.path, store.codes.shape[1], store.labels.shape[1])

    # batch-norm statistics are re-estimated for the weights that are validated and saved
    recent = _RecentBatches(enabled=has_batchnorm(model))
    max_shift, mutation_rate = settings["max_shift"], float(settings["mutation_rate"])
    for epoch in range(state.epoch + 1, int(settings["epochs"]) + 1):
        t0 = time.time()
        torch.manual_seed(settings["seed"] * 100_003 + epoch)
        sampler.epoch = epoch
        if settings["fresh_negatives"]:
            arrays = fresh_negative_codes(
                store, train_idx, settings["seed"], epoch, int(settings["shuffles_per_positive"])
            )
            sampler.indices = np.arange(len(arrays[0]))
            batches = _resident_batches(sampler, _resident(arrays, device))
        elif resident is not None:
            # positions in the preloaded split: the same permutation and sorted rows as store indices
            sampler.indices = np.arange(len(train_idx))
            batches = _resident_batches(sampler, resident)
        else:
            streamed.epoch = epoch
            batches = stream_batches(streamed, reader, device, workers)
        model.train()
        # the running loss stays on the device: no host sync per step (float64, as Python sums)
        total = torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)
        count = 0
        n_batches = len(streamed) if streamed is not None else len(sampler)
        bar = _bar(opts.progress and rank == 0, n_batches, f"epoch {epoch}/{settings['epochs']}")
        recent.clear()
        for step, (codes_b, y_b) in enumerate(batches, 1):
            codes_b = codes_b.to(device, non_blocking=True)
            y_b = y_b.to(device, non_blocking=True)
            recent.add(codes_b)
            codes_b = mutate_codes(shift_codes(codes_b, max_shift), mutation_rate)  # after the BN sample
            X = expand(codes_b)
            if settings["rc_augment"]:
                flip = torch.rand(X.shape[0], device=device) < 0.5
                X = torch.where(flip[:, None, None], X.flip(1, 2), X)
            with autocast:
                logits = net(X)
            loss = objective.loss(logits, y_b)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if average is not None:
                average.update()
            total.add_(loss.detach(), alpha=len(y_b))
            count += len(y_b)
            if not bar.disable:
                bar.update(1)
                if step % 25 == 0:
                    bar.set_postfix(loss=f"{float(total) / count:.4f}", refresh=False)
        bar.close()
        total = float(total)
        with average.applied() if average is not None else contextlib.nullcontext():
            if len(valid_idx):
                refresh_batchnorm(model, recent.codes, expand, autocast)
            val_loss, val_metric = _validate(
                model, objective, expand, valid, device, autocast, int(settings["batch_size"]) * 4
            )
            monitored = val_metric if math.isfinite(val_metric) else -val_loss
            improved = monitored > state.best_metric + 1e-6
            if improved:  # the weights just validated: the averaged ones with --ema
                state.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step(monitored)
        if improved:
            state.best_metric, state.best_epoch, state.bad_epochs = monitored, epoch, 0
        else:
            state.bad_epochs += 1
        seconds = time.time() - t0
        state.history.append(
            {
                "epoch": epoch,
                "loss": total / max(count, 1),
                "val_loss": val_loss,
                "val_metric": val_metric,
                "lr": lr,
                "seconds": round(seconds, 3),
            }
        )
        state.epoch = epoch
        _log(
            rank,
            f"epoch {epoch}: loss {total / max(count, 1):.4f}  val_loss {val_loss:.4f}  "
            f"val_{objective.metric_name} {val_metric:.4f}  lr {lr:.2g}  {seconds:.1f}s" + ("  *" if improved else ""),
        )
        if rank == 0:
            _write_history(history_path, state.history)
            _save_checkpoint(ckpt_path, model, optimizer, scheduler, state, settings, average)
        if state.bad_epochs >= int(settings["patience"]) and len(valid_idx):
            _log(rank, f"early stopping: no improvement for {state.bad_epochs} epochs; best epoch {state.best_epoch}")
            break
        if opts.max_minutes and (time.time() - started) / 60 > opts.max_minutes:
            _log(rank, f"stopping: --max-minutes {opts.max_minutes} reached")
            break

    if state.best_weights is not None and len(valid_idx):
        model.load_state_dict(state.best_weights)
    else:  # no validation split: the last epoch's weights (averaged with --ema)
        if average is not None:
            average.copy_to_model()
        refresh_batchnorm(model, recent.codes, expand, autocast)
    seconds = time.time() - started
    meta = {
        "spec": spec,
        "encoding": enc.to_dict(),
        "task": task,
        "label_names": store.label_names,
        "classes": store.manifest.get("classes"),
        "n_outputs": n_outputs,
        "head": head,
        "target_mean": objective.target_mean,
        "target_std": objective.target_std,
        "marker_means": store.marker_means,
        "settings": {**settings, "device": str(device), "world_size": world},
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
    if rank == 0:
        from dnacnn.modelfile import save_model

        if opts.resume:
            # the finished model replaces the epoch checkpoint first, then becomes OUT: a kill at
            # any moment leaves a checkpoint that a retry resumes from or re-saves
            save_model(ckpt_path, model, meta)
            _link_or_copy(ckpt_path, out_path)
        else:
            save_model(out_path, model, meta)
            ckpt_path.unlink(missing_ok=True)
    _leave_process_group(world)
    return TrainResult(
        out_path,
        history_path,
        state.best_epoch,
        state.best_metric,
        objective.metric_name,
        state.epoch,
        seconds,
        str(device),
    )


@dataclass
class LoopState:
    epoch: int = 0
    best_metric: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list = field(default_factory=list)
    best_weights: dict | None = None


class WeightAverage:
    """Exponential moving average of the weights, updated after every optimizer step.

    Averages the trainable parameters and the floating-point buffers, as timm's ModelEmaV2 does.
    Batch-norm statistics averaged this way do not match the averaged weights (a net's activations
    are not linear in its weights), so the training loop re-estimates them with
    :func:`refresh_batchnorm` before it validates or saves the average.  The decay warms up as
    TensorFlow's ``ExponentialMovingAverage(num_updates=step)`` does, ``min(decay, (1 + step) /
    (10 + step))``, so the average forgets the random initial weights within the first epochs even
    on small data sets.  Under DDP every rank holds the same weights after each step, so the same average too.
    """

    def __init__(self, model, decay: float) -> None:
        self.decay = decay
        self.steps = 0
        params = [p for p in model.parameters() if p.requires_grad]
        buffers = [b for b in model.buffers() if b.is_floating_point()]
        self.tensors = params + buffers
        self.shadow = [t.detach().clone() for t in self.tensors]

    def update(self) -> None:
        import torch

        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self.shadow, [t.detach() for t in self.tensors], 1.0 - decay)

    def copy_to_model(self) -> None:
        for t, a in zip(self.tensors, self.shadow):
            t.data.copy_(a)

    @contextlib.contextmanager
    def applied(self):
        """The model holds the averaged weights inside the block, its own weights again after."""
        current = [t.detach().clone() for t in self.tensors]
        self.copy_to_model()
        try:
            yield
        finally:
            for t, c in zip(self.tensors, current):
                t.data.copy_(c)


class _RecentBatches:
    """The first training batches of an epoch (their codes, on the device), up to
    ``BN_REFRESH_ROWS`` rows or ``BN_REFRESH_BYTES``: the data :func:`refresh_batchnorm` reads."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.clear()

    def clear(self) -> None:
        self.codes: list = []
        self.rows = self.bytes = 0

    def add(self, codes) -> None:
        if self.enabled and self.rows < BN_REFRESH_ROWS and (not self.codes or self.bytes < BN_REFRESH_BYTES):
            self.codes.append(codes)
            self.rows += len(codes)
            self.bytes += codes.numel() * codes.element_size()


def _batchnorms(model) -> list:
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def has_batchnorm(model) -> bool:
    return bool(_batchnorms(model))


def refresh_batchnorm(model, batches: list, expand, autocast) -> None:
    """Re-estimate every batch-norm layer's running mean and variance for the model's current
    weights ("precise BN"): an equal-weight average over ``batches`` (codes), as torch's SWA
    ``update_bn`` does, with the rest of the net in eval mode so dropout stays off and draws no
    random numbers.  The momentum average that training keeps mixes statistics of the last ~10
    steps' weights; early in a run, or for averaged weights, those differ enough from the weights
    being validated to shift every probability in eval mode (Zou primer, ``tfbind`` early-stopped
    after 2 epochs: test accuracy 0.86 at ROC AUC 1.000)."""
    import torch

    norms = _batchnorms(model)
    if not norms or not batches:
        return
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in norms]
    was_training = model.training
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
        m.train()
    with torch.no_grad():
        for codes in batches:
            with autocast:
                model(expand(codes))
    for m, (momentum, tracked) in zip(norms, saved):
        m.momentum = momentum
        m.num_batches_tracked.copy_(tracked)
    model.train(was_training)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # each rank estimated on its own shard: average, so every rank validates (and decides
        # early stopping and the learning rate) on the same statistics, as DDP keeps them in training
        world = torch.distributed.get_world_size()
        for m in norms:
            for stat in (m.running_mean, m.running_var):
                torch.distributed.all_reduce(stat)
                stat.div_(world)


BN_REFRESH_ROWS = 4096  # training rows that re-estimate batch-norm statistics per validation
BN_REFRESH_BYTES = 256 * 1024**2
PRELOAD_BYTES = 2 * 1024**3  # a training split below this is held in memory
ADDITIVE_MAX_VALUES = 250_000_000  # rows x features of the ridge fit of `additive: ridge` (2 GB of float64)


def _fit_additive(model, store: Store, train_idx: np.ndarray, objective: Objective) -> list:
    """Set the frozen ``additive: ridge`` path to a ridge regression of the standardised training
    targets on the flattened training inputs; returns the chosen penalties per task."""
    import torch

    from dnacnn.baselines import ridge_coefficients
    from dnacnn.encoding import one_hot

    features = model.additive.weight.shape[1]
    if len(train_idx) * features > ADDITIVE_MAX_VALUES:
        raise DnacnnError(
            f"{store.path}: additive: ridge needs the training rows as one {len(train_idx):,} x {features:,} "
            "matrix, too large for memory; drop additive from the spec or encode with --genotype-encoding dosage"
        )
    codes, labels = _preload(store, train_idx)
    X = one_hot(codes, store.encoding, store.marker_means).reshape(len(codes), -1)
    coef, intercept, alphas = ridge_coefficients(X, (labels - objective.target_mean) / objective.target_std)
    model.additive.weight.copy_(torch.from_numpy(coef))
    model.additive.bias.copy_(torch.from_numpy(intercept))
    return alphas


VALID_PRELOAD_BYTES = 256 << 20  # a larger validation split is read chunk by chunk each epoch


def _preload(store: Store, idx: np.ndarray):
    return np.asarray(store.codes[idx]), np.asarray(store.labels[idx])


def _row_bytes(store: Store) -> int:
    """Bytes of one stored row: its codes and float32 labels."""
    return store.codes.shape[1] + 4 * store.labels.shape[1]


def _fits_in_memory(store: Store, n_rows: int) -> bool:
    return n_rows * _row_bytes(store) < PRELOAD_BYTES


def _resident(arrays: tuple[np.ndarray, np.ndarray], device):
    """``(codes (n, length) uint8, y (n, tasks) float32)`` as tensors on ``device``."""
    import torch

    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays)


def mutate_codes(codes, rate: float):
    """Random point mutations of DNA codes ``(b, length)``: each A/C/G/T becomes one of the three
    other bases with probability ``rate`` (torch's global generator); N stays N."""
    import torch

    if not rate:
        return codes
    hit = (torch.rand(codes.shape, device=codes.device) < rate) & (codes < DNA_N)
    step = torch.randint(1, 4, codes.shape, device=codes.device, dtype=codes.dtype)  # to a different base
    return torch.where(hit, (codes + step) % 4, codes)


def shift_codes(codes, max_shift: int):
    """Random shifts of DNA codes ``(b, length)``: each row moves right by an offset drawn from
    ``-max_shift..max_shift`` (torch's global generator); the bases that come in are N."""
    import torch

    if not max_shift:
        return codes
    n, length = codes.shape
    offset = torch.randint(-max_shift, max_shift + 1, (n, 1), device=codes.device)
    pos = torch.arange(length, device=codes.device)[None, :] - offset
    inside = (pos >= 0) & (pos < length)
    return torch.where(inside, codes.gather(1, pos.clamp(0, length - 1)), torch.full_like(codes, DNA_N))


def _resident_batches(sampler: EpochBatches, resident):
    """The sampler's batches gathered from in-memory tensors (rows sorted within a batch)."""
    import torch

    codes, y = resident
    # a draw from the global generator, once the base seed of a DataLoader on the streamed path:
    # kept so that a seed trains the same model (dropout, augmentation) as in earlier versions
    torch.empty((), dtype=torch.int64).random_()
    for idx in sampler:
        idx = torch.from_numpy(np.sort(idx)).to(codes.device, non_blocking=True)
        yield codes.index_select(0, idx), y.index_select(0, idx)


def _validate(model, objective, expand, valid, device, autocast, batch_size) -> tuple[float, float]:
    """Validation loss and metric over ``valid()``'s chunks (one chunk, copied to the device once,
    when the split is small: see :func:`_validation_rows`)."""
    import torch

    model.eval()
    logits_all, losses, labels, n = [], [], [], 0
    with torch.no_grad():
        for chunk in valid():
            codes_t, y_t = _resident(chunk, device)
            labels.append(chunk[1])
            for i in range(0, len(codes_t), batch_size):
                yb = y_t[i : i + batch_size]
                with autocast:
                    logits = model(expand(codes_t[i : i + batch_size]))
                losses.append(objective.loss(logits, yb).double() * len(yb))
                logits_all.append(logits.float())
            n += len(codes_t)
    if n == 0:
        return float("nan"), float("nan")
    scores = objective.scores(torch.cat(logits_all))
    return sum(torch.stack(losses).tolist()) / n, objective.metric(np.concatenate(labels), scores)


def _validation_rows(store: Store, idx: np.ndarray):
    """A function giving the validation split as ``(codes, labels)`` chunks: the whole split, read
    once, when it is under :data:`VALID_PRELOAD_BYTES`; else chunks of that size read from the
    store each epoch (sorted rows, so near-sequential reads), so that memory stays bounded."""
    row_bytes = _row_bytes(store)
    if len(idx) * row_bytes <= VALID_PRELOAD_BYTES:
        whole = _preload(store, idx)
        return lambda: iter([whole])
    rows = max(1, VALID_PRELOAD_BYTES // row_bytes)
    return lambda: (_preload(store, idx[i : i + rows]) for i in range(0, len(idx), rows))


def _row_indices(store: Store, split: str) -> np.ndarray:
    """Sorted store rows of a split, int32 where the store allows (4 bytes a row, not 8)."""
    idx = store.indices(split)
    return idx.astype(np.int32) if store.n < 2**31 else idx


def _autocast(device, precision):
    import contextlib

    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _distributed_env() -> tuple[int, int, int]:
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


MIN_VALID_ROWS = 20  # fewer validation rows: one warning that early stopping will be noisy


def _banner(rank, world, model, spec, store, settings, device, precision, objective, n_epoch_rows, n_valid) -> None:
    """What this run is about to do, before the first progress bar: model and parameters, rows,
    device and precision, epochs and batches, and what the ``*`` of the epoch lines means."""
    import torch

    from dnacnn.models import count_parameters

    enc, n_train = store.encoding, int(store.manifest["split_counts"]["train"])
    unit = "bp" if enc.kind == "dna" else "markers"
    _log(
        rank,
        f"train: {spec['name']} ({sum(count_parameters(model)):,} parameters) on {store.path.name}: "
        f"{n_train:,} train / {n_valid:,} valid rows of {enc.length:,} {unit}, {store.task}",
    )
    if settings["fresh_negatives"]:
        k = int(settings["shuffles_per_positive"])
        shuffles = "a new shuffle" if k == 1 else f"{k} new shuffles"
        _log(
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
    batch, epochs = int(settings["batch_size"]), int(settings["epochs"])
    steps = math.ceil(math.ceil(n_epoch_rows / batch) / world)
    _log(rank, f"train: {where}, {precision}: up to {epochs} epoch{'s' * (epochs != 1)} x {steps:,} batches of {batch}")
    if not n_valid:
        _log(rank, "train: no validation rows: every epoch runs and the last one's weights are saved")
        return
    metric = f"val_{objective.metric_name}"
    patience = int(settings["patience"])
    _log(
        rank,
        f"train: * marks a new best {metric} (its weights are saved); early stop after {patience} "
        f"epoch{'s' * (patience != 1)} without one",
    )
    if n_valid < MIN_VALID_ROWS:
        _log(
            rank,
            f"warning: the validation split has {n_valid} row{'s' * (n_valid != 1)}: early stopping and the best "
            "epoch will be noisy; re-encode with a larger 'dnacnn encode --valid-frac' (e.g. 0.1)",
        )
    # the validation metric imports scikit-learn (seconds on a busy machine): now, under the banner,
    # not in a blank pause after the first epoch's progress bar
    import sklearn.metrics  # noqa: F401


def _log(rank: int, message: str) -> None:
    if rank == 0:
        print(message, file=sys.stderr, flush=True)


def _bar(enabled: bool, total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="batch", leave=False, disable=None if enabled else True)


def _write_history(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    tmp = path.with_name(f".{path.name}.tmp")
    pd.DataFrame(rows, columns=["epoch", "loss", "val_loss", "val_metric", "lr", "seconds"]).to_csv(
        tmp, sep="\t", index=False, float_format="%.6g"
    )
    os.replace(tmp, path)


# --------------------------------------------------------------------------- checkpoints (safetensors)


def _save_checkpoint(
    path: Path, model, optimizer, scheduler, state: LoopState, settings: dict, average: WeightAverage | None
) -> None:
    import torch

    from dnacnn.modelfile import save_tensors

    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if average is not None:
        tensors.update({f"ema.{i}": v for i, v in enumerate(average.shadow)})
    if state.best_weights is not None:
        tensors.update({f"best.{k}": v for k, v in state.best_weights.items()})
    opt_state = optimizer.state_dict()
    scalars = {}
    for pid, pstate in opt_state["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars[f"{pid}.{key}"] = value
    meta = {
        "format": "dnacnn-checkpoint",
        "loop": {k: v for k, v in asdict(state).items() if k != "best_weights"},
        "param_groups": opt_state["param_groups"],
        "optim_scalars": scalars,
        "scheduler": scheduler.state_dict(),
        "settings": settings,
        "torch_rng": torch.get_rng_state().tolist(),
        "ema_steps": average.steps if average is not None else 0,
    }
    save_tensors(path, tensors, meta)


# derived from the device and the data, not chosen: a retry on another node may differ in them
_FINISHED_IGNORED = ("device", "world_size", "additive_alpha")


def _checkpoint_meta(path: Path, strict: bool) -> dict | None:
    """The metadata of ``OUT.ckpt`` (its tensors unread), None when there is none.  ``strict``
    (``--resume``): an unreadable file is one clear error; otherwise it is None too, since a run
    without ``--resume`` replaces whatever is there."""
    from dnacnn.modelfile import read_tensors

    if not path.exists():
        return None
    try:
        return read_tensors(path, "checkpoint", with_tensors=False)[1]
    except DnacnnError:
        if strict:
            raise
        return None


def _finished_run(
    meta: dict, path: Path, spec: dict, settings: dict, store: Store, out_path: Path, history_path: Path
) -> tuple[list, TrainResult] | None:
    """``(history rows, result)`` of the finished run that ``path`` (metadata ``meta``) holds when
    it is a model of exactly this spec, these settings and this store (written after the store);
    None for an epoch checkpoint or a stale one."""
    import json

    from dnacnn.modelfile import _json_default

    if meta.get("format") != FORMAT:
        return None

    def plain(value):
        return json.loads(json.dumps(value, default=_json_default))

    def chosen(values):
        return plain({k: v for k, v in values.items() if k not in _FINISHED_IGNORED})

    saved_store = meta.get("store") or {}
    same = (
        plain(meta.get("spec")) == plain(spec)
        and chosen(meta.get("settings") or {}) == chosen(settings)
        and saved_store.get("path") == str(store.path)
        and saved_store.get("inputs") == store.manifest.get("inputs")
        and saved_store.get("split_counts") == store.manifest.get("split_counts")
        and saved_store.get("fold") == store.manifest.get("fold")
        and (store.path / "manifest.json").stat().st_mtime <= path.stat().st_mtime
    )
    if not same:
        return None
    history = meta.get("history") or []
    result = TrainResult(
        out_path,
        history_path,
        meta["best_epoch"],
        meta["best_val_metric"],
        meta["metric_name"],
        history[-1]["epoch"] if history else 0,
        meta.get("seconds", 0.0),
        meta["settings"].get("device", "cpu"),
    )
    return history, result


def _leave_process_group(world: int) -> None:
    """Under DDP: wait for every rank, then close the process group (no-op for one process)."""
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()


def _link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` the same file as ``src`` atomically: a hard link, or a copy where the file
    system has none."""
    import shutil

    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
            shutil.copymode(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _load_checkpoint(
    path: Path, model, optimizer, scheduler, settings: dict, average: WeightAverage | None
) -> LoopState:
    import torch

    from dnacnn.modelfile import read_tensors

    tensors, meta = read_tensors(path, "checkpoint")
    if meta.get("format") != "dnacnn-checkpoint":
        raise DnacnnError(f"{path}: not a dnacnn checkpoint; delete it to start afresh")
    compared = ("optimizer", "lr", "batch_size", "seed", "weight_decay", "shuffles_per_positive", "ema")
    augmentations = ("rc_augment", "mutation_rate", "max_shift")  # older checkpoints lack the newer keys
    changed = [k for k in compared if meta["settings"].get(k) != settings.get(k)] + [
        k for k in augmentations if meta["settings"].get(k, DEFAULTS[k]) != settings.get(k)
    ]
    if changed:
        raise DnacnnError(
            f"{path}: checkpoint was made with different {', '.join(changed)}; "
            "resume with the same settings or delete the checkpoint"
        )
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    opt_state: dict = {"state": {}, "param_groups": meta["param_groups"]}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = value
    for key, value in meta["optim_scalars"].items():
        pid, name = key.split(".", 1)
        opt_state["state"].setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict(opt_state)
    scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
    if average is not None:
        average.steps = meta["ema_steps"]
        for i, a in enumerate(average.shadow):
            a.copy_(tensors[f"ema.{i}"])
    loop = meta["loop"]
    return LoopState(
        loop["epoch"], loop["best_metric"], loop["best_epoch"], loop["bad_epochs"], loop["history"], best or None
    )
