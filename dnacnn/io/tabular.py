"""Tabular sequence files and label tables.

* Tabular (TSV / CSV, optionally gzipped) with a header: ``seq_col`` names the sequence column,
  ``label_cols`` the label column(s), ``id_col`` the record IDs (default: ``row<N>`` by data line).
  DeepBind's ENCODE files (``FoldID EventID seq Bound``) read as they are with
  ``seq_col="seq", id_col="EventID", label_cols=["Bound"]``.
* Lines: one sequence per line, no header (the Zou et al. 2019 primer); IDs are ``seq<N>``.
* Label tables: either keyed by ID (a header whose first column holds record IDs, the others
  labels) or a single unnamed column of labels in record order (one per line).

The separator is sniffed from the header line: tab, else comma, else whitespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnacnn.errors import InputError
from dnacnn.io import check_readable, open_binary, read_head

TABLE_CHUNK_ROWS = 200_000


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


def _read_csv(path, **kwargs) -> pd.DataFrame | Iterator[pd.DataFrame]:
    sep = sniff_separator(path)
    try:
        return pd.read_csv(
            path, sep=sep, engine="c" if sep != r"\s+" else "python", dtype=str, keep_default_na=False, **kwargs
        )
    except (EOFError, OSError) as e:
        raise InputError(path, None, f"cannot read ({e})", "check that the file is complete") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, None, "file is empty", "give a file with a header and records") from None
    except pd.errors.ParserError as e:
        raise InputError(path, None, f"malformed table ({str(e).strip()})", "fix the table") from None


def iter_tabular(
    path: str | os.PathLike,
    seq_col: str,
    label_cols: list[str] | None = None,
    id_col: str | None = None,
    chunk_rows: int = TABLE_CHUNK_ROWS,
) -> Iterator[TextChunk]:
    """Yield :class:`TextChunk` s from a table with a header row."""
    check_readable(path)
    reader = _read_csv(path, chunksize=chunk_rows)
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
    except (EOFError, OSError) as e:
        raise InputError(path, None, f"truncated or unreadable file ({e})", "re-download or re-compress it") from None
    except pd.errors.ParserError as e:
        raise InputError(path, None, f"malformed table ({str(e).strip()})", "fix the table") from None


def iter_lines(path: str | os.PathLike, chunk_rows: int = TABLE_CHUNK_ROWS) -> Iterator[TextChunk]:
    """Yield chunks of a one-sequence-per-line file (blank lines skipped)."""
    with open_binary(path) as f:
        ids, seqs, lines = [], [], []
        for n, raw in enumerate(f, start=1):
            seq = raw.strip()
            if not seq:
                continue
            ids.append(f"seq{n}")
            seqs.append(seq.decode("ascii", errors="replace"))
            lines.append(n)
            if len(seqs) == chunk_rows:
                yield TextChunk(ids, seqs, None, np.array(lines))
                ids, seqs, lines = [], [], []
        if seqs:
            yield TextChunk(ids, seqs, None, np.array(lines))


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
            df = _read_csv(path, header=None)
            self.names = ["label"]
            self.values = df.iloc[:, [0]]
            self.index = None
        else:
            df = _read_csv(path)
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
