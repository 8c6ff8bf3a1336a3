"""Training rows of a store too big for memory, read in shuffled blocks of consecutive rows.

Contract: ``BlockShuffle(indices, batch_size, seed, row_bytes)`` fixes one epoch's order of the
rows ``indices`` (sorted store rows, e.g. the training split); :func:`stream_batches` yields that
order's batches as tensors on a device, reading the store with plain sequential file reads.

The order is a *block shuffle*, not a full permutation.  The rows are cut, in store order, into
blocks of ``block_rows`` rows (about :data:`READ_BLOCK_BYTES` of codes and labels, a multiple of the
batch size); the blocks are permuted, consecutive blocks of that order form windows of
:data:`WINDOW_BLOCKS`, the rows of each window are permuted, and each window's rows are cut into
batches of ``batch_size`` (one batch per epoch can be short: the last of the window holding the
short last block).  Every row is used exactly once per epoch, and the order depends on
``(seed, epoch)`` only.  A batch draws its rows from at most :data:`WINDOW_BLOCKS` stretches of
the store, so a store written in an order that follows the labels over long stretches (all
positives, then all negatives) trains worse than a shuffled one.  Under DDP rank ``r`` of ``w``
takes every ``w``-th block of the permuted order and every rank runs as many batches as the rank
with the fewest rows, so a few rows can sit out an epoch, as with the full permutation.

Each block is one sequential read (``readinto`` a numpy buffer, no memory map) whose pages are
then dropped from the page cache (``posix_fadvise(DONTNEED)`` where the OS has it): the process
holds two windows of rows (the one training, the next being read by worker threads), whatever
the size of the store, and a memory limit (a SLURM job's cgroup) is not filled with page cache.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from dnacnn.errors import DnacnnError

READ_BLOCK_BYTES = 16 * 1024**2  # one sequential read: codes and labels of about this many bytes
WINDOW_BLOCKS = 8  # blocks whose rows are shuffled together (and held in memory twice)


class BlockShuffle:
    """One epoch's block-shuffled order of ``indices`` (sorted store rows), as windows of blocks.

    Set ``epoch`` before each epoch; :meth:`windows` lists this rank's windows, each an array of
    block numbers; ``len()`` is the number of batches each rank runs.
    """

    def __init__(
        self, indices: np.ndarray, batch_size: int, seed: int, row_bytes: int, rank: int = 0, world: int = 1
    ) -> None:
        self.indices, self.batch_size, self.seed = indices, batch_size, seed
        self.rank, self.world = rank, world
        self.epoch = 0
        per_rank = math.ceil(len(indices) / world / batch_size) * batch_size  # every rank gets a block
        self.block_rows = min(
            max(1, READ_BLOCK_BYTES // row_bytes // batch_size) * batch_size, max(per_rank, batch_size)
        )
        self.n_blocks = math.ceil(len(indices) / self.block_rows)

    def block(self, b: int) -> np.ndarray:
        """Store rows of block ``b`` (sorted)."""
        return self.indices[b * self.block_rows : (b + 1) * self.block_rows]

    def windows(self) -> list[np.ndarray]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n_blocks)[self.rank :: self.world]
        return [order[i : i + WINDOW_BLOCKS] for i in range(0, len(order), WINDOW_BLOCKS)]

    def window_order(self, blocks: np.ndarray, n_rows: int) -> np.ndarray:
        """Positions ``0..n_rows-1`` of a window's rows in training order (seeded by its blocks)."""
        return np.random.default_rng([self.seed, self.epoch, *blocks.tolist()]).permutation(n_rows)

    def __len__(self) -> int:
        """Batches per rank: as many as the rank with the fewest rows runs, whatever the epoch."""
        per_block = self.block_rows // self.batch_size
        n = self.n_blocks // self.world * per_block
        last = len(self.indices) % self.block_rows
        if last:  # the short last block may be one of those blocks
            n -= per_block - math.ceil(last / self.batch_size)
        return max(n, 0)


class BlockReader:
    """Reads blocks of rows of a store's ``codes.u8`` and ``labels.f32`` with plain file reads."""

    def __init__(self, store_path: str | os.PathLike, length: int, n_tasks: int, files: dict | None = None) -> None:
        self.path = Path(store_path)
        self.length, self.n_tasks = length, n_tasks
        # where each file's bytes start: (file, offset) of a folder's files or an archive's members
        self.files = {n: (f.path, f.offset) for n, f in (files or {}).items()}
        # one slice buffer per reading thread, reused: a fresh 16 MiB buffer per block would stay
        # with the thread's malloc arena once freed (dnacnn.device keeps freed heap for reuse)
        self._buffers = threading.local()

    def read_into(self, rows: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> None:
        """Read ``rows`` (sorted) into ``codes`` ``(b, length)`` uint8 and ``labels`` ``(b, tasks)``
        float32: one read of the slice of the store that spans them, then the rows picked from it."""
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        if hi - lo == len(rows):  # the slice holds these rows only: read straight into place
            self._read("codes.u8", lo, codes)
            self._read("labels.f32", lo, labels)
            return
        picked = rows - lo
        np.take(self._read("codes.u8", lo, self._buffer(hi - lo, self.length, np.uint8)), picked, 0, out=codes)
        np.take(self._read("labels.f32", lo, self._buffer(hi - lo, self.n_tasks, np.float32)), picked, 0, out=labels)

    def _buffer(self, n: int, width: int, dtype) -> np.ndarray:
        """This thread's reusable buffer, as an ``(n, width)`` array of ``dtype``."""
        nbytes = n * width * np.dtype(dtype).itemsize
        buf = getattr(self._buffers, "bytes", None)
        if buf is None or len(buf) < nbytes:
            buf = self._buffers.bytes = np.empty(nbytes, np.uint8)
        return buf[:nbytes].view(dtype).reshape(n, width)

    def _read(self, name: str, lo: int, out: np.ndarray) -> np.ndarray:
        """Fill ``out`` (C-contiguous) with the rows from ``lo`` of file ``name``."""
        view = memoryview(out.reshape(-1).view(np.uint8))
        path, start = self.files.get(name, (self.path / name, 0))
        offset = start + lo * out[0].nbytes
        with open(path, "rb", buffering=0) as f:
            f.seek(offset)
            done = 0
            while done < len(view):
                got = f.readinto(view[done:])
                if not got:
                    raise DnacnnError(f"{self.path / name}: truncated store file; re-run 'dnacnn encode'")
                done += got
            if hasattr(os, "posix_fadvise"):  # read once per epoch: keep it out of the page cache
                os.posix_fadvise(f.fileno(), offset, len(view), os.POSIX_FADV_DONTNEED)
        return out


def stream_batches(order: BlockShuffle, reader: BlockReader, device, workers: int = 1):
    """Yield this epoch's batches ``(codes (b, length) uint8, y (b, tasks) float32)`` on ``device``.

    ``workers`` threads read the blocks of the next window while the current one is batched.
    """
    import torch

    windows = order.windows()
    left = len(order)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="dnacnn-read") as pool:
        pending = _start_window(pool, order, reader, windows[0]) if windows else None
        for w, blocks in enumerate(windows):
            codes, labels, reads = pending
            for read in reads:
                read.result()
            pending = _start_window(pool, order, reader, windows[w + 1]) if w + 1 < len(windows) else None
            perm = torch.from_numpy(order.window_order(blocks, len(codes))).to(device)
            codes_t, y_t = torch.from_numpy(codes).to(device), torch.from_numpy(labels).to(device)
            del codes, labels  # on a GPU the host copy can go now
            for i in range(0, len(perm), order.batch_size):
                if left == 0:
                    return
                left -= 1
                idx = perm[i : i + order.batch_size]
                yield codes_t.index_select(0, idx), y_t.index_select(0, idx)


def _start_window(pool: ThreadPoolExecutor, order: BlockShuffle, reader: BlockReader, blocks: np.ndarray):
    """Arrays for a window's rows and the reads (one per block) that fill them."""
    rows = [order.block(b) for b in blocks]
    ends = np.cumsum([len(r) for r in rows])
    codes = np.empty((ends[-1], reader.length), np.uint8)
    labels = np.empty((ends[-1], reader.n_tasks), np.float32)
    reads = [
        pool.submit(reader.read_into, r, codes[end - len(r) : end], labels[end - len(r) : end])
        for r, end in zip(rows, ends)
    ]
    return codes, labels, reads
