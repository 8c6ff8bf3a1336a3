"""FASTA / FASTA.gz reading, vectorised over byte chunks.

Biopython's parser yields one Python object per record, which caps throughput near 40 MB/s on
short records; here each multi-megabyte block is parsed with a handful of whole-block passes:
newlines found with numpy, header lines gathered in one fancy index (their bytes, one ID per
line, are the only text Python splits) and blanked, then one ``bytes.translate`` both maps bases
through :data:`dnacnn.codes.DNA_LUT` and deletes newlines (``\\n``, ``\\r``, spaces, tabs).  Record
lengths come from the newline counts between headers.  The next block is read (and
decompressed) in a background thread while the current one is parsed.  A record longer than a
block is read in pieces instead of being carried from block to block: its header is parsed once
and each piece is translated onto one growing code buffer, so time stays linear in the input
(one 100-Mbp record and a million 100-bp records parse at the same MB/s,
``benchmarks/fasta_scale_bench.py``) and memory is a few blocks plus one byte per base of the
longest record.  A header line over :data:`MAX_HEADER_BYTES` and a record over
:data:`MAX_RECORD_BASES` (a gzip bomb of one record would otherwise be held whole) are refused; a
leading UTF-8 byte-order mark is dropped.

Header convention: ``>ID [DESCRIPTION]``; the ID is the first whitespace-delimited word.  With
``labels="header"`` the first word of the description holds the label(s), comma-separated for
several tasks: ``>peak1 1`` or ``>peak1 0,1,1``.

:func:`write_fasta` writes records (used by ``dnacnn shuffle``).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

import numpy as np

from dnacnn.codes import DNA_LUT, INVALID
from dnacnn.errors import InputError
from dnacnn.io import BOM, open_binary

PARSE_BLOCK_BYTES = (
    1 << 20
)  # ~1 MB: the whole working set stays in cache; measured fastest (benchmarks/encode_bench.py)
_NL, _CR, _GT, _SP, _TAB = 10, 13, ord(">"), 32, 9
_LUT = DNA_LUT.tobytes()
_SEQ_SPACE = b"\n\r \t"  # dropped from sequence lines
_BYTES_SPACE = (b" ", b"\t", b"\r", b"\x0b", b"\x0c")  # what bytes.split() splits on, besides \n
MAX_HEADER_BYTES = 1 << 20  # a longer '>' line is refused: no real ID and description come near it
# a longer record is refused as it is read: its codes (1 B a base) are held whole to be cropped, and
# no sequence to encode comes near it (human chr1 is 249 Mbp; genomes are read through their .fai)
MAX_RECORD_BASES = 1 << 28


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
    id_bytes: bytes | None = None  # the IDs as newline-terminated UTF-8, when headers are IDs only

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.ids)


def iter_fasta(path: str | os.PathLike, block_bytes: int = PARSE_BLOCK_BYTES) -> Iterator[FastaChunk]:
    """Yield :class:`FastaChunk` s of complete records from a FASTA file (plain, gzip or ``-``).

    Time is linear in the input whatever the record lengths; memory is a few blocks plus the
    codes (one byte per base) of the longest record, which is never held as text.

    Raises InputError (file and line) for a file without a ``>`` header, a record without an ID
    or sequence, a header line over :data:`MAX_HEADER_BYTES`, a record over
    :data:`MAX_RECORD_BASES` and invalid sequence characters.
    """
    line_offset = 0  # lines consumed before the current region
    first = True  # nothing but blank lines read so far
    record = None  # the record longer than a block being read, piece by piece
    with open_binary(path) as f, closing(read_ahead(_regions(f, block_bytes))) as regions:  # reader stops first
        for region in regions:
            if isinstance(region, _Piece):
                if region.start:
                    record = _LongRecord(path, region.data, line_offset)
                else:
                    record.add(region.data, 0, line_offset)
                line_offset += region.data.count(b"\n")
                if region.end:
                    yield record.chunk()
                    record, first = None, False
                continue
            if not (region and not region.isspace()):
                line_offset += region.count(b"\n")
                continue
            chunk, n_lines = _parse_block(path, region, line_offset, first)
            yield chunk
            line_offset += n_lines
            first = False


@dataclass
class _Piece:
    """Part of one record longer than a block: ``start`` begins with its header line, ``end``
    closes the record."""

    data: bytearray
    start: bool = False
    end: bool = False


def _regions(f, block_bytes: int) -> Iterator[bytearray | _Piece]:
    """Blocks of whole records, each cut just before its last line starting with ``>`` (the rest
    is carried into the next block), read straight into a fresh buffer the parser may modify.

    A record that does not end within a block (no ``\\n>`` after its header) is handed on as
    :class:`_Piece` s instead of being carried: what is carried stays under a block (plus a
    header line being read), so every byte is copied and searched a bounded number of times.
    """
    carry = b""
    inside = ends_newline = False  # the pieces of a long record are being handed on
    start = True
    while True:
        buf = _read_block(f, carry, block_bytes)
        if start and buf.startswith(BOM):  # a UTF-8 byte-order mark before the first '>'
            del buf[: len(BOM)]
            carry = b""
        start = False
        at_end = len(buf) == len(carry)
        carry = b""
        if inside:
            if ends_newline and buf.startswith(b">"):
                cut = 0
            else:
                cut = buf.find(b"\n>") + 1  # 0: the record goes on
                if not cut and not at_end:
                    ends_newline = buf.endswith(b"\n")
                    yield _Piece(buf)
                    continue
            piece = buf[:cut]
            del buf[:cut]
            yield _Piece(piece, end=True)
            inside = False
        if at_end:
            yield buf
            return
        cut = buf.rfind(b"\n>")
        if cut >= 0:
            carry = bytes(buf[cut + 1 :])
            del buf[cut + 1 :]
            yield buf
        elif buf.isspace():
            yield buf
        elif buf.find(b"\n") < 0 and len(buf) <= MAX_HEADER_BYTES:
            carry = buf  # a header line still being read
        else:
            inside, ends_newline = True, buf.endswith(b"\n")
            yield _Piece(buf, start=True)


def _read_block(f, carry: bytes, block_bytes: int) -> bytearray:
    """``carry`` followed by up to ``block_bytes`` more bytes of ``f``, in a fresh buffer."""
    buf = bytearray(len(carry) + block_bytes)
    buf[: len(carry)] = carry
    with memoryview(buf) as view:
        got = f.readinto(view[len(carry) :])
    del buf[len(carry) + got :]
    return buf


class _LongRecord:
    """One record read piece by piece: its header parsed once, its codes appended in place."""

    def __init__(self, path, piece: bytearray, line_offset: int) -> None:
        self.path = path
        if not piece.startswith(b">"):
            content = len(piece) - len(piece.lstrip(_SEQ_SPACE))
            line = line_offset + piece.count(b"\n", 0, content) + 1
            raise InputError(
                path,
                f"{line}",
                "not FASTA: sequence data before the first '>' header",
                "start each record with a '>ID' line",
            )
        end = piece.find(b"\n")
        if end < 0 or end > MAX_HEADER_BYTES:
            _raise_long_header(path, line_offset + 1)
        header = bytes(piece[1:end]) + b"\n"
        self.line = line_offset + 1
        bare = _ids_only(header)
        ids, descriptions = _split_headers(path, header, np.array([self.line]), bare)
        self.id, self.description = ids[0], descriptions[0]
        self.id_bytes = header if bare and header.isascii() else None
        self.codes = bytearray()
        self.add(piece, end + 1, line_offset)

    def add(self, piece: bytearray, start: int, line_offset: int) -> None:
        """Append the codes of ``piece[start:]`` (``line_offset``: lines before ``piece``)."""
        seq = piece[start:] if start else piece
        codes = seq.translate(_LUT, _SEQ_SPACE)
        bad = codes.find(INVALID)
        if bad >= 0:
            arr = np.frombuffer(seq, dtype=np.uint8)
            is_seq = (arr != _NL) & (arr != _CR) & (arr != _SP) & (arr != _TAB)
            byte_pos = start + int(np.flatnonzero(is_seq)[bad])
            newlines = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8)[:byte_pos] == _NL)
            _raise_invalid(self.path, piece, newlines, line_offset, byte_pos, self.id)
        if len(self.codes) + len(codes) > MAX_RECORD_BASES:
            raise InputError(
                self.path,
                f"{self.line}",
                f"record '{self.id}' is longer than {MAX_RECORD_BASES:,} bases, the most one record may hold "
                "(its bases are held in memory to be cropped)",
                "cut long sequences into windows: a BED file of windows with --genome reads them from the sequence",
            )
        self.codes += codes

    def chunk(self) -> FastaChunk:
        if not self.codes:
            raise InputError(
                self.path, f"{self.line}", f"record '{self.id}' has no sequence", "remove it or add its sequence"
            )
        codes = np.frombuffer(self.codes, dtype=np.uint8)
        offsets = np.array([0, len(codes)])
        return FastaChunk([self.id], [self.description], codes, offsets, np.array([self.line]), self.id_bytes)


def read_ahead(items: Iterator) -> Iterator:
    """``items``, each produced in a background thread while the caller works on the previous one
    (used for FASTA blocks here and for encoded chunks by ``dnacnn predict``); close it (e.g. with
    ``contextlib.closing``) to stop the thread when leaving early.

    File reads and zlib decompression release the GIL, so on two cores a .gz costs about
    max(decompress, parse) instead of their sum.  Errors are re-raised here, in the caller's
    thread, so ``open_binary`` still turns gzip errors into one-line messages.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(e)

    producer = threading.Thread(target=produce, name="dnacnn-read-ahead", daemon=True)
    producer.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()  # the file is closed after this; the reader must not be inside f.read then


def _parse_block(path, region: bytearray, line_offset: int, first: bool) -> tuple[FastaChunk, int]:
    """Parse a block of whole records (header bytes are overwritten in place); returns the chunk
    and the block's newline count."""
    arr = np.frombuffer(region, dtype=np.uint8)
    n = len(arr)
    newlines = np.flatnonzero(arr == _NL)
    line_starts = np.concatenate(([0], newlines + 1))
    line_starts = line_starts[line_starts < n]
    header_rows = np.flatnonzero(arr[line_starts] == _GT)
    line_ends = np.append(newlines, n)  # line k ends at the k-th newline (the last may not have one)
    if len(header_rows) == 0 or (first and header_rows[0] != _first_content_line(arr, line_starts, line_ends)):
        bad = 0 if len(header_rows) == 0 else header_rows[0] - 1
        raise InputError(
            path,
            f"{line_offset + int(bad) + 1}",
            "not FASTA: sequence data before the first '>' header",
            "start each record with a '>ID' line",
        )
    h_start, h_end = line_starts[header_rows], line_ends[header_rows]
    lines = line_offset + header_rows + 1
    leading = bytes(region[: h_start[0]])  # blank lines before the first header

    # Header texts with their newlines, back to back ("ID1 desc\nID2\n..."); the same index
    # then blanks the headers, so one translate pass keeps exactly the sequence bytes.
    h_len = h_end - h_start  # '>' + text
    if h_len.max() > MAX_HEADER_BYTES:
        _raise_long_header(path, line_offset + int(header_rows[np.argmax(h_len)]) + 1)
    text_end = np.cumsum(h_len)
    idx = np.ones(int(text_end[-1]), dtype=np.intp)  # +1 steps within a header, a jump between headers
    idx[0] = h_start[0] + 1
    idx[text_end[:-1]] = h_start[1:] + 1 - h_end[:-1]
    np.cumsum(idx, out=idx)
    np.minimum(idx, n - 1, out=idx)  # a last header without a newline at end of file
    header_text = np.take(arr, idx)
    header_text[-1] = _NL
    header_bytes = header_text.tobytes()
    bare = _ids_only(header_bytes)
    ids, descriptions = _split_headers(path, header_bytes, lines, bare)
    arr[idx] = _NL
    arr[h_start] = _NL
    arr[: h_start[0]] = _NL
    codes_bytes = region.translate(_LUT, _SEQ_SPACE)

    seg_start = h_end + 1
    seg_end = np.append(h_start[1:], n)
    lengths = np.maximum(seg_end - seg_start, 0) - np.maximum(np.diff(np.append(header_rows, len(newlines))) - 1, 0)
    if int(lengths.sum()) != len(codes_bytes):  # \r, spaces or tabs in sequence lines
        spaces = np.flatnonzero((arr == _CR) | (arr == _SP) | (arr == _TAB))
        lengths -= np.searchsorted(spaces, seg_end) - np.searchsorted(spaces, seg_start)
    codes = np.frombuffer(codes_bytes, dtype=np.uint8)
    offsets = np.concatenate(([0], np.cumsum(lengths)))

    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise InputError(path, f"{lines[i]}", f"record '{ids[i]}' has no sequence", "remove it or add its sequence")
    if leading.translate(None, _SEQ_SPACE):  # only \x0b / \x0c pass the blank-line test: bad bases
        _raise_invalid(path, leading, newlines, line_offset, len(leading) - len(leading.lstrip(_SEQ_SPACE)), ids[0])
    bad = codes_bytes.find(INVALID)
    if bad >= 0:
        rec = int(np.searchsorted(offsets, bad, side="right")) - 1
        segment = arr[seg_start[rec] : seg_end[rec]]
        is_seq = (segment != _NL) & (segment != _CR) & (segment != _SP) & (segment != _TAB)
        byte_pos = int(seg_start[rec] + np.flatnonzero(is_seq)[bad - offsets[rec]])
        _raise_invalid(path, region, newlines, line_offset, byte_pos, ids[rec])
    id_bytes = header_bytes if bare and header_bytes.isascii() else None  # ready for the store's ids.txt
    return FastaChunk(ids, descriptions, codes, offsets, lines, id_bytes), len(newlines)


def _ids_only(text: bytes) -> bool:
    """Header texts hold bare IDs: no whitespace, no empty header."""
    return not any(c in text for c in _BYTES_SPACE) and not text.startswith(b"\n") and b"\n\n" not in text


def _split_headers(path, text: bytes, lines: np.ndarray, bare: bool) -> tuple[list[str], list[str]]:
    """IDs and descriptions from newline-terminated header texts (without the ``>``);
    ``bare``: the texts are IDs only (see :func:`_ids_only`)."""
    if bare:
        ids = text.decode("utf-8", errors="replace").split("\n")  # IDs only: no per-record work
        ids.pop()
        return ids, [""] * len(ids)
    ids, descriptions = [], []
    for header, line in zip(text.split(b"\n"), lines.tolist()):
        parts = header.rstrip(b"\r").split(None, 1)
        if not parts:
            raise InputError(path, f"{line}", "header line has no record ID", "write '>ID' before the sequence")
        ids.append(parts[0].decode("utf-8", errors="replace"))
        descriptions.append(parts[1].decode("utf-8", errors="replace") if len(parts) > 1 else "")
    return ids, descriptions


def _raise_invalid(path, region, newlines: np.ndarray, line_offset: int, byte_pos: int, record: str):
    line = line_offset + int(np.searchsorted(newlines, byte_pos)) + 1
    raise InputError(
        path,
        f"{line}",
        f"invalid character {chr(region[byte_pos])!r} in record '{record}'",
        "sequences may hold only A, C, G, T, N and IUPAC codes",
    )


def _raise_long_header(path, line: int):
    raise InputError(
        path,
        f"{line}",
        f"header line longer than {MAX_HEADER_BYTES >> 20} MiB",
        "keep IDs and descriptions short (is this a FASTA file?)",
    )


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
