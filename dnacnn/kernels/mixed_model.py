"""The mixed-model solver every kernel model shares: one eigendecomposition, REML, CV and LOO.

Contract: for ``y = 1 mu + g + e`` with ``g ~ N(0, sigma_g^2 K)``, :class:`Eigen` holds the
eigendecomposition of a training kernel ``K`` and gives the GLS mean and dual coefficients
``alpha`` for any variance ratio ``delta = sigma_e^2 / sigma_g^2``, its REML and exact
leave-one-out error; :func:`select_ratio` chooses ``delta`` by REML (:func:`reml_delta`), k-fold
CV over :func:`inner_folds` or LOO, deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Eigen:
    """Eigendecomposition of a training kernel ``K = U diag(s) U'`` and the projections of 1 and y."""

    s: np.ndarray
    U: np.ndarray
    u1: np.ndarray  # U' 1
    uy: np.ndarray  # U' y

    @classmethod
    def of(cls, K: np.ndarray, y: np.ndarray) -> Eigen:
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


def reml_delta(eig: Eigen, grid: np.ndarray) -> float:
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


def inner_folds(n: int, n_folds: int, seed: int) -> list[np.ndarray]:
    if n_folds > n:
        raise ValueError(f"n_folds={n_folds} is more than the {n} labelled training rows")
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(order[k::n_folds]) for k in range(n_folds)]


def _cv_mse(K: np.ndarray, y: np.ndarray, deltas: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
    """k-fold CV mean squared error of the kernel model for every ratio in ``deltas``."""
    sq = np.zeros(len(deltas))
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test, assume_unique=True)
        eig = Eigen.of(K[np.ix_(train, train)], y[train])
        mu, alpha = eig.coefficients(deltas)
        pred = mu[None, :] + K[np.ix_(test, train)] @ alpha  # (n_test, L)
        sq += np.sum((pred - y[test, None]) ** 2, axis=0)
    return sq / len(y)


def select_ratio(
    K: np.ndarray, y: np.ndarray, deltas: np.ndarray, select: str, folds: list[np.ndarray] | None
) -> tuple[float, float]:
    """``(delta, score)`` for one kernel: lower is better (MSE for cv/loo, minus REML)."""
    if select == "reml":
        eig = Eigen.of(K, y)
        delta = reml_delta(eig, deltas)
        return delta, -eig.reml(delta)
    mse = _cv_mse(K, y, deltas, folds) if select == "cv" else Eigen.of(K, y).loo_mse(deltas)
    best = int(np.argmin(mse))
    return float(deltas[best]), float(mse[best])
