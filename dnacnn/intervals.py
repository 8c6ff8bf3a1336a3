"""95% intervals for a run's headline metrics, and a paired comparison of the model with the baseline.

Contract: :func:`headline_intervals` takes what :func:`dnacnn.metrics.compute_metrics` took (labels,
scores, task) plus the baseline's scores on the same rows, and returns a JSON-safe dict::

    {"level": 0.95, "n_boot": 1000, "seed": 0,
     "cnn":      {metric: {"low": .., "high": .., "method": "bootstrap" | "fisher-z"}, ...},
     "baseline": {...} or None,
     "difference": {metric: {"estimate": cnn - baseline, "low": .., "high": .., "p_value": ..}} or None}

for the headline metrics of the task (:data:`dnacnn.metrics.HEADLINE_METRICS`, macro over tasks).
Intervals are percentile bootstraps over records (the rows are resampled, so a multi-task run keeps
its tasks' correlation); Pearson r of a single task uses Fisher's z instead
(``tanh(atanh(r) +- 1.96 / sqrt(n - 3))``).  The comparison is paired: the model and the baseline are
scored on the same resamples, and ``p_value`` is the two-sided bootstrap p-value of "no difference".

A resample is a vector of counts (how often each record was drawn), so every metric is computed as a
weighted metric on the records sorted once; that keeps 1,000 resamples of 100k records in seconds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dnacnn.metrics import HEADLINE_METRICS

LEVEL = 0.95
N_BOOT = 1000
_Z = 1.959963984540054  # the 97.5% normal quantile
_RESAMPLE_CHUNK = 2_000_000  # resamples x records held in memory at once


def headline_intervals(
    y_true: np.ndarray,
    y_score: np.ndarray,
    task: str,
    baseline_score: np.ndarray | None = None,
    *,
    threshold: float = 0.5,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict:
    """95% intervals of the headline metrics (and of their difference from the baseline); see the
    module docstring for the returned layout."""
    y = _as_2d(np.asarray(y_true, dtype=np.float64))
    models = {"cnn": _as_2d(np.asarray(y_score, dtype=np.float64))}
    if baseline_score is not None:
        models["baseline"] = _as_2d(np.asarray(baseline_score, dtype=np.float64))
    names = HEADLINE_METRICS[task]
    scorers = {key: _Scorer(task, y, s, threshold) for key, s in models.items()}
    estimates = {key: sc.point() for key, sc in scorers.items()}
    draws = {key: {m: [] for m in names} for key in models}
    rng = np.random.default_rng(seed)
    n = len(y)
    per_chunk = max(1, min(n_boot, _RESAMPLE_CHUNK // max(n, 1)))
    done = 0
    while done < n_boot:
        b = min(per_chunk, n_boot - done)
        weights = _resample_counts(rng, n, b)
        for key, scorer in scorers.items():
            for m, values in scorer.weighted(weights).items():
                draws[key][m].append(values)
        done += b
    draws = {key: {m: np.concatenate(v) for m, v in d.items()} for key, d in draws.items()}

    out = {"level": LEVEL, "n_boot": int(n_boot), "seed": int(seed), "baseline": None, "difference": None}
    for key in models:
        out[key] = {m: _interval(m, estimates[key][m], draws[key][m], scorers[key]) for m in names}
    if "baseline" in models:
        out["difference"] = {
            m: _difference(estimates["cnn"][m], estimates["baseline"][m], draws["cnn"][m] - draws["baseline"][m])
            for m in names
        }
    return out


def fisher_z_interval(r: float, n: int, level: float = LEVEL) -> tuple[float, float] | None:
    """Fisher's z interval of a Pearson correlation ``r`` from ``n`` pairs (None when n < 4)."""
    if r is None or n < 4 or not math.isfinite(r):
        return None
    z = math.atanh(min(max(r, -0.999999), 0.999999))
    half = _normal_quantile(level) / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


# ---------------------------------------------------------------------------------------------


def _resample_counts(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """``b`` bootstrap resamples of ``n`` records, as counts per record: (b, n) float64."""
    draws = rng.integers(0, n, size=(b, n)) if n else np.zeros((b, 0), dtype=np.int64)
    return np.stack([np.bincount(row, minlength=n) for row in draws]).astype(np.float64)


def _interval(metric: str, estimate, draws: np.ndarray, scorer: _Scorer) -> dict | None:
    if estimate is None:
        return None
    if metric == "pearson_r" and scorer.n_tasks == 1:
        ci = fisher_z_interval(estimate, scorer.n_labelled[0])
        return None if ci is None else {"low": ci[0], "high": ci[1], "method": "fisher-z"}
    finite = draws[np.isfinite(draws)]
    if len(finite) < 0.9 * len(draws):  # most resamples undefined (e.g. a class of 2 records)
        return None
    low, high = np.quantile(finite, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return {"low": float(low), "high": float(high), "method": "bootstrap"}


def _difference(a, b, draws: np.ndarray) -> dict | None:
    if a is None or b is None:
        return None
    finite = draws[np.isfinite(draws)]
    if len(finite) < 0.9 * len(draws):
        return None
    low, high = np.quantile(finite, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    # two-sided: twice the share of resamples on the far side of zero (+1 so it is never 0)
    tail = min((finite <= 0).sum(), (finite >= 0).sum())
    p = min(1.0, 2 * (tail + 1) / (len(finite) + 1))
    return {"estimate": float(a - b), "low": float(low), "high": float(high), "p_value": float(p)}


class _Scorer:
    """The headline metrics of one model, at the point estimate and under resampling weights."""

    def __init__(self, task: str, y: np.ndarray, s: np.ndarray, threshold: float):
        self.task, self.threshold = task, threshold
        self.metrics = HEADLINE_METRICS[task]
        if task == "multiclass":
            keep = ~np.isnan(y[:, 0])
            self.keep = [keep]
            labels = y[keep, 0].astype(int)
            self.onehot = np.eye(s.shape[1])[labels]
            self.pred = np.eye(s.shape[1])[s[keep].argmax(axis=1)]
            self.aucs = [_SortedScores(self.onehot[:, c], s[keep, c]) for c in range(s.shape[1])]
        else:
            self.keep = [~np.isnan(y[:, j]) for j in range(y.shape[1])]
            self.y = [y[k, j] for j, k in enumerate(self.keep)]
            self.s = [s[k, j] for j, k in enumerate(self.keep)]
            if task == "binary":
                self.aucs = [_SortedScores(yj, sj) for yj, sj in zip(self.y, self.s, strict=True)]
        self.n_tasks = len(self.keep)
        self.n_labelled = [int(k.sum()) for k in self.keep]

    def point(self) -> dict:
        ones = np.ones((1, len(self.keep[0])))
        return {m: (None if not np.isfinite(v[0]) else float(v[0])) for m, v in self.weighted(ones).items()}

    def weighted(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """Each headline metric (macro over tasks) for each row of weights ``w`` (b, n)."""
        if self.task == "multiclass":
            return self._multiclass(w[:, self.keep[0]])
        per_task = [self._task(j, w[:, k]) for j, k in enumerate(self.keep)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all tasks undefined in a resample: NaN
            return {m: np.nanmean(np.stack([t[m] for t in per_task]), axis=0) for m in self.metrics}

    def _task(self, j: int, w: np.ndarray) -> dict[str, np.ndarray]:
        y, s = self.y[j], self.s[j]
        if self.task == "binary":
            pred = (s >= self.threshold).astype(np.float64)
            tp, fp = w @ (y * pred), w @ ((1 - y) * pred)
            fn, tn = w @ (y * (1 - pred)), w @ ((1 - y) * (1 - pred))
            denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
            with np.errstate(invalid="ignore", divide="ignore"):  # sklearn: 0 when a margin is empty
                mcc = np.where(denominator > 0, (tp * tn - fp * fn) / denominator, 0.0)
            roc_auc, pr_auc = self.aucs[j].areas(w)
            return {"roc_auc": roc_auc, "pr_auc": pr_auc, "mcc": mcc}
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            my, ms = (w @ y) / total, (w @ s) / total
            vy, vs = (w @ y**2) / total - my**2, (w @ s**2) / total - ms**2
            cov = (w @ (y * s)) / total - my * ms
            mse = (w @ (y - s) ** 2) / total
            r = cov / np.sqrt(vy * vs)
            r2 = 1 - mse / vy
        return {"pearson_r": r, "r2": r2, "mse": mse}

    def _multiclass(self, w: np.ndarray) -> dict[str, np.ndarray]:
        total = w.sum(axis=1)
        correct = (self.onehot * self.pred).sum(axis=1)
        tp = w @ (self.onehot * self.pred)
        fp = w @ ((1 - self.onehot) * self.pred)
        fn = w @ (self.onehot * (1 - self.pred))
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
            aucs = np.stack([a.areas(w)[0] for a in self.aucs])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {
                "accuracy": (w @ correct) / total,
                "roc_auc": np.nanmean(aucs, axis=0),
                "f1_macro": f1.mean(axis=1),
            }


class _SortedScores:
    """One binary task's records sorted by score once, with ties grouped, for weighted ROC/PR AUC."""

    def __init__(self, y: np.ndarray, s: np.ndarray):
        order = np.argsort(s, kind="stable")
        self.order = order
        s_sorted = s[order]
        self.starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]]) if len(s) else np.zeros(0, int)
        self.pos = (y[order] == 1).astype(np.float64)

    def areas(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ROC AUC and average precision (sklearn's definitions) for each row of weights ``w`` (b, n)."""
        if len(self.starts) == 0:
            return np.full(len(w), np.nan), np.full(len(w), np.nan)
        ws = w[:, self.order]
        gp, gn = ws * self.pos, ws * (1 - self.pos)
        if len(self.starts) < ws.shape[1]:  # ties: one threshold per distinct score
            gp, gn = np.add.reduceat(gp, self.starts, axis=1), np.add.reduceat(gn, self.starts, axis=1)
        total_pos, total_neg = gp.sum(axis=1, keepdims=True), gn.sum(axis=1, keepdims=True)
        neg_below = np.cumsum(gn, axis=1) - gn  # negatives scored below each threshold
        pos_at_or_above = total_pos - np.cumsum(gp, axis=1) + gp
        with np.errstate(invalid="ignore", divide="ignore"):
            roc = (gp * (neg_below + 0.5 * gn)).sum(axis=1) / (total_pos * total_neg)[:, 0]
            # average precision: each positive's weight x the precision at its score's threshold
            predicted = pos_at_or_above + total_neg - neg_below
            precision = np.where(predicted > 0, pos_at_or_above / predicted, 0.0)
            ap = (gp * precision).sum(axis=1) / total_pos[:, 0]
        total_pos, total_neg = total_pos[:, 0], total_neg[:, 0]
        ap[(total_pos == 0) | (total_neg == 0)] = np.nan
        return roc, ap


def _normal_quantile(level: float) -> float:
    if level == LEVEL:
        return _Z
    from scipy.stats import norm

    return float(norm.ppf((1 + level) / 2))


def _as_2d(a: np.ndarray) -> np.ndarray:
    return a[:, None] if a.ndim == 1 else a
