"""Evaluation metrics for the three task types, as JSON-safe dictionaries.

Contract: :func:`compute_metrics` takes the labels ``y_true`` and the model scores ``y_score`` of one
split and returns a plain ``dict`` of Python floats, ints, lists and ``None`` (``None`` wherever a
metric is undefined, e.g. ROC AUC of a task whose labels hold a single class), so it can be written
with :func:`json.dumps` as is.  Its shape is the same for every task type::

    {"task": "binary", "label_names": [...], "threshold": 0.5,
     "tasks": {name: {metric: value, ..., "confusion": [[tn, fp], [fn, tp]]}, ...},
     "macro": {metric: mean over tasks, ...}}

For ``multiclass`` the rows of ``tasks`` are the classes (one-vs-rest metrics) and ``macro`` holds the
overall multiclass metrics and the K x K confusion matrix.  ``metrics["macro"][MAIN_METRIC[task]]`` is
the headline number of a run.  :func:`metrics_table` flattens the dictionary to one row per task plus
``macro`` for the TSV written beside a report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dnacnn.split import TASKS

# the headline metric of each task type (reports, summaries, model selection)
MAIN_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "pearson_r"}

# the headline metrics of each task type (report cards, 95% intervals): the main metric first
HEADLINE_METRICS = {
    "binary": ("roc_auc", "pr_auc", "mcc"),
    "multiclass": ("accuracy", "roc_auc", "f1_macro"),
    "regression": ("pearson_r", "r2", "mse"),
}

# scalar metrics per task type, in table order
BINARY_METRICS = ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "mcc", "precision", "recall", "brier")
MULTICLASS_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "mcc", "roc_auc", "pr_auc")
REGRESSION_METRICS = ("pearson_r", "spearman_rho", "r2", "mse", "mae")

# human-readable names for tables and plots
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced acc.",
    "f1": "F1",
    "f1_macro": "Macro F1",
    "mcc": "MCC",
    "precision": "Precision",
    "recall": "Recall",
    "pearson_r": "Pearson r",
    "spearman_rho": "Spearman \u03c1",
    "r2": "R\u00b2",
    "mse": "MSE",
    "mae": "MAE",
    "brier": "Brier score",
    "n": "n",
    "n_pos": "n pos.",
}

# metrics where lower is better (everything else: higher is better)
LOWER_IS_BETTER = frozenset({"mse", "mae", "brier"})


def compute_metrics(
    y_true: np.ndarray,
    y_score: np.ndarray,
    task: str,
    label_names: Sequence[str],
    threshold: float = 0.5,
) -> dict:
    """Metrics of one split, as a JSON-safe dictionary (see the module docstring for its layout).

    Parameters
    ----------
    y_true : np.ndarray, shape=(n, tasks) or (n,)
        Labels; NaN marks a missing label, and those rows are left out of that task only.
        ``binary``: 0/1 per task.  ``multiclass``: shape (n, 1), integer class ids 0..K-1.
        ``regression``: real values per task.
    y_score : np.ndarray, shape=(n, tasks) or (n, K)
        ``binary``: probability of the positive class per task.  ``multiclass``: class
        probabilities, K columns.  ``regression``: predicted values per task.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    label_names : sequence of str
        One name per task (binary, regression) or per class (multiclass, K names).
    threshold : float
        Score at or above which a binary prediction counts as positive.

    Returns
    -------
    dict
        ``task``, ``label_names``, ``threshold`` (binary), ``tasks`` (name -> metrics) and ``macro``.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    y_true = _as_2d(y_true).astype(np.float64)
    y_score = _as_2d(y_score).astype(np.float64)
    label_names = [str(name) for name in label_names]
    if y_true.shape[0] != y_score.shape[0]:
        raise ValueError(f"y_true has {y_true.shape[0]} rows but y_score has {y_score.shape[0]}")
    if task == "multiclass":
        return _multiclass_metrics(y_true, y_score, label_names)
    if y_true.shape != y_score.shape or y_true.shape[1] != len(label_names):
        raise ValueError(f"y_true {y_true.shape}, y_score {y_score.shape} and {len(label_names)} label names disagree")
    per_task = _binary_task_metrics if task == "binary" else _regression_task_metrics
    names = BINARY_METRICS if task == "binary" else REGRESSION_METRICS
    tasks = {}
    for j, name in enumerate(label_names):
        keep = ~np.isnan(y_true[:, j])
        tasks[name] = per_task(y_true[keep, j], y_score[keep, j], threshold)
    out = {"task": task, "label_names": label_names}
    if task == "binary":
        out["threshold"] = float(threshold)
    out["tasks"] = tasks
    out["macro"] = {m: _mean([t[m] for t in tasks.values()]) for m in names}
    return _json_safe(out)


def _binary_task_metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    from sklearn import metrics as skm

    n, n_pos = len(y), int((y == 1).sum())
    out = {m: None for m in BINARY_METRICS}
    out.update(n=n, n_pos=n_pos, confusion=[[0, 0], [0, 0]])
    if n == 0:
        return out
    pred = (score >= threshold).astype(int)
    y = (y == 1).astype(int)
    two_classes = 0 < n_pos < n
    with warnings.catch_warnings():
        # one-class tasks: sklearn warns and returns partial values; AUCs are set to None below
        warnings.simplefilter("ignore")
        out.update(
            roc_auc=skm.roc_auc_score(y, score) if two_classes else None,
            pr_auc=skm.average_precision_score(y, score) if two_classes else None,
            accuracy=skm.accuracy_score(y, pred),
            balanced_accuracy=skm.balanced_accuracy_score(y, pred) if two_classes else None,
            f1=skm.f1_score(y, pred, zero_division=0),
            mcc=skm.matthews_corrcoef(y, pred),
            precision=skm.precision_score(y, pred, zero_division=0),
            recall=skm.recall_score(y, pred, zero_division=0) if n_pos else None,
            brier=brier_score(y, score),
            confusion=skm.confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        )
    return out


def brier_score(y: np.ndarray, probability: np.ndarray) -> float:
    """Mean squared difference between a probability and the 0/1 outcome (0 = perfect, 0.25 = always 0.5)."""
    return float(np.mean((np.clip(probability, 0, 1) - y) ** 2))


def _regression_task_metrics(y: np.ndarray, pred: np.ndarray, threshold: float = 0.0) -> dict:
    from scipy import stats
    from sklearn import metrics as skm

    out = {m: None for m in REGRESSION_METRICS}
    out["n"] = n = len(y)
    if n == 0:
        return out
    out.update(mse=skm.mean_squared_error(y, pred), mae=skm.mean_absolute_error(y, pred))
    if n < 2:
        return out
    out["r2"] = skm.r2_score(y, pred)
    # a constant vector has no correlation: None rather than scipy's NaN + warning
    if np.ptp(y) > 0 and np.ptp(pred) > 0:
        out["pearson_r"] = stats.pearsonr(y, pred)[0]
        out["spearman_rho"] = stats.spearmanr(y, pred)[0]
    return out


def _multiclass_metrics(y_true: np.ndarray, y_score: np.ndarray, class_names: list[str]) -> dict:
    from sklearn import metrics as skm

    k = y_score.shape[1]
    if y_true.shape[1] != 1 or len(class_names) != k:
        raise ValueError(
            f"multiclass needs y_true (n, 1) and y_score (n, K) with K class names; got y_true {y_true.shape}, "
            f"y_score {y_score.shape}, {len(class_names)} names"
        )
    keep = ~np.isnan(y_true[:, 0])
    y, score = y_true[keep, 0].astype(int), y_score[keep]
    if len(y) and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"class ids must lie in 0..{k - 1}; found {y.min()}..{y.max()}")
    pred = score.argmax(axis=1) if len(y) else y
    classes = {}
    for c, name in enumerate(class_names):
        metrics = _binary_task_metrics((y == c).astype(float), score[:, c], 0.5)
        # one-vs-rest precision/recall/F1 of the argmax prediction, not of a 0.5 threshold
        is_c, pred_c = (y == c).astype(int), (pred == c).astype(int)
        classes[name] = {
            "roc_auc": metrics["roc_auc"],
            "pr_auc": metrics["pr_auc"],
            "precision": skm.precision_score(is_c, pred_c, zero_division=0) if len(y) else None,
            "recall": skm.recall_score(is_c, pred_c, zero_division=0) if is_c.any() else None,
            "f1": skm.f1_score(is_c, pred_c, zero_division=0) if len(y) else None,
            "n": int(is_c.sum()),
        }
    macro = {m: None for m in MULTICLASS_METRICS}
    macro["n"] = len(y)
    macro["confusion"] = skm.confusion_matrix(y, pred, labels=list(range(k))).tolist() if len(y) else None
    if len(y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            macro.update(
                accuracy=skm.accuracy_score(y, pred),
                balanced_accuracy=skm.balanced_accuracy_score(y, pred),
                f1_macro=skm.f1_score(y, pred, labels=list(range(k)), average="macro", zero_division=0),
                mcc=skm.matthews_corrcoef(y, pred),
            )
        # one-vs-rest macro AUC over the classes present (sklearn's multi_class="ovr" refuses absent classes)
        macro["roc_auc"] = _mean([c["roc_auc"] for c in classes.values()])
        macro["pr_auc"] = _mean([c["pr_auc"] for c in classes.values()])
    out = {"task": "multiclass", "label_names": class_names, "tasks": classes, "macro": macro}
    return _json_safe(out)


def metrics_table(metrics: dict) -> pd.DataFrame:
    """Flatten :func:`compute_metrics` output to a table for the TSV.

    Parameters
    ----------
    metrics : dict
        Output of :func:`compute_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per task (per class for multiclass) and a last row ``macro``; first column ``task``,
        then the scalar metrics (missing values as NaN); the confusion matrices are left out.
    """
    rows = []
    for name, values in [*metrics["tasks"].items(), ("macro", metrics["macro"])]:
        row = {"task": name}
        row.update({k: v for k, v in values.items() if k != "confusion"})
        rows.append(row)
    table = pd.DataFrame(rows)
    counts = {c: "Int64" for c in ("n", "n_pos") if c in table.columns}
    return table.astype({**{c: float for c in table.columns if c != "task"}, **counts})


def main_metric(metrics: dict) -> tuple[str, float | None]:
    """The headline metric of a run: ``(name, value)``, e.g. ``("roc_auc", 0.93)`` (macro over tasks)."""
    name = MAIN_METRIC[metrics["task"]]
    return name, metrics["macro"].get(name)


def _as_2d(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a[:, None] if a.ndim == 1 else a


def _mean(values: list) -> float | None:
    defined = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(defined)) if defined else None


def _json_safe(obj):
    """Numpy scalars to Python numbers, NaN/inf to None, recursively."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
