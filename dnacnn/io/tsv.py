"""The one TSV writer: every table dnacnn writes has exactly the rows and columns it was given.

Contract: a cell never holds a tab or a line break (``\\t``, ``\\n``, ``\\r`` or any other
``str.splitlines`` boundary: ``\\x0b \\x0c \\x1c \\x1d \\x1e \\x85`` U+2028 U+2029), so ``cut``,
``awk``, R and pandas all read back the rows and columns dnacnn wrote; a cell that would break the
table is refused with one line naming the file, line, column and value, raised before the output
is renamed into place (so nothing is written).  Cells are written as they are, never quoted or
escaped.  Files go through :mod:`dnacnn.io.outputs` (temporary name, then rename; ``-`` is stdout).

* :func:`write_table`: a whole ``pandas.DataFrame`` (header, then rows): numbers formatted by
  pandas with one ``float_format`` per file (``%.6g`` for scores, ``%.4f`` for summaries), a
  missing value as an empty cell.
* :func:`open_tsv`: a streamed table; its :class:`TsvWriter` takes rows (lists of text), columns
  (arrays of text), IDs with a score matrix (``%.6g``) or rows the caller formatted, and checks
  each batch in bulk (tab and newline counts, one scan for the other breaks).  ``columns=N``
  writes no header (bedGraph).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.ids import describe, shown

BREAKS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # a column break, then every str.splitlines boundary
_RARE_ASCII = "\r\x0b\x0c\x1c\x1d\x1e"
_RARE_WIDE = "\x85\u2028\u2029"


def write_table(path, table, float_format: str | None = "%.6g", shown_as=None) -> None:
    """Write the DataFrame ``table`` (header and rows, no index) to ``path``, atomically.

    Parameters
    ----------
    float_format : str, optional
        printf format of float columns (None: Python's shortest exact form).
    shown_as : path, optional
        The name errors give the file (e.g. the final name of a file written in a temporary folder).
    """
    from dnacnn.io.outputs import write_text_atomic

    name = shown_as or path
    names = [str(c) for c in table.columns]
    _check_row(name, 1, names, None)
    for j, column in enumerate(table.columns):
        values = table[column]
        if values.dtype.kind in "OSU" or str(values.dtype) in ("string", "category"):
            _check_column(name, 2, j, names[j], ["" if v is None else str(v) for v in values.tolist()])
    text = table.to_csv(sep="\t", index=False, float_format=float_format, lineterminator="\n", quoting=csv.QUOTE_NONE)
    write_text_atomic(path, text)


@contextmanager
def open_tsv(path, columns: Sequence[str] | int, shown_as=None) -> Iterator[TsvWriter]:
    """A :class:`TsvWriter` on ``path`` (``-``: stdout) with the header ``columns`` (an int: that
    many columns, no header); the file is renamed into place when the block succeeds."""
    from dnacnn.io.outputs import atomic_text

    with atomic_text(path) as f:
        yield TsvWriter(f, shown_as or path, columns)


class TsvWriter:
    """Rows of a TSV, written to the open text file ``f`` (``path``: its name in errors)."""

    def __init__(self, f: io.TextIOBase, path, columns: Sequence[str] | int) -> None:
        self.f = f
        self.path = path
        self.line = 0  # lines written
        self.names = None if isinstance(columns, int) else [str(c) for c in columns]
        self.n_columns = columns if isinstance(columns, int) else len(columns)
        if self.names is not None:
            self.write_rows([self.names])

    def write_rows(self, rows: Iterable[Sequence[str]]) -> None:
        """Rows of text cells."""
        rows = rows if isinstance(rows, list) else list(rows)
        text = "".join("\t".join(row) + "\n" for row in rows)
        if not _well_formed(text, len(rows), self.n_columns):
            for k, row in enumerate(rows):
                _check_row(self.path, self.line + 1 + k, row, self.names if self.line else None)  # 0: the header
        self.write_text(text, len(rows))

    def write_columns(self, columns: Sequence[Sequence[str]]) -> None:
        """Rows given column by column (lists or arrays of text, all of one length)."""
        n = len(columns[0]) if len(columns) else 0
        text = "".join("\t".join(row) + "\n" for row in zip(*columns))
        if not _well_formed(text, n, self.n_columns):
            for j, column in enumerate(columns):
                _check_column(self.path, self.line + 1, j, self._name(j), [str(v) for v in column])
        self.write_text(text, n)

    def write_scores(self, ids: Sequence[str], scores: np.ndarray, fmt: str = "%.6g") -> None:
        """``id<TAB>score...`` rows: ``scores`` ``(n, columns - 1)`` formatted with ``fmt`` (one
        %-format a row: 6x faster than ``np.char.mod``)."""
        row = "\t".join(["%s"] + [fmt] * scores.shape[1]) + "\n"
        text = "".join(map(row.__mod__, zip(ids, *scores.T.tolist())))
        if not _well_formed(text, len(ids), self.n_columns):
            _check_column(self.path, self.line + 1, 0, self._name(0), [str(i) for i in ids])
        self.write_text(text, len(ids))

    def write_text(self, text: str, n: int) -> None:
        """``n`` rows formatted by the caller, each ending in a newline: written if they hold
        exactly ``n`` newlines, ``columns - 1`` tabs a row and no other line break, else refused
        (one line naming the first bad row)."""
        if not _well_formed(text, n, self.n_columns):
            _raise_first_bad(self.path, self.line + 1, text, self.n_columns)
        self.f.write(text)
        self.line += n

    def _name(self, j: int) -> str | None:
        return self.names[j] if self.names is not None and j < len(self.names) else None


def _well_formed(text: str, n: int, n_columns: int) -> bool:
    if text.count("\n") != n or text.count("\t") != n * (n_columns - 1):
        return False
    return not _has_rare_break(text)


def _has_rare_break(text: str) -> bool:
    """``text`` holds a line break other than ``\\n``."""
    return any(c in text for c in (_RARE_ASCII if text.isascii() else _RARE_ASCII + _RARE_WIDE))


def _check_column(path, first_line: int, column: int, name: str | None, values: list[str]) -> None:
    """One line for the first of ``values`` (one column, from ``first_line`` down) holding a break."""
    text = "".join(values)
    if "\t" in text or "\n" in text or _has_rare_break(text):
        for k, value in enumerate(values):
            if any(c in value for c in BREAKS):
                _refuse(path, first_line + k, column, name, value)


def _check_row(path, line: int, cells: Sequence[str], names: list[str] | None) -> None:
    """One line for the first of the ``cells`` of one row holding a break."""
    for j, value in enumerate(cells):
        if any(c in value for c in BREAKS):
            _refuse(path, line, j, names[j] if names is not None and j < len(names) else None, value)


def _raise_first_bad(path, first_line: int, text: str, n_columns: int) -> None:
    """Refuse the first row of ``text`` that has another number of cells than ``n_columns``."""
    for k, row in enumerate(text.split("\n")[:-1]):
        cells = row.split("\t")
        bad = next((j for j, cell in enumerate(cells) if _has_rare_break(cell)), None)
        if bad is not None or len(cells) != n_columns:
            j = bad if bad is not None else min(len(cells), n_columns) - 1
            _refuse(path, first_line + k, j, None, cells[j] if bad is not None else "\t".join(cells[j:]))
    raise DnacnnError(f"{path}: a row ends without a newline; this is a bug in dnacnn, please report it")


def _refuse(path, line: int, column: int, name: str | None, value: str) -> None:
    what = next((describe(c) for c in value if c in BREAKS), "a tab")
    label = f"column {column + 1}" + (f" ({shown(name)})" if name is not None else "")
    raise DnacnnError(
        f"{os.fspath(path)}:{line}: {label} would get '{shown(value)}', which holds {what} and would "
        "break the table's rows or columns; fix that value where it comes from (an ID, a name or a "
        "label of the input)"
    )
