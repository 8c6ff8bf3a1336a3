"""Tabular sequence files and label tables.

* Tabular (TSV / CSV, optionally gzipped) with a header: ``seq_col`` names the sequence column,
  ``label_cols`` the label column(s), ``id_col`` the record IDs (default: ``row<N>`` by data line).
  DeepBind's ENCODE files (``FoldID EventID seq Bound``) read as they are with
  ``seq_col="seq", id_col="EventID", label_cols=["Bound"]``.
* Lines: one sequence per line, no header (the Zou et al. 2019 primer); IDs are ``seq<N>``.
* Label tables: either keyed by ID (a header whose first column holds record IDs, the others
  labels) or a single unnamed column of labels in record order (one per line).

The separator is sniffed from the header line: tab, else comma, else whitespace.  The text is
UTF-8 (a leading byte-order mark is dropped); the IDs of a label table are checked here
(:func:`dnacnn.ids.check_ids`), those of records by the callers, which name them in errors.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnacnn.errors import InputError
from dnacnn.ids import check_ids
from dnacnn.io import MAX_LINE_BYTES, check_readable, iter_text_lines, open_binary, read_head

TABLE_CHUNK_ROWS = 200_000
CHUNK_BYTES = 64 << 20  # a one-sequence-per-line chunk holds about this much text at most
NOT_UTF8, SAVE_UTF8 = "holds bytes that are not UTF-8 text", "save it as UTF-8"


@dataclass
class TextChunk:
    """Records from a text reader: ``labels`` is a DataFrame (b, label columns) or None;
    ``lines`` are 1-based line numbers of each record."""

    ids: list[str]
    seqs: list[str]
    labels: pd.DataFrame | None
    lines: np.ndarray


def sniff_separator(path: str | os.PathLike) -> str:
    first = read_head(path).split(b"\n", 1)[0]
    if b"\t" in first:
        return "\t"
    if b"," in first:
        return ","
    return r"\s+"


class _Bounded(io.RawIOBase):
    """The decompressed bytes of ``path`` for pandas, checked as they stream past: a line over
    :data:`dnacnn.io.MAX_LINE_BYTES` is refused, so a one-line gzip bomb
    never reaches the parser whole, and so is a row with fewer (or more) fields than the first
    line (pandas would fill the missing ones with '').  A file with a quote character is left to
    pandas' quoting rules from there on (a quoted field may hold the separator or a newline)."""

    def __init__(self, path, sep: str) -> None:
        self.path, self.stack = path, ExitStack()
        self.f = self.stack.enter_context(open_binary(path))
        self.line, self.run = 1, 0  # line being read, its bytes so far
        self.sep = None if sep == r"\s+" else sep.encode()
        self.fields: int | None = None  # of the first line
        self.tail: list[bytes] = []  # the line being read, in pieces
        self.quoted = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        got = self.f.readinto(b)
        data = memoryview(b)[:got].tobytes()
        parts = data.split(b"\n")
        sizes = [self.run + len(parts[0])] + [len(x) for x in parts[1:]]
        self.run = sizes[-1]
        if max(sizes) > MAX_LINE_BYTES:
            line = self.line + sizes.index(max(sizes))
            too_long = f"line longer than {MAX_LINE_BYTES >> 20} MiB"
            raise InputError(self.path, f"{line}", too_long, "is this a table? (long sequences belong in FASTA)")
        self._check_fields(data, at_end=got == 0)
        self.line += data.count(b"\n")
        return got

    def _check_fields(self, data: bytes, at_end: bool) -> None:
        if self.quoted:
            return
        cut = data.rfind(b"\n") + 1
        if not cut and not at_end:
            self.tail.append(data)
            return
        text = b"".join([*self.tail, data[:cut]]) if not at_end else b"".join(self.tail) + b"\n"
        self.tail = [data[cut:]] if not at_end else []
        if b'"' in text:
            self.quoted = True
            return
        first_line = self.line  # the tail holds no newline: its line is the one being read
        rows = text.split(b"\n")[:-1]
        if self.sep is not None and self.fields is not None:  # fast path: every row is whole
            blank = sum(1 for r in rows if not r.strip()) if b"\n\n" in text or b"\n\r" in text else 0
            if text.count(self.sep) == (self.fields - 1) * (len(rows) - blank):
                return
        for k, row in enumerate(rows):
            if not row.strip():
                continue  # a blank line: pandas skips it
            n = row.count(self.sep) + 1 if self.sep is not None else len(row.split())
            if self.fields is None:
                self.fields = n
            elif n != self.fields:
                raise InputError(
                    self.path,
                    f"{first_line + k}",
                    f"row has {n} field(s) but the header names {self.fields}",
                    "give every row a value for each column (NA for a missing one)",
                )

    def close(self) -> None:
        self.stack.close()
        super().close()


def _read_csv(path, **kwargs) -> tuple[pd.DataFrame | Iterator[pd.DataFrame], _Bounded]:
    """The table (or its chunks) and the stream it is read from (close it when done)."""
    sep = sniff_separator(path)
    stream = _Bounded(path, sep)
    try:
        return pd.read_csv(
            io.BufferedReader(stream, 1 << 20),
            sep=sep,
            engine="c" if sep != r"\s+" else "python",
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            **kwargs,
        ), stream
    except BaseException:
        stream.close()
        raise _table_error(path) from None


def _table_error(path) -> InputError:
    """The one-line error for the exception being handled while reading table ``path``."""
    e = sys.exc_info()[1]
    if isinstance(e, InputError):
        return e
    if isinstance(e, pd.errors.EmptyDataError):
        return InputError(path, None, "file is empty", "give a file with a header and records")
    if isinstance(e, pd.errors.ParserError):
        return InputError(path, None, f"malformed table ({str(e).strip()})", "fix the table")
    if isinstance(e, UnicodeDecodeError):
        return InputError(path, None, NOT_UTF8, SAVE_UTF8)
    if isinstance(e, (EOFError, OSError)):
        return InputError(path, None, f"truncated or unreadable file ({e})", "re-download or re-compress it")
    return e


def iter_tabular(
    path: str | os.PathLike,
    seq_col: str,
    label_cols: list[str] | None = None,
    id_col: str | None = None,
    chunk_rows: int = TABLE_CHUNK_ROWS,
) -> Iterator[TextChunk]:
    """Yield :class:`TextChunk` s from a table with a header row."""
    check_readable(path)
    reader, stream = _read_csv(path, chunksize=chunk_rows)
    row0 = 0
    try:
        for df in reader:
            wanted = [seq_col] + list(label_cols or []) + ([id_col] if id_col else [])
            missing = [c for c in wanted if c not in df.columns]
            if missing:
                raise InputError(
                    path,
                    "1",
                    f"no column {missing[0]!r} in the header",
                    f"choose from: {', '.join(map(str, df.columns))}",
                )
            lines = np.arange(row0, row0 + len(df)) + 2  # header is line 1
            ids = df[id_col].tolist() if id_col else [f"row{i}" for i in lines - 1]
            labels = df[list(label_cols)] if label_cols else None
            yield TextChunk(ids, df[seq_col].str.strip().tolist(), labels, lines)
            row0 += len(df)
    except (InputError, GeneratorExit):
        raise
    except Exception:
        raise _table_error(path) from None
    finally:
        stream.close()


def iter_lines(path: str | os.PathLike, chunk_rows: int = TABLE_CHUNK_ROWS) -> Iterator[TextChunk]:
    """Yield chunks of a one-sequence-per-line file (blank lines skipped).  A chunk holds at most
    ``chunk_rows`` lines and about :data:`CHUNK_BYTES` of text, and a line over
    :data:`dnacnn.io.MAX_LINE_BYTES` is refused (long sequences belong in FASTA, read in pieces)."""
    with open_binary(path) as f:
        ids, seqs, lines, size = [], [], [], 0
        for n, raw in iter_text_lines(f, path, "one-sequence-per-line"):
            seq = raw.strip()
            if not seq:
                continue
            ids.append(f"seq{n}")
            seqs.append(seq.decode("ascii", errors="replace"))
            lines.append(n)
            size += len(seq)
            if len(seqs) == chunk_rows or size >= CHUNK_BYTES:
                yield TextChunk(ids, seqs, None, np.array(lines))
                ids, seqs, lines, size = [], [], [], 0
        if seqs:
            yield TextChunk(ids, seqs, None, np.array(lines))


def _read_table(path, **kwargs) -> pd.DataFrame:
    """A whole (label) table."""
    df, stream = _read_csv(path, **kwargs)
    stream.close()
    return df


class LabelTable:
    """Labels looked up by record ID, or taken in record order for an ID-less one-column file.

    Tracks which rows were used so that IDs present in the table but absent from the sequences
    are reported (``check_all_used``).
    """

    def __init__(self, path: str | os.PathLike, label_cols: list[str] | None = None) -> None:
        self.path = check_readable(path)
        first = read_head(path).split(b"\n", 1)[0].strip()
        self.by_order = len(first.split()) == 1 and _is_number(first)
        if self.by_order:
            df = _read_table(path, header=None)
            self.names = ["label"]
            self.values = df.iloc[:, [0]]
            self.index = None
        else:
            df = _read_table(path)
            id_col = df.columns[0]
            cols = list(label_cols) if label_cols else list(df.columns[1:])
            missing = [c for c in cols if c not in df.columns]
            if missing or not cols:
                raise InputError(
                    path,
                    "1",
                    f"no label column {missing[0]!r}" if missing else "no label columns after the ID column",
                    f"the header has: {', '.join(map(str, df.columns))}",
                )
            check_ids(df[id_col].tolist(), path, np.arange(len(df)) + 2)
            dup = df[id_col].duplicated()
            if dup.any():
                i = int(np.flatnonzero(dup.to_numpy())[0])
                raise InputError(path, f"{i + 2}", f"duplicated ID '{df[id_col].iloc[i]}'", "give each ID once")
            self.names = cols
            self.values = df[cols]
            self.index = pd.Index(df[id_col])
        self.used = np.zeros(len(self.values), dtype=bool)
        self.next_row = 0

    def lookup(self, ids: list[str], source, lines: np.ndarray) -> pd.DataFrame:
        """Label rows for ``ids`` (records from ``source`` at ``lines``)."""
        if self.by_order:
            rows = np.arange(self.next_row, self.next_row + len(ids))
            if rows[-1] >= len(self.values):
                raise InputError(
                    self.path,
                    None,
                    f"has {len(self.values)} labels but {source} has more records",
                    "give one label per record, in order",
                )
            self.next_row += len(ids)
        else:
            rows = self.index.get_indexer(ids)
            if (rows < 0).any():
                i = int(np.flatnonzero(rows < 0)[0])
                raise InputError(
                    source, f"{lines[i]}", f"record '{ids[i]}' has no label in {self.path}", "add it to the label table"
                )
        self.used[rows] = True
        return self.values.iloc[rows]

    def check_all_used(self, source) -> None:
        if self.used.all():
            return
        i = int(np.flatnonzero(~self.used)[0])
        n = int((~self.used).sum())
        if self.by_order:
            raise InputError(
                self.path,
                None,
                f"has {len(self.values)} labels but {source} has {self.next_row} records",
                "give one label per record, in order",
            )
        raise InputError(
            self.path,
            f"{i + 2}",
            f"{n} ID(s) with no record in {source}, first '{self.index[i]}'",
            "remove them or check that the label table matches the sequences",
        )


def _is_number(token: bytes) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False
