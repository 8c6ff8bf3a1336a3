"""Inputs of the interpretation commands: a DNA model on a device, and the sequences it reads.

Contract: :func:`load_dna_model` resolves ``device``, loads a model file and refuses a genotype
model with one line (:func:`check_dna_model`); :func:`read_sequences` streams ``(ids, codes (b, L)
uint8)`` chunks of a DNA input file fitted to the model's length, through the reader of ``dnacnn
predict`` (:mod:`dnacnn.io.sequences`).  ``explain``, ``motifs`` and ``variants`` share these
instead of importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dnacnn.errors import DnacnnError


def check_dna_model(loaded, path) -> None:
    if loaded.encoding.kind != "dna":
        raise DnacnnError(f"{path}: interpretation needs a DNA model; this one reads genotypes")


def load_dna_model(model_path, device: str = "auto"):
    """``(device, LoadedModel)``: the DNA model file ``model_path`` loaded on the resolved ``device``.

    Raises
    ------
    DnacnnError
        The model reads genotypes, not DNA (:func:`check_dna_model`).
    """
    from dnacnn.device import resolve_device
    from dnacnn.modelfile import load_model

    dev = resolve_device(device)
    loaded = load_model(model_path, dev)
    check_dna_model(loaded, model_path)
    return dev, loaded


def read_sequences(
    path,
    encoding,
    fmt: str = "auto",
    seq_col: str = "seq",
    id_col: str | None = None,
    genome: str | None = None,
    length_policy: str = "strict",
    model_path="model",
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Chunks ``(ids, codes (b, L) uint8)`` of a DNA input file, fitted to the model's length.

    Reads through :func:`dnacnn.io.sequences.coded_chunks` (FASTA, tabular, one-per-line, BED +
    genome), refusing genotype input."""
    from dnacnn.io.sequences import check_length_policy, coded_chunks, input_format

    check_length_policy(length_policy)
    fmt = input_format(path, fmt)
    if fmt == "genotype":
        raise DnacnnError(f"{path}: genotype input cannot be interpreted; give DNA sequences")
    yield from coded_chunks(path, fmt, encoding, seq_col, id_col, genome, length_policy, f"{model_path} was")
