"""GBLUP: genomic BLUP with the VanRaden (2008) relationship matrix, predicting through marker effects.

Contract: :class:`GBLUP` ``fit(X, y)`` then ``predict(X)``, with genotypes and labels as in
:mod:`dnacnn.kernels`; the variance ratio is chosen on the training rows only (REML by default),
and predictions go through the marker effects, so the training genotypes are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dnacnn.kernels.inputs import DEFAULT_PENALTIES, check_genotypes, check_grid, check_labels, check_options
from dnacnn.kernels.mixed_model import Eigen, inner_folds, select_ratio
from dnacnn.kernels.relationship import centred, centred_gram, marker_blocks, marker_means, vanraden_scale


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
        check_options(select, n_folds)
        self.select = select
        self.penalties = check_grid(penalties, "penalties")
        self.n_folds = n_folds
        self.seed = seed
        self.chunk_markers = chunk_markers

    def fit(self, X, y) -> GBLUP:
        X = check_genotypes(X)
        y, self._one_d = check_labels(y, X.shape[0])
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
            folds = inner_folds(len(rows), self.n_folds, self.seed) if self.select == "cv" else None
            self.delta_[t], _ = select_ratio(Kt, yt, self.penalties, self.select, folds)
            mu, a = Eigen.of(Kt, yt).coefficients(np.array([self.delta_[t]]))
            self.intercept_[t], alpha[rows, t] = mu[0], a[:, 0]
        self.ridge_alpha_ = self.delta_ * self.scale_
        self.heritability_ = np.mean(np.diag(G)) / (np.mean(np.diag(G)) + self.delta_)
        # g = G alpha = Z (Z' alpha / scale): the marker effects serve any new row
        self.marker_effects_ = np.zeros((X.shape[1], tasks))
        for cols in marker_blocks(X.shape, self.chunk_markers):
            self.marker_effects_[cols] = centred(X, self.marker_means_, cols).T @ alpha / self.scale_
        self._train_fitted = None
        return self

    def predict(self, X) -> np.ndarray:
        """Genomic values ``mu + Z b`` of the rows of ``X``: ``(n,)`` or ``(n, tasks)`` like the labels."""
        self._check_fitted()
        X = check_genotypes(X, markers=len(self.marker_means_))
        out = np.tile(self.intercept_, (X.shape[0], 1))
        for cols in marker_blocks(X.shape, self.chunk_markers):
            out += centred(X, self.marker_means_, cols) @ self.marker_effects_[cols]
        return out[:, 0] if self._one_d else out

    def _check_fitted(self) -> None:
        if not hasattr(self, "marker_effects_"):
            raise ValueError("this GBLUP is not fitted yet; call fit(X, y) first")
