"""KernelAverage: several Gaussian kernels and the GRM, each with its own variance component by REML.

Contract: :class:`KernelAverage` ``fit(X, y)`` then ``predict(X)`` (genotypes and labels as in
:mod:`dnacnn.kernels`); the kernels' weights are estimated jointly by REML on the training rows
(L-BFGS from the best equal-weight start), one Cholesky factorisation per likelihood evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dnacnn.kernels.inputs import DEFAULT_PENALTIES, MULTI_BANDWIDTHS, check_genotypes, check_grid, check_labels
from dnacnn.kernels.mixed_model import Eigen, reml_delta
from dnacnn.kernels.rkhs import ScaledDistances


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


class KernelAverage(ScaledDistances):
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
        self.bandwidths = check_grid(bandwidths, "bandwidths")
        self.linear = bool(linear)
        self.penalties = check_grid(penalties, "penalties")
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

        X = check_genotypes(X)
        y, self._one_d = check_labels(y, X.shape[0])
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
            start = reml_delta(Eigen.of(sum(Ks) / m, yt), self.penalties)
            t0 = np.full(m, np.log(1.0 / (start * m)))
            res = minimize(_multi_reml, t0, args=(Ks, yt), method="L-BFGS-B", bounds=bounds)
            best = res.x if res.fun <= _multi_reml(t0, Ks, yt) else t0
            ratios = np.exp(best)
            self.delta_[t] = 1.0 / ratios.sum()
            self.weights_[t] = ratios / ratios.sum()
            K = sum(w * Kk for w, Kk in zip(self.weights_[t], Ks, strict=True))
            mu, a = Eigen.of(K, yt).coefficients(np.array([self.delta_[t]]))
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
