"""Default search grids of the kernel models and the checks of their inputs.

Contract: the grids (:data:`DEFAULT_BANDWIDTHS`, :data:`AVERAGE_BANDWIDTHS`,
:data:`MULTI_BANDWIDTHS`, :data:`DEFAULT_PENALTIES`) and :data:`SELECTIONS` are what
:mod:`dnacnn.kernels` models search by default; :func:`check_genotypes`, :func:`check_labels`,
:func:`check_grid` and :func:`check_options` return validated arrays or raise one
:class:`ValueError` naming the argument and what is wrong.  numpy only.
"""

from __future__ import annotations

import numpy as np

from dnacnn.codes import GENOTYPE_MISSING

#: Gaussian bandwidths ``h`` relative to the mean squared distance (``K = exp(-d / h)``, ``d`` scaled
#: to mean 1): from very local (0.1: a line is close only to near-copies) to nearly linear (5).
DEFAULT_BANDWIDTHS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


#: Bandwidths averaged by ``RKHS(average=True)``: a local, a medium and a broad kernel.
AVERAGE_BANDWIDTHS = (0.2, 1.0, 5.0)


#: Kernels of :class:`KernelAverage`: Gaussian kernels of these bandwidths plus the GRM (``linear``).
MULTI_BANDWIDTHS = (0.2, 1.0, 5.0)


#: Candidate variance ratios ``delta = sigma_e^2 / sigma_g^2`` (kernels are scaled to mean diagonal 1,
#: so ``1 / (1 + delta)`` is roughly the fraction of the variance the kernel explains).
DEFAULT_PENALTIES = tuple(np.logspace(-3, 2, 26))


SELECTIONS = ("cv", "loo", "reml")


def check_genotypes(X, name: str = "X", markers: int | None = None) -> np.ndarray:
    """A 2-D genotype array: integer codes 0..3 (3 = missing) or finite float dosages with NaN = missing."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (individuals, markers); got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    if markers is not None and X.shape[1] != markers:
        raise ValueError(f"{name} has {X.shape[1]:,} markers; the model was fitted on {markers:,}")
    if X.dtype == bool:
        X = X.astype(np.uint8)
    if X.dtype.kind in "iu":
        low, high = int(X.min()), int(X.max())
        if low < 0 or high > GENOTYPE_MISSING:
            raise ValueError(
                f"{name}: integer genotype codes must be 0, 1, 2 (dosage) or 3 (missing); found values {low}..{high}"
            )
    elif X.dtype.kind == "f":
        if np.isinf(X).any():
            raise ValueError(f"{name} holds infinite values; use NaN for a missing dosage")
    else:
        raise ValueError(f"{name} must hold numbers (uint8 codes or float dosages); got dtype {X.dtype}")
    return X


def check_labels(y, n: int) -> tuple[np.ndarray, bool]:
    """Labels as float64 ``(n, tasks)`` and whether they came as 1-D."""
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must be numeric (NaN = missing)") from None
    one_d = y.ndim == 1
    if one_d:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"y must have shape (n,) or (n, tasks); got {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]:,} rows but X has {n:,}")
    if np.isinf(y).any():
        raise ValueError("y holds infinite values; use NaN for a missing label")
    for t in range(y.shape[1]):
        labelled = int(np.sum(~np.isnan(y[:, t])))
        if labelled < 3:
            raise ValueError(f"task {t} has {labelled} labelled rows; a kernel model needs at least 3")
    return y, one_d


def check_grid(values, name: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must all be positive and finite; got {values.tolist()}")
    return np.unique(values)


def check_options(select: str, n_folds: int) -> None:
    if select not in SELECTIONS:
        raise ValueError(f"unknown select {select!r}; use one of {', '.join(SELECTIONS)}")
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2; got {n_folds!r}")
