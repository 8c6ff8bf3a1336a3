"""DNA inputs -> fixed-length batches: coded records with labels, chunk by chunk, and shuffled negatives.

Contract: :func:`dna_batches` reads any DNA input (FASTA, table, one-sequence-per-line, BED +
genome) a chunk at a time and yields :class:`Batch` es of codes ``(b, length)`` uint8 (see
:mod:`dnacnn.codes`), labels ``(b, tasks)`` float32, source lines and (``--split column``) split
values; every record ID is checked (:func:`dnacnn.ids.check_ids`) before anything else is done with
the chunk, so an ID is one line of the store's ``ids.txt``.  :func:`shuffled_negatives` makes the
dinucleotide-shuffled label-0 copies of a batch and :func:`check_length` rejects a batch whose
length differs from the store's.  An infinite label is refused.  Every bad input is a one-line
error naming the file and line; nothing here holds more than one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn.codes import codes_from_strings, fit_ragged
from dnacnn.encode_labels import LabelInfo, numeric_labels
from dnacnn.encode_options import EncodeOptions
from dnacnn.errors import DnacnnError, InputError
from dnacnn.ids import check_ids


@dataclass
class Batch:
    """Fixed-length records: ``codes`` (b, length) uint8, ``labels`` (b, tasks) float32."""

    ids: list[str]
    codes: np.ndarray
    labels: np.ndarray
    lines: np.ndarray
    split_values: list[str] | None = None
    id_bytes: bytes | None = None  # ``ids`` as newline-terminated UTF-8 (checked: one line each)


def check_length(path, batch: Batch, length: int) -> None:
    if batch.codes.shape[1] != length:
        raise InputError(
            path,
            f"{batch.lines[0]}",
            f"record '{batch.ids[0]}' is {batch.codes.shape[1]} bp but earlier records are {length} bp",
            "use --length L to centre-crop / N-pad all records to L",
        )


def dna_batches(path: Path, fmt: str, opts: EncodeOptions, info: LabelInfo, targets=None) -> Iterator[Batch]:
    """Fixed-length coded records with numeric labels, chunk by chunk, from any DNA reader;
    ``targets`` (:class:`dnacnn.io.bigwig.TrackTargets`) labels BED windows with track values."""
    label_table = None
    if opts.labels and opts.labels != "header":
        from dnacnn.io.tabular import LabelTable

        label_table = LabelTable(opts.labels, opts.label_cols or None)
        info.names = list(label_table.names)
    elif opts.label_cols:
        info.names = list(opts.label_cols)
    if targets is not None:
        info.names = list(targets.names)
    n_records = 0
    for chunk in _read_chunks(path, fmt, opts):
        encoded = getattr(chunk, "id_bytes", None)  # FASTA made them already
        id_bytes = check_ids(chunk.ids, path, chunk.lines, n_records + 1, encoded=encoded)  # before a message names one
        n_records += len(chunk.ids)
        if fmt == "fasta":
            codes = fit_ragged(path, chunk.codes, chunk.offsets, chunk.ids, chunk.lines, opts.length)
            header_labels = chunk.descriptions if opts.labels == "header" else None
            table_labels = None
        else:
            codes = codes_from_strings(path, chunk.seqs, chunk.ids, chunk.lines, opts.length)
            header_labels = None
            table_labels = chunk.labels
            if isinstance(table_labels, np.ndarray):  # BED label columns arrive as floats already
                table_labels = pd.DataFrame(table_labels)
        if label_table is not None:
            table_labels = label_table.lookup(chunk.ids, path, chunk.lines)
        if targets is not None:
            labels = targets.values(chunk.ids)
        else:
            with np.errstate(over="ignore"):  # past float32's range: inf, refused just below
                labels = numeric_labels(path, chunk, table_labels, header_labels, opts, label_table, info)
            _check_finite(path, chunk, labels, label_table)
        split_values = None
        if opts.split == "column":
            split_values = _split_column(path, chunk, opts.split_col)
        yield Batch(list(chunk.ids), codes, labels, np.asarray(chunk.lines), split_values, id_bytes)
    if label_table is not None:
        label_table.check_all_used(path)


def _check_finite(path, chunk, labels: np.ndarray, label_table) -> None:
    """An infinite label (``inf``, ``1e999``, or past float32's range) would train on inf or NaN
    losses: refused, naming the file and line it came from (NaN is a missing label, kept)."""
    bad = np.isinf(labels)
    if not bad.any():
        return
    i, j = map(int, np.argwhere(bad)[0])
    where, line = path, chunk.lines[i]
    if label_table is not None:
        where = label_table.path
        if label_table.index is not None:
            line = int(label_table.index.get_loc(chunk.ids[i])) + 2
        else:
            line = label_table.next_row - len(chunk.ids) + i + 1
    raise InputError(
        where,
        f"{line}",
        f"label {j + 1} of '{chunk.ids[i]}' is {labels[i, j]:g}, not a finite number",
        "give finite labels (NA for a missing one)",
    )


def _read_chunks(path: Path, fmt: str, opts: EncodeOptions):
    if fmt == "fasta":
        from dnacnn.io.fasta import iter_fasta

        return iter_fasta(path)
    if fmt == "tabular":
        from dnacnn.io.tabular import iter_tabular

        extra = [opts.split_col] if opts.split == "column" else []
        return iter_tabular(path, opts.seq_col, list(opts.label_cols) + extra, opts.id_col)
    if fmt == "lines":
        from dnacnn.io.tabular import iter_lines

        return iter_lines(path)
    if fmt == "bed":
        if not opts.genome:
            raise DnacnnError(f"{path}: BED input needs --genome FASTA to read the window sequences")
        if not opts.length:
            raise DnacnnError(f"{path}: BED input needs --length L (the window width centred on each peak)")
        from dnacnn.io.bed import read_bed_windows

        try:
            columns = [int(c) for c in opts.label_cols] or None
        except ValueError:
            raise DnacnnError(f"{path}: BED --label-col takes 1-based column numbers, e.g. 5") from None
        return read_bed_windows(path, opts.genome, opts.length, label_columns=columns)
    raise DnacnnError(f"unknown --format {fmt!r}; use fasta, tabular, lines, bed, genotype, vcf or plink")


def _split_column(path, chunk, split_col) -> list[str]:
    if chunk.labels is None or split_col not in chunk.labels.columns:
        raise DnacnnError(f"{path}: --split-col {split_col!r} is only available for tabular inputs with that column")
    return chunk.labels[split_col].astype(str).tolist()


def shuffled_negatives(batch: Batch, rng: np.random.Generator, times: int) -> Batch:
    from dnacnn.shuffle import dinucleotide_shuffle_batch

    codes = dinucleotide_shuffle_batch(batch.codes, rng, times=times)
    ids = [f"{i}_shuf{k}" for i in batch.ids for k in range(times)]
    labels = np.zeros((len(ids), batch.labels.shape[1]), dtype=np.float32)
    return Batch(
        ids,
        codes,
        labels,
        np.repeat(batch.lines, times),
        None if batch.split_values is None else [v for v in batch.split_values for _ in range(times)],
    )
