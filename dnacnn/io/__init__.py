"""Readers for what users bring: FASTA(.gz), tabular sequences, BED + genome, genotype matrices.

Every reader turns file problems into one-line :class:`dnacnn.errors.InputError` messages.
Compression is detected from the file's magic bytes, not its name.  What dnacnn writes goes
through :mod:`dnacnn.io.outputs`.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dnacnn.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
INPUT_FORMATS = ("fasta", "tabular", "lines", "bed", "genotype")

_EXTENSIONS = {
    ".fa": "fasta",
    ".fasta": "fasta",
    ".fna": "fasta",
    ".fas": "fasta",
    ".tsv": "tabular",
    ".csv": "tabular",
    ".seq": "tabular",
    ".bed": "bed",
    ".narrowpeak": "bed",
}


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path, or raise a one-line error if it is missing or empty."""
    p = Path(path)
    if str(path) == "-":
        return p
    if not p.exists():
        raise InputError(p, None, "file not found", "check the path")
    if p.is_dir():
        raise InputError(p, None, "is a directory, not a file", "give a file path")
    if p.stat().st_size == 0:
        raise InputError(p, None, "file is empty", "give a file with records")
    return p


def is_gzip(path: str | os.PathLike) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


@contextmanager
def open_binary(path: str | os.PathLike) -> Iterator[io.BufferedIOBase]:
    """Open a file (plain or gzip, or ``-`` for stdin) for binary reading.

    Decompression errors (a truncated or corrupt gzip file) become one-line InputErrors.
    """
    if str(path) == "-":
        import sys

        yield sys.stdin.buffer
        return
    p = check_readable(path)
    f = gzip.open(p, "rb") if is_gzip(p) else open(p, "rb")
    try:
        yield f
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise InputError(p, None, f"truncated or corrupt gzip file ({e})", "re-download or re-compress it") from None
    finally:
        f.close()


def read_head(path: str | os.PathLike, n: int = 4096) -> bytes:
    """First ``n`` decompressed bytes of a file (for format sniffing)."""
    with open_binary(path) as f:
        return f.read(n)


def detect_format(path: str | os.PathLike) -> str:
    """Guess the input format from the name (``.gz`` stripped), then from the first bytes."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes if s.lower() not in (".gz", ".bgz")]
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    head = read_head(p).lstrip()
    if head.startswith(b">"):
        return "fasta"
    first = head.split(b"\n", 1)[0].strip()
    if first and all(c in b"ACGTNacgtn" for c in first):
        return "lines"
    if first and all(c in b"012 \t,.-NA9" for c in first):
        return "genotype"
    return "tabular"
