"""FASTA / FASTA.gz reading, vectorised over byte chunks.

Biopython's parser yields one Python object per record, which caps throughput near 40 MB/s on
short records; here each multi-megabyte block is parsed with numpy: header lines are masked out,
newlines (``\\n`` and ``\\r``) dropped, bases translated through :data:`dnacnn.encoding.DNA_LUT`
and record lengths taken with one ``reduceat``.  Only the header lines are touched in Python.

Header convention: ``>ID [DESCRIPTION]``; the ID is the first whitespace-delimited word.  With
``labels="header"`` the first word of the description holds the label(s), comma-separated for
several tasks: ``>peak1 1`` or ``>peak1 0,1,1``.

:func:`write_fasta` writes records (used by ``dnacnn shuffle``); :func:`iter_fasta_text` is a
Biopython-based reader used where speed does not matter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dnacnn.encoding import DNA_LUT, INVALID
from dnacnn.errors import InputError
from dnacnn.io import open_binary

BLOCK_BYTES = 8 << 20
_NL, _CR, _GT, _SP, _TAB = 10, 13, ord(">"), 32, 9


@dataclass
class FastaChunk:
    """Records parsed from one block.

    ``codes`` holds all bases of the block's records back to back (uint8 DNA codes), and record
    ``i`` is ``codes[offsets[i]:offsets[i+1]]``.  ``lines`` are the 1-based header line numbers.
    """

    ids: list[str]
    descriptions: list[str]
    codes: np.ndarray
    offsets: np.ndarray
    lines: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.ids)


def iter_fasta(path: str | os.PathLike, block_bytes: int = BLOCK_BYTES) -> Iterator[FastaChunk]:
    """Yield :class:`FastaChunk` s of complete records from a FASTA file (plain, gzip or ``-``).

    Raises InputError (file and line) for a file without a ``>`` header, a record without an ID
    or sequence, and invalid sequence characters.
    """
    line_offset = 0  # lines consumed before the current block
    carry = b""
    with open_binary(path) as f:
        while True:
            data = f.read(block_bytes)
            block = carry + data
            if not data:
                if block.strip():
                    yield _parse_block(path, block, line_offset, first=line_offset == 0)
                return
            cut = block.rfind(b"\n>")
            if cut < 0:
                carry = block
                continue
            region, carry = block[: cut + 1], block[cut + 1 :]
            if region.strip():
                yield _parse_block(path, region, line_offset, first=line_offset == 0)
            line_offset += region.count(b"\n")


def _parse_block(path, region: bytes, line_offset: int, first: bool) -> FastaChunk:
    arr = np.frombuffer(region, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NL)
    line_starts = np.concatenate(([0], newlines + 1))
    line_starts = line_starts[line_starts < len(arr)]
    line_ends = np.searchsorted(newlines, line_starts)  # index of each line's newline
    line_ends = np.where(line_ends < len(newlines), newlines[np.minimum(line_ends, len(newlines) - 1)], len(arr))
    header_rows = np.flatnonzero(arr[line_starts] == _GT)
    if len(header_rows) == 0 or (first and header_rows[0] != _first_content_line(arr, line_starts, line_ends)):
        bad = 0 if len(header_rows) == 0 else header_rows[0] - 1
        raise InputError(
            path,
            f"{line_offset + int(bad) + 1}",
            "not FASTA: sequence data before the first '>' header",
            "start each record with a '>ID' line",
        )
    h_start, h_end = line_starts[header_rows], line_ends[header_rows]

    # mask header lines: +1 at a header's first byte, -1 just after its newline
    marks = np.zeros(len(arr) + 1, dtype=np.int8)
    marks[h_start] = 1
    marks[np.minimum(h_end + 1, len(arr))] -= 1  # indices are unique: one newline per header
    in_header = np.cumsum(marks[:-1], dtype=np.int8).astype(bool)
    is_seq = ~in_header & (arr != _NL) & (arr != _CR) & (arr != _SP) & (arr != _TAB)
    lengths = np.add.reduceat(is_seq, h_start, dtype=np.int64)
    codes = DNA_LUT[arr[is_seq]]
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    lines = line_offset + header_rows + 1

    ids, descriptions = [], []
    for s, e, line in zip(h_start.tolist(), h_end.tolist(), lines.tolist()):
        parts = region[s + 1 : e].rstrip(b"\r").split(None, 1)
        if not parts:
            raise InputError(path, f"{line}", "header line has no record ID", "write '>ID' before the sequence")
        ids.append(parts[0].decode("utf-8", errors="replace"))
        descriptions.append(parts[1].decode("utf-8", errors="replace") if len(parts) > 1 else "")

    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise InputError(path, f"{lines[i]}", f"record '{ids[i]}' has no sequence", "remove it or add its sequence")
    bad = np.flatnonzero(codes == INVALID)
    if len(bad):
        byte_pos = int(np.flatnonzero(is_seq)[bad[0]])
        line = line_offset + int(np.searchsorted(newlines, byte_pos)) + 1
        rec = int(np.searchsorted(offsets, bad[0], side="right")) - 1
        char = chr(region[byte_pos])
        raise InputError(
            path,
            f"{line}",
            f"invalid character {char!r} in record '{ids[rec]}'",
            "sequences may hold only A, C, G, T, N and IUPAC codes",
        )
    return FastaChunk(ids, descriptions, codes, offsets, lines)


def _first_content_line(arr, line_starts, line_ends) -> int:
    """Index of the first non-blank line (leading blank lines are tolerated)."""
    for i, (s, e) in enumerate(zip(line_starts.tolist(), line_ends.tolist())):
        if arr[s:e].tobytes().strip():
            return i
    return 0


def write_fasta(f, ids: list[str], seqs: list[str], width: int = 0) -> None:
    """Write records to an open text file; ``width`` > 0 wraps sequence lines."""
    for rid, seq in zip(ids, seqs):
        if width > 0:
            seq = "\n".join(seq[i : i + width] for i in range(0, len(seq), width))
        f.write(f">{rid}\n{seq}\n")
