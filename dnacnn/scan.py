"""``dnacnn scan``: a DNA model's scores along a genome, written as bigWig (and bedGraph) tracks.

Contract.  Windows are ``L`` bases long (``L`` = the model's input length) and start every
``stride`` bases from the start of each chromosome: window ``k`` covers the bases
``[k * stride, k * stride + L)`` (0-based, half-open, as in BED), and only windows that fit on the
chromosome are scored.  Its centre base is ``c = k * stride + L // 2`` (the base ``dnacnn
predict`` and the BED reader centre a window on) and its score is written to the ``stride``-base
bin ``[c - stride // 2, c - stride // 2 + stride)``: consecutive bins tile the chromosome without
gaps or overlaps, each bin holding the score of the window centred in it.  The first
``L // 2 - stride // 2`` and about as many last bases of a chromosome get no value (no window is
centred there).  ``stride`` may not exceed ``L``, so every base of a bin lies in its window.

A score is exactly what ``dnacnn predict`` writes for the same ``L`` bases (it goes through the
same :class:`~dnacnn.predict.Predictor`): a probability for classification, a value in the
training targets' units for regression, one track per output column (task or class).  A model
built with ``strands: both`` scores both strands inside itself; ``rc_average`` averages the
scores of a window and of its reverse complement as ``dnacnn predict --rc-average`` does.

Windows with more than ``max_n`` (default 0.5) of their bases N are skipped: their bins get no
entry, so a gap in the track means "not scored", never 0.  Soft-masked bases count as bases;
IUPAC codes and any other non-ACGT byte count as N.  With ``regions`` (a BED file) only the
windows whose centre base lies in a region are scored, on the same grid as a whole-chromosome
scan (a bin has the same value either way); ``chroms`` restricts the scan to those chromosomes.
Every track's header lists all chromosomes of the genome, with sizes from its ``.fai``.

Memory is bounded: the genome is read through pyfaidx one chunk of :data:`CHUNK_WINDOWS`
windows at a time (the next chunk is read and encoded in a background thread while the model
scores the current one), and bins are appended to the tracks as they are scored.  The tracks are
written to temporary files beside their targets and renamed at the end; an error or Ctrl-C
removes them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnacnn.errors import DnacnnError, InputError
from dnacnn.io.outputs import check_output_file, output_files
from dnacnn.io.tsv import TsvWriter

CHUNK_WINDOWS = 32_768
MAX_N = 0.5
_TRACK_SUFFIXES = (".bw", ".bigwig")


@dataclass
class ScanSummary:
    """What a scan wrote: ``tracks`` (bigWig paths), ``bedgraphs``, window counts and bases."""

    tracks: list[Path]
    bedgraphs: list[Path] = field(default_factory=list)
    windows: int = 0
    skipped_n: int = 0
    bases: int = 0


def scan(
    model_path: str | os.PathLike,
    genome_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    regions: str | os.PathLike | None = None,
    chroms: list[str] | None = None,
    task: str | None = None,
    stride: int = 20,
    max_n: float = MAX_N,
    bedgraph: bool = False,
    rc_average: bool = False,
    device: str = "auto",
    batch_size: int = 1024,
    progress: bool = True,
    check_output: Callable[[Path], object] | None = None,
) -> ScanSummary:
    """Score every ``stride``-th window of the genome and write one bigWig per output column.

    ``out`` names the tracks: ``scores.bw`` (or ``scores``) gives ``scores.bw`` for a model
    with one output column and ``scores.TASK.bw`` per column otherwise; a folder (``out/``) gives
    ``out/MODEL.bw`` (``MODEL`` = the model file's name without its suffix); ``bedgraph`` adds
    ``scores[.TASK].bedGraph`` beside each; ``task`` keeps one column only (``scores.bw``).  See the
    module docstring for the coordinates.  ``check_output`` is given each track path before anything
    is written (the command's check that an existing file there may be replaced)."""
    from tqdm import tqdm

    from dnacnn.io.bed import open_genome
    from dnacnn.io.fasta import read_ahead
    from dnacnn.predict import load_predictor, model_paths

    _check_numbers(stride, max_n, batch_size)
    genome = open_genome(genome_path)
    sizes = {name: len(record) for name, record in genome.records.items()}
    intervals = _selected_intervals(sizes, genome_path, regions, chroms)
    predictor = load_predictor(model_path, device, rc_average, batch_size)
    if predictor.encoding.kind != "dna":
        raise DnacnnError(f"{model_path}: this model reads genotypes; dnacnn scan needs a DNA model")
    length = predictor.encoding.length
    if stride > length:
        raise DnacnnError(
            f"--stride {stride} is longer than the model's {length}-bp window, so bins would hold bases no window "
            f"saw; use a stride of at most {length}"
        )
    plan = {chrom: list(window_ranges(sizes[chrom], length, stride, iv)) for chrom, iv in intervals.items()}
    total = sum(k1 - k0 for ranges in plan.values() for k0, k1 in ranges)
    if total == 0:
        raise DnacnnError(
            f"no {length}-bp window fits in the selected {'regions' if regions else 'chromosomes'}; "
            "give longer chromosomes or regions"
        )
    columns = _columns(predictor.columns, task, model_path)
    model_name = Path(model_paths(model_path)[0]).stem
    tracks, bedgraphs = output_paths(out, [predictor.columns[j] for j in columns], bedgraph, model_name)
    for path in tracks + bedgraphs:
        check_output_file(path, [*model_paths(model_path), genome_path, f"{genome_path}.fai", regions])
        if check_output is not None:
            check_output(path)
    summary = ScanSummary(tracks, bedgraphs)
    bar = tqdm(desc="scan", total=total * stride, unit="bp", unit_scale=True, disable=None if progress else True)
    header = list(sizes.items())
    chunks = _chunks(genome, plan, length, stride, max_n)
    with (
        output_files(tracks + bedgraphs) as tmps,
        _Tracks(tmps, len(tracks), header, stride, bedgraphs) as writer,
        closing(read_ahead(chunks)) as ready,
    ):
        for chrom, starts, windows, n_windows in ready:
            scores = predictor(windows)[:, columns]
            writer.add(chrom, starts, scores)
            summary.windows += len(starts)
            summary.skipped_n += n_windows - len(starts)
            summary.bases += n_windows * stride
            bar.update(n_windows * stride)
    bar.close()
    return summary


def window_ranges(size: int, length: int, stride: int, intervals: np.ndarray | None) -> Iterator[tuple[int, int]]:
    """Ranges ``[k0, k1)`` of the indices ``k`` of the windows to score on one chromosome, ascending
    and disjoint: every window that fits (``intervals`` None), or those whose centre base
    ``k * stride + length // 2`` lies in one of ``intervals`` ``(n, 2)`` ``[start, end)``."""
    last = (size - length) // stride  # index of the last window that fits
    if last < 0:
        return
    if intervals is None:
        yield 0, last + 1
        return
    from dnacnn.io.bed import merge_intervals

    half = length // 2
    for start, end in merge_intervals(intervals).tolist():
        k0 = max(0, -((half - start) // stride))  # ceil((start - half) / stride)
        k1 = min(last + 1, -((half - end) // stride))
        if k1 > k0:
            yield k0, k1


def output_paths(
    out: str | os.PathLike, columns: list[str], bedgraph: bool, name: str = "scores"
) -> tuple[list[Path], list[Path]]:
    """bigWig and bedGraph paths: ``STEM.bw`` for one column, ``STEM.COLUMN.bw`` for several, where
    ``STEM`` is ``out`` without a ``.bw``/``.bigWig`` suffix, or ``out/name`` when ``out`` is a
    folder (an existing one, or a path ending in ``/``)."""
    folder = str(out).endswith(("/", os.sep)) or Path(out).is_dir()
    out = Path(out) / name if folder else Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in _TRACK_SUFFIXES else out
    names = [""] if len(columns) == 1 else ["." + re.sub(r"[^A-Za-z0-9_.+-]", "_", str(c)) for c in columns]
    if len(set(names)) != len(names):
        raise DnacnnError(f"the model's output columns {', '.join(map(str, columns))} give clashing file names")
    tracks = [stem.with_name(f"{stem.name}{n}.bw") for n in names]
    return tracks, [stem.with_name(f"{stem.name}{n}.bedGraph") for n in names] if bedgraph else []


def _columns(names: list[str], task: str | None, model_path) -> list[int]:
    """Indices of the score columns to write: all, or the one named ``task``."""
    if task is None:
        return list(range(len(names)))
    if task not in names:
        raise DnacnnError(f"{model_path}: no task {task!r}; the model predicts {', '.join(names)}; fix --task")
    return [names.index(task)]


def _check_numbers(stride: int, max_n: float, batch_size: int) -> None:
    if stride < 1:
        raise DnacnnError(f"--stride must be at least 1 base, got {stride}")
    if not 0.0 <= max_n <= 1.0:
        raise DnacnnError(f"--max-n is a fraction of the window, from 0 to 1; got {max_n}")
    if batch_size < 1:
        raise DnacnnError(f"--batch-size must be at least 1, got {batch_size}")


def _selected_intervals(sizes: dict[str, int], genome_path, regions, chroms) -> dict[str, np.ndarray | None]:
    """``{chrom: intervals or None (whole chromosome)}`` in genome order."""
    if chroms:
        names = list(sizes)
        for chrom in chroms:
            if chrom not in sizes:
                known = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
                raise InputError(
                    genome_path, None, f"chromosome {chrom!r} is not in the genome (it has {known})", "fix --chroms"
                )
    wanted = set(chroms) if chroms else set(sizes)
    if regions is None:
        return {chrom: None for chrom in sizes if chrom in wanted}
    from dnacnn.io.bed import read_intervals

    try:
        found = read_intervals(regions, sizes)
    except OSError as e:
        raise InputError(regions, None, f"cannot read the regions ({e.strerror})", "give a readable BED file") from None
    if not found:
        raise InputError(regions, None, "no intervals found", "give a BED file with chrom, start, end lines")
    return {chrom: found[chrom] for chrom in sizes if chrom in wanted and chrom in found}


def _chunks(genome, plan: dict, length: int, stride: int, max_n: float):
    """``(chrom, bin starts (n,), codes (n, length) uint8, windows in the chunk)`` for the windows
    of at most :data:`CHUNK_WINDOWS` consecutive indices with few enough N bases."""
    from numpy.lib.stride_tricks import sliding_window_view

    from dnacnn.codes import DNA_N, dna_to_codes

    limit = max_n * length
    for chrom, ranges in plan.items():
        record = genome[chrom]
        for k0, k1 in ranges:
            for a in range(k0, k1, CHUNK_WINDOWS):
                b = min(a + CHUNK_WINDOWS, k1)
                codes = dna_to_codes(record[a * stride : (b - 1) * stride + length])
                np.minimum(codes, DNA_N, out=codes)  # IUPAC codes and stray bytes: N
                windows = sliding_window_view(codes, length)[::stride]
                n_count = np.concatenate([[0], np.cumsum(codes == DNA_N, dtype=np.int64)])
                starts = np.arange(a, b, dtype=np.int64) * stride
                keep = n_count[starts - a * stride + length] - n_count[starts - a * stride] <= limit
                bins = starts + length // 2 - stride // 2
                if keep.all():
                    yield chrom, bins, windows, b - a
                else:
                    yield chrom, bins[keep], windows[keep], b - a


class _Tracks:
    """Open bigWig (and bedGraph) files, one per score column, filled in genome order."""

    def __init__(
        self, paths: list[Path], n_tracks: int, header: list[tuple[str, int]], stride: int, names: list[Path]
    ) -> None:
        """``paths``: the bigWig files then the bedGraph files (whose final ``names`` errors give)."""
        try:
            import pyBigWig
        except ImportError:
            raise DnacnnError("dnacnn scan needs pyBigWig: pip install 'dnacnn[tracks]'") from None
        self.stride = stride
        self.bigwigs = []
        self.bedgraphs = []
        for path in paths[:n_tracks]:
            bw = pyBigWig.open(str(path), "w")
            if bw is None:
                raise DnacnnError(f"{path}: cannot write a bigWig there; check the folder")
            self.bigwigs.append(bw)
            bw.addHeader(header, maxZooms=10)
        self.bedgraphs = [
            TsvWriter(open(path, "w", buffering=1 << 20), name, 4) for path, name in zip(paths[n_tracks:], names)
        ]

    def add(self, chrom: str, starts: np.ndarray, scores: np.ndarray) -> None:
        """Bins ``[start, start + stride)`` with ``scores`` ``(n, columns)``."""
        if not len(starts):
            return
        for j, bw in enumerate(self.bigwigs):
            bw.addEntries(chrom, starts, values=scores[:, j].astype(np.float64), span=self.stride)
        if self.bedgraphs:
            row = f"{chrom}\t%d\t%d\t%.6g\n"
            ends = (starts + self.stride).tolist()
            for j, tsv in enumerate(self.bedgraphs):
                tsv.write_text("".join(map(row.__mod__, zip(starts.tolist(), ends, scores[:, j].tolist()))), len(ends))

    def __enter__(self) -> _Tracks:
        return self

    def __exit__(self, *exc) -> None:
        for bw in self.bigwigs:
            bw.close()
        for tsv in self.bedgraphs:
            tsv.f.close()
