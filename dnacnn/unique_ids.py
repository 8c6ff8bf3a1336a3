"""The duplicate-ID check of ``dnacnn encode``, in memory that does not grow with the record count.

Contract: :class:`UniqueIds` takes every stored ID, a batch at a time, in store order, and
:meth:`UniqueIds.check` raises :class:`~dnacnn.errors.InputError` naming the first record whose ID
repeats an earlier one.  IDs are kept as 64-bit hashes (Python's ``hash``, in-process) and their row
numbers; past :data:`BLOCK` rows they are spilled, a block at a time, into :data:`BUCKETS` files by
hash under a scratch folder, and checked one bucket at a time, so a 10M-record store holds ~2.5 MB of
them at a time.  A hash match is confirmed against the IDs themselves (re-read from
the store's ``ids.txt``), so a hash collision is never reported as a duplicate.  An ID repeated
within one batch is found as the batch is added; later rows cannot hold the first repeat, so they
are no longer hashed (a file of 30M copies of one ID would otherwise fill one bucket).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from dnacnn.errors import InputError

BLOCK = 1 << 18  # rows hashed in memory before a spill (4 MiB of hash + row pairs)
BUCKETS = 64
CONFIRM_CHUNK = 10_000  # candidate pairs confirmed per pass over ids.txt


class UniqueIds:
    """Hashes of the IDs seen so far; ``scratch`` is a folder this object may create and removes."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = Path(scratch)
        self.n = 0  # rows hashed (all rows added, until a repeat within a batch is found)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._spilled = False
        self._repeat: tuple[int, int] | None = None  # (earlier, later) rows of a repeat within a batch

    def add(self, ids: list[str]) -> None:
        if self._repeat is not None:  # the first repeat is at or before it: nothing later matters
            return
        hashes = np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids))
        ordered = np.sort(hashes)  # a sort, ~1 ms per 100k rows (np.unique takes ~20)
        if (ordered[1:] == ordered[:-1]).any():
            rows = np.arange(len(ids), dtype=np.int64)
            for first, later in _matches(np.stack([hashes, rows], axis=1)).tolist():
                if ids[first] == ids[later]:
                    self._repeat = (self.n + first, self.n + later)
                    break
        self._pending.append(hashes)
        self._n_pending += len(ids)
        self.n += len(ids)
        if self._n_pending >= BLOCK:
            self._spill()

    def check(self, ids_file: Path, path) -> None:
        """Raise on the first record (in store order) whose ID repeats an earlier record's;
        ``ids_file`` holds the IDs one a line, ``path`` is the input named in the error."""
        try:
            if not self._spilled:
                pairs = self._take_pending()
                candidates = _matches(pairs)
            else:
                self._spill()
                candidates = np.concatenate([_matches(np.fromfile(f, np.int64).reshape(-1, 2)) for f in self._files()])
            if self._repeat is not None:
                candidates = np.concatenate([candidates, np.array([self._repeat], np.int64)])
            if len(candidates):
                _confirm(candidates, ids_file, path)
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _take_pending(self) -> np.ndarray:
        """The pending hashes with their row numbers, as ``(m, 2)`` int64; the buffer emptied."""
        hashes = np.concatenate(self._pending) if self._pending else np.zeros(0, np.int64)
        self._pending, self._n_pending = [], 0
        rows = np.arange(self.n - len(hashes), self.n, dtype=np.int64)
        return np.stack([hashes, rows], axis=1)

    def _spill(self) -> None:
        pairs = self._take_pending()
        self.scratch.mkdir(exist_ok=True)
        self._spilled = True
        bucket = pairs[:, 0] & (BUCKETS - 1)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(BUCKETS + 1))
        for b, f in enumerate(self._files()):
            with open(f, "ab") as out:
                pairs[order[bounds[b] : bounds[b + 1]]].tofile(out)

    def _files(self) -> list[Path]:
        return [self.scratch / f"ids-{b:02d}.i64" for b in range(BUCKETS)]


def _matches(pairs: np.ndarray) -> np.ndarray:
    """``(k, 2)`` row pairs (earlier, later) of equal hashes: each later row with the first row of
    its hash."""
    if len(pairs) < 2:
        return np.zeros((0, 2), np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    hashes, rows = pairs[order, 0], pairs[order, 1]
    repeat = np.flatnonzero(hashes[1:] == hashes[:-1]) + 1
    if not len(repeat):
        return np.zeros((0, 2), np.int64)
    group_start = np.maximum.accumulate(np.where(np.r_[True, hashes[1:] != hashes[:-1]], np.arange(len(hashes)), 0))
    return np.stack([rows[group_start[repeat]], rows[repeat]], axis=1)


def _confirm(candidates: np.ndarray, ids_file: Path, path) -> None:
    """Raise for the first candidate pair (by its later row) whose IDs are equal."""
    candidates = candidates[np.argsort(candidates[:, 1], kind="stable")]
    for start in range(0, len(candidates), CONFIRM_CHUNK):  # a hash collision is ~1e-6 at 10M records
        chunk = candidates[start : start + CONFIRM_CHUNK].tolist()
        wanted = {row for pair in chunk for row in pair}
        found: dict[int, str] = {}
        with open(ids_file, encoding="utf-8", newline="\n") as f:
            for row, line in enumerate(f):
                if row in wanted:
                    found[row] = line.rstrip("\n")
        for first, later in chunk:
            if found[first] == found[later]:
                raise InputError(
                    path,
                    f"record {later + 1}",
                    f"duplicated ID '{found[later]}' (also record {first + 1})",
                    "give each record a unique ID",
                )
