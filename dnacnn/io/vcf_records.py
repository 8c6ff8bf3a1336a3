"""VCF records streamed as text: CHROM, POS, ID, REF and ALT of each data line, in bounded memory.

Contract: :func:`iter_vcf` reads a VCF (plain, gzip or bgzip; ``-`` = stdin) line by line and
yields one :class:`VcfRecord` per data line (1-based ``pos``, uppercase ``ref`` and ``alts``);
only the first five columns are parsed, so any size streams.  A malformed line raises a one-line
:class:`~dnacnn.errors.InputError` naming the file and line, and so does a CHROM, ID, REF or ALT
that is not one token (:mod:`dnacnn.ids`: whitespace, control characters or line breaks would
forge rows and columns of the output).  Genotype matrices from VCFs are
:mod:`dnacnn.io.vcf_genotypes`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from dnacnn.errors import InputError
from dnacnn.ids import problem, shown


@dataclass
class VcfRecord:
    """One VCF data line: 1-based ``pos``, uppercase ``ref`` and ``alts``, 1-based ``line``."""

    chrom: str
    pos: int
    id: str
    ref: str
    alts: list[str]
    line: int


def iter_vcf(path: str | os.PathLike) -> Iterator[VcfRecord]:
    """Stream the records of a VCF (plain, gzip or bgzip; ``-`` = stdin).

    Header lines (``#``) and blank lines are skipped; a line with fewer than 5 tab-separated
    columns or a bad POS raises a one-line :class:`InputError` naming the line, and so does a line
    over :data:`dnacnn.io.MAX_LINE_BYTES` or a NUL byte (not text), read in bounded pieces.
    """
    from dnacnn.io import iter_text_lines, open_binary

    with open_binary(path) as f:
        for lineno, raw in iter_text_lines(f, path, "VCF"):
            if raw[:1] == b"#" or not raw.strip():
                continue
            fields = raw.rstrip(b"\r\n").split(b"\t", 5)
            if len(fields) < 5:
                raise InputError(
                    path,
                    str(lineno),
                    f"{len(fields)} column(s), a VCF record needs at least 5 (CHROM POS ID REF ALT)",
                    "separate the columns with tabs",
                )
            chrom, pos, vid, ref, alt = (x.decode("utf-8", errors="replace") for x in fields[:5])
            _check_tokens(path, lineno, chrom, vid, ref, alt)
            try:
                pos_i = int(pos)
            except ValueError:
                raise InputError(path, str(lineno), f"POS {pos!r} is not an integer", "fix the VCF") from None
            if pos_i < 1:
                raise InputError(path, str(lineno), f"POS {pos_i} is not >= 1", "VCF positions are 1-based")
            yield VcfRecord(chrom, pos_i, vid, ref.upper(), alt.upper().split(","), lineno)


def _check_tokens(path, lineno: int, chrom: str, vid: str, ref: str, alt: str) -> None:
    """CHROM, ID, REF and ALT are written to ``dnacnn variants``' TSV as they are: each must be one
    token (:func:`dnacnn.ids.problem`: printable, no whitespace, not empty)."""
    for column, value in (("CHROM", chrom), ("ID", vid), ("REF", ref), ("ALT", alt)):
        bad = problem(value)
        if bad is not None:
            fix = "use '.' for a record without an ID" if column == "ID" and not value else f"fix the {column} column"
            raise InputError(path, str(lineno), f"{column} '{shown(value)}' {bad}", fix)
