"""Self-contained HTML reports: one run (:func:`write_report`) and many runs (:func:`write_summary`).

Contract: a report is ONE ``.html`` file that opens offline in any browser: inline CSS, no
JavaScript, every figure a base64 PNG drawn with matplotlib's Agg renderer (no pyplot, so no
global figure state and no display is needed), and no ``http(s)`` resource link.  It is written
atomically (:func:`dnacnn.io.write_text_atomic`), so a killed run leaves
either the previous report or none.  The caller gathers everything into a :class:`ReportContext`;
this module computes nothing a user would need elsewhere (metrics come from :mod:`dnacnn.metrics`).

Figures show at most :data:`MAX_PLOT_TASKS` tasks (or classes); tables list them all.  The CNN is
always drawn in :data:`CNN_COLOR` and the baseline in :data:`BASELINE_COLOR`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import numpy as np
import pandas as pd

from dnacnn import __version__
from dnacnn.io import write_text_atomic
from dnacnn.metrics import (
    BINARY_METRICS,
    HEADLINE_METRICS,
    LOWER_IS_BETTER,
    MAIN_METRIC,
    METRIC_LABELS,
    MULTICLASS_METRICS,
    REGRESSION_METRICS,
    brier_score,
    metrics_table,
)

MAX_PLOT_TASKS = 8
CALIBRATION_BINS = 10
CALIBRATION_MIN_ROWS = 5
_DOT = " \u00b7 "
DPI = 110
CNN_COLOR = "#1f5fa8"
BASELINE_COLOR = "#e07b39"
NEG_COLOR = "#9aa5b1"
POS_COLOR = "#2a9d8f"
GRID_COLOR = "#e3e7ee"
INK = "#1d2330"
MUTED = "#5b6575"

# headline cards per task type: the main metric first
KEY_METRICS = HEADLINE_METRICS

# rows of the overall CNN-vs-baseline table per task type
OVERALL_METRICS = {
    "binary": BINARY_METRICS,
    "multiclass": MULTICLASS_METRICS,
    "regression": REGRESSION_METRICS,
}

# the columns of the per-task CNN-vs-baseline table per task type
TABLE_METRICS = {
    "binary": ("roc_auc", "pr_auc", "accuracy", "f1", "mcc"),
    "multiclass": ("roc_auc", "pr_auc", "precision", "recall", "f1"),
    "regression": ("pearson_r", "spearman_rho", "r2", "mse", "mae"),
}

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.edgecolor": "#9aa3af",
    "axes.labelcolor": INK,
    "axes.titlecolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": GRID_COLOR,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


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


def write_report(path: str | os.PathLike, ctx: ReportContext) -> None:
    """Write the report of one run to ``path`` (one self-contained HTML file, written atomically)."""
    write_text_atomic(Path(path), render_report(ctx))


def render_report(ctx: ReportContext) -> str:
    """The report of one run as an HTML string (see :func:`write_report`)."""
    if ctx.task not in KEY_METRICS:
        raise ValueError(f"unknown task {ctx.task!r}")
    sections = [
        ("dataset", "Dataset", _dataset_section(ctx)),
        ("model", "Model", _model_section(ctx)),
        ("training", "Training", _training_section(ctx)),
        *_evaluation_sections(ctx),
        ("errors", "Largest errors", _errors_section(ctx)),
        ("baselines", "Kernel baselines", _other_baselines_section(ctx)),
        ("metrics", "Metrics", _metrics_section(ctx)),
        *[(f"extra-{i}", title, body) for i, (title, body) in enumerate(ctx.extra_sections)],
        ("provenance", "Provenance", _provenance_section(ctx)),
    ]
    sections = [s for s in sections if s[2]]
    toc = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{_e(title)}</h2>{_how_to_read(sid, ctx)}{content}</section>'
        for sid, title, content in sections
    )
    return _page(ctx.title, _header(ctx) + f'<nav class="toc">{toc}</nav>' + body)


# ---------------------------------------------------------------------------------------------
# header and text sections


def _header(ctx: ReportContext) -> str:
    name = ctx.dataset.get("name")
    n_eval = ctx.metrics["macro"].get("n") or _n_labelled(ctx)
    sub = [
        _e(name) if name else None,
        f"{_e(ctx.task)} \u00b7 {len(ctx.label_names)} "
        + ("classes" if ctx.task == "multiclass" else "task" + ("s" if len(ctx.label_names) != 1 else "")),
        f"{_e(ctx.split)} split: n = {n_eval:,}" if n_eval else None,
    ]
    cards = "".join(_card(ctx, m) for m in KEY_METRICS[ctx.task])
    legend = f'<span class="key"><i style="background:{CNN_COLOR}"></i>{_e(ctx.model_name)}</span>'
    if ctx.baseline_metrics is not None:
        legend += f'<span class="key"><i style="background:{BASELINE_COLOR}"></i>{_e(ctx.baseline_name)}</span>'
    return (
        f'<header><div class="eyebrow">dnacnn report</div><h1>{_e(ctx.title)}</h1>'
        f'<p class="sub">{_DOT.join(s for s in sub if s)}</p>'
        f'<div class="cards">{cards}</div><p class="verdict">{_verdict(ctx)}</p>{_caveats(ctx)}'
        f'<div class="legend">{legend}</div></header>'
    )


# one or two sentences under each section title: how to read it
_HOW_TO_READ = {
    "dataset": "Where the numbers come from: the records the model learned from (by split) and the records "
    "scored in this report.",
    "model": "The network layer by layer, with the shape of its output and its number of weights, as Keras prints it.",
    "training": "Loss per epoch on the training and validation rows, the validation metric that chose the "
    "weights, and the learning rate. A validation loss that rises while the training loss falls is overfitting.",
    "curves": "ROC: the share of positives found against the share of negatives wrongly called positive as the "
    "threshold falls (0.5 = chance, 1 = perfect). Precision-recall: how many calls are right against how many "
    "positives are found; the dashed line is the share of positives (chance). With few positives, PR is the "
    "curve to trust.",
    "confusion": "Records counted by true and predicted class; the diagonal holds the right calls.",
    "scores": "The model's scores for negatives and positives: the less the two overlap, the better the "
    "ranking; piles at 0 and 1 mean confident calls.",
    "calibration": "Whether a score of 0.8 means 80%: points on the diagonal are calibrated, points below it "
    "are overconfident. The number beside a point is how many records its bin holds; bins of a few records "
    "are noise.",
    "scatter": "One point per record, observed against predicted: the nearer the diagonal, the better. "
    "Pearson r measures how well the predictions rank and scale with the observations.",
    "residuals": "Predicted minus observed: centred on zero and narrow is good; a shifted peak is a bias.",
    "errors": "The records the model got most wrong, to look at by eye: the highest-scored negatives and the "
    "lowest-scored positives (or the largest residuals).",
    "metrics": "Every metric of the model beside the baseline fitted in the same run, on the same records.",
    "baselines": "The genomic-prediction methods breeders compare against, fitted on the same training "
    "lines (training and validation rows; each chooses its own variance ratio and bandwidth by inner "
    "cross-validation or REML) and scored on the same records, with the paired difference from the CNN.",
}


def _how_to_read(section_id: str, ctx: ReportContext) -> str:
    text = _HOW_TO_READ.get(section_id)
    if section_id == "curves" and ctx.task == "multiclass":
        text = (text or "") + " Each class is scored one-vs-rest."
    return f'<p class="how">{_e(text)}</p>' if text else ""


def _caveats(ctx: ReportContext) -> str:
    """Warnings a reader needs before trusting the headline numbers."""
    out = []
    negatives = ctx.dataset.get("negatives") or {}
    if negatives.get("evaluated") == "shuffle":
        out.append(
            "The negatives scored here are dinucleotide shuffles of the positives: the numbers measure how well "
            "real sequence is told from shuffled sequence, which is easier than telling bound from unbound "
            "genomic sequence. Expect lower numbers on negatives drawn from the genome."
        )
    elif negatives.get("training") == "shuffle":
        out.append(
            "The model learned against dinucleotide-shuffled negatives. The negatives scored here came with the "
            "evaluated file; if they are shuffles too (as in DeepBind's ENCODE files), the numbers measure how "
            "well real sequence is told from shuffled sequence, and negatives drawn from the genome will score "
            "lower."
        )
    if _still_improving(ctx):
        out.append(
            f"Training stopped at its limit of {ctx.max_epochs} epochs while the validation metric was still "
            "improving (the best epoch was the last): more epochs (--epochs) would probably do better."
        )
    return "".join(f'<p class="caveat">{_e(text)}</p>' for text in out)


def _still_improving(ctx: ReportContext) -> bool:
    n_epochs = 0 if ctx.history is None else len(ctx.history)
    return bool(ctx.max_epochs and ctx.best_epoch and n_epochs >= ctx.max_epochs and ctx.best_epoch >= n_epochs)


def _n_labelled(ctx: ReportContext) -> int:
    y = _as_2d(ctx.y_true)
    return int((~np.isnan(y.astype(float))).any(axis=1).sum())


def _card(ctx: ReportContext, metric: str) -> str:
    value = ctx.metrics["macro"].get(metric)
    qualifier = "macro " if len(ctx.label_names) > 1 and ctx.task != "multiclass" else ""
    html_ = f'<div class="card"><div class="label">{qualifier}{_e(METRIC_LABELS.get(metric, metric))}</div>'
    html_ += f'<div class="big">{_fmt(value)}</div>'
    ci = _ci(ctx, "cnn", metric)
    html_ += f'<div class="ci">95% CI {ci}</div>' if ci else ""
    if ctx.baseline_metrics is not None:
        base = ctx.baseline_metrics["macro"].get(metric)
        html_ += f'<div class="vs"><i style="background:{BASELINE_COLOR}"></i>{_e(ctx.baseline_name)} '
        html_ += f"<b>{_fmt(base)}</b> {_delta(metric, value, base)}</div>"
    return html_ + "</div>"


def _ci(ctx: ReportContext, model: str, metric: str) -> str:
    """``0.981–0.996`` from the run's intervals, or ``""``."""
    interval = ((ctx.intervals or {}).get(model) or {}).get(metric)
    return "" if not interval else f"{_fmt(interval['low'])}–{_fmt(interval['high'])}"


def _delta(metric: str, value, base) -> str:
    if value is None or base is None:
        return ""
    diff = value - base
    better = diff < 0 if metric in LOWER_IS_BETTER else diff > 0
    cls = "up" if better else ("flat" if diff == 0 else "down")
    return f'<span class="delta {cls}">{diff:+.3f}</span>'


def _verdict(ctx: ReportContext) -> str:
    metric = MAIN_METRIC[ctx.task]
    label = ("macro " if ctx.task != "multiclass" and len(ctx.label_names) > 1 else "") + METRIC_LABELS[metric]
    value = ctx.metrics["macro"].get(metric)
    if value is None:
        return f"{label} is undefined on the {_e(ctx.split)} split (a single class?)."
    if ctx.baseline_metrics is None or ctx.baseline_metrics["macro"].get(metric) is None:
        return f"{_e(ctx.model_name)}: {label} {_fmt(value)} on the {_e(ctx.split)} split; no baseline was fitted."
    base = ctx.baseline_metrics["macro"][metric]
    diff = ((ctx.intervals or {}).get("difference") or {}).get(metric)
    n = f"n = {_n_labelled(ctx):,}"
    if diff is None:
        verb = "beats" if value > base else ("matches" if value == base else "trails")
        return (
            f"The {_e(ctx.model_name)} {verb} the {_e(ctx.baseline_name)} baseline by "
            f"{abs(value - base):.3f} {label} on the {_e(ctx.split)} split ({_fmt(value)} vs {_fmt(base)}, {n})."
        )
    better = value < base if metric in LOWER_IS_BETTER else value > base
    evidence = (
        f"difference {_signed(diff['estimate'])}, 95% CI {_signed(diff['low'])} to {_signed(diff['high'])}, "
        f"paired bootstrap p = {_p(diff['p_value'])}, {n}"
    )
    if diff["p_value"] >= 0.05:
        return (
            f"The {_e(ctx.model_name)} and the {_e(ctx.baseline_name)} baseline do not differ clearly in {label} "
            f"on the {_e(ctx.split)} split: {_fmt(value)} vs {_fmt(base)} ({evidence})."
        )
    verb = "beats" if better else "trails"
    return (
        f"The {_e(ctx.model_name)} {verb} the {_e(ctx.baseline_name)} baseline by {abs(value - base):.3f} "
        f"{label} on the {_e(ctx.split)} split: {_fmt(value)} vs {_fmt(base)} ({evidence})."
    )


def _signed(v: float) -> str:
    """A difference with its sign: 3 decimals, more when 3 would print 0.000."""
    return f"{v:+.3f}" if v == 0 or abs(v) >= 0.0005 else f"{v:+.1e}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


_NEGATIVES = {
    "shuffle": "dinucleotide shuffles of the positives",
    "genome": "genome windows away from every peak, GC-matched to the positives",
    "file": "from a file of negatives",
}


def _dataset_section(ctx: ReportContext) -> str:
    d = ctx.dataset or {}
    hidden = ("n", "balance", "negatives", "external")
    facts = {k: v for k, v in d.items() if k not in hidden and not isinstance(v, (dict, list))}
    negatives = d.get("negatives") or {}
    if negatives.get("training"):
        facts["negatives in training"] = _NEGATIVES[negatives["training"]]
    out = _kv_table(facts) if facts else ""
    splits = {k: int(v) for k, v in (d.get("n") or {}).items() if _is_number(v)} if isinstance(d.get("n"), dict) else {}
    if d.get("external"):  # the training store's own test split is not what was scored here
        splits = {k: v for k, v in splits.items() if v}
    if splits:
        total = sum(splits.values())
        cells = "".join(
            f'<div class="split"><b>{v:,}</b><span>{_e(k)}</span><em>{100 * v / max(total, 1):.0f}%</em></div>'
            for k, v in splits.items()
        )
        cells += f'<div class="split total"><b>{total:,}</b><span>total</span></div>'
        if d.get("external"):
            cells += (
                f'<div class="split evaluated"><b>{_n_labelled(ctx):,}</b><span>evaluated here</span>'
                "<em>another store</em></div>"
            )
        out += f'<h3>Training store</h3><div class="splits">{cells}</div>'
    balance = d.get("balance") or _balance_from_labels(ctx)
    if balance:
        out += "<h3>Class balance</h3>" if ctx.task != "regression" else "<h3>Targets</h3>"
        out += _balance_table(ctx.task, balance)
        if not d.get("balance"):
            out += f'<p class="note">Of the {_n_labelled(ctx):,} labelled records scored in this report.</p>'
    return out


def _balance_from_labels(ctx: ReportContext) -> dict:
    y = _as_2d(ctx.y_true).astype(float)
    if ctx.task == "multiclass":
        labels = y[~np.isnan(y[:, 0]), 0].astype(int)
        counts = np.bincount(labels, minlength=len(ctx.label_names))
        return {
            name: {"n": int(c), "fraction": float(c / max(len(labels), 1))}
            for name, c in zip(ctx.label_names, counts, strict=False)
        }
    out = {}
    for j, name in enumerate(ctx.label_names[: y.shape[1]]):
        col = y[~np.isnan(y[:, j]), j]
        if ctx.task == "binary":
            out[name] = {
                "n": len(col),
                "n_pos": int((col == 1).sum()),
                "frac_pos": float(col.mean()) if len(col) else None,
            }
        else:
            out[name] = {
                "n": len(col),
                "mean": float(col.mean()) if len(col) else None,
                "sd": float(col.std(ddof=1)) if len(col) > 1 else None,
            }
    return out


_BALANCE_LABELS = {"n_pos": "positives", "n_neg": "negatives", "frac_pos": "fraction positive", "sd": "SD"}


def _balance_table(task: str, balance: dict) -> str:
    keys = list(dict.fromkeys(k for stats in balance.values() for k in stats))
    head = "".join(f"<th>{_e(_BALANCE_LABELS.get(k, k.replace('_', ' ')))}</th>" for k in keys)
    frac_key = next((k for k in ("frac_pos", "fraction") if k in keys), None)
    if frac_key:
        head += "<th></th>"
    rows = ""
    for name, stats in balance.items():
        cells = "".join(f"<td>{_fmt(stats.get(k))}</td>" for k in keys)
        if frac_key:
            frac = stats.get(frac_key) or 0.0
            cells += f'<td class="barcell"><div class="bar"><i style="width:{100 * frac:.1f}%"></i></div></td>'
        rows += f"<tr><td>{_e(name)}</td>{cells}</tr>"
    label = "class" if task == "multiclass" else "task"
    return f'<table class="data"><thead><tr><th>{label}</th>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _model_section(ctx: ReportContext) -> str:
    out = ""
    if ctx.members:
        mean = "probabilities" if ctx.task != "regression" else "predicted values"
        out += (
            f"<p>Ensemble of {len(ctx.members)} models: its scores are the mean of the members' {mean}.</p>"
            + _render_value(ctx.members)
        )
        if ctx.model_summary_text:  # rows name a spec only when the members' specs differ
            first = "The first member:" if any("model spec" in row for row in ctx.members) else "Each member:"
            out += f'<p class="note">{first}</p>'
    if ctx.model_summary_text:
        out += f"<pre>{_e(ctx.model_summary_text)}</pre>"
    return out


def _metrics_section(ctx: ReportContext) -> str:
    out = "<h3>Overall</h3>" + _overall_table(ctx)
    if ctx.task == "multiclass" or len(ctx.metrics["tasks"]) > 1:
        out += "<h3>Per class</h3>" if ctx.task == "multiclass" else "<h3>Per task</h3>"
        out += _per_task_table(ctx)
    note = f"{_e(ctx.split.capitalize())} split. "
    if ctx.baseline_metrics is not None:
        note += "The better value is bold. "
        if ctx.task == "multiclass" or len(ctx.metrics["tasks"]) > 1:
            note += f"<b>CNN</b> = {_e(ctx.model_name)}, <b>base</b> = {_e(ctx.baseline_name)}. "
    if ctx.task == "binary":
        note += f"Accuracy, F1, MCC, precision and recall at threshold {ctx.metrics.get('threshold', 0.5):g}. "
    if ctx.task != "multiclass" and len(ctx.metrics["tasks"]) > 1:
        note += f"Overall values are means over the {len(ctx.metrics['tasks'])} tasks (macro). "
    if ctx.intervals:
        note += (
            f"Grey numbers under a value: its 95% interval ({ctx.intervals['n_boot']:,} bootstrap resamples of "
            "the records; Fisher's z for a single task's Pearson r). "
        )
    if ctx.baseline_fit:
        note += f"<br><b>Baseline</b>: {_e(ctx.baseline_fit)}"
    out += f'<p class="note">{note}</p>'
    everything = _frame_table(metrics_table(ctx.metrics))
    out += f"<details><summary>All {_e(ctx.model_name)} metrics</summary>{everything}</details>"
    if ctx.task != "regression":
        out += _confusion_tables(ctx)
    return out


def _overall_table(ctx: ReportContext) -> str:
    """Macro metrics as rows: metric | CNN | baseline | difference."""
    base = ctx.baseline_metrics
    head = f'<th>metric</th><th class="c">{_e(ctx.model_name)}</th>'
    if base is not None:
        head += f'<th class="b">{_e(ctx.baseline_name)}</th><th>difference</th>'
    rows = ""
    for m in OVERALL_METRICS[ctx.task]:
        a = ctx.metrics["macro"].get(m)
        b = None if base is None else base["macro"].get(m)
        win_a, win_b = _winner(m, a, b)
        ci_a, ci_b = (
            f'<small class="ci">{c}</small>' if c else "" for c in (_ci(ctx, "cnn", m), _ci(ctx, "baseline", m))
        )
        row = f'<td>{_e(METRIC_LABELS.get(m, m))}</td><td class="{"win" if win_a else ""}">{_fmt(a)}{ci_a}</td>'
        if base is not None:
            row += f'<td class="b {"win" if win_b else ""}">{_fmt(b)}{ci_b}</td><td>{_delta(m, a, b)}</td>'
        rows += f"<tr>{row}</tr>"
    return f'<table class="data metrics overall"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _per_task_table(ctx: ReportContext) -> str:
    """One row per task (class): the table metrics of the CNN beside the baseline's."""
    cols = TABLE_METRICS[ctx.task]
    base = ctx.baseline_metrics
    head1 = '<th rowspan="2">' + ("class" if ctx.task == "multiclass" else "task") + "</th>"
    head2 = ""
    for m in cols:
        head1 += f'<th colspan="{2 if base else 1}">{_e(METRIC_LABELS.get(m, m))}</th>'
        head2 += '<th class="c">CNN</th>' + ('<th class="b">base</th>' if base else "")
    names = list(ctx.metrics["tasks"])
    # a macro row only where the overall values are means of these same columns
    if ctx.task != "multiclass":
        names.append("macro")
    rows = ""
    for name in names:
        source = "macro" if name == "macro" else None
        cnn_vals = ctx.metrics["macro"] if source else ctx.metrics["tasks"][name]
        base_vals = None if base is None else (base["macro"] if source else base["tasks"].get(name, {}))
        cells = ""
        for m in cols:
            a = cnn_vals.get(m)
            b = None if base_vals is None else base_vals.get(m)
            win_a, win_b = _winner(m, a, b)
            cells += f'<td class="{"win" if win_a else ""}">{_fmt(a)}</td>'
            if base is not None:
                cells += f'<td class="b {"win" if win_b else ""}">{_fmt(b)}</td>'
        cls = ' class="macro"' if source else ""
        rows += f"<tr{cls}><td>{_e(name)}</td>{cells}</tr>"
    return (
        f'<div class="scroll"><table class="data metrics"><thead><tr>{head1}</tr><tr>{head2}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _winner(metric: str, a, b) -> tuple[bool, bool]:
    if a is None or b is None or a == b:
        return False, False
    a_better = a < b if metric in LOWER_IS_BETTER else a > b
    return a_better, not a_better


def _confusion_tables(ctx: ReportContext) -> str:
    if ctx.task == "multiclass":
        cm = ctx.metrics["macro"].get("confusion")
        return (
            ""
            if cm is None
            else f"<details><summary>Confusion matrix (counts)</summary>{_matrix_table(cm, ctx.label_names)}</details>"
        )
    parts = []
    for name, vals in ctx.metrics["tasks"].items():
        (tn, fp), (fn, tp) = vals["confusion"]
        parts.append({"task": name, "TN": tn, "FP": fp, "FN": fn, "TP": tp})
    return f"<details><summary>Confusion counts per task</summary>{_frame_table(pd.DataFrame(parts))}</details>"


def _matrix_table(cm: list, names: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = "".join(
        f"<tr><td>{_e(n)}</td>" + "".join(f"<td>{v:,}</td>" for v in row) + "</tr>"
        for n, row in zip(names, cm, strict=False)
    )
    return f'<table class="data"><thead><tr><th>true \\ predicted</th>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _frame_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(METRIC_LABELS.get(c, c))}</th>" for c in frame.columns)
    rows = ""
    for _, row in frame.iterrows():
        rows += "<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row.tolist()) + "</tr>"
    return f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _provenance_section(ctx: ReportContext) -> str:
    prov = dict(ctx.provenance or {})
    prov.setdefault("dnacnn", __version__)
    prov.setdefault("report written", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
    return _render_value(prov)


def _render_value(value) -> str:
    """Nested provenance: dict -> key/value table, list of dicts -> table, scalar -> text."""
    if isinstance(value, dict):
        return _kv_table(value, render=_render_value) if value else "\u2013"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{_e(k)}</th>" for k in keys)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_render_value(v.get(k))}</td>" for k in keys) + "</tr>" for v in value
            )
            return f'<table class="data inner"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        return ", ".join(_render_value(v) for v in value) if value else "\u2013"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f'<code class="hash">{value}</code>'
    if isinstance(value, float):
        return _fmt(value)
    return _e("\u2013" if value is None else str(value))


def _kv_table(d: dict, render=None) -> str:
    render = render or (lambda v: _e(str(v)) if not isinstance(v, float) else _fmt(v))
    rows = "".join(f'<tr><th scope="row">{_e(str(k))}</th><td>{render(v)}</td></tr>' for k, v in d.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


# ---------------------------------------------------------------------------------------------
# figures


def _evaluation_sections(ctx: ReportContext) -> list[tuple[str, str, str]]:
    note = _task_limit_note(ctx)
    if ctx.task == "regression":
        return [
            ("scatter", "Observed vs predicted", _figure(_scatter_figure, ctx, note)),
            ("residuals", "Residuals", _figure(_residual_figure, ctx, note)),
        ]
    what = "one-vs-rest per class" if ctx.task == "multiclass" else ""
    return [
        ("curves", "ROC and precision-recall curves", _figure(_curves_figure, ctx, _join(what, note))),
        ("confusion", "Confusion matrix", _figure(_confusion_figure, ctx, _confusion_caption(ctx))),
        ("scores", "Score distributions", _figure(_score_figure, ctx, note)),
        ("calibration", "Calibration", _figure(_calibration_figure, ctx, _calibration_caption(ctx))),
    ]


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _task_limit_note(ctx: ReportContext) -> str:
    n = len(ctx.label_names)
    kind = "classes" if ctx.task == "multiclass" else "tasks"
    return (
        f"Figures show the first {MAX_PLOT_TASKS} of {n} {kind}; the metrics table lists all."
        if n > MAX_PLOT_TASKS
        else ""
    )


def _confusion_caption(ctx: ReportContext) -> str:
    if ctx.task == "multiclass":
        return "Rows: true class; columns: predicted class (arg max). Colour: fraction of the row."
    return f"Predictions at threshold {ctx.metrics.get('threshold', 0.5):g}. Colour: fraction of the true class." + (
        " " + _task_limit_note(ctx) if _task_limit_note(ctx) else ""
    )


def _calibration_caption(ctx: ReportContext) -> str:
    if ctx.task == "multiclass":
        what = "Confidence of the predicted class vs how often it is right"
    else:
        what = "Mean predicted probability vs observed fraction of positives"
    bins = (
        f"in {CALIBRATION_BINS} equal-width bins; the numbers are the records per bin (bins of fewer than "
        f"{CALIBRATION_MIN_ROWS} are not drawn). Brier score: mean squared difference between probability and "
        "outcome (0 is perfect; always answering 0.5 scores 0.25)."
    )
    return _join(f"{what}, {bins}", "" if ctx.task == "multiclass" else _task_limit_note(ctx))


def _figure(draw, ctx: ReportContext, caption: str = "") -> str:
    """Run ``draw(ctx) -> Figure | None`` under the house style and embed it as a base64 PNG."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = draw(ctx)
        if fig is None:
            return ""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="" src="data:image/png;base64,{data}">{cap}</figure>'


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _panels(ctx: ReportContext) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Per plotted task (one-vs-rest per class for multiclass): ``(name, y, cnn score, baseline score)``
    on the labelled rows, 1-D arrays; at most ``MAX_PLOT_TASKS``."""
    y = _as_2d(ctx.y_true).astype(float)
    s = _as_2d(ctx.y_score).astype(float)
    b = None if ctx.baseline_score is None else _as_2d(ctx.baseline_score).astype(float)
    out = []
    for j, name in enumerate(ctx.label_names[:MAX_PLOT_TASKS]):
        col = y[:, 0] if ctx.task == "multiclass" else y[:, j]
        keep = ~np.isnan(col)
        target = (col[keep] == j).astype(float) if ctx.task == "multiclass" else col[keep]
        out.append((name, target, s[keep, j], None if b is None else b[keep, j]))
    return out


def _grid(n_tasks: int, per_task: int, panel_w: float = 2.45, panel_h: float = 2.45, single_w: float = 4.6):
    """A figure with ``per_task`` panels for each task: one row for a single task (wider panels),
    otherwise rows of up to 4 panels.  Returns ``(fig, axes)`` with ``axes[t][p]``."""
    if n_tasks == 1:
        fig = _new_figure(single_w * per_task, single_w * 0.86)
        axes = fig.subplots(1, per_task, squeeze=False)[0]
        return fig, [list(axes)]
    tasks_per_row = max(1, 4 // per_task)
    rows = math.ceil(n_tasks / tasks_per_row)
    cols = tasks_per_row * per_task
    fig = _new_figure(panel_w * cols + 0.4, panel_h * rows + 0.2)
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = [
        [grid[t // tasks_per_row][(t % tasks_per_row) * per_task + p] for p in range(per_task)] for t in range(n_tasks)
    ]
    for r in range(rows):
        for c in range(cols):
            t = r * tasks_per_row + c // per_task
            if t >= n_tasks:
                grid[r][c].set_visible(False)
    return fig, axes


def _two_classes(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < (y == 1).sum() < len(y)


def _curves_figure(ctx: ReportContext):
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    panels = _panels(ctx)
    zoom = _zoomed_roc(panels)
    fig, axes = _grid(len(panels), 3 if zoom else 2, single_w=3.6 if zoom else 4.6)
    multi = len(panels) > 1
    if zoom:
        _roc_zoom(axes[0][2], ctx, *panels[0][1:])
    for (name, y, s, b), (ax_roc, ax_pr, *_) in zip(panels, axes, strict=True):
        prefix = f"{name}: " if multi else ""
        ax_roc.set_title(f"{prefix}ROC", loc="left")
        ax_pr.set_title(f"{prefix}precision-recall", loc="left")
        for ax in (ax_roc, ax_pr):
            ax.set_xlim(-0.01, 1.01)
            ax.set_ylim(-0.01, 1.01)
            ax.set_aspect("equal")
        ax_roc.plot([0, 1], [0, 1], color="#b8c0cc", lw=0.9, ls="--")
        ax_roc.set_xlabel("false positive rate")
        ax_roc.set_ylabel("true positive rate")
        ax_pr.set_xlabel("recall")
        ax_pr.set_ylabel("precision")
        if not _two_classes(y):
            for ax in (ax_roc, ax_pr):
                ax.text(0.5, 0.5, "one class only:\ncurve undefined", ha="center", va="center", color=MUTED)
            continue
        prevalence = float(y.mean())
        ax_pr.axhline(prevalence, color="#b8c0cc", lw=0.9, ls="--")
        for score, color, label in _models(ctx, s, b, multi):
            fpr, tpr, _ = roc_curve(y, score)
            ax_roc.plot(fpr, tpr, color=color, lw=1.8, label=f"{label} {auc(fpr, tpr):.3f}")
            precision, recall, _ = precision_recall_curve(y, score)
            ap = average_precision_score(y, score)
            ax_pr.plot(recall, precision, color=color, lw=1.8, drawstyle="steps-post", label=f"{label} {ap:.3f}")
        ax_roc.legend(loc="lower right", title="AUC", title_fontsize=8)
        ax_pr.legend(loc="lower left", title="AP", title_fontsize=8)
    return fig


ZOOM_FPR = 0.1


def _zoomed_roc(panels) -> bool:
    """One task whose ROC curves all hug the corner: worth a third panel that zooms in on it."""
    from sklearn.metrics import roc_auc_score

    if len(panels) != 1 or not _two_classes(panels[0][1]):
        return False
    _, y, s, b = panels[0]
    return all(roc_auc_score(y, score) >= 0.95 for score in (s, b) if score is not None)


def _roc_zoom(ax, ctx: ReportContext, y: np.ndarray, s: np.ndarray, b: np.ndarray | None) -> None:
    from sklearn.metrics import roc_curve

    lowest = 1.0
    for score, color, label in _models(ctx, s, b, compact=True):
        fpr, tpr, _ = roc_curve(y, score)
        ax.plot(fpr, tpr, color=color, lw=1.8, drawstyle="steps-post", label=label)
        lowest = min(lowest, float(np.interp(0.0, fpr, tpr)))
    ax.set_xlim(0, ZOOM_FPR)
    ax.set_ylim(max(0.0, lowest - 0.05), 1.005)
    ax.set_title(f"ROC, zoomed (FPR ≤ {ZOOM_FPR:g})", loc="left")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")


def _short(label: str, compact: bool) -> str:
    return label if not compact or len(label) <= 14 else label[:13] + "\u2026"


def _models(ctx: ReportContext, s: np.ndarray, b: np.ndarray | None, compact: bool = False):
    """``(score, colour, legend name)`` of the CNN and, when present, the baseline; small panels get
    generic names for long ones (the page legend spells them out)."""
    yield s, CNN_COLOR, ctx.model_name if not compact or len(ctx.model_name) <= 14 else "CNN"
    if b is not None:
        yield b, BASELINE_COLOR, ctx.baseline_name if not compact or len(ctx.baseline_name) <= 14 else "baseline"


def _confusion_figure(ctx: ReportContext):
    if ctx.task == "multiclass":
        return _multiclass_confusion_figure(ctx)
    threshold = ctx.metrics.get("threshold", 0.5)
    panels = _panels(ctx)
    if len(panels) == 1:
        name, y, s, b = panels[0]
        per = 2 if b is not None else 1
        fig = _new_figure(3.3 * per + 0.3, 3.0)
        axes = fig.subplots(1, per, squeeze=False)[0]
        for ax, (score, _, label) in zip(axes, _models(ctx, s, b), strict=False):
            _heatmap(ax, _binary_confusion(y, score, threshold), ["neg", "pos"], label)
        return fig
    fig, axes = _grid(len(panels), 1, panel_w=2.5, panel_h=2.5)
    for (name, y, s, _), (ax,) in zip(panels, axes, strict=True):
        _heatmap(ax, _binary_confusion(y, s, threshold), ["neg", "pos"], f"{name} ({ctx.model_name})")
    return fig


def _binary_confusion(y: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
    pred = score >= threshold
    truth = y == 1
    return np.array([[np.sum(~truth & ~pred), np.sum(~truth & pred)], [np.sum(truth & ~pred), np.sum(truth & pred)]])


def _multiclass_confusion_figure(ctx: ReportContext):
    y = _as_2d(ctx.y_true).astype(float)[:, 0]
    keep = ~np.isnan(y)
    k = len(ctx.label_names)
    scores = [(ctx.y_score, ctx.model_name)]
    if ctx.baseline_score is not None:
        scores.append((ctx.baseline_score, ctx.baseline_name))
    size = min(6.0, 2.2 + 0.45 * k)
    fig = _new_figure(size * len(scores) + 0.2, size * 0.92)
    axes = fig.subplots(1, len(scores), squeeze=False)[0]
    for ax, (score, label) in zip(axes, scores, strict=True):
        pred = np.asarray(score)[keep].argmax(axis=1)
        cm = np.zeros((k, k), dtype=int)
        np.add.at(cm, (y[keep].astype(int), pred), 1)
        _heatmap(ax, cm, ctx.label_names, label)
    return fig


def _heatmap(ax, cm: np.ndarray, names: Sequence[str], title: str) -> None:
    """Counts annotated on a colour scale of the fraction of each true class (row)."""
    cm = np.asarray(cm)
    frac = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    k = len(cm)
    fontsize = 9 if k <= 4 else (7 if k <= 8 else 5.5)
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]:,}" if k > 4 else f"{cm[i, j]:,}\n{100 * frac[i, j]:.0f}%"
            ax.text(
                j, i, text, ha="center", va="center", fontsize=fontsize, color="white" if frac[i, j] > 0.55 else INK
            )
    ticks = [_short(str(n), True) for n in names]
    ax.set_xticks(range(k), ticks, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), ticks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, loc="left")
    for spine in ax.spines.values():
        spine.set_visible(False)


def _score_figure(ctx: ReportContext):
    panels = _panels(ctx)
    neg, pos = ("other", "this class") if ctx.task == "multiclass" else ("negative", "positive")
    if len(panels) == 1:
        name, y, s, b = panels[0]
        per = 2 if b is not None else 1
        fig = _new_figure(4.6 * per, 3.0)
        axes = fig.subplots(1, per, squeeze=False)[0]
        for ax, (score, _, label) in zip(axes, _models(ctx, s, b), strict=False):
            _score_hist(ax, y, score, label, neg, pos, ncols=2)
        return fig
    fig, axes = _grid(len(panels), 1, panel_w=2.5, panel_h=2.2)
    for (name, y, s, _), (ax,) in zip(panels, axes, strict=True):
        _score_hist(ax, y, s, f"{name} ({ctx.model_name})", neg, pos)
    return fig


def _legend_headroom(ax, fraction: float = 0.3) -> None:
    """Raise the y limit so a legend at the top does not cover the histogram."""
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + fraction * (top - bottom))


def _n_bins(n: int) -> int:
    """Histogram bins: about 2 sqrt(n), 8..40 (40 bins of 60 residuals are mostly empty)."""
    return int(np.clip(2 * np.sqrt(max(n, 1)), 8, 40))


def _score_hist(ax, y: np.ndarray, score: np.ndarray, title: str, neg: str, pos: str, ncols: int = 1) -> None:
    n_bins = _n_bins(len(y))
    bins = np.linspace(0, 1, n_bins + 1) if len(score) and score.min() >= 0 and score.max() <= 1 else n_bins
    for mask, color, label in ((y != 1, NEG_COLOR, neg), (y == 1, POS_COLOR, pos)):
        if mask.any():
            ax.hist(score[mask], bins=bins, density=True, color=color, alpha=0.55, label=f"{label} (n={mask.sum():,})")
            ax.hist(score[mask], bins=bins, density=True, color=color, histtype="step", lw=1.2)
    ax.set_title(title, loc="left")
    ax.set_xlabel("score")
    ax.set_ylabel("density")
    _legend_headroom(ax)
    ax.legend(loc="upper center", ncols=ncols)


def _calibration_figure(ctx: ReportContext):
    if ctx.task == "multiclass":
        return _multiclass_calibration_figure(ctx)
    panels = _panels(ctx)
    fig, axes = _grid(len(panels), 1, panel_w=2.5, panel_h=2.6, single_w=4.2)
    multi = len(panels) > 1
    for (name, y, s, b), (ax,) in zip(panels, axes, strict=True):
        _calibration_axes(ax, [(y, score, color, label) for score, color, label in _models(ctx, s, b, multi)])
        ax.set_title(name if multi else "reliability", loc="left")
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("fraction positive")
    return fig


def _multiclass_calibration_figure(ctx: ReportContext):
    y = _as_2d(ctx.y_true).astype(float)[:, 0]
    keep = ~np.isnan(y)
    curves = []
    for score, color, label in _models(ctx, ctx.y_score, ctx.baseline_score):
        p = np.asarray(score, float)[keep]
        correct = (p.argmax(axis=1) == y[keep]).astype(float)
        curves.append((correct, p.max(axis=1), color, label))
    fig = _new_figure(4.2, 3.6)
    ax = fig.subplots()
    _calibration_axes(ax, curves)
    ax.set_title("top-class reliability", loc="left")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    return fig


def _calibration_axes(ax, curves) -> None:
    from sklearn.calibration import calibration_curve

    ax.plot([0, 1], [0, 1], color="#b8c0cc", lw=0.9, ls="--")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    for k, (y, score, color, label) in enumerate(curves):
        if not _two_classes(y):
            continue
        score = np.clip(score, 0, 1)
        frac, mean = calibration_curve(y, score, n_bins=CALIBRATION_BINS, strategy="uniform")
        # calibration_curve drops empty bins; a bin of a handful of rows is noise, drop it too
        edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
        counts = np.bincount(np.searchsorted(edges[1:-1], score, side="right"), minlength=CALIBRATION_BINS)
        counts = counts[counts > 0]
        keep = counts >= CALIBRATION_MIN_ROWS
        brier = brier_score(y, score)
        ax.plot(mean[keep], frac[keep], color=color, lw=1.6, marker="o", ms=3.5, label=f"{label} (Brier {brier:.3f})")
        # how many records each point rests on: the first model above its points, the second below
        for x_, y_, c in zip(mean[keep], frac[keep], counts[keep], strict=True):
            ax.annotate(
                f"{c:,}",
                (x_, y_),
                xytext=(0, 5 if k == 0 else -10),
                textcoords="offset points",
                ha="center",
                fontsize=6.5,
                color=color,
            )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left")


def _scatter_figure(ctx: ReportContext):
    panels = _panels(ctx)
    per = 2 if ctx.baseline_score is not None else 1
    fig, axes = _grid(len(panels), per, panel_w=2.5, panel_h=2.5, single_w=4.2)
    multi = len(panels) > 1
    rng = np.random.default_rng(0)
    for (name, y, s, b), task_axes in zip(panels, axes, strict=True):
        # a fixed subsample keeps the PNG small; r is computed on all rows
        show = np.sort(rng.permutation(len(y))[:4000])
        lo, hi = _limits(y, s, b)
        for ax, (pred, color, label) in zip(task_axes, _models(ctx, s, b, multi), strict=False):
            ax.scatter(y[show], pred[show], s=7 if len(show) < 1000 else 3, color=color, alpha=0.5, linewidths=0)
            ax.plot([lo, hi], [lo, hi], color="#b8c0cc", lw=0.9, ls="--")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            r = _pearson(y, pred)
            ax.set_title(f"{name + ': ' if multi else ''}{label}", loc="left")
            ax.text(
                0.04,
                0.96,
                f"r = {_fmt(r)}\nn = {len(y):,}",
                transform=ax.transAxes,
                va="top",
                fontsize=8.5,
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": GRID_COLOR},
            )
            ax.set_xlabel("observed")
            ax.set_ylabel("predicted")
    return fig


def _limits(*arrays) -> tuple[float, float]:
    values = np.concatenate([a[np.isfinite(a)] for a in arrays if a is not None])
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    pad = 0.04 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _pearson(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(p) == 0:
        return None
    return float(np.corrcoef(y, p)[0, 1])


def _residual_figure(ctx: ReportContext):
    panels = _panels(ctx)
    fig, axes = _grid(len(panels), 1, panel_w=2.5, panel_h=2.2, single_w=5.0)
    multi = len(panels) > 1
    for (name, y, s, b), (ax,) in zip(panels, axes, strict=True):
        residuals = [(pred - y, color, label) for pred, color, label in _models(ctx, s, b, multi)]
        values = np.concatenate([r for r, _, _ in residuals])
        lo, hi = (np.percentile(values, 0.5), np.percentile(values, 99.5)) if len(values) else (-1.0, 1.0)
        bins = np.linspace(lo, hi, _n_bins(len(y)) + 1)
        for res, color, label in residuals:
            ax.hist(res, bins=bins, density=True, color=color, alpha=0.35)
            ax.hist(
                res,
                bins=bins,
                density=True,
                color=color,
                histtype="step",
                lw=1.3,
                label=f"{label} (sd {np.std(res):.2f})",
            )
        ax.axvline(0, color="#b8c0cc", lw=0.9, ls="--")
        ax.set_title(name if multi else "predicted \u2212 observed", loc="left")
        ax.set_xlabel("residual")
        ax.set_ylabel("density")
        _legend_headroom(ax)
        ax.legend(loc="upper center", ncols=1 if multi else 2)
    return fig


def _training_section(ctx: ReportContext) -> str:
    h = ctx.history
    if h is None or len(h) == 0:
        return '<p class="note">No training history was recorded for this model.</p>'
    out = _figure(_training_figure, ctx, _training_caption(ctx))
    total = ctx.training_seconds
    if total is None and "seconds" in h:
        total = pd.to_numeric(h["seconds"], errors="coerce").sum()
    facts = {"epochs": len(h) if not ctx.max_epochs else f"{len(h)} of at most {ctx.max_epochs}"}
    if ctx.best_epoch is not None:
        facts["weights kept from epoch"] = ctx.best_epoch
    if total:
        facts["training time"] = _duration(float(total))
    return out + _kv_table(facts)


def _other_baselines_section(ctx: ReportContext) -> str:
    if not ctx.other_baselines:
        return ""
    metrics = KEY_METRICS[ctx.task]
    main = metrics[0]
    label = METRIC_LABELS.get(main, main)
    head = "<th>method</th>" + "".join(f"<th>{_e(METRIC_LABELS.get(m, m))}</th>" for m in metrics)
    head += f"<th>CNN \u2212 method, {_e(label)}</th>"
    rows = ""
    named = {ctx.model_name: (ctx.metrics, {"cnn": ctx.intervals.get("cnn") if ctx.intervals else None})}
    if ctx.baseline_metrics is not None:
        own = ctx.intervals or {}
        named[ctx.baseline_name] = (
            ctx.baseline_metrics,
            {"cnn": own.get("baseline"), "difference": own.get("difference")},
        )
    for name, other in ctx.other_baselines.items():
        intervals = other.get("intervals") or {}
        named[name] = (other["metrics"], {"cnn": intervals.get("baseline"), "difference": intervals.get("difference")})
    for name, (values, intervals) in named.items():
        cells = f'<td class="t">{_e(name)}</td>'
        for m in metrics:
            ci = ((intervals.get("cnn") or {}).get(m)) or None
            small = f'<small class="ci">{_fmt(ci["low"])}\u2013{_fmt(ci["high"])}</small>' if ci else ""
            cells += f"<td>{_fmt(values['macro'].get(m))}{small}</td>"
        diff = (intervals.get("difference") or {}).get(main)
        if diff:
            cells += f'<td>{_delta(main, diff["estimate"], 0.0)}<small class="ci">{_signed(diff["low"])} to '
            cells += f"{_signed(diff['high'])}, p = {_p(diff['p_value'])}</small></td>"
        else:
            cells += "<td></td>"
        rows += f"<tr>{cells}</tr>"
    return (
        f'<div class="scroll"><table class="data metrics"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
        "</table></div>"
        '<p class="note">GBLUP: VanRaden genomic relationship, variance ratio by REML. RKHS: Gaussian kernel on '
        "marker distances, bandwidth and penalty by inner 5-fold CV on the training lines; kernel average: the "
        "mean of three Gaussian kernels (de los Campos et al. 2010).</p>"
    )


def _errors_section(ctx: ReportContext) -> str:
    if not ctx.examples:
        return ""
    has_base = any("baseline" in row for row in ctx.examples)
    has_seq = any("sequence" in row for row in ctx.examples)
    head = "<th>record</th><th>observed</th>" + f'<th class="c">{_e(ctx.model_name)}</th>'
    head += f'<th class="b">{_e(ctx.baseline_name)}</th>' if has_base else ""
    head += '<th class="t">sequence</th>' if has_seq else ""
    groups: dict[str, list[dict]] = {}
    for row in ctx.examples:
        groups.setdefault(row["kind"], []).append(row)
    out = ""
    for kind, rows in groups.items():
        body = ""
        for row in rows:
            cells = f'<td class="t">{_e(row["id"])}</td><td>{_fmt(row["observed"])}</td><td>{_fmt(row["cnn"])}</td>'
            cells += f'<td class="b">{_fmt(row.get("baseline"))}</td>' if has_base else ""
            cells += f'<td class="t"><code class="seq">{_e(row.get("sequence", ""))}</code></td>' if has_seq else ""
            body += f"<tr>{cells}</tr>"
        title = {"false positive": "Highest-scored negatives", "false negative": "Lowest-scored positives"}
        out += f"<h3>{_e(title.get(kind, 'Largest residuals'))}</h3>"
        out += f'<div class="scroll"><table class="data metrics errors"><thead><tr>{head}</tr></thead>'
        out += f"<tbody>{body}</tbody></table></div>"
    task = ctx.label_names[0] if ctx.label_names else ""
    if len(ctx.label_names) > 1:
        out += f'<p class="note">Task {_e(task)} (the first of {len(ctx.label_names)}).</p>'
    return out


def _training_caption(ctx: ReportContext) -> str:
    caption = "Dotted line: the epoch whose weights were kept." if ctx.best_epoch is not None else ""
    if ctx.members:
        caption = _join(f"The first of the ensemble's {len(ctx.members)} members.", caption)
    return caption


def _training_figure(ctx: ReportContext):
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    h = ctx.history
    epoch = h["epoch"].to_numpy() if "epoch" in h else np.arange(1, len(h) + 1)

    def col(name):
        return pd.to_numeric(h[name], errors="coerce").to_numpy(dtype=float) if name in h else None

    loss, val_loss, val_metric, lr = col("loss"), col("val_loss"), col("val_metric"), col("lr")
    panels = [
        p
        for p in (("loss", (loss, val_loss)), ("metric", (val_metric,)), ("lr", (lr,)))
        if any(a is not None and np.isfinite(a).any() for a in p[1])
    ]
    if not panels:
        return None
    fig = _new_figure(3.4 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    metric_name = METRIC_LABELS.get(ctx.val_metric_name or MAIN_METRIC[ctx.task], ctx.val_metric_name)
    for ax, (kind, _) in zip(axes, panels, strict=True):
        if kind == "loss":
            if loss is not None:
                ax.plot(epoch, loss, color=CNN_COLOR, lw=1.6, label="train")
            if val_loss is not None:
                ax.plot(epoch, val_loss, color=CNN_COLOR, lw=1.6, ls="--", label="validation")
            ax.set_title("loss", loc="left")
            _legend_headroom(ax, 0.25)
            ax.legend(loc="upper center", ncols=2)
        elif kind == "metric":
            ax.plot(epoch, val_metric, color=POS_COLOR, lw=1.6, marker="o" if len(epoch) <= 30 else None, ms=3)
            ax.set_title(f"validation {metric_name}", loc="left")
        else:
            ax.plot(epoch, lr, color=MUTED, lw=1.6)
            finite = lr[np.isfinite(lr) & (lr > 0)]
            if len(finite) and finite.max() > finite.min():
                ax.set_yscale("log")  # schedules decay geometrically
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_minor_formatter(NullFormatter())
            elif len(finite):  # a constant rate: one tick, not five ticks all reading the same
                ax.set_yticks([finite[0]])
                ax.set_ylim(finite[0] * 0.5, finite[0] * 1.5)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}" if v else "0"))
            ax.set_title("learning rate", loc="left")
        ax.set_xlabel("epoch")
        if ctx.best_epoch is not None:
            ax.axvline(ctx.best_epoch, color="#8a94a6", lw=0.9, ls=":")
        ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


# ---------------------------------------------------------------------------------------------
# the summary page across runs


def summary_row(
    dataset: str,
    model: str,
    metrics: dict,
    baseline_metrics: dict | None = None,
    baseline_name: str | None = None,
    report: str | None = None,
    intervals: dict | None = None,
    **extra,
) -> dict:
    """One row of :func:`write_summary` from ``compute_metrics`` dictionaries.

    Returns a dict with ``dataset, model, task, metric`` (the main metric's name), ``value`` (CNN),
    ``value_low``/``value_high`` (its 95% interval), ``baseline``, ``baseline_name``, ``delta``
    (value - baseline) with ``delta_low``/``delta_high`` and the paired ``p_value``, ``n``, ``report``
    (a path relative to the summary page) and the ``extra`` keys (e.g. ``seconds``, ``epochs``).
    Intervals come from :func:`dnacnn.intervals.headline_intervals` (``intervals``); absent, they are None.
    """
    task = metrics["task"]
    metric = MAIN_METRIC[task]
    value = metrics["macro"].get(metric)
    base = None if baseline_metrics is None else baseline_metrics["macro"].get(metric)
    delta = None if value is None or base is None else value - base
    # rows with a label: multiclass counts them overall; per task, the largest task count
    n = metrics["macro"].get("n") or max((t.get("n", 0) for t in metrics["tasks"].values()), default=0)
    interval = ((intervals or {}).get("cnn") or {}).get(metric) or {}
    diff = ((intervals or {}).get("difference") or {}).get(metric) or {}
    row = {
        "dataset": dataset,
        "model": model,
        "task": task,
        "metric": metric,
        "value": value,
        "value_low": interval.get("low"),
        "value_high": interval.get("high"),
        "baseline": base,
        "baseline_name": baseline_name,
        "delta": delta,
        "delta_low": diff.get("low"),
        "delta_high": diff.get("high"),
        "p_value": diff.get("p_value"),
        "n": n,
        **extra,
    }
    if report is not None:
        row["report"] = str(report)
    return row


# the columns of the main summary table (every other column goes to the "other metrics" tables)
_SUMMARY_MAIN = (
    "dataset", "model", "task", "metric", "value", "value_low", "value_high", "baseline", "baseline_name",
    "delta", "delta_low", "delta_high", "p_value", "n", "report",
)  # fmt: skip


def write_summary(path_html: str | os.PathLike, rows: pd.DataFrame, title: str = "dnacnn summary") -> None:
    """Write an aggregate page across runs (one self-contained HTML file, written atomically).

    Parameters
    ----------
    path_html : path
        Output file.
    rows : pandas.DataFrame
        One row per dataset x model, e.g. from :func:`summary_row`.  The main table shows the main
        metric with its interval, the baseline and the paired difference; every other column (e.g.
        ``pr_auc`` and ``baseline_pr_auc``, ``seconds``) appears in an "other metrics" table per task
        type.  ``value``/``baseline`` (grouped by ``metric``) make the chart; ``report`` holds a path
        relative to ``path_html`` and becomes a link.
    title : str
        Page title.
    """
    rows = rows.reset_index(drop=True)
    chart = _summary_chart_html(rows) if "value" in rows and len(rows) else '<p class="note">No scores to plot.</p>'
    n_runs = len(rows)
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    content = (
        f'<header><div class="eyebrow">dnacnn summary</div><h1>{_e(title)}</h1>'
        f'<p class="sub">{n_runs} run{"s" if n_runs != 1 else ""}{_DOT}written {stamp}{_DOT}dnacnn {__version__}</p>'
        f'<div class="legend"><span class="key"><i style="background:{CNN_COLOR}"></i>model</span>'
        f'<span class="key"><i style="background:{BASELINE_COLOR}"></i>baseline</span></div></header>'
        f'<section><h2>Main metric per run</h2><p class="how">Each run\'s headline metric on its test records, '
        "with its 95% interval (the whisker), beside the classical baseline fitted in the same run. The axis "
        f"is zoomed to the values, so small differences show.</p>{chart}</section>"
        f"<section><h2>Runs</h2>{_summary_main_table(rows)}"
        '<p class="note">Score: the model on its test records, with its 95% interval (bootstrap; Fisher\'s z for '
        "one Pearson r). Baseline: k-mer logistic regression for DNA, RR-BLUP for genotypes, fitted on the same "
        "training rows and scored on the same records. \u0394: score \u2212 baseline with the 95% interval and "
        "p-value of a paired bootstrap on those records.</p>"
        f"{_summary_other_tables(rows)}</section>"
    )
    write_text_atomic(Path(path_html), _page(title, content))


def _summary_main_table(rows: pd.DataFrame) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("dataset", "model", "metric", "score", "baseline", "\u0394 vs baseline", "n", "report")
    )
    body = ""
    for _, row in rows.iterrows():
        metric = row.get("metric") if isinstance(row.get("metric"), str) else ""
        score = _fmt(row.get("value")) + _interval_small(row.get("value_low"), row.get("value_high"))
        base = _fmt(row.get("baseline"))
        if isinstance(row.get("baseline_name"), str):
            base += f'<small class="ci">{_e(row["baseline_name"])}</small>'
        delta = ""
        if _is_number(row.get("delta")):
            delta = _delta(metric, float(row["delta"]), 0.0)
            if _is_number(row.get("delta_low")) and _is_number(row.get("delta_high")):
                delta += f'<small class="ci">{_signed(row["delta_low"])} to {_signed(row["delta_high"])}'
                delta += f", p = {_p(row['p_value'])}</small>" if _is_number(row.get("p_value")) else "</small>"
        report = row.get("report")
        link = f'<a href="{_e(report)}">open</a>' if isinstance(report, str) and report else ""
        cells = [
            f'<td class="t">{_e(row.get("dataset", ""))}</td>',
            f'<td class="t">{_e(row.get("model", ""))}</td>',
            f'<td class="t">{_e(METRIC_LABELS.get(metric, metric))}</td>',
            f"<td>{score}</td>",
            f'<td class="b">{base}</td>',
            f"<td>{delta}</td>",
            f"<td>{_fmt(row.get('n'))}</td>",
            f'<td class="t">{link}</td>',
        ]
        body += f"<tr>{''.join(cells)}</tr>"
    table = f'<table class="data summary metrics"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _interval_small(low, high) -> str:
    return f'<small class="ci">{_fmt(low)}\u2013{_fmt(high)}</small>' if _is_number(low) and _is_number(high) else ""


def _summary_other_tables(rows: pd.DataFrame) -> str:
    """The secondary columns, one table per task type: each metric with the baseline's beside it."""
    other = [c for c in rows.columns if c not in _SUMMARY_MAIN and not c.startswith("baseline_")]
    if not other:
        return ""
    out = ""
    tasks = rows["task"] if "task" in rows else pd.Series(["runs"] * len(rows))
    for task in dict.fromkeys(tasks):
        group = rows[tasks == task]
        columns = [c for c in other if group[c].notna().any()]
        if not columns:
            continue
        head = "<th>dataset</th><th>model</th>" + "".join(
            f"<th>{_e(_SUMMARY_LABELS.get(c, METRIC_LABELS.get(c, c)))}</th>" for c in columns
        )
        body = ""
        for _, row in group.iterrows():
            cells = f'<td class="t">{_e(row.get("dataset", ""))}</td><td class="t">{_e(row.get("model", ""))}</td>'
            for c in columns:
                base = row.get(f"baseline_{c}")
                extra = f'<small class="ci">baseline {_fmt(base)}</small>' if _is_number(base) else ""
                cells += f"<td>{_fmt(row[c])}{extra}</td>"
            body += f"<tr>{cells}</tr>"
        out += (
            f"<h3>Other metrics: {_e(task)}</h3>"
            f'<div class="scroll"><table class="data summary metrics"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )
    return out


def _summary_chart_html(rows: pd.DataFrame) -> str:
    import matplotlib

    metric_col = rows["metric"] if "metric" in rows else pd.Series(["value"] * len(rows))
    groups = [(m, rows[metric_col == m]) for m in dict.fromkeys(metric_col)]
    height = sum(0.42 * len(g) + 0.9 for _, g in groups)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(9.4, max(2.2, height))
        axes = fig.subplots(len(groups), 1, squeeze=False, height_ratios=[len(g) + 1.5 for _, g in groups])[:, 0]
        for ax, (metric, group) in zip(axes, groups, strict=True):
            _summary_dots(ax, metric, group)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<figure><img alt="main metric per run" src="data:image/png;base64,{data}"></figure>'


# metrics that cannot exceed 1: the zoomed axis stops there
_UNIT_METRICS = frozenset(
    {"roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "f1_macro", "mcc", "pearson_r", "spearman_rho"}
)

# column titles of the summary tables
_SUMMARY_LABELS = {"seconds": "training time (s)", "epochs": "epochs"}


def _column(group: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(group[name], errors="coerce").to_numpy(float) if name in group else np.full(len(group), np.nan)


def _summary_dots(ax, metric: str, group: pd.DataFrame) -> None:
    """Each run's score as a dot with its 95% interval, the baseline's dot below it; the axis is
    zoomed to the values so that 0.998 and 0.991 look different."""
    labels = [
        " \u00b7 ".join(str(r[c]) for c in ("dataset", "model") if c in group and pd.notna(r[c])) or str(i)
        for i, r in group.iterrows()
    ]
    labels = [lab if len(lab) <= 48 else lab[:47] + "\u2026" for lab in labels]
    pos = np.arange(len(group))[::-1].astype(float)
    values, low, high = _column(group, "value"), _column(group, "value_low"), _column(group, "value_high")
    base = _column(group, "baseline")
    has_base = np.isfinite(base).any()
    off = 0.16 if has_base else 0.0
    ax.errorbar(
        values, pos + off, xerr=np.abs(np.vstack([values - low, high - values])) if np.isfinite(low).any() else None,
        fmt="o", color=CNN_COLOR, ms=6, capsize=3, lw=1.4, label="model",
    )  # fmt: skip
    if has_base:
        ax.plot(base, pos - off, "D", color=BASELINE_COLOR, ms=5, label="baseline")
    for p, v, hi in zip(pos, values, high, strict=True):
        if np.isfinite(v):
            ax.annotate(f"{v:.3f}", (np.nanmax([v, hi]), p + off), xytext=(5, 0), textcoords="offset points",
                        va="center", fontsize=7.5, color=INK, annotation_clip=False)  # fmt: skip
    for p, v in zip(pos, base, strict=True):
        if np.isfinite(v):
            ax.annotate(f"{v:.3f}", (v, p - off), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=7.5, color=MUTED, annotation_clip=False)  # fmt: skip
    finite = np.concatenate([a[np.isfinite(a)] for a in (values, low, high, base)])
    if len(finite):
        lo, hi = float(finite.min()), float(finite.max())
        pad = max(0.08 * (hi - lo), 0.004)
        right = hi + 2.2 * pad  # room for the value labels
        ax.set_xlim(lo - pad, right if metric not in _UNIT_METRICS else min(right, 1.0 + 0.5 * pad))
    ax.set_yticks(pos, labels)
    ax.set_ylim(pos.min() - 0.6, pos.max() + 0.6)
    ax.grid(axis="y", visible=False)
    ax.set_title(METRIC_LABELS.get(metric, metric) + " (axis zoomed to the values)", loc="left")


# ---------------------------------------------------------------------------------------------
# page shell and helpers

_CSS = Template(
    """
:root{--cnn:$cnn;--base:$base;--ink:$ink;--muted:$muted;--line:#e3e7ee;--bg:#f5f7fa;--good:#1a7f4b;--bad:#b42318}
*{box-sizing:border-box}
html{background:var(--bg)}
body {
  margin:0;color:var(--ink);
  font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  -webkit-font-smoothing:antialiased;
}
main{max-width:1100px;margin:0 auto;padding:28px 28px 56px}
header {
  background:#fff;border:1px solid var(--line);border-radius:12px;padding:26px 30px 20px;
  border-top:5px solid var(--cnn);
}
.eyebrow{text-transform:uppercase;letter-spacing:.09em;font-size:11.5px;font-weight:600;color:var(--muted)}
h1{font-size:27px;line-height:1.25;margin:4px 0 4px;font-weight:650;letter-spacing:-.01em}
h2{font-size:18px;margin:0 0 14px;font-weight:650;letter-spacing:-.005em}
h3{font-size:14.5px;margin:20px 0 8px;font-weight:650}
.sub{color:var(--muted);margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:14px}
.card{border:1px solid var(--line);border-radius:10px;padding:14px 16px;background:linear-gradient(#fff,#fafbfd)}
.card .label{font-size:12.5px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.05em}
.card .big{font-size:38px;font-weight:700;color:var(--cnn);line-height:1.15;font-variant-numeric:tabular-nums}
.card .vs{font-size:13px;color:var(--muted);margin-top:2px}
.card .vs b{color:var(--ink);font-weight:600;font-variant-numeric:tabular-nums}
i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.delta {
  font-weight:650;font-size:12.5px;padding:1px 6px;border-radius:10px;margin-left:4px;
  font-variant-numeric:tabular-nums;
}
.delta.up{color:var(--good);background:#e6f4ec}
.delta.down{color:var(--bad);background:#fdecea}
.delta.flat{color:var(--muted);background:#eef1f5}
.verdict{margin:16px 0 6px;font-size:15px}
.card .ci{font-size:12.5px;color:var(--muted);font-variant-numeric:tabular-nums;margin-top:-2px}
small.ci{display:block;font-size:11.5px;color:var(--muted);font-weight:400}
p.how{color:var(--muted);font-size:13.5px;margin:-6px 0 12px;max-width:860px}
p.caveat {
  background:#fff8e6;border:1px solid #f3d58a;border-radius:8px;padding:8px 12px;font-size:13.5px;margin:10px 0;
}
.split.evaluated{border-color:var(--cnn)}
code.seq{font:11.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
table.errors td:last-child{white-space:normal;min-width:280px;max-width:560px}
.legend{font-size:13px;color:var(--muted)}
.legend .key{margin-right:18px}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 8px;margin:16px 2px}
nav.toc a {
  font-size:13px;color:var(--ink);text-decoration:none;padding:4px 11px;border:1px solid var(--line);
  border-radius:14px;background:#fff;
}
nav.toc a:hover{border-color:var(--cnn);color:var(--cnn)}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:22px 28px;margin:16px 0}
figure{margin:6px 0 4px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption,.note{font-size:13px;color:var(--muted);margin:8px 0 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13.5px}
table.data th,table.data td {
  padding:6px 11px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;
}
table.data th:first-child,table.data td:first-child,table.data td.t{text-align:left}
table.data thead th {
  font-weight:600;color:var(--muted);font-size:12.5px;border-bottom:1.5px solid #cfd6df;text-align:center;
}
table.data thead th:first-child{text-align:left}
table.data tbody tr:hover{background:#f7f9fc}
table.summary td.wrap{white-space:normal;min-width:160px}
table.summary th,table.summary td{padding:6px 8px}
table.metrics th.c{color:var(--cnn)}
table.metrics th.b,table.metrics td.b{color:#9a5a2c}
table.metrics td.b{border-right:1px solid var(--line)}
table.metrics td.win{font-weight:700}
table.metrics tr.macro td{border-top:1.5px solid #cfd6df;font-weight:600;background:#fafbfd}
table.inner{font-size:12.5px}
table.kv > tbody > tr > th {
  text-align:left;font-weight:600;color:var(--muted);padding:5px 18px 5px 0;vertical-align:top;white-space:nowrap;
  font-size:13px;
}
table.kv > tbody > tr > td{padding:5px 0;vertical-align:top;word-break:break-word}
table.kv table.kv{margin:0}
code.hash{font:11.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#4b5563;word-break:break-all}
pre {
  background:#f6f8fb;border:1px solid var(--line);border-radius:8px;padding:14px 16px;overflow:auto;
  max-height:520px;font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
  margin:0;
}
.scroll{overflow-x:auto}
.splits{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0 4px}
.split{border:1px solid var(--line);border-radius:9px;padding:8px 16px;min-width:110px}
.split b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.split span{color:var(--muted);font-size:13px}
.split em{font-style:normal;color:var(--muted);font-size:12px;margin-left:8px}
.split.total{background:#f6f8fb}
td.barcell{width:160px}
.bar{height:8px;background:#eef1f5;border-radius:4px;overflow:hidden;min-width:120px}
.bar i{display:block;height:100%;background:var(--cnn);margin:0;border-radius:0}
details{margin-top:14px}
summary{cursor:pointer;color:var(--cnn);font-size:13.5px;font-weight:600}
details > :not(summary){margin-top:10px}
a{color:var(--cnn)}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:26px}
@media (max-width:820px){
  main{padding:14px 10px 40px}section{padding:16px 14px}header{padding:18px 16px 14px}
  .card .big{font-size:30px}h1{font-size:22px}
}
@media print{html{background:#fff}section,header{break-inside:avoid;border-color:#ccc}nav.toc{display:none}}
"""
).substitute(cnn=CNN_COLOR, base=BASELINE_COLOR, ink=INK, muted=MUTED)


def write_page(path: str | os.PathLike, title: str, content: str) -> None:
    """Write trusted ``content`` HTML as a self-contained page in the house style (atomically)."""
    write_text_atomic(Path(path), _page(title, content))


def figure_html(draw, caption: str = "", alt: str = "") -> str:
    """Run ``draw() -> Figure`` under the house style and embed the figure as a base64 PNG."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = draw()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def new_figure(width: float, height: float):
    """A matplotlib Figure (no pyplot state) with constrained layout at the report's DPI."""
    return _new_figure(width, height)


def _page(title: str, content: str) -> str:
    footer = f"<footer>Written by dnacnn {__version__}. Self-contained page: it opens offline.</footer>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="dnacnn {__version__}"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body><main>{content}{footer}</main></body></html>\n"
    )


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(float(v))


def _fmt(v) -> str:
    """Numbers for people: 3 decimals, thousands separators for counts, an en dash for missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "\u2013"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isinf(v):
            return "\u221e" if v > 0 else "\u2212\u221e"
        if v.is_integer() and abs(v) >= 1000:
            return f"{int(v):,}"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3g}"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return _e(v)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a)
    return a[:, None] if a.ndim == 1 else a
