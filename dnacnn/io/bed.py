"""Fixed-length windows from BED / narrowPeak intervals and a reference genome FASTA.

Contract: every interval line gives one window of ``length`` bases on the reference, centred on
the peak summit (narrowPeak) or on the interval centre (other BED), returned as uppercase text
with an id ``chrom:start-end`` in BED coordinates (0-based, half-open) and its 1-based line
number.  The window starts ``length // 2`` bases before the centre base, so an odd-length window
has the centre base in the middle.  Soft-masked (lowercase) genome bases come back uppercase.

The genome is read by random access through pyfaidx, which builds a ``.fai`` index next to the
FASTA on first use (and a ``.gzi`` for bgzip-compressed files); it is never loaded whole.  A plain
gzip FASTA cannot be read by random access and is refused with instructions.

BED lines may be tab- or space-separated; ``track``, ``browser``, ``#`` and blank lines are
skipped; ``\\r\\n`` endings and gzip compression are accepted.  Every problem a user can cause
(too few columns, bad coordinates, unknown chromosome, a window off the chromosome, a bad label)
raises a one-line :class:`~dnacnn.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnacnn.errors import InputError
from dnacnn.ids import check_ids
from dnacnn.io import check_readable, open_binary

MISSING_LABELS = frozenset({"NA", "NaN", "nan", "na", "."})
_SKIP_PREFIXES = ("track", "browser", "#")
_NARROWPEAK_COLUMNS = 10


@dataclass
class BedChunk:
    """Windows read from consecutive BED lines.

    ``ids`` are ``chrom:start-end`` of each window (0-based, half-open), ``seqs`` its uppercase
    bases (``length`` each), ``labels`` an array ``(b, n_label_columns)`` float32 (None without
    label columns; NaN where a label is ``NA``/``NaN``/``.``) and ``lines`` 1-based BED line
    numbers.
    """

    ids: list[str]
    seqs: list[str]
    labels: np.ndarray | None
    lines: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def open_genome(path: str | os.PathLike):
    """Open a FASTA genome for random access; returns a ``pyfaidx.Fasta`` (uppercase strings).

    Raises InputError for a missing file, plain gzip (not bgzip), an unindexable FASTA, an index
    that cannot be written or a sequence name that is not an ID (:func:`dnacnn.ids.check_ids`).
    """
    import pyfaidx

    path = check_readable(path)
    with open(path, "rb") as f:
        head = f.read(18)
    if head[:2] == b"\x1f\x8b":
        # BGZF = gzip whose header carries the extra subfield "BC" (SAM spec, section 4.1)
        if not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
            raise InputError(
                path,
                None,
                "genome is gzip-compressed, which does not allow random access",
                f"decompress it (gunzip {path}) or recompress it with bgzip (gunzip -c {path} | bgzip > genome.fa.gz)",
            )
        if path.suffix.lower() not in (".gz", ".bgz"):
            raise InputError(path, None, "genome is bgzip-compressed but not named .gz", "rename it to end in .gz")
    if head[:2] != b"\x1f\x8b":
        check_index(path)
    try:
        genome = pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=True, rebuild=True)
    except PermissionError as e:
        raise InputError(
            path, None, f"cannot write its index ({e.strerror})", "copy the genome to a writable folder"
        ) from None
    except pyfaidx.UnsupportedCompressionFormat:
        raise InputError(
            path, None, "genome is compressed but not with bgzip", "decompress it or recompress it with bgzip"
        ) from None
    except (pyfaidx.FastaIndexingError, ValueError) as e:
        raise InputError(path, None, f"cannot index the FASTA ({_one_line(e)})", "fix the FASTA file") from None
    try:
        check_ids(list(genome.keys()), path, what="sequence")  # window IDs and track names are made of them
    except InputError:
        genome.close()
        raise
    return genome


def check_index(path: Path, limit: int = 10_000) -> None:
    """One line if the ``.fai`` beside the plain FASTA ``path`` does not describe it (a genome
    replaced under an older index would be read at stale offsets): each indexed sequence must
    start right after its own ``>NAME`` line and end where the next record or the file does.
    An index older than the FASTA is left to pyfaidx, which rebuilds it; at most ``limit``
    sequences are checked (the first and last ones, and an even sample between)."""
    fai = Path(f"{path}.fai")
    try:
        if fai.stat().st_mtime < path.stat().st_mtime:
            return
        lines = fai.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return
    entries = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            if len(fields) < 5:
                raise ValueError
            entries.append((fields[0], *map(int, fields[1:5])))
        except ValueError:  # the line itself is not shown: the .fai may be a link to another file
            raise InputError(
                fai,
                str(lineno),
                "is not a faidx index line (5 tab-separated fields: name, length, offset, bases per line, "
                "bytes per line)",
                f"delete {fai} (dnacnn indexes the genome again) or run: samtools faidx {path}",
            ) from None
    size = path.stat().st_size
    step = max(1, len(entries) // limit)
    chosen = entries[: limit // 2] + entries[limit // 2 :: step] + entries[-1:]
    with open(path, "rb") as f:
        for entry in chosen:
            problem = _index_mismatch(f, entry, size)
            if problem:
                raise InputError(
                    fai,
                    None,
                    f"index does not match {path} ({problem}): the genome changed after it was indexed",
                    f"delete {fai} (dnacnn indexes the genome again) or run: samtools faidx {path}",
                )


def _index_mismatch(f, entry: tuple, size: int) -> str:
    """What is wrong with one parsed ``.fai`` line for the open FASTA ``f`` of ``size`` bytes ('' if nothing)."""
    name, length, offset, line_bases, line_width = entry
    if line_bases <= 0 or line_width < line_bases or offset > size:
        return f"sequence '{name}' lies outside the file"
    f.seek(max(0, offset - 4096))
    before = f.read(offset - max(0, offset - 4096))
    header = before[:-1].rsplit(b"\n", 1)[-1].rstrip(b"\r")
    if not before.endswith(b"\n") or header.split(None, 1)[:1] != [b">" + name.encode()]:
        return f"sequence '{name}' does not start at offset {offset}"
    full, rest = divmod(length, line_bases)
    end = offset + full * line_width + (rest + line_width - line_bases if rest else 0)
    f.seek(end)
    after = f.read(1)
    if end > size or after not in (b"", b">", b"\n", b"\r"):
        return f"sequence '{name}' is not {length:,} bases long"
    return ""


def read_bed_windows(
    bed_path: str | os.PathLike,
    genome_path: str | os.PathLike,
    length: int,
    label_columns: list[int] | None = None,
    chunk_size: int = 10000,
    summit: bool | None = None,
) -> Iterator[BedChunk]:
    """Yield windows of ``length`` bases around BED intervals, ``chunk_size`` lines at a time.

    Parameters
    ----------
    bed_path : path
        BED or narrowPeak file (plain or gzip, or ``-`` for stdin).
    genome_path : path
        Reference FASTA (plain or bgzip) whose sequence names match the BED's chromosomes.
    length : int
        Window length in bases.
    label_columns : list[int], optional
        1-based BED columns holding numeric labels (e.g. ``[7]`` for narrowPeak signalValue).
    chunk_size : int
        Windows per chunk.
    summit : bool, optional
        Centre on the summit (column 10: offset from start, -1 = none, then the centre is used).
        Default: yes for files named ``*.narrowPeak`` (``.gz``) and for files whose first
        interval has exactly 10 columns, unless column 10 is a label column.

    Yields
    ------
    BedChunk
        ``ids``, ``seqs`` (each ``length`` long), ``labels`` ``(b, len(label_columns))`` float32
        or None, ``lines``.
    """
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    label_columns = list(label_columns or [])
    if any(c < 1 for c in label_columns):
        raise ValueError(f"label columns are 1-based, got {label_columns}")
    genome = open_genome(genome_path)
    sizes = {name: len(record) for name, record in genome.records.items()}
    name = Path(str(bed_path)).name.lower().removesuffix(".gz")
    by_name = True if name.endswith(".narrowpeak") else None
    chunk = _new_chunk(label_columns)
    n_windows = 0
    for lineno, fields in _bed_lines(bed_path):
        if summit is None:
            summit = by_name or (len(fields) == _NARROWPEAK_COLUMNS and _NARROWPEAK_COLUMNS not in label_columns)
        chrom, start, end = _interval(fields, sizes, bed_path, lineno)
        centre = _centre(fields, start, end, summit, bed_path, lineno)
        lo = centre - length // 2
        hi = lo + length
        if lo < 0 or hi > sizes[chrom]:
            side = "starts before the start" if lo < 0 else f"ends past the end ({sizes[chrom]} bp)"
            raise InputError(
                bed_path,
                str(lineno),
                f"window {chrom}:{lo}-{hi} ({length} bp around {'the summit' if summit else 'the centre'}) "
                f"{side} of {chrom}",
                f"use a smaller --length or filter out intervals within {length // 2 + 1} bp of chromosome ends",
            )
        chunk.ids.append(f"{chrom}:{lo}-{hi}")
        chunk.seqs.append(genome[chrom][lo:hi])
        chunk.lines.append(lineno)
        if label_columns:
            chunk.labels.append(_labels(fields, label_columns, bed_path, lineno))
        n_windows += 1
        if len(chunk) == chunk_size:
            yield _finish(chunk)
            chunk = _new_chunk(label_columns)
    if len(chunk):
        yield _finish(chunk)
    if n_windows == 0:
        raise InputError(bed_path, None, "no intervals found", "give a BED file with chrom, start, end lines")


def read_intervals(bed_path: str | os.PathLike, sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Every interval of a BED file as ``{chrom: (n, 2) int64 array of [start, end)}``, in file
    order, validated against the chromosome ``sizes`` as :func:`read_bed_windows` validates them."""
    found: dict[str, list[tuple[int, int]]] = {}
    for lineno, fields in _bed_lines(bed_path):
        chrom, start, end = _interval(fields, sizes, bed_path, lineno)
        found.setdefault(chrom, []).append((start, end))
    return {chrom: np.asarray(pairs, dtype=np.int64).reshape(-1, 2) for chrom, pairs in found.items()}


def window_coordinates(window_id: str) -> tuple[str, int, int]:
    """``(chrom, start, end)`` of a window id ``chrom:start-end`` as :func:`read_bed_windows` names
    windows (the chromosome may itself hold ``:``)."""
    chrom, _, span = window_id.rpartition(":")
    start, end = span.split("-")
    return chrom, int(start), int(end)


def merge_intervals(intervals: np.ndarray) -> np.ndarray:
    """Sorted, disjoint union ``(m, 2)`` of half-open ``[start, end)`` rows ``(n, 2)``; overlapping
    or touching intervals become one."""
    intervals = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    if not len(intervals):
        return intervals
    intervals = intervals[np.argsort(intervals[:, 0], kind="stable")]
    ends = np.maximum.accumulate(intervals[:, 1])
    first = np.flatnonzero(np.concatenate(([True], intervals[1:, 0] > ends[:-1])))
    last = np.concatenate((first[1:], [len(intervals)])) - 1
    return np.stack([intervals[first, 0], ends[last]], axis=1)


def _bed_lines(bed_path) -> Iterator[tuple[int, list[str]]]:
    """``(1-based line number, fields)`` of each interval line (tab- or space-separated)."""
    with open_binary(bed_path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip() or line.startswith(_SKIP_PREFIXES):
                continue
            yield lineno, line.split("\t") if "\t" in line else line.split()


def _new_chunk(label_columns: list[int]) -> BedChunk:
    return BedChunk([], [], [] if label_columns else None, [])


def _finish(chunk: BedChunk) -> BedChunk:
    if chunk.labels is not None:
        chunk.labels = np.array(chunk.labels, dtype=np.float32)
    return chunk


def _interval(fields: list[str], sizes: dict[str, int], path, lineno: int) -> tuple[str, int, int]:
    """Validated ``(chrom, start, end)`` of one BED line."""
    where = str(lineno)
    if len(fields) < 3:
        raise InputError(
            path,
            where,
            f"{len(fields)} column{'s' if len(fields) != 1 else ''}, a BED line needs at least 3 (chrom, start, end)",
            "separate columns with tabs",
        )
    chrom = fields[0]
    start, end = _integer(fields[1], "start", path, lineno), _integer(fields[2], "end", path, lineno)
    if start < 0:
        raise InputError(path, where, f"negative start {start}", "BED starts are 0-based and >= 0")
    if start > end:
        raise InputError(path, where, f"start {start} is greater than end {end}", "swap or fix the coordinates")
    if chrom not in sizes:
        names = list(sizes)
        known = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
        raise InputError(
            path,
            where,
            f"chromosome {chrom!r} is not in the genome (it has {known})",
            "use the genome the intervals were called on, or remove these lines",
        )
    if end > sizes[chrom]:
        raise InputError(
            path,
            where,
            f"interval ends at {end}, past the end of {chrom} ({sizes[chrom]} bp)",
            "check that the BED file matches this genome assembly",
        )
    return chrom, start, end


def _centre(fields: list[str], start: int, end: int, summit: bool, path, lineno: int) -> int:
    if summit and len(fields) >= _NARROWPEAK_COLUMNS:
        offset = _integer(fields[_NARROWPEAK_COLUMNS - 1], "summit offset (column 10)", path, lineno)
        if offset != -1:
            if not 0 <= offset <= end - start:
                raise InputError(
                    path,
                    str(lineno),
                    f"summit offset {offset} (column 10) lies outside the {end - start} bp interval",
                    "use -1 for no summit, or check that the file is narrowPeak",
                )
            return start + offset
    return start + (end - start) // 2


def _integer(text: str, what: str, path, lineno: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(path, str(lineno), f"{what} {text!r} is not an integer", "fix the coordinates") from None


def _labels(fields: list[str], columns: list[int], path, lineno: int) -> list[float]:
    values = []
    for c in columns:
        if c > len(fields):
            raise InputError(
                path, str(lineno), f"no label column {c} (the line has {len(fields)} columns)", "fix the label columns"
            )
        text = fields[c - 1].strip()
        if text in MISSING_LABELS:
            values.append(np.nan)
            continue
        try:
            values.append(float(text))
        except ValueError:
            raise InputError(
                path, str(lineno), f"label {text!r} in column {c} is not a number", "use numbers, or NA for missing"
            ) from None
    return values


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())
