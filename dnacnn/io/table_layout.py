"""How a text table of individuals is laid out: separator, header, id column, missing values.

Contract: genotype matrices and phenotype tables are text tables (plain or gzip) with one
individual per line; :func:`sniff_layout` reads their first lines and returns a
:class:`TableLayout`, :func:`data_lines` yields the fields of each data line,
:func:`check_field_count` and :func:`parse_number` raise a one-line
:class:`~dnacnn.errors.InputError` naming the file, line and column.  The rules:

* Separator: the first line decides - a tab makes the file tab-separated, else a comma makes it
  comma-separated, else fields are separated by runs of spaces/tabs.  ``sep`` forces it.
* Missing values: ``NA``, ``NaN`` (any case), ``.`` and an empty field (only possible with tab or
  comma separators).  Nothing else: ``-9``, ``-1`` or ``3`` in a genotype matrix are errors.
* A *value* is a number or a missing token; anything else is a *name*.
* Header: the first line is a header of marker (trait) names when all its fields after the first
  are names (a one-field line: when that field is a name).  ``header=True/False`` forces it;
  numeric marker names therefore need ``header=True``.
* Ids: the first column holds individual ids when the first field of the first data line is a
  name, or when the header has one field fewer than the data lines (R's ``write.table``).
  ``ids=True/False`` forces it; numeric ids therefore need ``ids=True``.
* Defaults: ids ``ind1..indN`` and markers ``m1..mM`` (traits ``trait1..traitT``), 1-based.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dnacnn.errors import InputError
from dnacnn.io import open_binary

MISSING_TOKENS = ("NA", "NaN", ".", "")  # NA and NaN in any case


@dataclass
class TableLayout:
    """How a table is laid out, from its first lines (see the module docstring)."""

    sep: str | None  # None = runs of whitespace
    header: list[str] | None
    ids: bool
    first_data_line: int  # 1-based
    n_fields: int  # fields per data line, id column included

    @property
    def names(self) -> list[str] | None:
        """Column names for the value columns, from the header."""
        if self.header is None:
            return None
        return self.header[1:] if self.ids and len(self.header) == self.n_fields else self.header


def split_fields(line: str, sep: str | None) -> list[str]:
    fields = line.split() if sep is None else line.split(sep)
    return [f.strip().strip('"') for f in fields]


def is_missing(token: str) -> bool:
    return token in (".", "") or token.lower() in ("na", "nan")


def is_value(token: str) -> bool:
    if is_missing(token):
        return True
    try:
        float(token)
    except ValueError:
        return False
    return True


def sniff_layout(path, header: bool | None, ids: bool | None, sep: str | None) -> TableLayout:
    first = []  # (lineno, text) of the first two non-blank lines
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
            if text.strip():
                first.append((lineno, text))
                if len(first) == 2:
                    break
    if not first:
        raise InputError(path, None, "file is empty", "give a file with one individual per line")
    if sep is None:
        sep = "\t" if "\t" in first[0][1] else "," if "," in first[0][1] else None
    elif sep.isspace():
        sep = None
    fields = split_fields(first[0][1], sep)
    if header is None:
        header = not any(is_value(f) for f in (fields[1:] if len(fields) > 1 else fields))
    names = fields if header else None
    if header and len(first) < 2:
        raise InputError(path, None, "only a header line, no data", "add one line per individual")
    data = first[1] if header else first[0]
    data_fields = split_fields(data[1], sep)
    if ids is None:
        ids = not is_value(data_fields[0]) or (header and len(names) == len(data_fields) - 1)
    layout = TableLayout(sep=sep, header=names, ids=bool(ids), first_data_line=data[0], n_fields=len(data_fields))
    if header and len(names) not in (layout.n_fields, layout.n_fields - layout.ids):
        raise InputError(
            path,
            str(first[0][0]),
            f"header has {len(names)} names but line {data[0]} has {layout.n_fields} fields",
            "give one name per column",
        )
    return layout


def data_lines(path, layout: TableLayout) -> Iterator[tuple[int, list[str]]]:
    """``(lineno, fields)`` of each non-blank data line, in order."""
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            if lineno < layout.first_data_line:
                continue
            text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
            if text.strip():
                yield lineno, split_fields(text, layout.sep)


def check_field_count(path, layout: TableLayout, lineno: int, fields: list[str]) -> None:
    if len(fields) != layout.n_fields:
        raise InputError(
            path,
            str(lineno),
            f"{len(fields)} fields, but line {layout.first_data_line} has {layout.n_fields}",
            "give every line the same number of columns",
        )


def parse_number(path, lineno: int, col: int, token: str) -> float:
    if is_missing(token):
        return np.nan
    try:
        return float(token)
    except ValueError:
        raise InputError(
            path, str(lineno), f"column {col}: {token!r} is not a number", "use numbers, or NA for missing"
        ) from None
