"""Marker and individual QC for genotype matrices, applied while the markers stream in.

Thresholds follow PLINK's ``--geno`` / ``--maf`` / ``--mind`` and are applied in this order:

1. marker missing rate: a marker is removed when its share of missing calls is *greater than*
   ``max_missing`` (``--geno``); 1.0 keeps every marker;
2. minor-allele frequency: a marker is removed when its MAF is *below* ``maf`` (``--maf``); the
   frequency is the counted-allele dosage over ``2 x`` the called individuals, MAF ``min(p, 1 - p)``,
   and a marker with no calls has MAF 0; 0.0 keeps every marker;
3. individual missing rate: an individual is removed when its share of missing calls over the
   markers kept by 1-2 is greater than ``max_sample_missing`` (``--mind``).

Marker statistics are computed over every individual in the file, before step 3 (as in the usual
"``--geno`` then ``--mind``" recipe; MAF is not recomputed after individuals are removed).  A
marker failing both 1 and 2 is counted under 1.

:class:`Collector` does this chunk by chunk for the VCF and PLINK readers: each chunk of markers
is tested, the markers that pass are kept (in memory, or in a spill file when ``spill_dir`` is
given), and :meth:`Collector.finish` assembles the ``(individuals, markers)`` uint8 matrix with the
kept individuals and each marker's mean dosage.  In memory, kept markers wait in ~32 MB blocks on
anonymous memory maps, which go back to the system the moment they are copied into the output
(whatever ``malloc``'s settings: the CLI makes glibc keep freed blocks below 64 MB, see
:mod:`dnacnn.device`), so peak use is the output plus ~60 MB.  With a spill file it is ~60 MB
whatever the size, and the result is a read-only ``numpy.memmap`` over an unlinked temporary file
in ``spill_dir``.
"""

from __future__ import annotations

import mmap
import tempfile
from dataclasses import asdict, dataclass, field

import numpy as np

from dnacnn.codes import GENOTYPE_MISSING
from dnacnn.errors import DnacnnError, InputError

CHUNK_BYTES = 2 << 20  # codes per marker chunk (VCF alleles take 6x this while a chunk is decoded)
_MARKER_BLOCK_BYTES = 32 << 20  # kept markers are gathered into blocks of about this size (memory or spill file)
_BAND_BYTES = 8 << 20  # rows of a matrix handled at a time (means, assembly from the spill file)


@dataclass
class GenotypeQC:
    """QC thresholds; the defaults keep everything (see the module docstring for the rules)."""

    maf: float = 0.0
    max_missing: float = 1.0
    max_sample_missing: float = 1.0

    def check(self) -> None:
        """Raise a one-line error for a threshold out of range."""
        if not 0.0 <= self.maf <= 0.5:
            raise DnacnnError(f"--maf must be between 0 and 0.5 (a minor-allele frequency), got {self.maf:g}")
        if not 0.0 <= self.max_missing <= 1.0:
            raise DnacnnError(f"--max-missing must be between 0 and 1 (a share of calls), got {self.max_missing:g}")
        if not 0.0 <= self.max_sample_missing <= 1.0:
            raise DnacnnError(
                f"--max-sample-missing must be between 0 and 1 (a share of calls), got {self.max_sample_missing:g}"
            )


@dataclass
class GenotypeSummary:
    """What was read and what QC removed; :meth:`describe` is one line for the CLI.

    ``markers_read``: records (VCF), ``.bim`` lines (PLINK) or columns (matrix).  Multi-allelic VCF
    records are skipped (``multiallelic_skipped``) or split into one marker per ALT allele
    (``multiallelic_split`` records), so the markers that enter QC are
    ``markers_read - multiallelic_skipped + split ALT alleles - multiallelic_split`` and
    ``markers_kept`` = those minus ``markers_removed_missing`` and ``markers_removed_maf``.
    ``haploid_calls``: VCF calls with one allele, counted as homozygous (0 or 2, as PLINK stores
    them); ``half_calls``: diploid calls with one allele missing (``./1``), read as missing.
    """

    format: str
    qc: GenotypeQC = field(default_factory=GenotypeQC)
    individuals_read: int = 0
    individuals_removed: int = 0
    individuals_kept: int = 0
    markers_read: int = 0
    multiallelic_skipped: int = 0
    multiallelic_split: int = 0
    markers_tested: int = 0
    markers_removed_missing: int = 0
    markers_removed_maf: int = 0
    markers_kept: int = 0
    haploid_calls: int = 0
    half_calls: int = 0
    removed_ids: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line, e.g. ``genotypes (vcf): 500 individuals x 1,000 markers read; 12 multi-allelic
        skipped; 40 removed by missing rate > 0.1; 80 removed by MAF < 0.05; 868 markers kept``."""
        parts = [
            f"genotypes ({self.format}): {self.individuals_read:,} individuals x {self.markers_read:,} markers read"
        ]
        if self.multiallelic_skipped:
            parts.append(f"{self.multiallelic_skipped:,} multi-allelic skipped")
        if self.multiallelic_split:
            parts.append(f"{self.multiallelic_split:,} multi-allelic split into one marker per ALT")
        if self.qc.max_missing < 1.0 or self.markers_removed_missing:
            parts.append(f"{self.markers_removed_missing:,} removed by missing rate > {self.qc.max_missing:g}")
        if self.qc.maf > 0.0 or self.markers_removed_maf:
            parts.append(f"{self.markers_removed_maf:,} removed by MAF < {self.qc.maf:g}")
        parts.append(f"{self.markers_kept:,} markers kept")
        if self.qc.max_sample_missing < 1.0 or self.individuals_removed:
            parts.append(
                f"{self.individuals_removed:,} individuals removed by missing rate > {self.qc.max_sample_missing:g}"
                f" ({self.individuals_kept:,} kept)"
            )
        if self.half_calls:
            parts.append(f"{self.half_calls:,} half-missing calls (./1) read as missing")
        if self.haploid_calls:
            parts.append(f"{self.haploid_calls:,} haploid calls counted as homozygous")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """Plain data for a manifest (thresholds nested under ``qc``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GenotypeSummary:
        """Back from :meth:`to_dict` (e.g. a store manifest's ``genotype_qc``), to print :meth:`describe`."""
        data = dict(data)
        return cls(qc=GenotypeQC(**data.pop("qc", {})), **data)


def marker_means(codes: np.ndarray, block_rows: int | None = None) -> np.ndarray:
    """Mean dosage per marker over the called individuals (0 where none is called), float32 ``(m,)``.

    The same numbers as ``np.where(codes == 3, 0, codes).sum(0) / max(called, 1)``, computed a band
    of rows at a time so no full-size temporary is made (``codes`` may be a memmap)."""
    n, m = codes.shape
    block_rows = block_rows or max(1, _BAND_BYTES // max(m, 1))
    total = np.zeros(m, np.int64)
    missing = np.zeros(m, np.int64)
    for r0 in range(0, n, block_rows):
        band = np.asarray(codes[r0 : r0 + block_rows])
        miss = np.count_nonzero(band == GENOTYPE_MISSING, axis=0)
        total += band.sum(axis=0, dtype=np.int64) - GENOTYPE_MISSING * miss
        missing += miss
    return (total / np.maximum(n - missing, 1)).astype(np.float32)


def apply_qc(geno, qc: GenotypeQC | None, path, fmt: str = "genotype"):
    """QC an in-memory :class:`~dnacnn.io.genotype.Genotypes` (the numeric-matrix reader's result).

    Returns a Genotypes with ``qc`` (the summary) and ``marker_means`` filled; ``codes`` is the
    same array when nothing is removed, else a new one (so filtering needs input + output)."""
    qc = qc or GenotypeQC()
    qc.check()
    codes = geno.codes
    n, m = codes.shape
    summary = GenotypeSummary(format=fmt, qc=qc, individuals_read=n, markers_read=m)
    step = max(1, CHUNK_BYTES // max(n, 1))
    keep = np.zeros(m, bool)
    sample_missing = np.zeros(n, np.int64)
    for j0 in range(0, m, step):
        block = np.ascontiguousarray(codes[:, j0 : j0 + step])
        keep[j0 : j0 + block.shape[1]] = _test_markers(block, 0, qc, summary)
        sample_missing += np.count_nonzero(block[:, keep[j0 : j0 + block.shape[1]]] == GENOTYPE_MISSING, axis=1)
    rows = _test_individuals(path, sample_missing, int(keep.sum()), qc, summary, geno.ids)
    if rows.all() and keep.all():
        out = codes
    else:
        cols = np.flatnonzero(keep)
        row_idx = np.flatnonzero(rows)
        out = np.empty((len(row_idx), len(cols)), np.uint8)
        band = max(1, _BAND_BYTES // max(m, 1))
        for r0 in range(0, len(row_idx), band):
            out[r0 : r0 + band] = codes[row_idx[r0 : r0 + band]][:, cols]
    ids = [i for i, k in zip(geno.ids, rows) if k]
    markers = [name for name, k in zip(geno.markers, keep) if k]
    counted = None if geno.counted is None else [a for a, k in zip(geno.counted, keep) if k]
    return Genotypes(
        ids=ids,
        codes=out,
        markers=markers,
        has_ids=geno.has_ids,
        counted=counted,
        marker_means=marker_means(out),
        qc=summary,
    )


def _test_markers(block: np.ndarray, individuals_axis: int, qc: GenotypeQC, summary: GenotypeSummary) -> np.ndarray:
    """Keep-mask of the markers of ``block`` (codes, individuals along ``individuals_axis``);
    counts the removed ones in ``summary``."""
    n = block.shape[individuals_axis]
    missing = np.count_nonzero(block == GENOTYPE_MISSING, axis=individuals_axis)
    dosage = block.sum(axis=individuals_axis, dtype=np.int64) - GENOTYPE_MISSING * missing
    called = n - missing
    freq = dosage / np.maximum(2 * called, 1)
    maf = np.where(called > 0, np.minimum(freq, 1.0 - freq), 0.0)
    too_missing = missing / max(n, 1) > qc.max_missing
    rare = ~too_missing & (maf < qc.maf)
    summary.markers_tested += len(missing)
    summary.markers_removed_missing += int(too_missing.sum())
    summary.markers_removed_maf += int(rare.sum())
    keep = ~(too_missing | rare)
    summary.markers_kept += int(keep.sum())
    return keep


def _test_individuals(path, sample_missing, m_kept: int, qc: GenotypeQC, summary: GenotypeSummary, ids) -> np.ndarray:
    """Keep-mask of the individuals; raises when no marker or no individual is left."""
    if m_kept == 0:
        raise InputError(
            path,
            None,
            f"no markers left after QC ({_removed(summary)})",
            "lower --maf or raise --max-missing, or check that the file holds the genotypes you expect",
        )
    rows = sample_missing / m_kept <= qc.max_sample_missing
    summary.individuals_kept = int(rows.sum())
    summary.individuals_removed = len(rows) - summary.individuals_kept
    summary.removed_ids = [i for i, k in zip(ids, rows) if not k]
    if summary.individuals_kept == 0:
        raise InputError(
            path,
            None,
            f"no individuals left after QC: all {len(rows)} have more than {qc.max_sample_missing:g} of "
            f"their {m_kept} kept markers missing",
            "raise --max-sample-missing",
        )
    return rows


def _removed(summary: GenotypeSummary) -> str:
    parts = [f"{summary.markers_read} read"]
    if summary.multiallelic_skipped:
        parts.append(f"{summary.multiallelic_skipped} multi-allelic skipped")
    parts.append(f"{summary.markers_removed_missing} removed by missing rate > {summary.qc.max_missing:g}")
    parts.append(f"{summary.markers_removed_maf} removed by MAF < {summary.qc.maf:g}")
    return ", ".join(parts)


def _anonymous(shape: tuple[int, int]) -> np.ndarray:
    """A uint8 array on its own private anonymous memory map: pages are committed as they are
    written and unmapped (returned to the system) as soon as the array is freed, unlike a large
    ``malloc`` block that glibc may keep for reuse."""
    nbytes = shape[0] * shape[1]
    if nbytes == 0:
        return np.empty(shape, np.uint8)
    if hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS"):
        buffer = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    else:  # Windows: an anonymous map of the paging file
        buffer = mmap.mmap(-1, nbytes)
    return np.frombuffer(buffer, np.uint8).reshape(shape)


class Collector:
    """Receives a file's markers chunk by chunk, QCs them and assembles the kept matrix.

    ``add`` takes codes ``(markers, n)`` (``marker_major=True``, as VCF records come) or
    ``(n, markers)`` (as PLINK reads come), with the chunk's marker names and counted alleles.
    Kept markers go straight into an ``(n, K)`` block of about :data:`_MARKER_BLOCK_BYTES`; a full block
    is kept (in memory) or written to the spill file, whose block buffer is then reused.
    Call :meth:`finish` for the result, or :meth:`close` to drop everything (a reader's error).
    """

    def __init__(self, path, n: int, qc: GenotypeQC, summary: GenotypeSummary, spill_dir=None) -> None:
        self.path = path
        self.n = n
        self.qc = qc
        self.summary = summary
        self.spill_dir = spill_dir
        self.markers: list[str] = []
        self.counted: list[str] = []
        self.sample_missing = np.zeros(n, np.int64)
        self._block: np.ndarray | None = None  # (n, capacity) on an anonymous map, filled left to right
        self._used = 0
        self._blocks: list[np.ndarray] = []  # in memory: full blocks, (n, K) views
        self._spill = None
        self._spilled: list[tuple[int, int]] = []  # spill file: (offset, K) of each (n, K) C-order block
        self._offset = 0

    def add(self, codes: np.ndarray, names: list[str], counted: list[str], marker_major: bool) -> None:
        keep = _test_markers(codes, 1 if marker_major else 0, self.qc, self.summary)
        k = int(keep.sum())
        if not k:
            return
        if self._block is None or self._used + k > self._block.shape[1]:
            self._flush()
            if self._block is None or k > self._block.shape[1]:
                self._block = _anonymous((self.n, max(k, _MARKER_BLOCK_BYTES // max(self.n, 1))))
        dest = self._block[:, self._used : self._used + k]
        if marker_major:
            dest[...] = (codes if k == len(keep) else codes[keep]).T
        else:
            dest[...] = codes if k == len(keep) else codes[:, keep]
        self._used += k
        self.sample_missing += np.count_nonzero(dest == GENOTYPE_MISSING, axis=1)
        idx = np.flatnonzero(keep)
        self.markers.extend(names[i] for i in idx)
        self.counted.extend(counted[i] for i in idx)

    def _flush(self) -> None:
        """Keep the filled part of the current block (in memory), or write it to the spill file."""
        if not self._used:
            return
        used, self._used = self._used, 0
        if self.spill_dir is None:
            self._blocks.append(self._block[:, :used])
            self._block = None
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="dnacnn-genotypes-", dir=self.spill_dir)
        rows = max(1, CHUNK_BYTES // used)
        for r0 in range(0, self.n, rows):
            self._spill.write(np.ascontiguousarray(self._block[r0 : r0 + rows, :used]).data)
        self._spilled.append((self._offset, used))
        self._offset += self.n * used

    def close(self) -> None:
        self._block, self._blocks = None, []
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def finish(self, ids: list[str]):
        """The kept matrix as :class:`~dnacnn.io.genotype.Genotypes` (``has_ids=True``)."""
        try:
            m = len(self.markers)
            rows = _test_individuals(self.path, self.sample_missing, m, self.qc, self.summary, ids)
            subset = None if rows.all() else np.flatnonzero(rows)
            self._flush()
            if self.spill_dir is None:
                codes, means = self._assemble_in_memory(m, subset)
            else:
                codes, means = self._assemble_from_spill(m, rows, subset)
        finally:
            self.close()
        return Genotypes(
            ids=[i for i, k in zip(ids, rows) if k],
            codes=codes,
            markers=self.markers,
            has_ids=True,
            counted=self.counted,
            marker_means=means,
            qc=self.summary,
        )

    def _assemble_in_memory(self, m: int, subset) -> tuple[np.ndarray, np.ndarray]:
        if len(self._blocks) == 1 and subset is None and self._blocks[0].flags.c_contiguous:
            codes = self._blocks.pop()
            return codes, marker_means(codes)
        codes = _anonymous((self.n if subset is None else len(subset), m))
        means = np.empty(m, np.float32)
        j = 0
        while self._blocks:
            block = self._blocks.pop(0)  # its map goes back to the system when this reference goes
            if subset is not None:
                block = block[subset]
            k = block.shape[1]
            codes[:, j : j + k] = block
            means[j : j + k] = marker_means(block)
            j += k
            del block
        return codes, means

    def _assemble_from_spill(self, m: int, rows: np.ndarray, subset) -> tuple[np.ndarray, np.ndarray]:
        spill = self._spill
        n_out = int(rows.sum())
        out = tempfile.TemporaryFile(prefix="dnacnn-genotypes-", dir=self.spill_dir)
        total = np.zeros(m, np.int64)
        missing = np.zeros(m, np.int64)
        self._block = None  # the block buffer is not needed any more
        band_rows = max(1, _BAND_BYTES // max(m, 1))
        band = np.empty((band_rows, m), np.uint8)
        try:
            for r0 in range(0, self.n, band_rows):
                r1 = min(self.n, r0 + band_rows)
                b = band[: r1 - r0]
                j = 0
                for offset, k in self._spilled:
                    part = np.empty((r1 - r0, k), np.uint8)
                    spill.seek(offset + r0 * k)
                    if spill.readinto(part.data) != part.nbytes:
                        raise OSError(f"short read from the spill file in {self.spill_dir}")
                    b[:, j : j + k] = part
                    j += k
                if subset is not None:
                    b = b[rows[r0:r1]]
                miss = np.count_nonzero(b == GENOTYPE_MISSING, axis=0)
                total += b.sum(axis=0, dtype=np.int64) - GENOTYPE_MISSING * miss
                missing += miss
                out.write(np.ascontiguousarray(b).data)
            out.flush()
            codes = np.memmap(out, dtype=np.uint8, mode="r", shape=(n_out, m))
        finally:
            out.close()  # the map keeps the (unlinked) file alive until it is freed
        means = (total / np.maximum(n_out - missing, 1)).astype(np.float32)
        return codes, means


@dataclass
class Genotypes:
    """A genotype matrix: ``codes`` ``(n, m)`` uint8 (0/1/2, 3 = missing), ``ids`` (n) and
    ``markers`` (m); ``has_ids`` says whether the ids came from the file (else ``ind1..``).

    Defined here, beside the collector that assembles it, so that every reader can build one
    without an import cycle; :mod:`dnacnn.io.genotype` re-exports it.  Filled by
    :func:`~dnacnn.io.genotype.read_genotype_input` (None from
    :func:`~dnacnn.io.genotype.read_genotypes` alone): ``counted``,
    the allele whose copies the codes count, per marker (VCF: the ALT allele; PLINK: A1, column 5
    of the ``.bim``; None for a numeric matrix); ``marker_means``, float32 ``(m,)`` mean dosage over
    the called individuals (what the store's ``marker_means.f32`` holds); ``qc``, what was read
    and removed.  ``codes`` may be a read-only ``numpy.memmap`` (``spill_dir``)."""

    ids: list[str]
    codes: np.ndarray
    markers: list[str]
    has_ids: bool = False
    counted: list[str] | None = None
    marker_means: np.ndarray | None = None
    qc: GenotypeSummary | None = None
