"""The rows a training run reads: each epoch's training batches and the validation split.

Contract: :class:`TrainingRows` gives each epoch's batches of ``(codes (b, length) uint8,
labels (b, tasks) float32)`` tensors on the device, every training row exactly once per epoch.
A training split under :data:`PRELOAD_BYTES` (codes and labels) is read once and held in memory
(on the GPU when training there) and each epoch is a fresh full permutation from ``(seed,
epoch)``; a larger split is streamed in block shuffles (:mod:`dnacnn.stream`); with fresh
negatives an epoch is the positives plus new dinucleotide shuffles of each.  Under DDP each rank
takes an equal share of the batches.  :func:`validation_rows` gives the validation split in
chunks of at most :data:`VALID_PRELOAD_BYTES`.
"""

from __future__ import annotations

import math

import numpy as np

from dnacnn.store import Store
from dnacnn.stream import BlockReader, BlockShuffle, stream_batches

PRELOAD_BYTES = 2 * 1024**3  # a training split below this is held in memory
VALID_PRELOAD_BYTES = 256 << 20  # a larger validation split is read chunk by chunk each epoch


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


def preload(store: Store, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes (n, length) uint8, labels (n, tasks) float32)`` of store rows ``idx``, in memory."""
    return np.asarray(store.codes[idx]), np.asarray(store.labels[idx])


def row_bytes(store: Store) -> int:
    """Bytes of one stored row: its codes and float32 labels."""
    return store.codes.shape[1] + 4 * store.labels.shape[1]


def fits_in_memory(store: Store, n_rows: int) -> bool:
    return n_rows * row_bytes(store) < PRELOAD_BYTES


def on_device(arrays: tuple[np.ndarray, np.ndarray], device):
    """``(codes (n, length) uint8, y (n, tasks) float32)`` as tensors on ``device``."""
    import torch

    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays)


def resident_batches(sampler: EpochBatches, resident):
    """The sampler's batches gathered from in-memory tensors (rows sorted within a batch)."""
    import torch

    codes, y = resident
    # a draw from the global generator, once the base seed of a DataLoader on the streamed path:
    # kept so that a seed trains the same model (dropout, augmentation) as in earlier versions
    torch.empty((), dtype=torch.int64).random_()
    for idx in sampler:
        idx = torch.from_numpy(np.sort(idx)).to(codes.device, non_blocking=True)
        yield codes.index_select(0, idx), y.index_select(0, idx)


def validation_rows(store: Store, idx: np.ndarray):
    """A function giving the validation split as ``(codes, labels)`` chunks: the whole split, read
    once, when it is under :data:`VALID_PRELOAD_BYTES`; else chunks of that size read from the
    store each epoch (sorted rows, so near-sequential reads), so that memory stays bounded."""
    size = row_bytes(store)
    if len(idx) * size <= VALID_PRELOAD_BYTES:
        whole = preload(store, idx)
        return lambda: iter([whole])
    rows = max(1, VALID_PRELOAD_BYTES // size)
    return lambda: (preload(store, idx[i : i + rows]) for i in range(0, len(idx), rows))


def row_indices(store: Store, split: str) -> np.ndarray:
    """Sorted store rows of a split, int32 where the store allows (4 bytes a row, not 8)."""
    idx = store.indices(split)
    return idx.astype(np.int32) if store.n < 2**31 else idx


class TrainingRows:
    """Each epoch's training batches: resident, streamed or fresh negatives (see the module).

    ``record`` holds the run's resolved settings (``batch_size``, ``seed``, ``fresh_negatives``,
    ``shuffles_per_positive``); ``workers`` is the number of reader threads of a streamed split."""

    def __init__(self, store: Store, train_idx: np.ndarray, record: dict, device, rank: int, world: int, workers: int):
        self.store, self.train_idx, self.record, self.device, self.workers = store, train_idx, record, device, workers
        batch, seed = int(record["batch_size"]), record["seed"]
        self.sampler = EpochBatches(train_idx, batch, seed, rank, world)
        # A training split that fits is read once and batched by indexing in memory (on the GPU
        # when training there), instead of a memory-map gather and a host->device copy per batch.
        # A larger one is streamed in shuffled blocks of consecutive rows (dnacnn.stream).
        self.resident = self.streamed = None
        if not record["fresh_negatives"] and fits_in_memory(store, len(train_idx)):
            self.resident = on_device(preload(store, train_idx), device)
        elif not record["fresh_negatives"]:
            self.streamed = BlockShuffle(train_idx, batch, seed, row_bytes(store), rank, world)
            self.reader = BlockReader(store.path, store.codes.shape[1], store.labels.shape[1], store.files)

    def epoch(self, epoch: int):
        """``(batches, number of batches)`` of one epoch."""
        self.sampler.epoch = epoch
        if self.record["fresh_negatives"]:
            per_positive = int(self.record["shuffles_per_positive"])
            arrays = fresh_negative_codes(self.store, self.train_idx, self.record["seed"], epoch, per_positive)
            self.sampler.indices = np.arange(len(arrays[0]))
            batches = resident_batches(self.sampler, on_device(arrays, self.device))
        elif self.resident is not None:
            # positions in the preloaded split: the same permutation and sorted rows as store indices
            self.sampler.indices = np.arange(len(self.train_idx))
            batches = resident_batches(self.sampler, self.resident)
        else:
            self.streamed.epoch = epoch
            batches = stream_batches(self.streamed, self.reader, self.device, self.workers)
        return batches, len(self.streamed) if self.streamed is not None else len(self.sampler)
