"""RKHS: Gaussian-kernel regression on scaled genotype distances, bandwidth and penalty chosen on the training rows.

Contract: :class:`RKHS` ``fit(X, y)`` then ``predict(X)`` (genotypes and labels as in
:mod:`dnacnn.kernels`); :class:`ScaledDistances` is the distance bookkeeping it shares with
:class:`dnacnn.kernels.average.KernelAverage`: squared distances between centred rows divided by
their mean over distinct training pairs, so a bandwidth means the same on any marker panel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dnacnn.kernels.inputs import (
    AVERAGE_BANDWIDTHS,
    DEFAULT_BANDWIDTHS,
    DEFAULT_PENALTIES,
    check_genotypes,
    check_grid,
    check_labels,
    check_options,
)
from dnacnn.kernels.mixed_model import Eigen, inner_folds, select_ratio
from dnacnn.kernels.relationship import centred_gram, marker_means, row_norms, squared_distances


class ScaledDistances:
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
        X = check_genotypes(X, markers=len(self.marker_means_))
        gram = centred_gram(self.train_X_, self.marker_means_, X, self.chunk_markers)
        norms = row_norms(X, self.marker_means_, self.chunk_markers)
        return gram, squared_distances(gram, norms, self._train_norms) / self.distance_scale_


class RKHS(ScaledDistances):
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
        check_options(select, n_folds)
        if bandwidths is None:
            bandwidths = AVERAGE_BANDWIDTHS if average else DEFAULT_BANDWIDTHS
        self.bandwidths = check_grid(bandwidths, "bandwidths")
        self.penalties = check_grid(penalties, "penalties")
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
        X = check_genotypes(X)
        y, self._one_d = check_labels(y, X.shape[0])
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
        folds = [inner_folds(len(r), self.n_folds, self.seed) if self.select == "cv" else None for r in labelled]
        # one kernel in memory at a time: candidates outside, tasks inside
        for h in self._candidates():
            K = self._kernel(d, h)
            for t, rows in enumerate(labelled):
                self.scores_[t][h] = select_ratio(
                    K[np.ix_(rows, rows)], y[rows, t], self.penalties, self.select, folds[t]
                )
        for t, rows in enumerate(labelled):
            # the best score; ties go to the first candidate (smallest bandwidth) for determinism
            h = min(self.scores_[t], key=lambda c, t=t: self.scores_[t][c][1])
            delta = self.scores_[t][h][0]
            K = self._kernel(d, h)[np.ix_(rows, rows)]
            mu, a = Eigen.of(K, y[rows, t]).coefficients(np.array([delta]))
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
