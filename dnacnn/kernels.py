"""Kernel genomic prediction: GBLUP, Gaussian-kernel RKHS and kernel averaging (numpy / scipy only).

The classical references a breeder compares a network against:

- :class:`GBLUP`: the genomic BLUP of VanRaden (2008).  The genomic relationship matrix is
  ``G = Z Z' / (2 sum_j p_j (1 - p_j))`` where ``Z`` holds the 0/1/2 dosages centred by twice the
  allele frequency ``p_j`` of the training rows (a missing dosage takes its marker's training mean,
  so it contributes 0 to ``Z``).  The variance ratio ``delta = sigma_e^2 / sigma_g^2`` is chosen by
  REML (default) or by inner cross-validation on the training rows.  GBLUP is RR-BLUP in another
  basis: its predictions equal a ridge regression on the centred dosages with penalty
  ``delta * 2 sum_j p_j (1 - p_j)`` (:attr:`GBLUP.ridge_alpha_`), and it predicts new rows through
  the marker effects :attr:`GBLUP.marker_effects_` without keeping the training genotypes.
  (:func:`dnacnn.baselines.ridge` is the RidgeCV flavour of RR-BLUP, penalty by leave-one-out.)
- :class:`RKHS`: kernel regression with the Gaussian kernel ``K_ij = exp(-d_ij / h)`` on the scaled
  squared Euclidean distance ``d_ij = |x_i - x_j|^2 / mean_{k != l} |x_k - x_l|^2`` between dosage
  rows (de los Campos et al. 2010; Crossa et al. 2010), the bandwidth ``h`` and the penalty
  ``delta`` chosen on the training rows only: by inner k-fold CV (default), exact leave-one-out, or
  REML.  ``average=True`` fits one kernel, the mean of the Gaussian kernels of all ``bandwidths``
  ("kernel averaging" with equal weights), and chooses only ``delta``.
- :class:`KernelAverage`: kernel averaging as de los Campos et al. (2010) fit it, one variance
  component per kernel (Gaussian kernels of a local, a medium and a broad bandwidth, and the GRM),
  all estimated by REML on the training rows, so the data decide how additive or local the model is.

Every model is the mixed model ``y = 1 mu + g + e``, ``g ~ N(0, sigma_g^2 K)``, ``e ~ N(0, sigma_e^2 I)``,
solved through one eigendecomposition of the training kernel: ``mu`` is the GLS mean and the
prediction of any row ``x`` is ``mu + k(x, train) alpha`` with ``alpha = (K + delta I)^-1 (y - 1 mu)``.
All grids are searched exhaustively (then refined where continuous), folds come from ``seed``: a fit
is deterministic.

Inputs follow :mod:`dnacnn.baselines`: genotypes ``(n, markers)`` as uint8 codes 0/1/2 with 3 =
missing, or float dosages with NaN = missing; labels ``(n,)`` or ``(n, tasks)`` with NaN = missing
(a task is fitted on its labelled rows; predictions have the shape of the labels).  Kernels are
accumulated over blocks of markers (``chunk_markers``), so 500k markers need no dense float copy of
the genotype matrix: memory is a few ``n x n`` matrices plus one ``n x chunk`` block.  Costs: one
pass over the markers to build the kernel, then ``O(n^3)`` per eigendecomposition (GBLUP: one; RKHS
with k-fold CV: ``k + 1`` per bandwidth; with ``select="loo"`` or ``"reml"``: one per bandwidth;
KernelAverage: one Cholesky factorisation per likelihood evaluation, a few hundred).  On CIMMYT wheat
(599 lines x 1,279 markers) a fit takes 0.1-2 s on one core (``RKHS`` with 5-fold CV: ~5 s).
RKHS and KernelAverage keep the training genotypes (as given: 1 byte per uint8 code) to predict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GENOTYPE_MISSING = 3  # as dnacnn.encoding.GENOTYPE_MISSING (not imported: this module needs no torch)

#: Gaussian bandwidths ``h`` relative to the mean squared distance (``K = exp(-d / h)``, ``d`` scaled
#: to mean 1): from very local (0.1: a line is close only to near-copies) to nearly linear (5).
DEFAULT_BANDWIDTHS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
#: Bandwidths averaged by ``RKHS(average=True)``: a local, a medium and a broad kernel.
AVERAGE_BANDWIDTHS = (0.2, 1.0, 5.0)
#: Candidate variance ratios ``delta = sigma_e^2 / sigma_g^2`` (kernels are scaled to mean diagonal 1,
#: so ``1 / (1 + delta)`` is roughly the fraction of the variance the kernel explains).
DEFAULT_PENALTIES = tuple(np.logspace(-3, 2, 26))
#: Largest block of float64 values (rows x markers) a kernel pass holds at once: 64 MB.
CHUNK_VALUES = 8_000_000

SELECTIONS = ("cv", "loo", "reml")


# --------------------------------------------------------------------------- input checks


def _check_genotypes(X, name: str = "X", markers: int | None = None) -> np.ndarray:
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


def _check_labels(y, n: int) -> tuple[np.ndarray, bool]:
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


def _check_grid(values, name: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must all be positive and finite; got {values.tolist()}")
    return np.unique(values)


def _check_options(select: str, n_folds: int) -> None:
    if select not in SELECTIONS:
        raise ValueError(f"unknown select {select!r}; use one of {', '.join(SELECTIONS)}")
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2; got {n_folds!r}")


# --------------------------------------------------------------------------- genotype blocks


def marker_means(X: np.ndarray) -> np.ndarray:
    """Mean observed dosage per marker ``(markers,)`` float64 (0 for a marker never observed), one
    block of markers at a time."""
    X = _check_genotypes(X)
    out = np.empty(X.shape[1])
    for cols in _marker_blocks(X.shape):
        block = X[:, cols]
        missing = _missing(block)
        observed = np.where(missing, 0.0, block.astype(np.float64))
        out[cols] = observed.sum(axis=0) / np.maximum((~missing).sum(axis=0), 1)
    return out


def _missing(block: np.ndarray) -> np.ndarray:
    return np.isnan(block) if block.dtype.kind == "f" else block == GENOTYPE_MISSING


def _marker_blocks(shape: tuple[int, int], chunk: int | None = None):
    n, p = shape
    step = chunk or max(1, CHUNK_VALUES // max(n, 1))
    for start in range(0, p, step):
        yield slice(start, min(start + step, p))


def _centred(X: np.ndarray, means: np.ndarray, cols: slice) -> np.ndarray:
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
    for cols in _marker_blocks((max(n, rows), X.shape[1]), chunk_markers):
        Z = _centred(X, means, cols)
        gram += (Z if other is None else _centred(other, means, cols)) @ Z.T
    return gram


def _row_norms(X: np.ndarray, means: np.ndarray, chunk_markers: int | None = None) -> np.ndarray:
    norms = np.zeros(X.shape[0])
    for cols in _marker_blocks(X.shape, chunk_markers):
        norms += np.square(_centred(X, means, cols)).sum(axis=1)
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
    X = _check_genotypes(X)
    means = marker_means(X) if means is None else np.asarray(means, np.float64)
    if other is not None:
        other = _check_genotypes(other, "other", X.shape[1])
    scale = vanraden_scale(means)
    if scale <= 0:
        raise ValueError("every marker is monomorphic in X: the genomic relationship matrix is undefined")
    return centred_gram(X, means, other, chunk_markers) / scale


def squared_distances(gram: np.ndarray, norms_rows: np.ndarray, norms_cols: np.ndarray) -> np.ndarray:
    """``|x_i - x_j|^2`` from the Gram matrix ``x_i . x_j`` and the squared norms (clipped at 0)."""
    return np.maximum(norms_rows[:, None] + norms_cols[None, :] - 2.0 * gram, 0.0)


# --------------------------------------------------------------------------- mixed-model solver


@dataclass
class _Eigen:
    """Eigendecomposition of a training kernel ``K = U diag(s) U'`` and the projections of 1 and y."""

    s: np.ndarray
    U: np.ndarray
    u1: np.ndarray  # U' 1
    uy: np.ndarray  # U' y

    @classmethod
    def of(cls, K: np.ndarray, y: np.ndarray) -> _Eigen:
        s, U = np.linalg.eigh(K)
        s = np.maximum(s, 0.0)  # a kernel is PSD; round-off only
        return cls(s, U, U.T @ np.ones(len(y)), U.T @ y)

    def coefficients(self, deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """GLS means ``mu (L,)`` and dual coefficients ``alpha (n, L)`` for each ratio in ``deltas``."""
        inv = 1.0 / (self.s[:, None] + deltas[None, :])  # (n, L)
        mu = (self.u1 * self.uy) @ inv / (self.u1**2 @ inv)
        alpha = self.U @ ((self.uy[:, None] - self.u1[:, None] * mu[None, :]) * inv)
        return mu, alpha

    def reml(self, delta: float) -> float:
        """Profile restricted log-likelihood (up to a constant) at ``delta``; intercept as the fixed effect."""
        n = len(self.s)
        inv = 1.0 / (self.s + delta)
        one = float(self.u1**2 @ inv)
        mu = float((self.u1 * self.uy) @ inv) / one
        quad = float((self.uy - mu * self.u1) ** 2 @ inv)
        if quad <= 0:
            return -np.inf
        return -0.5 * ((n - 1) * np.log(quad / (n - 1)) + np.sum(np.log(self.s + delta)) + np.log(one) + (n - 1))

    def loo_mse(self, deltas: np.ndarray) -> np.ndarray:
        """Exact leave-one-out mean squared error for each ratio (the GLS mean refitted too)."""
        out = np.empty(len(deltas))
        U2 = self.U**2
        for i, delta in enumerate(deltas):
            inv = 1.0 / (self.s + delta)
            one = float(self.u1**2 @ inv)
            h1 = self.U @ (self.u1 * inv)  # H^-1 1
            mu = float((self.u1 * self.uy) @ inv) / one
            alpha = self.U @ ((self.uy - mu * self.u1) * inv)  # P y
            p_diag = U2 @ inv - h1**2 / one
            out[i] = float(np.mean((alpha / p_diag) ** 2))
        return out


def _reml_delta(eig: _Eigen, grid: np.ndarray) -> float:
    """The variance ratio maximising REML: the best point of ``grid`` refined on log scale between its
    neighbours (bounded Brent)."""
    from scipy.optimize import minimize_scalar

    values = np.array([eig.reml(d) for d in grid])
    best = int(np.argmax(values))
    logs = np.log(grid)
    lo = logs[max(best - 1, 0)]
    hi = logs[min(best + 1, len(grid) - 1)]
    if hi <= lo:
        return float(grid[best])
    res = minimize_scalar(lambda t: -eig.reml(float(np.exp(t))), bounds=(lo, hi), method="bounded")
    return float(np.exp(res.x)) if -res.fun >= values[best] else float(grid[best])


def _inner_folds(n: int, n_folds: int, seed: int) -> list[np.ndarray]:
    if n_folds > n:
        raise ValueError(f"n_folds={n_folds} is more than the {n} labelled training rows")
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(order[k::n_folds]) for k in range(n_folds)]


def _cv_mse(K: np.ndarray, y: np.ndarray, deltas: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
    """k-fold CV mean squared error of the kernel model for every ratio in ``deltas``."""
    sq = np.zeros(len(deltas))
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test, assume_unique=True)
        eig = _Eigen.of(K[np.ix_(train, train)], y[train])
        mu, alpha = eig.coefficients(deltas)
        pred = mu[None, :] + K[np.ix_(test, train)] @ alpha  # (n_test, L)
        sq += np.sum((pred - y[test, None]) ** 2, axis=0)
    return sq / len(y)


def _select(
    K: np.ndarray, y: np.ndarray, deltas: np.ndarray, select: str, folds: list[np.ndarray] | None
) -> tuple[float, float]:
    """``(delta, score)`` for one kernel: lower is better (MSE for cv/loo, minus REML)."""
    if select == "reml":
        eig = _Eigen.of(K, y)
        delta = _reml_delta(eig, deltas)
        return delta, -eig.reml(delta)
    mse = _cv_mse(K, y, deltas, folds) if select == "cv" else _Eigen.of(K, y).loo_mse(deltas)
    best = int(np.argmin(mse))
    return float(deltas[best]), float(mse[best])


# --------------------------------------------------------------------------- GBLUP


class GBLUP:
    """Genomic BLUP with the VanRaden (2008) relationship matrix.

    Parameters
    ----------
    select : str
        How the variance ratio ``delta = sigma_e^2 / sigma_g^2`` is chosen on the training rows:
        ``reml`` (default; maximised over ``penalties`` then refined), ``cv`` (inner k-fold MSE over
        ``penalties``) or ``loo`` (exact leave-one-out MSE over ``penalties``).
    penalties : sequence of float
        Candidate ratios (for ``reml``: the search range).
    n_folds, seed : int
        Inner folds (``select="cv"``) and the seed of their random assignment.
    chunk_markers : int, optional
        Markers per block when building the kernel (default: blocks of about 64 MB).

    Attributes (after :meth:`fit`)
    ------------------------------
    marker_means_ : (markers,) training mean dosage (= 2 p), also the value of a missing genotype.
    scale_ : float, ``2 sum p (1 - p)``.
    delta_ : (tasks,) chosen variance ratios.  ``ridge_alpha_`` = ``delta_ * scale_``: the ridge penalty
        on centred dosages giving the same predictions.
    heritability_ : (tasks,) ``1 / (1 + delta)`` scaled by the mean diagonal of G (genomic h2).
    intercept_ : (tasks,) GLS means.
    marker_effects_ : (markers, tasks) effects of the centred dosages (RR-BLUP solution).
    """

    def __init__(
        self,
        select: str = "reml",
        penalties: Sequence[float] = DEFAULT_PENALTIES,
        n_folds: int = 5,
        seed: int = 0,
        chunk_markers: int | None = None,
    ) -> None:
        _check_options(select, n_folds)
        self.select = select
        self.penalties = _check_grid(penalties, "penalties")
        self.n_folds = n_folds
        self.seed = seed
        self.chunk_markers = chunk_markers

    def fit(self, X, y) -> GBLUP:
        X = _check_genotypes(X)
        y, self._one_d = _check_labels(y, X.shape[0])
        self.marker_means_ = marker_means(X)
        self.scale_ = vanraden_scale(self.marker_means_)
        if self.scale_ <= 0:
            raise ValueError("no marker varies across the training rows (all monomorphic): GBLUP has nothing to fit")
        G = centred_gram(X, self.marker_means_, chunk_markers=self.chunk_markers) / self.scale_
        if not np.any(np.diag(G) > 0):
            raise ValueError("no marker varies across the training rows: GBLUP has nothing to fit")
        tasks = y.shape[1]
        self.delta_ = np.empty(tasks)
        self.intercept_ = np.empty(tasks)
        alpha = np.zeros((X.shape[0], tasks))
        for t in range(tasks):
            rows = np.flatnonzero(~np.isnan(y[:, t]))
            Kt, yt = G[np.ix_(rows, rows)], y[rows, t]
            folds = _inner_folds(len(rows), self.n_folds, self.seed) if self.select == "cv" else None
            self.delta_[t], _ = _select(Kt, yt, self.penalties, self.select, folds)
            mu, a = _Eigen.of(Kt, yt).coefficients(np.array([self.delta_[t]]))
            self.intercept_[t], alpha[rows, t] = mu[0], a[:, 0]
        self.ridge_alpha_ = self.delta_ * self.scale_
        self.heritability_ = np.mean(np.diag(G)) / (np.mean(np.diag(G)) + self.delta_)
        # g = G alpha = Z (Z' alpha / scale): the marker effects serve any new row
        self.marker_effects_ = np.zeros((X.shape[1], tasks))
        for cols in _marker_blocks(X.shape, self.chunk_markers):
            self.marker_effects_[cols] = _centred(X, self.marker_means_, cols).T @ alpha / self.scale_
        self._train_fitted = None
        return self

    def predict(self, X) -> np.ndarray:
        """Genomic values ``mu + Z b`` of the rows of ``X``: ``(n,)`` or ``(n, tasks)`` like the labels."""
        self._check_fitted()
        X = _check_genotypes(X, markers=len(self.marker_means_))
        out = np.tile(self.intercept_, (X.shape[0], 1))
        for cols in _marker_blocks(X.shape, self.chunk_markers):
            out += _centred(X, self.marker_means_, cols) @ self.marker_effects_[cols]
        return out[:, 0] if self._one_d else out

    def _check_fitted(self) -> None:
        if not hasattr(self, "marker_effects_"):
            raise ValueError("this GBLUP is not fitted yet; call fit(X, y) first")


# --------------------------------------------------------------------------- RKHS


class _ScaledDistances:
    """Gaussian-kernel bookkeeping shared by :class:`RKHS` and :class:`KernelAverage`: squared
    Euclidean distances between centred genotype rows, scaled by their mean over distinct training
    pairs so that bandwidths mean the same on any marker set."""

    chunk_markers: int | None

    def _training_distances(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centred Gram and scaled distances of the training rows; keeps what queries need (but
        ``train_X_``, which ``fit`` sets once it has succeeded)."""
        n = X.shape[0]
        self.marker_means_ = marker_means(X)
        gram = centred_gram(X, self.marker_means_, chunk_markers=self.chunk_markers)
        self._train_norms = np.diag(gram).copy()
        d = squared_distances(gram, self._train_norms, self._train_norms)
        off = d.sum() / max(n * (n - 1), 1)
        if not off > 0:
            raise ValueError("no marker varies across the training rows: the Gaussian kernel is constant")
        self.distance_scale_ = float(off)
        d /= off
        return gram, d

    def _query_distances(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cross Gram ``(n, n_train)`` and scaled distances of new rows to the training rows."""
        X = _check_genotypes(X, markers=len(self.marker_means_))
        gram = centred_gram(self.train_X_, self.marker_means_, X, self.chunk_markers)
        norms = _row_norms(X, self.marker_means_, self.chunk_markers)
        return gram, squared_distances(gram, norms, self._train_norms) / self.distance_scale_


class RKHS(_ScaledDistances):
    """Gaussian-kernel RKHS regression (reproducing kernel Hilbert space; de los Campos et al. 2010).

    ``K_ij = exp(-d_ij / h)`` with ``d_ij`` the squared Euclidean distance between the dosage rows
    (missing = training marker mean) divided by its mean over distinct training pairs, so ``h`` is on
    the same scale for any marker panel.  The bandwidth ``h`` (from ``bandwidths``) and the variance
    ratio ``delta`` (from ``penalties``) are chosen jointly on the training rows only.

    Parameters
    ----------
    bandwidths : sequence of float
        Candidate ``h`` (``average=False``) or the kernels averaged (``average=True``).
    penalties : sequence of float
        Candidate ``delta = sigma_e^2 / sigma_g^2`` (for ``reml``: the search range).
    average : bool
        Kernel averaging: one kernel, the mean of the Gaussian kernels of all ``bandwidths``
        (default then :data:`AVERAGE_BANDWIDTHS`); only ``delta`` is chosen.
    select : str
        ``cv`` (default: inner ``n_folds``-fold CV mean squared error), ``loo`` (exact leave-one-out MSE,
        one eigendecomposition per bandwidth) or ``reml`` (restricted likelihood).
    n_folds, seed : int
        Inner folds and the seed of their assignment (the same folds for every candidate).
    chunk_markers : int, optional
        Markers per block when computing distances.

    Attributes (after :meth:`fit`)
    ------------------------------
    bandwidth_ : (tasks,) chosen ``h`` (NaN with ``average=True``).
    delta_ : (tasks,) chosen variance ratios.
    distance_scale_ : float, mean squared distance between distinct training rows.
    intercept_ : (tasks,); alpha_ : (n_train, tasks) dual coefficients (0 for an unlabelled row).
    scores_ : list per task of dict ``h -> (delta, score)`` (score: CV/LOO MSE or minus REML).
    train_X_ : the training genotypes (kept: a prediction needs the distances to them).
    """

    def __init__(
        self,
        bandwidths: Sequence[float] | None = None,
        penalties: Sequence[float] = DEFAULT_PENALTIES,
        average: bool = False,
        select: str = "cv",
        n_folds: int = 5,
        seed: int = 0,
        chunk_markers: int | None = None,
    ) -> None:
        _check_options(select, n_folds)
        if bandwidths is None:
            bandwidths = AVERAGE_BANDWIDTHS if average else DEFAULT_BANDWIDTHS
        self.bandwidths = _check_grid(bandwidths, "bandwidths")
        self.penalties = _check_grid(penalties, "penalties")
        self.average = bool(average)
        self.select = select
        self.n_folds = n_folds
        self.seed = seed
        self.chunk_markers = chunk_markers

    # kernels -----------------------------------------------------------------
    def _kernel(self, d: np.ndarray, h: float | None) -> np.ndarray:
        if h is None or np.isnan(h):  # kernel average
            return np.mean([np.exp(-d / b) for b in self.bandwidths], axis=0)
        return np.exp(-d / h)

    def _candidates(self) -> list[float | None]:
        """Bandwidths to compare; ``None`` is the kernel average."""
        return [None] if self.average else [float(h) for h in self.bandwidths]

    def fit(self, X, y) -> RKHS:
        X = _check_genotypes(X)
        y, self._one_d = _check_labels(y, X.shape[0])
        n = X.shape[0]
        gram, d = self._training_distances(X)
        del gram
        tasks = y.shape[1]
        self.bandwidth_ = np.empty(tasks)
        self.delta_ = np.empty(tasks)
        self.intercept_ = np.empty(tasks)
        self.alpha_ = np.zeros((n, tasks))
        self.scores_ = [dict() for _ in range(tasks)]
        labelled = [np.flatnonzero(~np.isnan(y[:, t])) for t in range(tasks)]
        folds = [_inner_folds(len(r), self.n_folds, self.seed) if self.select == "cv" else None for r in labelled]
        # one kernel in memory at a time: candidates outside, tasks inside
        for h in self._candidates():
            K = self._kernel(d, h)
            for t, rows in enumerate(labelled):
                self.scores_[t][h] = _select(K[np.ix_(rows, rows)], y[rows, t], self.penalties, self.select, folds[t])
        for t, rows in enumerate(labelled):
            # the best score; ties go to the first candidate (smallest bandwidth) for determinism
            h = min(self.scores_[t], key=lambda c, t=t: self.scores_[t][c][1])
            delta = self.scores_[t][h][0]
            K = self._kernel(d, h)[np.ix_(rows, rows)]
            mu, a = _Eigen.of(K, y[rows, t]).coefficients(np.array([delta]))
            self.bandwidth_[t] = np.nan if h is None else h
            self.delta_[t], self.intercept_[t] = delta, mu[0]
            self.alpha_[rows, t] = a[:, 0]
        self.train_X_ = np.array(X, copy=True)
        return self

    def distances(self, X) -> np.ndarray:
        """Scaled squared distances ``(n, n_train)`` of the rows of ``X`` to the training rows."""
        self._check_fitted()
        return self._query_distances(X)[1]

    def predict(self, X) -> np.ndarray:
        """``mu + K(X, train) alpha``: ``(n,)`` or ``(n, tasks)`` like the labels."""
        d = self.distances(X)
        out = np.empty((d.shape[0], len(self.delta_)))
        for h in [None] if self.average else np.unique(self.bandwidth_):
            tasks = np.arange(len(self.delta_)) if h is None else np.flatnonzero(self.bandwidth_ == h)
            out[:, tasks] = self.intercept_[tasks] + self._kernel(d, h) @ self.alpha_[:, tasks]
        return out[:, 0] if self._one_d else out

    def _check_fitted(self) -> None:
        if not hasattr(self, "alpha_"):
            raise ValueError("this RKHS is not fitted yet; call fit(X, y) first")


# --------------------------------------------------------------------------- multi-kernel (REML weights)

#: Kernels of :class:`KernelAverage`: Gaussian kernels of these bandwidths plus the GRM (``linear``).
MULTI_BANDWIDTHS = (0.2, 1.0, 5.0)


def _multi_reml(log_ratios: np.ndarray, kernels: list[np.ndarray], y: np.ndarray) -> float:
    """Minus twice the profile restricted log-likelihood (up to a constant) of
    ``y = 1 mu + sum_k g_k + e``, ``g_k ~ N(0, sigma_e^2 exp(t_k) K_k)``, at ``t = log_ratios``."""
    from scipy.linalg import cho_factor, cho_solve

    n = len(y)
    H = np.eye(n)
    for t, K in zip(log_ratios, kernels, strict=True):
        H += np.exp(t) * K
    try:
        factor = cho_factor(H, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return np.inf
    solved = cho_solve(factor, np.stack([y, np.ones(n)], axis=1), check_finite=False)
    one = float(solved[:, 1].sum())
    quad = float(y @ solved[:, 0]) - float(y @ solved[:, 1]) ** 2 / one
    if not (quad > 0 and one > 0):
        return np.inf
    logdet = 2.0 * float(np.sum(np.log(np.diag(factor[0]))))
    return (n - 1) * np.log(quad / (n - 1)) + logdet + np.log(one)


class KernelAverage(_ScaledDistances):
    """Kernel averaging with variance components by REML (de los Campos et al. 2010; Crossa et al. 2010).

    ``y = 1 mu + sum_k g_k + e`` with ``g_k ~ N(0, sigma_k^2 K_k)``: the Gaussian kernels
    ``exp(-d / h)`` of :attr:`bandwidths` (``d`` the scaled squared distance of :class:`RKHS`) and, with
    ``linear=True``, the VanRaden GRM scaled to mean diagonal 1.  The variance ratios
    ``sigma_k^2 / sigma_e^2`` are estimated jointly by REML on the training rows (L-BFGS over their
    logarithms from the best equal-weight start), so the data choose how local the model is; the
    fit is the kernel ridge regression on ``sum_k (sigma_k^2 / sigma_e^2) K_k`` with penalty 1.
    Cost: one Cholesky factorisation of an ``n x n`` matrix per likelihood evaluation (a few hundred
    in all).

    Attributes (after :meth:`fit`)
    ------------------------------
    weights_ : (tasks, kernels) each kernel's share of the genetic variance (rows sum to 1); the
        columns follow :attr:`kernel_names`.
    delta_ : (tasks,) ``sigma_e^2 / sum_k sigma_k^2``.
    intercept_, alpha_ : as :class:`RKHS`; the prediction is ``mu + sum_k w_k K_k(x, train) alpha / delta``.
    """

    def __init__(
        self,
        bandwidths: Sequence[float] = MULTI_BANDWIDTHS,
        linear: bool = True,
        penalties: Sequence[float] = DEFAULT_PENALTIES,
        chunk_markers: int | None = None,
    ) -> None:
        self.bandwidths = _check_grid(bandwidths, "bandwidths")
        self.linear = bool(linear)
        self.penalties = _check_grid(penalties, "penalties")
        self.chunk_markers = chunk_markers

    @property
    def kernel_names(self) -> list[str]:
        return [f"gaussian h={h:g}" for h in self.bandwidths] + (["GRM"] if self.linear else [])

    def _kernels(self, gram: np.ndarray, d: np.ndarray) -> list[np.ndarray]:
        out = [np.exp(-d / h) for h in self.bandwidths]
        if self.linear:
            out.append(gram / self.gram_scale_)
        return out

    def fit(self, X, y) -> KernelAverage:
        from scipy.optimize import minimize

        X = _check_genotypes(X)
        y, self._one_d = _check_labels(y, X.shape[0])
        n = X.shape[0]
        gram, d = self._training_distances(X)
        self.gram_scale_ = float(np.mean(self._train_norms))
        kernels = self._kernels(gram, d)
        del gram, d
        m, tasks = len(kernels), y.shape[1]
        self.weights_ = np.empty((tasks, m))
        self.delta_ = np.empty(tasks)
        self.intercept_ = np.empty(tasks)
        self.alpha_ = np.zeros((n, tasks))
        bounds = [(float(np.log(1 / self.penalties.max())) - np.log(m), float(np.log(1 / self.penalties.min())))] * m
        for t in range(tasks):
            rows = np.flatnonzero(~np.isnan(y[:, t]))
            yt = y[rows, t]
            Ks = [K[np.ix_(rows, rows)] for K in kernels]
            # start: equal weights, the ratio by REML on the average kernel
            start = _reml_delta(_Eigen.of(sum(Ks) / m, yt), self.penalties)
            t0 = np.full(m, np.log(1.0 / (start * m)))
            res = minimize(_multi_reml, t0, args=(Ks, yt), method="L-BFGS-B", bounds=bounds)
            best = res.x if res.fun <= _multi_reml(t0, Ks, yt) else t0
            ratios = np.exp(best)
            self.delta_[t] = 1.0 / ratios.sum()
            self.weights_[t] = ratios / ratios.sum()
            K = sum(w * Kk for w, Kk in zip(self.weights_[t], Ks, strict=True))
            mu, a = _Eigen.of(K, yt).coefficients(np.array([self.delta_[t]]))
            self.intercept_[t], self.alpha_[rows, t] = mu[0], a[:, 0]
        self.train_X_ = np.array(X, copy=True)
        return self

    def predict(self, X) -> np.ndarray:
        """``mu + K(X, train) alpha`` with the REML-weighted kernel: ``(n,)`` or ``(n, tasks)``."""
        if not hasattr(self, "alpha_"):
            raise ValueError("this KernelAverage is not fitted yet; call fit(X, y) first")
        gram, d = self._query_distances(X)
        kernels = self._kernels(gram, d)
        out = np.empty((X.shape[0], len(self.delta_)))
        for t in range(len(self.delta_)):
            K = sum(w * Kk for w, Kk in zip(self.weights_[t], kernels, strict=True))
            out[:, t] = self.intercept_[t] + K @ self.alpha_[:, t]
        return out[:, 0] if self._one_d else out
