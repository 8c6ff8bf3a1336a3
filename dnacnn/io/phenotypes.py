"""Phenotype tables: trait values per individual, matched to the genotypes by id or by row.

Contract: :func:`read_phenotypes` returns :class:`Phenotypes`, trait values ``(n, t)`` float32
(NaN = missing) with trait names, in genotype order when both files carry ids (rows of
individuals that genotype QC removed are dropped first); a table laid out as
:mod:`dnacnn.io.table_layout` describes.  A trait that does not exist, a value that is not a
number or is infinite (NA is the missing one), or individuals that do not match the genotypes is a one-line
:class:`~dnacnn.errors.InputError` naming the file and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from dnacnn.errors import InputError
from dnacnn.ids import check_ids
from dnacnn.io import check_readable
from dnacnn.io.table_layout import check_field_count, data_lines, parse_number, sniff_layout


@dataclass
class Phenotypes:
    """Trait values ``(n, t)`` float32 (NaN = missing), trait ``names`` (t) and the individual
    ``ids`` (n) when the file has them, else None."""

    values: np.ndarray
    names: list[str]
    ids: list[str] | None


def read_phenotypes(
    path: str | os.PathLike,
    traits: list[str | int] | None = None,
    n_expected: int | None = None,
    genotype_path: str | os.PathLike | None = None,
    genotype_ids: list[str] | None = None,
    header: bool | None = None,
    ids: bool | None = None,
    sep: str | None = None,
    removed_ids: Collection[str] | None = None,
) -> Phenotypes:
    """Read a phenotype table, one individual per line and one trait per column.

    Parameters
    ----------
    path : path
        Text table (plain or gzip); layout rules in :mod:`dnacnn.io.table_layout`.  Values are numbers or a
        missing token (read as NaN).
    traits : list of str or int, optional
        Traits to keep, in this order: a name from the header, a 1-based trait number (``1`` or
        ``"1"``) or ``"traitK"``.  Default: all.
    n_expected : int, optional
        Individuals in the genotype matrix; without id matching the row count must equal it.
    genotype_path : path, optional
        The genotype file, named in mismatch errors.
    genotype_ids : list[str], optional
        Ids from the genotype file; pass them only when that file carried ids
        (``Genotypes.has_ids``).  When both files carry ids the rows are matched by id and
        returned in genotype order; missing or extra ids are an error.
    header, ids, sep :
        Force the layout, as in :func:`dnacnn.io.genotype_matrix.read_genotypes`.
    removed_ids : collection of str, optional
        Individuals that genotype QC removed (``Genotypes.qc.removed_ids``): their rows are
        dropped before the ids are matched.  Needs ids in this file.

    Returns
    -------
    Phenotypes
        ``values`` ``(n, t)`` float32, ``names`` (t), ``ids`` (n) or None.
    """
    path = check_readable(path)
    layout = sniff_layout(path, header, ids, sep)
    t = layout.n_fields - layout.ids
    if t < 1:
        raise InputError(path, str(layout.first_data_line), "no trait columns after the id column", "add traits")
    rows, row_ids, id_lines, row_lines = [], [], [], []
    for lineno, fields in data_lines(path, layout):
        check_field_count(path, layout, lineno, fields)
        row_lines.append(lineno)
        if layout.ids:
            row_ids.append(fields[0])
            id_lines.append(lineno)
        rows.append([parse_number(path, lineno, c + 1, tok) for c, tok in enumerate(fields) if c >= layout.ids])
    check_ids(row_ids, path, id_lines, what="individual")
    with np.errstate(over="ignore"):  # past float32's range becomes inf, refused below
        values = np.array(rows, dtype=np.float32).reshape(len(rows), t)
    names = layout.names or [f"trait{k + 1}" for k in range(t)]
    if traits:
        keep = [_trait_index(path, names, trait) for trait in traits]
        values, names = values[:, keep], [names[k] for k in keep]
    _check_finite(path, values, names, row_ids if layout.ids else None, row_lines)
    genotype_path = genotype_path or "the genotype matrix"
    if removed_ids:
        values, row_ids = _drop_removed(path, layout.ids, values, row_ids, removed_ids, genotype_path)
    if layout.ids and genotype_ids is not None:
        order = _match_ids(path, row_ids, genotype_ids, genotype_path)
        return Phenotypes(values=values[order], names=names, ids=list(genotype_ids))
    if n_expected is None and genotype_ids is not None:
        n_expected = len(genotype_ids)
    if n_expected is not None and len(values) != n_expected:
        raise InputError(
            path,
            None,
            f"{len(values)} phenotype rows but {genotype_path} has {n_expected} individuals",
            "give one row per genotyped individual in the same order, or ids in the first column of both files",
        )
    return Phenotypes(values=values, names=names, ids=row_ids if layout.ids else None)


def _check_finite(path, values: np.ndarray, names: list[str], row_ids: list[str] | None, row_lines) -> None:
    """An infinite trait value (``inf``, ``1e999``, or past float32's range) would train on inf or
    NaN losses: refused, naming the line and individual (NaN/NA is a missing value, kept)."""
    bad = np.isinf(values)
    if not bad.any():
        return
    i, j = map(int, np.argwhere(bad)[0])
    who = f"individual '{row_ids[i]}'" if row_ids is not None else f"individual {i + 1}"
    raise InputError(
        path,
        str(row_lines[i]),
        f"trait '{names[j]}' of {who} is {values[i, j]:g}, not a finite number",
        "give finite trait values (NA for a missing one)",
    )


def _drop_removed(
    path, has_ids: bool, values: np.ndarray, row_ids: list[str], removed_ids: Collection[str], genotype_path
) -> tuple[np.ndarray, list[str]]:
    """``values`` and ``row_ids`` without the rows of individuals genotype QC removed; needs ids."""
    if not has_ids:
        raise InputError(
            path,
            None,
            f"genotype QC removed {len(removed_ids)} individuals of {genotype_path}, so phenotype rows "
            "must be matched by id, and this file has no id column",
            "put individual ids in the first column, or keep every individual (no individual missing-rate filter)",
        )
    removed = set(removed_ids)
    kept_rows = [r for r, i in enumerate(row_ids) if i not in removed]
    if len(kept_rows) < len(row_ids):
        values, row_ids = values[kept_rows], [row_ids[r] for r in kept_rows]
    return values, row_ids


def _trait_index(path, names: list[str], trait: str | int) -> int:
    text = str(trait).strip()
    if text in names:
        return names.index(text)
    match = re.fullmatch(r"(?:trait)?(\d+)", text)
    if match and 1 <= int(match.group(1)) <= len(names):
        return int(match.group(1)) - 1
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    raise InputError(path, None, f"no trait {text!r}", f"choose one of {shown}, or a trait number 1..{len(names)}")


def _match_ids(path, pheno_ids: list[str], genotype_ids: list[str], genotype_path) -> np.ndarray:
    """Row order putting ``pheno_ids`` in genotype order; raises on missing, extra or repeated ids."""
    row_of = {}
    for row, i in enumerate(pheno_ids):
        if row_of.setdefault(i, row) != row:
            raise InputError(path, None, f"individual {i!r} appears more than once", "give each individual one row")
    missing = [g for g in genotype_ids if g not in row_of]
    genotyped = set(genotype_ids)
    extra = [i for i in pheno_ids if i not in genotyped]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} individuals of {genotype_path} have no row here ({_few(missing)})")
        if extra:
            parts.append(f"{len(extra)} ids here are not in {genotype_path} ({_few(extra)})")
        raise InputError(path, None, " and ".join(parts), "give both files the same individuals")
    return np.array([row_of[g] for g in genotype_ids], dtype=np.intp)


def _few(items: list[str], k: int = 3) -> str:
    return ", ".join(items[:k]) + (", ..." if len(items) > k else "")
