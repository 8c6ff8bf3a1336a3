"""Genomic background negatives: reference windows that overlap no peak, GC-matched to the positives.

``dnacnn encode PEAKS.bed --genome FA --length L --negatives genome`` (BED input only).  Contract:

* **Candidates** are the windows of ``L`` bases on two grids per chromosome, starting at multiples
  of ``L`` and at multiples of ``L`` plus ``L // 2``.  A candidate is kept when it overlaps no BED
  interval and no positive window, each widened by ``flank`` bases on both sides, and holds at most
  :data:`MAX_N_FRACTION` N (or other ambiguous) bases.
* **Matching**: each positive gets ``k`` negatives from its own chromosome, drawn without
  replacement, with the same G+C count as the positive's window while the chromosome has such
  candidates left, else the nearest count left.  Draws are seeded: the same inputs and seed give
  the same negatives.
* **Splits**: a negative shares its positive's group, so it lands in the positive's split and fold
  (random split, folds), and lies on the positive's chromosome (chromosome split).
* **Shortfalls**: a chromosome with fewer candidates than ``k`` times its positives gives what it
  has; :class:`BackgroundSummary` counts the shortfall and the encoder reports it.

Memory: one chromosome is coded at a time (one byte per base), plus a few bytes per positive and
per candidate window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from dnacnn.codes import DNA_LUT, DNA_N, INVALID
from dnacnn.io.bed import merge_intervals, window_coordinates

MAX_N_FRACTION = 0.1
POOR_GC_MATCH = 0.1  # a KS statistic above this is reported as a poor match
GC_CODES = (1, 2)  # C, G in dnacnn's DNA codes


@dataclass
class BackgroundSummary:
    """How the genomic negatives were made, as recorded in the store's manifest."""

    method: str = "genome"
    per_positive: int = 1
    flank: int = 0
    max_n_fraction: float = MAX_N_FRACTION
    negatives: int = 0
    short: dict[str, int] = field(default_factory=dict)  # chromosome -> negatives it could not give
    gc_ks: float | None = None  # two-sample KS statistic of the G+C fractions, positives vs negatives

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        line = (
            f"negatives: {self.negatives:,} genomic windows ({self.per_positive} per positive, none within "
            f"{self.flank} bp of a peak), GC-matched"
        )
        if self.gc_ks is not None and self.gc_ks > POOR_GC_MATCH:
            line += (
                f" poorly (KS statistic {self.gc_ks:.3f}: too few free windows have the positives' G+C; "
                "a smaller --negative-flank or fewer --negatives-per-positive helps)"
            )
        elif self.gc_ks is not None:
            line += f" (KS statistic {self.gc_ks:.3f})"
        if self.short:
            worst = ", ".join(f"{c} {n}" for c, n in sorted(self.short.items(), key=lambda x: -x[1])[:3])
            line += f"; {sum(self.short.values()):,} short where chromosomes ran out of free windows ({worst})"
        return line


@dataclass
class NegativeBlock:
    """Negatives of one chromosome: window ids, codes (n, L) uint8 and their positives' groups."""

    ids: list[str]
    codes: np.ndarray
    groups: np.ndarray
    lines: np.ndarray


class GenomeBackground:
    """Collects the positives' windows while they are encoded, then draws their negatives.

    ``intervals``: the BED's intervals per chromosome (:func:`dnacnn.io.bed.read_intervals`);
    ``genome``: an open ``pyfaidx.Fasta`` (:func:`dnacnn.io.bed.open_genome`).
    """

    def __init__(self, genome, intervals: dict[str, np.ndarray], length: int, per_positive: int, flank: int):
        self.genome = genome
        self.intervals = intervals
        self.length = length
        self.summary = BackgroundSummary(per_positive=per_positive, flank=flank)
        self._positives: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}

    def add(self, ids: list[str], codes: np.ndarray, groups: np.ndarray, lines: np.ndarray) -> None:
        """Positive windows (ids ``chrom:start-end``, as the BED reader names them) and their groups."""
        gc = _gc_count(codes)
        coordinates = [window_coordinates(i) for i in ids]
        chroms = np.asarray([c for c, _, _ in coordinates], dtype=object)
        starts = np.asarray([s for _, s, _ in coordinates], dtype=np.int64)
        for chrom in dict.fromkeys(chroms):
            mine = chroms == chrom
            block = (starts[mine], gc[mine], np.asarray(groups)[mine], np.asarray(lines)[mine])
            self._positives.setdefault(chrom, []).append(block)

    def negatives(self, rng: np.random.Generator) -> Iterator[NegativeBlock]:
        """One block of negatives per chromosome with positives, in genome order."""
        k, length = self.summary.per_positive, self.length
        pos_gc, neg_gc = [], []
        for chrom in (c for c in self.genome.records if c in self._positives):
            starts, gc, groups, lines = (np.concatenate(parts) for parts in zip(*self._positives.pop(chrom)))
            codes = DNA_LUT[np.frombuffer(self.genome[chrom][:].encode("ascii", "replace"), dtype=np.uint8)]
            cand_starts, cand_gc = self._candidates(chrom, codes, starts)
            chosen, owner = _match(gc, cand_starts, cand_gc, k, rng)
            missing = k * len(starts) - len(chosen)
            if missing:
                self.summary.short[chrom] = missing
            if not len(chosen):
                continue
            windows = codes[chosen[:, None] + np.arange(length)]
            pos_gc.append(gc / length)
            neg_gc.append(_gc_count(windows) / length)
            self.summary.negatives += len(chosen)
            ids = [f"{chrom}:{s}-{s + length}" for s in chosen.tolist()]
            yield NegativeBlock(ids, windows, groups[owner], lines[owner])
        if pos_gc:
            from scipy.stats import ks_2samp

            self.summary.gc_ks = float(ks_2samp(np.concatenate(pos_gc), np.concatenate(neg_gc)).statistic)

    def _candidates(self, chrom: str, codes: np.ndarray, positive_starts: np.ndarray):
        """Start and G+C count of every free window on this chromosome (see the module contract)."""
        length, flank = self.length, self.summary.flank
        starts, gcs = [], []
        for offset in (0, length // 2):
            n = (len(codes) - offset) // length
            if n <= 0:
                continue
            windows = codes[offset : offset + n * length].reshape(n, length)
            ok = (windows == DNA_N).sum(axis=1) <= MAX_N_FRACTION * length
            ok &= (windows != INVALID).all(axis=1)
            starts.append(offset + length * np.flatnonzero(ok))
            gcs.append(_gc_count(windows[ok]))
        if not starts:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        starts, gcs = np.concatenate(starts), np.concatenate(gcs)
        taken = [self.intervals.get(chrom, np.zeros((0, 2), np.int64))]
        taken.append(np.stack([positive_starts, positive_starts + length], axis=1))
        blocked = merge_intervals(np.concatenate(taken) + np.array([-flank, flank]))
        free = ~_overlaps(starts, starts + length, blocked)
        return starts[free], gcs[free]


def _gc_count(codes: np.ndarray) -> np.ndarray:
    """G+C bases of each window ``(n, L)`` of DNA codes, int32."""
    return np.isin(codes, GC_CODES).sum(axis=1).astype(np.int32)


def _overlaps(starts: np.ndarray, ends: np.ndarray, merged: np.ndarray) -> np.ndarray:
    """Whether each ``[start, end)`` overlaps any row of ``merged`` (sorted, disjoint)."""
    if not len(merged):
        return np.zeros(len(starts), bool)
    i = np.searchsorted(merged[:, 1], starts, side="right")  # first merged interval ending after start
    hit = i < len(merged)
    hit[hit] = merged[i[hit], 0] < ends[hit]
    return hit


def _match(gc: np.ndarray, cand_starts: np.ndarray, cand_gc: np.ndarray, k: int, rng: np.random.Generator):
    """``k`` candidates per positive, same G+C count or the nearest left, without replacement.

    Returns the chosen starts and, for each, the index of its positive."""
    order = rng.permutation(len(cand_gc))
    order = order[np.argsort(cand_gc[order], kind="stable")]  # pools by G+C count, random within
    pool_gc = cand_gc[order]
    top = int(max(gc.max(initial=0), pool_gc.max(initial=0))) + 1
    begin = np.searchsorted(pool_gc, np.arange(top), side="left")
    end = np.searchsorted(pool_gc, np.arange(top), side="right")
    nxt = begin.copy()  # next unused candidate of each pool
    left = int(len(order))
    chosen, owner = [], []
    for p, x in enumerate(gc.tolist()):
        for _ in range(k):
            if not left:
                break
            for d in range(top):  # nearest pool with candidates left; lower count first on a tie
                if x - d >= 0 and nxt[x - d] < end[x - d]:
                    pool = x - d
                    break
                if x + d < top and nxt[x + d] < end[x + d]:
                    pool = x + d
                    break
            chosen.append(order[nxt[pool]])
            owner.append(p)
            nxt[pool] += 1
            left -= 1
    return cand_starts[np.asarray(chosen, dtype=np.int64)], np.asarray(owner, dtype=np.int64)
