"""Readers for what users bring: FASTA(.gz), tabular sequences, BED + genome, genotype matrices.

Every reader turns file problems into one-line :class:`dnacnn.errors.InputError` messages.
Compression is detected from the file's magic bytes, not its name.  What dnacnn writes goes
through :mod:`dnacnn.io.outputs`.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import select
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dnacnn.errors import InputError
from dnacnn.store_files import is_archive

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


MAX_LINE_BYTES = 256 << 20  # a longer line of a line-based reader is refused (it is not a sequence list or VCF)
_PIECE_BYTES = 1 << 20  # line-based readers read a line in pieces of this size (NUL bytes checked per piece)
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, dropped at the start of a text input
PIPE_WAIT_S = 10.0  # a named FIFO must bring its first bytes within this time
_PIPES: dict[str, io.BufferedReader] = {}  # pipes opened so far: their first bytes can be read again
_READ_ONCE: set[str] = set()  # pipes read to the end: they cannot be read a second time


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path, or raise a one-line error if it is missing, empty, a link loop
    or a device; a pipe (``<(cmd)``, a FIFO) is read as a stream (:func:`open_binary`)."""
    p = Path(path)
    if str(path) == "-":
        return p
    try:
        st = p.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            loop = "is a symbolic link loop (it points back to itself)"
            raise InputError(p, None, loop, "give the real file") from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(p, None, "file not found", "check the path") from None
        raise InputError(p, None, f"cannot read ({e.strerror})", "check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(p, None, "is a directory, not a file", "give a file path")
    if stat.S_ISFIFO(st.st_mode):
        if str(p) in _READ_ONCE:
            raise InputError(
                p, None, "is a pipe, read once already; this input is read twice", "save it to a file and give that"
            )
        return p
    if not stat.S_ISREG(st.st_mode):
        raise InputError(p, None, "is a device or socket, not a file", "give a regular file (or a pipe, or '-')")
    if st.st_size == 0:
        raise InputError(p, None, "file is empty", "give a file with records")
    return p


def is_pipe(path: str | os.PathLike) -> bool:
    try:
        return str(path) != "-" and stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _pipe(p: Path) -> io.BufferedReader:
    """The one reader of pipe ``p``, whose first bytes stay readable with ``peek``.  A named FIFO
    is opened without blocking and given :data:`PIPE_WAIT_S` for its first bytes (one nobody
    writes to is refused, not waited on forever); a shell's ``<(cmd)`` always has its writer."""
    key = str(p)
    if key not in _PIPES:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        if not os.path.realpath(p).startswith("pipe:"):
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLHUP)
            if not poller.poll(int(PIPE_WAIT_S * 1000)):
                os.close(fd)
                nothing = f"is a pipe nothing was written to within {PIPE_WAIT_S:g} s"
                raise InputError(p, None, nothing, "start the command that writes to it first")
        os.set_blocking(fd, True)
        f = open(fd, "rb", buffering=1 << 16)
        if not f.peek(1):
            f.close()
            _READ_ONCE.add(key)
            raise InputError(p, None, "is a pipe with nothing written to it", "check the command that writes to it")
        _PIPES[key] = f
    return _PIPES[key]


def _peek(p: Path, n: int) -> bytes:
    return _pipe(p).peek(n)[:n]  # what the first read brought: enough to sniff a format


def is_gzip(path: str | os.PathLike) -> bool:
    if is_pipe(path):
        return _peek(Path(path), 2) == GZIP_MAGIC
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


@contextmanager
def open_binary(path: str | os.PathLike) -> Iterator[io.BufferedIOBase]:
    """Open a file (plain or gzip, ``-`` for stdin, or a pipe, read once) for binary reading.

    Decompression errors (a truncated or corrupt gzip file) become one-line InputErrors.
    """
    if str(path) == "-":
        import sys

        yield sys.stdin.buffer
        return
    p = check_readable(path)
    pipe = _pipe(p) if is_pipe(p) else None
    raw = pipe if pipe is not None else open(p, "rb")
    f = gzip.open(raw, "rb") if is_gzip(p) else raw
    try:
        yield f
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise InputError(p, None, f"truncated or corrupt gzip file ({e})", "re-download or re-compress it") from None
    finally:
        f.close()
        raw.close()
        if pipe is not None:
            _PIPES.pop(str(p), None)
            _READ_ONCE.add(str(p))


def iter_text_lines(f, path, what: str = "line") -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of a binary text stream, each line read in pieces: a line over
    :data:`MAX_LINE_BYTES` or starting with a NUL byte (not text) is a one-line InputError; a leading
    byte-order mark is dropped."""
    lineno = 0
    while True:
        lineno += 1
        pieces, size = [], 0
        while True:
            piece = f.readline(_PIECE_BYTES)
            if piece[:1] == b"\0" and not pieces:  # /dev/zero, a binary file (a NUL inside: the ID checks')
                raise InputError(path, f"{lineno}", "holds NUL bytes: not a text file", f"give a text {what} file")
            pieces.append(piece)
            size += len(piece)
            if size > MAX_LINE_BYTES:
                raise InputError(
                    path, f"{lineno}", f"line longer than {MAX_LINE_BYTES >> 20} MiB", f"is this a {what} file?"
                )
            if not piece or piece.endswith(b"\n"):
                break
        line = b"".join(pieces)
        if not line:
            return
        if lineno == 1 and line.startswith(BOM):
            line = line[len(BOM) :]
        yield lineno, line


def read_head(path: str | os.PathLike, n: int = 4096) -> bytes:
    """First ``n`` decompressed bytes of a file (for format sniffing); a pipe's stay readable."""
    if is_pipe(path) and not is_gzip(path):
        return _peek(Path(path), n)
    with open_binary(path) as f:
        return f.read(n)


def detect_format(path: str | os.PathLike) -> str:
    """Guess the input format from the name (``.gz`` stripped), then from the first bytes."""
    p = Path(path)
    if is_archive(p):  # pandas would open a .tar as compression; a store is not a sequence file
        problem = "is a tar archive (a dnacnn store?), not a sequence file"
        raise InputError(p, None, problem, "give sequences, or score a store with 'dnacnn evaluate MODEL STORE'")
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
