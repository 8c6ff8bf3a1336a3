"""The numeric genotype matrix reader: a text table of 0/1/2 dosages, tokenised with numpy in blocks.

Contract: :func:`read_genotypes` returns :class:`~dnacnn.io.genotype_qc.Genotypes` with codes
``(n, m)`` uint8 (0, 1, 2 = copies of the counted allele, 3 = missing), individual ids and marker
names, from a table laid out as :mod:`dnacnn.io.table_layout` describes.  Genotype values must be
0, 1 or 2 (``1.0`` is fine, ``0.5`` is not); any other value is a one-line
:class:`~dnacnn.errors.InputError` naming the file, line, column and marker.  The matrix is
tokenised with numpy a block of lines at a time (pandas and ``np.loadtxt`` manage only ~1-2 M
cells/s on tables 50k columns wide), so a 10k x 50k matrix needs no Python object per value and
memory ~ the uint8 result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from dnacnn.codes import GENOTYPE_MISSING
from dnacnn.errors import InputError
from dnacnn.ids import check_ids
from dnacnn.io import check_readable, open_binary
from dnacnn.io.genotype_qc import Genotypes  # defined beside the collector that builds it
from dnacnn.io.table_layout import TableLayout, check_field_count, is_missing, sniff_layout

_TEXT_BLOCK_BYTES = 16 << 20  # text parsed at a time; temporaries are ~30x this


_BOM = b"\xef\xbb\xbf"


_NL = ord("\n")


_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(" "), ord("\t"), ord("\r"), ord("\n")]] = True


_TRIM = np.zeros(256, dtype=bool)
_TRIM[[ord(" "), ord("\t"), ord("\r"), ord('"')]] = True


_GENOTYPE_FIX = "use 0, 1 or 2 (copies of the counted allele), or NA for missing"


def read_genotypes(
    path: str | os.PathLike, header: bool | None = None, ids: bool | None = None, sep: str | None = None
) -> Genotypes:
    """Read a genotype matrix, one individual per line and one marker per column.

    Parameters
    ----------
    path : path
        Text table (plain or gzip); see :mod:`dnacnn.io.table_layout` for the accepted layouts.
    header, ids : bool, optional
        Force the presence of a header line of marker names / a first column of individual ids
        (default: detect).
    sep : str, optional
        Force the separator: ``"\\t"``, ``","`` or ``" "`` (runs of whitespace).

    Returns
    -------
    Genotypes
        ``codes`` ``(n, m)`` uint8 with 3 = missing, ``ids`` (n), ``markers`` (m).
    """
    path = check_readable(path)
    layout = sniff_layout(path, header, ids, sep)
    m = layout.n_fields - layout.ids
    if m < 1:
        raise InputError(path, str(layout.first_data_line), "no marker columns after the id column", "add markers")
    chunks, id_chunks = [], []
    for lineno, block in _blocks(path, layout.first_data_line):
        codes, block_ids = _parse_block(path, layout, block, lineno, sum(map(len, chunks)) + 1)
        chunks.append(codes)
        id_chunks.append(block_ids)
    codes = np.concatenate(chunks) if chunks else np.zeros((0, m), np.uint8)
    ids_out = [i for chunk in id_chunks for i in chunk] if layout.ids else [f"ind{i + 1}" for i in range(len(codes))]
    markers = layout.names or [f"m{j + 1}" for j in range(m)]
    return Genotypes(ids=ids_out, codes=codes, markers=markers, has_ids=layout.ids)


def _blocks(path, first_line: int) -> Iterator[tuple[int, bytes]]:
    """``(lineno, block)``: whole lines (each ending in ``\\n``) from line ``first_line`` on, about
    :data:`_TEXT_BLOCK_BYTES` at a time; ``lineno`` is the 1-based number of the block's first line."""
    lineno, rest = 1, b""
    with open_binary(path) as f:
        while True:
            data = f.read(_TEXT_BLOCK_BYTES)
            buf = rest + data
            if lineno == 1 and not rest:
                buf = buf.removeprefix(_BOM)
            cut = len(buf) if not data else buf.rfind(b"\n") + 1
            block, rest = buf[:cut], buf[cut:]
            if block and not block.endswith(b"\n"):
                block += b"\n"  # last line without a newline
            while block and lineno < first_line:  # header (and blank lines before it)
                block = block[block.index(b"\n") + 1 :]
                lineno += 1
            if block:
                yield lineno, block
                lineno += block.count(b"\n")
            if not data:
                return


def _parse_block(path, layout: TableLayout, block: bytes, lineno: int, first: int) -> tuple[np.ndarray, list[str]]:
    """Codes ``(r, m)`` uint8 and ids (checked: :func:`dnacnn.ids.check_ids`) of the data lines in
    ``block``, whose first individual is the ``first``-th (1-based) of the file."""
    a = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(a == _NL)
    if layout.sep is None:
        edges = np.diff(~_WHITESPACE[a], prepend=False, append=False).nonzero()[0]
        starts, ends = edges[0::2], edges[1::2]  # fields are runs of non-whitespace
    else:
        bounds = np.flatnonzero((a == ord(layout.sep)) | (a == _NL))
        starts, ends = _trim(a, np.concatenate(([0], bounds[:-1] + 1)), bounds)
    per_line = np.diff(np.searchsorted(starts, newlines, side="right"), prepend=0)  # fields per line
    blank = per_line == 0
    if layout.sep is not None:  # a blank line holds one empty field
        only = np.cumsum(per_line)[per_line == 1] - 1
        blank[per_line == 1] = starts[only] == ends[only]
    ragged = np.flatnonzero(~blank & (per_line != layout.n_fields))
    if ragged.size:
        i = ragged[0]
        check_field_count(path, layout, lineno + int(i), [""] * int(per_line[i]))
    if blank.any():
        data = np.repeat(~blank, per_line)
        starts, ends = starts[data], ends[data]
    starts = starts.reshape(-1, layout.n_fields)
    ends = ends.reshape(-1, layout.n_fields)
    lines = lineno + np.flatnonzero(~blank)
    k = int(layout.ids)
    codes = _genotype_codes(path, layout, block, starts[:, k:], ends[:, k:], lines)
    if not layout.ids:
        return codes, []
    ids = [block[s:e].decode("utf-8", errors="replace") for s, e in zip(starts[:, 0], ends[:, 0], strict=True)]
    check_ids(ids, path, lines, first, what="individual")
    return codes, ids


def _trim(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strip spaces, ``\\r`` and double quotes around separator-delimited fields."""
    while True:
        move = (starts < ends) & _TRIM[a[starts]]
        if not move.any():
            break
        starts = starts + move
    while True:
        move = (ends > starts) & _TRIM[a[ends - 1]]
        if not move.any():
            break
        ends = ends - move
    return starts, ends


def _genotype_codes(path, layout: TableLayout, block: bytes, starts, ends, lines) -> np.ndarray:
    """Codes ``(r, m)`` for fields at ``starts``/``ends`` ``(r, m)`` of ``block``.

    The usual tokens (``0``, ``1``, ``2``, ``1.0``, ``NA``, ``NaN``, ``.``, empty) are recognised
    by their bytes in bulk; anything else goes through ``float`` one by one, and is an error
    unless it equals 0, 1 or 2.
    """
    a = np.concatenate((np.frombuffer(block, np.uint8), np.zeros(3, np.uint8)))  # look-ahead room
    n = ends - starts
    c0 = a[starts]
    digit = c0 - np.uint8(ord("0"))  # wraps to > 2 for bytes below "0"
    codes = np.where((n == 1) & (digit <= 2), digit, np.uint8(255))
    odd = np.flatnonzero(codes.ravel() == 255)
    if odd.size:  # rarer tokens, still in bulk
        s, k, c = starts.ravel()[odd], n.ravel()[odd], c0.ravel()[odd]
        c1, c2 = a[s + 1], a[s + 2]
        na = (c | 32 == ord("n")) & (c1 | 32 == ord("a"))
        missing = (k == 0) | ((k == 1) & (c == ord("."))) | ((k == 2) & na) | ((k == 3) & na & (c2 | 32 == ord("n")))
        plain = (c - np.uint8(ord("0")) <= 2) & (k == 3) & (c1 == ord(".")) & (c2 == ord("0"))
        flat = codes.reshape(-1)
        flat[odd] = np.where(missing, GENOTYPE_MISSING, np.where(plain, c - np.uint8(ord("0")), np.uint8(255)))
    for r, c in np.argwhere(codes == 255):
        token = block[starts[r, c] : ends[r, c]].decode("utf-8", errors="replace")
        codes[r, c] = _check_genotype(path, layout, int(lines[r]), int(c) + layout.ids, token)
    return codes


def _check_genotype(path, layout: TableLayout, lineno: int, col: int, token: str) -> int:
    """The code of a genotype token at 0-based field ``col``; raises if it is not one."""
    if is_missing(token):
        return GENOTYPE_MISSING
    try:
        value = float(token)
    except ValueError:
        value = None
    if value in (0.0, 1.0, 2.0):
        return int(value)
    marker = layout.names[col - layout.ids] if layout.names else f"m{col - layout.ids + 1}"
    fix = _GENOTYPE_FIX
    if col == 0 and not layout.ids:
        fix += ", or read column 1 as individual ids (ids=True)"
    raise InputError(path, str(lineno), f"column {col + 1} (marker {marker}): {token!r} is not a genotype", fix)
