"""Labels of encoded records: label tables, FASTA headers or a constant -> float32 arrays, and the task.

Contract: :func:`numeric_labels` turns one reader chunk's label source (a table, FASTA header
labels or ``--label-value``) into labels ``(b, tasks)`` float32 with NaN for a missing value,
recording label names and multiclass class names in a :class:`LabelInfo`; a label that is not a
number is a one-line :class:`~dnacnn.errors.InputError` naming the file and line.
:func:`class_names` lists the classes of a multiclass store and :func:`resolve_task` settles
``--task auto`` (binary when every label is 0/1, else regression) or checks a given task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dnacnn.errors import DnacnnError, InputError

MISSING = ("", "NA", "NAN", ".")  # a missing label, in any case (pandas reads an empty cell as NaN)


@dataclass
class LabelInfo:
    """What the readers learnt about the labels: column names and multiclass class names."""

    names: list[str] = field(default_factory=list)
    classes: dict[str, int] = field(default_factory=dict)


def numeric_labels(path, chunk, table, header, opts, label_table, info: LabelInfo) -> np.ndarray:
    n = len(chunk.ids)
    if opts.label_value is not None:
        return np.full((n, 1), opts.label_value, dtype=np.float32)
    if header is not None:
        rows = [d.split(None, 1)[0].split(",") if d else [] for d in header]
        width = len(rows[0])
        for i, r in enumerate(rows):
            if len(r) != width or width == 0:
                raise InputError(
                    path,
                    f"{chunk.lines[i]}",
                    f"header of '{chunk.ids[i]}' has {len(r)} label(s), expected {width or 1}",
                    "write '>ID LABEL' (comma-separate several labels)",
                )
        table = pd.DataFrame(rows)
        info.names = info.names or [f"label{k + 1}" for k in range(width)] if width > 1 else ["label"]
        where = path
    else:
        where = label_table.path if label_table is not None else path
    if table is None or table.shape[1] == 0:
        raise DnacnnError(
            f"{path}: no labels; give --labels FILE, --labels header, --label-col NAME or --label-value V"
        )
    if opts.split == "column" and opts.split_col in table.columns and table is chunk.labels:
        table = table.drop(columns=[opts.split_col])
    if opts.task == "multiclass":
        return _class_labels(table, info)
    values = table.apply(pd.to_numeric, errors="coerce")
    raw = table.astype(str).apply(lambda c: c.str.strip().str.upper())
    na = raw.isin(MISSING)
    bad = values.isna().to_numpy() & ~na.to_numpy()
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        line = (
            chunk.lines[i]
            if where == path
            else f"{label_table.index.get_loc(chunk.ids[i]) + 2}"
            if (label_table is not None and label_table.index is not None)
            else chunk.lines[i]
        )
        raise InputError(
            where,
            f"{line}",
            f"label {table.iat[i, j]!r} of '{chunk.ids[i]}' is not a number",
            "labels must be numeric (0/1 for classes, or use --task multiclass for class names)",
        )
    return values.to_numpy(dtype=np.float32)


def _class_labels(table: pd.DataFrame, info: LabelInfo) -> np.ndarray:
    """Multiclass labels: integer class ids as they are, other names numbered by first appearance,
    a missing label (NA, nan, ., empty) NaN, never a class of its own."""
    col = table.iloc[:, 0].astype(str).str.strip()
    classes = info.classes

    def code(v: str) -> float:
        if v.upper() in MISSING:
            return np.nan
        return int(v) if v.isdigit() else classes.setdefault(v, len(classes))

    return np.asarray([code(v) for v in col], dtype=np.float32)[:, None]


def class_names(info: LabelInfo, labels: np.ndarray) -> list[str]:
    if info.classes:
        return sorted(info.classes, key=info.classes.get)
    return [str(k) for k in range(int(np.nanmax(labels)) + 1)]


def resolve_task(task: str, labels: np.ndarray, path) -> str:
    finite = labels[np.isfinite(labels)]
    if task == "auto":
        return "binary" if np.isin(finite, (0.0, 1.0)).all() else "regression"
    if task == "binary" and not np.isin(finite, (0.0, 1.0)).all():
        bad = finite[~np.isin(finite, (0.0, 1.0))][0]
        raise InputError(path, None, f"binary labels must be 0 or 1, found {bad:g}", "use --task regression")
    return task
