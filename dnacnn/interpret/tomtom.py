"""Motif databases and Tomtom matching: JASPAR (offline, pyjaspar) or MEME files, calibrated by decoys.

Contract: matching uses Tomtom (memelite's implementation, complete scores, both strands) against JASPAR
2024 CORE vertebrates, read offline from the SQLite file that ``pyjaspar`` ships, or against any
MEME file, with the semantics of MEME's ``tomtom -dist pearson -min-overlap 5``: see
:func:`tomtom_matches`.  A filter is *matched* (``filters.tsv`` column ``matched``) only when its
best match has q < 0.05 and beats the filter's best match among column-shuffled decoys of the
database; names of unmatched filters are shown as "not significant".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn.codes import DNA_ALPHABET
from dnacnn.errors import DnacnnError
from dnacnn.io.meme import read_meme

DEFAULT_DATABASE = "JASPAR2024"


@dataclass
class MotifDatabase:
    """Target motifs: ``ids``, ``names``, ``families`` (TF family or ``""``), ``ppms`` ``(4, w)``."""

    source: str
    ids: list[str]
    names: list[str]
    families: list[str]
    ppms: list[np.ndarray]


def load_database(
    database: str = DEFAULT_DATABASE, collection: str = "CORE", tax_group: str = "vertebrates", pseudocount: float = 1.0
) -> MotifDatabase:
    """A MEME file path, or a JASPAR release (``JASPAR2024``) read offline through pyjaspar."""
    if Path(database).is_file() or database.lower().endswith((".meme", ".txt")):
        ids, names, ppms = read_meme(database)
        return MotifDatabase(str(database), ids, names, [""] * len(ids), ppms)
    try:
        from pyjaspar import jaspardb
    except ImportError:
        raise DnacnnError(
            "JASPAR matching needs pyjaspar: pip install 'pyjaspar>=3'; or give --database FILE.meme"
        ) from None
    try:
        jdb = jaspardb(release=database)
    except Exception:  # pyjaspar raises plain errors for unknown releases
        raise DnacnnError(
            f"unknown motif database {database!r}; give a JASPAR release (e.g. JASPAR2024) or a MEME file"
        ) from None
    found = jdb.fetch_motifs(collection=collection, tax_group=[tax_group] if tax_group else None)
    if not found:
        raise DnacnnError(f"{database}: no {collection} motifs for tax group {tax_group!r}")
    ppms = []
    for m in found:
        c = np.array([m.counts[b] for b in DNA_ALPHABET], dtype=np.float64)
        ppms.append((c + pseudocount / 4) / (c.sum(axis=0, keepdims=True) + pseudocount))
    return MotifDatabase(
        f"{database} {collection} {tax_group}",
        [m.matrix_id for m in found],
        [m.name for m in found],
        ["; ".join(m.tf_family or []) for m in found],
        ppms,
    )


def pearson_columns(ppm: np.ndarray) -> np.ndarray:
    """Each column centred and scaled to unit length, then mapped to ``[0, 1]`` as ``(z + 1) / 2``.

    The squared Euclidean distance of two such columns is ``(1 - r) / 2``, with ``r`` the Pearson
    correlation of the original columns, so memelite's Euclidean Tomtom on them ranks column pairs
    by Tomtom's default ``-dist pearson``.  A uniform column (no variance) becomes all ``0.5``,
    equally far from everything: it neither matches nor mismatches anything, where under plain
    Euclidean distance near-uniform columns sit close to every low-information column (which is
    what made long, GC-rich, low-information targets such as JASPAR's extended CTCF matrices the
    best hit of almost any short query).
    """
    z = np.asarray(ppm, np.float64)
    z = z - z.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(z, axis=0, keepdims=True)
    z = np.divide(z, norm, out=np.zeros_like(z), where=norm > 1e-9)
    return (z + 1.0) / 2.0


def shuffled_columns(ppms: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Decoys: every matrix with its columns in a random (seeded) order.  They keep each target's
    width, information content and the database's pool of columns (so Tomtom's column null is the
    same with or without them) but none of the real motifs' column order."""
    rng = np.random.default_rng(seed)
    return [p[:, rng.permutation(p.shape[1])] for p in ppms]


def offset_corrected(p: np.ndarray, n_offsets: np.ndarray) -> np.ndarray:
    """Sidak correction of the best offset's p-value for the offsets it was chosen from:
    ``1 - (1 - p) ** n_offsets``, computed without cancellation for tiny ``p``."""
    p = np.clip(np.asarray(p, np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(p >= 1.0, 1.0, -np.expm1(n_offsets * np.log1p(-p)))


MATCH_COLUMNS = [
    "query",
    "rank",
    "target_id",
    "target_name",
    "target_family",
    "p_value",
    "e_value",
    "q_value",
    "offset",
    "overlap",
    "strand",
    "decoy_p_value",
]


def tomtom_matches(
    names: list[str],
    ppms: list[np.ndarray],
    db: MotifDatabase,
    top: int = 5,
    threads: int | None = None,
    min_overlap: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Tomtom p-values of each query against every target; the ``top`` best per query.

    Semantics (MEME's Tomtom with ``-dist pearson -min-overlap 5``, complete scores, both
    strands): column similarity is the Pearson correlation (:func:`pearson_columns`); each query
    column's null distribution is its score against every column of the database; the best
    offset's p-value is corrected for the number of offsets tried (:func:`offset_corrected`), so a
    long target is not favoured for offering more of them; an alignment overlapping fewer than
    ``min(min_overlap, query width, target width)`` columns is no match (p = 1).  q-values are
    Benjamini-Hochberg over each query's p-values against all targets; E = p x targets.

    Every query is also compared with a column-shuffled copy of the database
    (:func:`shuffled_columns`); ``decoy_p_value`` is its best p-value there.  A match is
    *calibrated* (:func:`calibrated`) when its q-value is below 0.05 and its p-value below that.

    Returns a frame with :data:`MATCH_COLUMNS`, sorted by query then p-value.
    """
    from memelite import tomtom

    if not ppms:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    threads = threads or min(os.cpu_count() or 1, 4)
    n_targets = len(db.ppms)
    targets = db.ppms + shuffled_columns(db.ppms, seed)
    Q = [pearson_columns(p) for p in ppms]
    T = [pearson_columns(p) for p in targets]
    raw, _, offsets, overlaps, strands = tomtom(Q, T, n_jobs=threads)[:5]
    q_width = np.array([q.shape[1] for q in Q])[:, None]
    t_width = np.array([t.shape[1] for t in T])[None, :]
    p = offset_corrected(raw, q_width + t_width - 1)
    p[overlaps < np.minimum(min_overlap, np.minimum(q_width, t_width))] = 1.0
    real, decoy = p[:, :n_targets], p[:, n_targets:]
    rows = []
    for i, name in enumerate(names):
        q = bh_qvalues(real[i])
        decoy_best = float(decoy[i].min())
        for rank, j in enumerate(np.argsort(real[i], kind="stable")[:top], 1):
            rows.append(
                (
                    name,
                    rank,
                    db.ids[j],
                    db.names[j],
                    db.families[j],
                    float(real[i, j]),
                    float(real[i, j]) * n_targets,
                    float(q[j]),
                    int(offsets[i, j]),
                    int(overlaps[i, j]),
                    "+-"[int(strands[i, j])],
                    decoy_best,
                )
            )
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def calibrated(q_value, p_value, decoy_p_value, alpha: float = 0.05):
    """A match to report as a name: q < ``alpha`` and better than the query's best match among
    column-shuffled targets (works on scalars and pandas columns)."""
    return (q_value < alpha) & (p_value < decoy_p_value)


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of one set of p-values (monotone, capped at 1)."""
    p = np.asarray(p, np.float64)
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def with_best_match(table: pd.DataFrame, key: str, matches: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its best database match (``best_*`` columns) and ``matched`` per ``key``."""
    best = matches[matches["rank"] == 1].set_index("query")
    for col in MATCH_COLUMNS[2:]:
        table[f"best_{col.removeprefix('target_')}"] = table[key].map(best[col])
    table["matched"] = calibrated(table.best_q_value, table.best_p_value, table.best_decoy_p_value)
    return table
