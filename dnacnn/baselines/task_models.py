"""What every baseline shares: label checks, row subsets, per-task sklearn fits and validation scores.

Contract: :func:`fit_task_models` fits one sklearn model per task on the labelled rows of ``y``
``(n, tasks)`` (NaN = missing; a constant where the labels allow no fit) and returns
:class:`TaskModels`, whose ``predict(features)`` has the CNN's output shape and meaning;
:func:`validation_score` and :func:`task_scores` score predictions with :mod:`dnacnn.metrics`;
:func:`as_labels`, :func:`subsample`, :func:`internal_split` and :func:`with_validation` shape and pick rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def as_labels(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    if y.shape[0] != n:
        raise ValueError(f"{y.shape[0]} label rows for {n} sequences")
    return y


def subsample(codes: np.ndarray, y: np.ndarray, max_rows: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_rows`` random rows (in store order, so memory-mapped reads stay sequential)."""
    if max_rows is None or len(codes) <= max_rows:
        return np.asarray(codes), y
    rows = np.sort(np.random.default_rng(seed).choice(len(codes), max_rows, replace=False))
    return np.asarray(codes[rows]), y[rows]


def internal_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out 20% of the training rows to choose hyper-parameters when no validation rows are given."""
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, n // 5)
    return np.sort(order[cut:]), np.sort(order[:cut])


def with_validation(train, y_train: np.ndarray, valid, y_valid, seed: int, task: str, n_classes: int | None):
    """``(train, y_train, valid, y_valid, n_classes)`` for choosing hyper-parameters: the validation rows
    given, or (without any) :func:`internal_split`'s 20% of the training rows; ``n_classes`` of a
    multiclass task from the labels when not given."""
    if valid is None or len(valid) == 0:
        fit_rows, valid_rows = internal_split(len(train), seed)
        valid, y_valid = train[valid_rows], y_train[valid_rows]
        train, y_train = train[fit_rows], y_train[fit_rows]
    y_valid = as_labels(y_valid, len(valid))
    if task == "multiclass" and n_classes is None:
        n_classes = int(np.nanmax(np.concatenate([y_train[:, 0], y_valid[:, 0]]))) + 1
    return train, y_train, valid, y_valid, n_classes


def _mean_defined(values: list) -> float:
    defined = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(defined)) if defined else -np.inf


def validation_score(task: str, y: np.ndarray, score: np.ndarray) -> float:
    """Mean over tasks of the headline metric (ROC AUC, or Pearson r for regression) on labelled rows."""
    from dnacnn.metrics import compute_metrics, main_metric

    if task == "multiclass":
        # selection by ROC AUC (smoother than accuracy on small validation sets)
        metrics = compute_metrics(y, score, task, [str(i) for i in range(score.shape[1])])
        return _mean_defined([metrics["macro"]["roc_auc"]])
    metrics = compute_metrics(y, score, task, [str(i) for i in range(y.shape[1])])
    name, _ = main_metric(metrics)
    return _mean_defined([t[name] for t in metrics["tasks"].values()])


def task_scores(task: str, y: np.ndarray, score: np.ndarray) -> list:
    from dnacnn.metrics import compute_metrics, main_metric

    names = [str(i) for i in range(score.shape[1] if task == "multiclass" else y.shape[1])]
    metrics = compute_metrics(y, score, task, names)
    if task == "multiclass":
        return [metrics["macro"]["roc_auc"]]
    name = "roc_auc" if task == "binary" else main_metric(metrics)[0]
    return [t[name] for t in metrics["tasks"].values()]


@dataclass
class TaskModels:
    """One fitted sklearn model per task (``None`` where the training labels allow no fit, with a
    constant prediction instead); for multiclass a single model mapped to ``n_classes`` columns;
    ``joint``: a single multi-output regression model for all tasks."""

    task: str
    models: list
    constants: list
    n_classes: int = 0
    joint: bool = False

    def predict(self, features) -> np.ndarray:
        n = features.shape[0]
        if self.joint:
            return np.asarray(self.models[0].predict(features), np.float32).reshape(n, -1)
        if self.task == "multiclass":
            model = self.models[0]
            out = np.tile(np.asarray(self.constants[0], np.float64), (n, 1))
            if model is not None:
                out[:] = 0.0
                out[:, model.classes_.astype(int)] = model.predict_proba(features)
            return out.astype(np.float32)
        cols = []
        for model, constant in zip(self.models, self.constants, strict=True):
            if model is None:
                cols.append(np.full(n, constant))
            elif self.task == "binary":
                cols.append(model.predict_proba(features)[:, 1])
            else:
                cols.append(model.predict(features))
        return np.stack(cols, axis=1).astype(np.float32)


def fit_task_models(task: str, make_model, features, y: np.ndarray, n_classes: int = 0) -> TaskModels:
    """Fit ``make_model()`` per task on the labelled rows of ``y`` ``(n, tasks)``."""
    if task == "multiclass":
        keep = ~np.isnan(y[:, 0])
        labels = y[keep, 0].astype(int)
        counts = np.bincount(labels, minlength=n_classes)[:n_classes]
        prior = counts / counts.sum() if counts.sum() else np.full(n_classes, 1.0 / n_classes)
        model = make_model().fit(features[keep], labels) if len(np.unique(labels)) > 1 else None
        return TaskModels(task, [model], [prior], n_classes)
    models, constants = [], []
    for j in range(y.shape[1]):
        keep = ~np.isnan(y[:, j])
        target = y[keep, j]
        constant = float(target.mean()) if len(target) else (0.5 if task == "binary" else 0.0)
        fittable = len(np.unique(target)) > 1 if task == "binary" else len(target) > 1
        models.append(
            make_model().fit(features[keep], target.astype(int) if task == "binary" else target) if fittable else None
        )
        constants.append(constant)
    return TaskModels(task, models, constants, n_classes)
