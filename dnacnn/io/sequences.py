"""The sequence inputs of a trained model: one reader path for predict, explain and motifs.

Contract: :func:`read_sequences` takes an input file (FASTA, tabular, one sequence per line, BED +
genome, or a genotype matrix for a genotype model) and the model's :class:`~dnacnn.codes.Encoding`
and returns an iterator of chunks ``(ids, codes (b, L) uint8)`` with ``L`` the model's length:
records of another length are a one-line :class:`~dnacnn.errors.InputError` naming the file,
the line and ``--length-policy fit``, which centre-crops / N-pads them instead.  The length
policy, the file and its format are checked when it is called; records are read, one chunk at a
time, as the iterator is consumed (:func:`coded_chunks`), and their IDs checked
(:func:`dnacnn.ids.check_ids`: one token each, so an output TSV has one row per record).
``dnacnn encode`` reads the same files through the same readers (:mod:`dnacnn.encode_batches`)
into a store.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dnacnn.codes import Encoding, codes_from_strings, fit_ragged
from dnacnn.errors import DnacnnError, InputError
from dnacnn.ids import check_ids

LENGTH_POLICIES = ("strict", "fit")


def check_length_policy(length_policy: str) -> None:
    if length_policy not in LENGTH_POLICIES:
        raise DnacnnError(f"unknown --length-policy {length_policy!r}; use strict or fit")


def input_format(path, fmt: str = "auto") -> str:
    """The format of the readable input ``path``: ``fmt``, or with ``auto`` the one its name or first
    bytes say (``-``, stdin: FASTA)."""
    from dnacnn.io import check_readable, detect_format

    check_readable(path)
    if fmt != "auto":
        return fmt
    return detect_format(path) if str(path) != "-" else "fasta"


def read_sequences(
    path,
    encoding: Encoding,
    fmt: str = "auto",
    seq_col: str = "seq",
    id_col: str | None = None,
    genome: str | None = None,
    length_policy: str = "strict",
    trained: str = "the model was",
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Chunks ``(ids, codes (b, L))`` of ``path`` for a model reading ``encoding``.

    Parameters
    ----------
    fmt : str
        ``auto``, ``fasta``, ``tabular``, ``lines``, ``bed`` or ``genotype``.
    seq_col, id_col : str
        Columns of a tabular file.
    genome : str, optional
        FASTA of the genome a BED file's windows are cut from.
    length_policy : str
        ``strict`` (another length is an error) or ``fit`` (centre-crop / N-pad).
    trained : str
        The model in errors, e.g. ``model.dnacnn was``.

    Raises
    ------
    DnacnnError
        An unknown length policy, an unreadable file, or genotype input for a DNA model (or the
        reverse), before anything is read.
    """
    check_length_policy(length_policy)
    fmt = input_format(path, fmt)
    if (fmt == "genotype") != (encoding.kind == "genotype"):
        raise DnacnnError(f"{path}: {fmt} input but the model reads {encoding.kind} data; give matching input")
    return coded_chunks(path, fmt, encoding, seq_col, id_col, genome, length_policy, trained)


def coded_chunks(
    path, fmt: str, encoding: Encoding, seq_col, id_col, genome, length_policy: str, trained: str
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Chunks ``(ids, codes (b, L))`` of an input file of the known format ``fmt``, checked against
    (or, with ``length_policy="fit"``, fitted to) the length of ``encoding``; ``trained`` names the
    model in errors."""
    length = encoding.length
    if fmt == "genotype":
        yield _genotypes(path, length)
        return
    fit = length if length_policy == "fit" else None
    n_records = 0
    for chunk in _dna_chunks(path, fmt, seq_col, id_col, genome, length):
        check_ids(chunk.ids, path, chunk.lines, n_records + 1, encoded=getattr(chunk, "id_bytes", None))
        n_records += len(chunk.ids)
        if fit is None:
            _check_lengths(path, fmt, chunk, length, trained)
        if fmt == "fasta":
            codes = fit_ragged(path, chunk.codes, chunk.offsets, chunk.ids, chunk.lines, fit)
        else:
            codes = codes_from_strings(path, chunk.seqs, chunk.ids, chunk.lines, fit)
        yield list(chunk.ids), codes


def _genotypes(path, length: int) -> tuple[list[str], np.ndarray]:
    from dnacnn.io.genotype import read_genotypes

    geno = read_genotypes(path)
    if geno.codes.shape[1] != length:
        raise InputError(
            path,
            None,
            f"has {geno.codes.shape[1]} markers but the model was trained on {length}",
            "give the same markers, in the same order",
        )
    return list(geno.ids), geno.codes


def _check_lengths(path, fmt: str, chunk, length: int, trained: str) -> None:
    """Before the encoder's own check of mixed lengths, whose fix (encode's --length) is no option
    here: the first record of another length than the model's, and this command's fix."""
    n = np.diff(chunk.offsets) if fmt == "fasta" else np.fromiter(map(len, chunk.seqs), np.int64)
    other = np.flatnonzero(n != length)
    if len(other):
        i = int(other[0])
        raise InputError(
            path,
            f"{chunk.lines[i]}",
            f"sequences are {n[i]} bp but {trained} trained on {length} bp",
            "use --length-policy fit to centre-crop / N-pad them",
        )


def _dna_chunks(path, fmt, seq_col, id_col, genome, length):
    if fmt == "fasta":
        from dnacnn.io.fasta import iter_fasta

        return iter_fasta(path)
    if fmt == "tabular":
        from dnacnn.io.tabular import iter_tabular

        return iter_tabular(path, seq_col, None, id_col)
    if fmt == "lines":
        from dnacnn.io.tabular import iter_lines

        return iter_lines(path)
    if fmt == "bed":
        if not genome:
            raise DnacnnError(f"{path}: BED input needs --genome FASTA")
        from dnacnn.io.bed import read_bed_windows

        return read_bed_windows(path, genome, length)
    raise DnacnnError(f"unknown --format {fmt!r}; use fasta, tabular, lines, bed or genotype")
