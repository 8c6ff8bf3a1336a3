"""Genomic relationship and distance matrices, accumulated over blocks of markers.

Contract: genotypes ``X`` ``(n, markers)`` (uint8 codes 0/1/2 with 3 = missing, or float dosages
with NaN = missing) are read :data:`CHUNK_VALUES` values at a time (:func:`marker_blocks`), so a
500k-marker panel needs no dense float copy: :func:`marker_means` ``(markers,)``,
:func:`centred_gram` ``Z Z'`` of the mean-centred dosages (a missing value contributes 0),
:func:`genomic_relationship` the VanRaden (2008) GRM, :func:`row_norms` and
:func:`squared_distances` for Gaussian kernels.
"""

from __future__ import annotations

import numpy as np

from dnacnn.codes import GENOTYPE_MISSING
from dnacnn.kernels.inputs import check_genotypes

#: Largest block of float64 values (rows x markers) a kernel pass holds at once: 64 MB.
CHUNK_VALUES = 8_000_000


def marker_means(X: np.ndarray) -> np.ndarray:
    """Mean observed dosage per marker ``(markers,)`` float64 (0 for a marker never observed), one
    block of markers at a time."""
    X = check_genotypes(X)
    out = np.empty(X.shape[1])
    for cols in marker_blocks(X.shape):
        block = X[:, cols]
        missing = _missing(block)
        observed = np.where(missing, 0.0, block.astype(np.float64))
        out[cols] = observed.sum(axis=0) / np.maximum((~missing).sum(axis=0), 1)
    return out


def _missing(block: np.ndarray) -> np.ndarray:
    return np.isnan(block) if block.dtype.kind == "f" else block == GENOTYPE_MISSING


def marker_blocks(shape: tuple[int, int], chunk: int | None = None):
    n, p = shape
    step = chunk or max(1, CHUNK_VALUES // max(n, 1))
    for start in range(0, p, step):
        yield slice(start, min(start + step, p))


def centred(X: np.ndarray, means: np.ndarray, cols: slice) -> np.ndarray:
    """Dosages of the markers ``cols`` minus their training means (a missing value becomes 0), float64."""
    block = X[:, cols].astype(np.float64)
    block -= means[cols]
    block[_missing(X[:, cols])] = 0.0
    return block


def centred_gram(
    X: np.ndarray, means: np.ndarray, other: np.ndarray | None = None, chunk_markers: int | None = None
) -> np.ndarray:
    """``Z Z'`` (``other`` None) or ``Z_other Z'``, with ``Z`` the dosages of ``X`` centred by ``means``
    (missing = mean), accumulated over blocks of ``chunk_markers`` markers.  Shape ``(n_other, n)``."""
    n = X.shape[0]
    rows = n if other is None else other.shape[0]
    gram = np.zeros((rows, n))
    for cols in marker_blocks((max(n, rows), X.shape[1]), chunk_markers):
        Z = centred(X, means, cols)
        gram += (Z if other is None else centred(other, means, cols)) @ Z.T
    return gram


def row_norms(X: np.ndarray, means: np.ndarray, chunk_markers: int | None = None) -> np.ndarray:
    norms = np.zeros(X.shape[0])
    for cols in marker_blocks(X.shape, chunk_markers):
        norms += np.square(centred(X, means, cols)).sum(axis=1)
    return norms


def vanraden_scale(means: np.ndarray) -> float:
    """``2 sum_j p_j (1 - p_j)`` with allele frequency ``p_j = mean dosage / 2`` (VanRaden 2008)."""
    p = np.clip(np.asarray(means, np.float64) / 2.0, 0.0, 1.0)
    return float(2.0 * np.sum(p * (1.0 - p)))


def genomic_relationship(
    X, other=None, means: np.ndarray | None = None, chunk_markers: int | None = None
) -> np.ndarray:
    """VanRaden (2008) genomic relationship matrix of the rows of ``X`` ``(n, n)``, or between the rows
    of ``other`` and those of ``X`` ``(n_other, n)``.  Dosages 0/1/2 (codes with 3 = missing, or floats
    with NaN = missing) are centred by ``means`` (default: the per-marker mean of ``X``; a missing
    value takes it) and ``Z Z'`` is divided by ``2 sum p (1 - p)``."""
    X = check_genotypes(X)
    means = marker_means(X) if means is None else np.asarray(means, np.float64)
    if other is not None:
        other = check_genotypes(other, "other", X.shape[1])
    scale = vanraden_scale(means)
    if scale <= 0:
        raise ValueError("every marker is monomorphic in X: the genomic relationship matrix is undefined")
    return centred_gram(X, means, other, chunk_markers) / scale


def squared_distances(gram: np.ndarray, norms_rows: np.ndarray, norms_cols: np.ndarray) -> np.ndarray:
    """``|x_i - x_j|^2`` from the Gram matrix ``x_i . x_j`` and the squared norms (clipped at 0)."""
    return np.maximum(norms_rows[:, None] + norms_cols[None, :] - 2.0 * gram, 0.0)
