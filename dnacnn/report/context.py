"""What one run report shows: :class:`ReportContext`, gathered by the caller, and reads of it.

The caller (e.g. :mod:`dnacnn.report.evaluation`) fills a :class:`ReportContext`; the sections and
figures only read it.  :func:`as_2d`, :func:`n_labelled` and :func:`interval_text` are the reads
that more than one section needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dnacnn.report.text import fmt


@dataclass(kw_only=True)
class ReportContext:
    """Everything one report shows.

    Attributes
    ----------
    title : str
        Page title, e.g. ``"CTCF K562 - deepbind preset"``.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    label_names : list of str
        Task names (binary, regression) or class names (multiclass).
    metrics : dict
        :func:`dnacnn.metrics.compute_metrics` of the CNN on the evaluated split.
    y_true : np.ndarray, shape=(n, tasks)
        Labels of the evaluated split (multiclass: (n, 1) class ids); NaN = missing.
    y_score : np.ndarray, shape=(n, tasks) or (n, K)
        CNN scores, as passed to ``compute_metrics``.
    dataset : dict
        ``name``; ``n`` (split -> count); ``balance`` (task -> dict of numbers, e.g. ``n_pos``,
        ``frac_pos`` or ``mean``, ``sd``; computed from ``y_true`` when absent); any other scalar
        keys (``kind``, ``length``, ...) are listed as they are.
    model_summary_text : str
        Keras-style summary table, shown verbatim.
    history : pandas.DataFrame or None
        One row per epoch: ``epoch, loss, val_loss, val_metric, lr, seconds`` (any may be missing).
    baseline_metrics : dict or None
        ``compute_metrics`` of the baseline on the same rows.
    baseline_name : str
        Legend name of the baseline, e.g. ``"6-mer logistic regression"``.
    baseline_score : np.ndarray or None
        Baseline scores, same shape as ``y_score``.
    provenance : dict
        Inputs (with sha256), settings, versions, seed, device, duration...; nested dicts and
        lists of dicts become tables.
    extra_sections : list of (str, str)
        ``(title, html)`` sections appended before the provenance (trusted HTML, e.g. motif logos).
    model_name : str
        Legend name of the CNN.
    split : str
        Name of the evaluated split, for captions.
    val_metric_name : str or None
        Name of ``history.val_metric`` (default: the task's main metric).
    best_epoch : int or None
        Epoch whose weights were kept, marked on the training curves.
    members : list of dict
        For an ensemble (scores = the mean of several models'), one row per member (model file,
        seed, best epoch, ...), listed in the model section; ``model_summary_text``, ``history``
        and ``best_epoch`` are then the first member's.  Empty for one model.
    max_epochs : int or None
        The epoch limit of training; with ``best_epoch`` it tells whether training stopped while
        the validation metric was still improving.
    training_seconds : float or None
        Wall time of training (default: the sum of ``history.seconds``).
    intervals : dict or None
        :func:`dnacnn.intervals.headline_intervals` of this run: 95% intervals on the cards and
        the paired comparison in the verdict.
    baseline_fit : str or None
        One sentence on how the baseline was fitted.
    examples : list of dict
        The largest errors (``kind, id, observed, cnn[, baseline][, sequence]``), shown as a table.
    other_baselines : dict
        Further baselines scored on the same rows (genotype regression: GBLUP, RKHS), name ->
        ``{"metrics": compute_metrics(...), "intervals": headline_intervals(y, cnn, task, theirs)}``.
    """

    title: str
    task: str
    label_names: list[str]
    metrics: dict
    y_true: np.ndarray
    y_score: np.ndarray
    dataset: dict = field(default_factory=dict)
    model_summary_text: str = ""
    history: pd.DataFrame | None = None
    baseline_metrics: dict | None = None
    baseline_name: str = "baseline"
    baseline_score: np.ndarray | None = None
    provenance: dict = field(default_factory=dict)
    extra_sections: list[tuple[str, str]] = field(default_factory=list)
    model_name: str = "CNN"
    split: str = "test"
    val_metric_name: str | None = None
    best_epoch: int | None = None
    members: list[dict] = field(default_factory=list)
    max_epochs: int | None = None
    training_seconds: float | None = None
    intervals: dict | None = None
    baseline_fit: str | None = None
    examples: list[dict] = field(default_factory=list)
    other_baselines: dict = field(default_factory=dict)


def as_2d(a) -> np.ndarray:
    """``a`` as an array of shape (n, columns): a 1-D array becomes one column."""
    a = np.asarray(a)
    return a[:, None] if a.ndim == 1 else a


def n_labelled(ctx: ReportContext) -> int:
    """Rows with at least one label (not NaN) among the evaluated rows."""
    y = as_2d(ctx.y_true)
    return int((~np.isnan(y.astype(float))).any(axis=1).sum())


def interval_text(ctx: ReportContext, model: str, metric: str) -> str:
    """``0.981–0.996`` from the run's intervals, or ``""``."""
    interval = ((ctx.intervals or {}).get(model) or {}).get(metric)
    return "" if not interval else f"{fmt(interval['low'])}–{fmt(interval['high'])}"
