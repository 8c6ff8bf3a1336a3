"""The report of one run: :func:`render_report` puts the header (headline cards, verdict,
caveats), the sections and the figures of a :class:`dnacnn.report.context.ReportContext` in one
page; :func:`write_report` writes it atomically.

Sections come from :mod:`dnacnn.report.sections`, figures from :mod:`dnacnn.report.figures`; this
module decides their order, their titles and the sentence under each title.
"""

from __future__ import annotations

import os
from pathlib import Path

from dnacnn.io.outputs import write_text_atomic
from dnacnn.metrics import HEADLINE_METRICS, LOWER_IS_BETTER, MAIN_METRIC, METRIC_LABELS
from dnacnn.report.context import ReportContext, interval_text, n_labelled
from dnacnn.report.figures.classification import (
    CALIBRATION_BINS,
    CALIBRATION_MIN_ROWS,
    calibration_figure,
    confusion_figure,
    curves_figure,
    score_figure,
)
from dnacnn.report.figures.common import MAX_PLOT_TASKS, context_figure
from dnacnn.report.figures.regression import residual_figure, scatter_figure
from dnacnn.report.page import render_page
from dnacnn.report.sections import (
    dataset_section,
    errors_section,
    metrics_section,
    model_section,
    other_baselines_section,
    provenance_section,
    training_section,
)
from dnacnn.report.style import BASELINE_COLOR, CNN_COLOR
from dnacnn.report.text import DOT, delta_span, escape, fmt, join_text, p_text, signed


def write_report(path: str | os.PathLike, ctx: ReportContext) -> None:
    """Write the report of one run to ``path`` (one self-contained HTML file, written atomically)."""
    write_text_atomic(Path(path), render_report(ctx))


def render_report(ctx: ReportContext) -> str:
    """The report of one run as an HTML string (see :func:`write_report`)."""
    if ctx.task not in HEADLINE_METRICS:
        raise ValueError(f"unknown task {ctx.task!r}")
    sections = [
        ("dataset", "Dataset", dataset_section(ctx)),
        ("model", "Model", model_section(ctx)),
        ("training", "Training", training_section(ctx)),
        *_evaluation_sections(ctx),
        ("errors", "Largest errors", errors_section(ctx)),
        ("baselines", "Kernel baselines", other_baselines_section(ctx)),
        ("metrics", "Metrics", metrics_section(ctx)),
        *[(f"extra-{i}", title, body) for i, (title, body) in enumerate(ctx.extra_sections)],
        ("provenance", "Provenance", provenance_section(ctx)),
    ]
    sections = [s for s in sections if s[2]]
    toc = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{escape(title)}</h2>{_how_to_read(sid, ctx)}{content}</section>'
        for sid, title, content in sections
    )
    return render_page(ctx.title, _header(ctx) + f'<nav class="toc">{toc}</nav>' + body)


def _header(ctx: ReportContext) -> str:
    name = ctx.dataset.get("name")
    n_eval = ctx.metrics["macro"].get("n") or n_labelled(ctx)
    sub = [
        escape(name) if name else None,
        f"{escape(ctx.task)} \u00b7 {len(ctx.label_names)} "
        + ("classes" if ctx.task == "multiclass" else "task" + ("s" if len(ctx.label_names) != 1 else "")),
        f"{escape(ctx.split)} split: n = {n_eval:,}" if n_eval else None,
    ]
    cards = "".join(_card(ctx, m) for m in HEADLINE_METRICS[ctx.task])
    legend = f'<span class="key"><i style="background:{CNN_COLOR}"></i>{escape(ctx.model_name)}</span>'
    if ctx.baseline_metrics is not None:
        legend += f'<span class="key"><i style="background:{BASELINE_COLOR}"></i>{escape(ctx.baseline_name)}</span>'
    return (
        f'<header><div class="eyebrow">dnacnn report</div><h1>{escape(ctx.title)}</h1>'
        f'<p class="sub">{DOT.join(s for s in sub if s)}</p>'
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
    return f'<p class="how">{escape(text)}</p>' if text else ""


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
    return "".join(f'<p class="caveat">{escape(text)}</p>' for text in out)


def _still_improving(ctx: ReportContext) -> bool:
    n_epochs = 0 if ctx.history is None else len(ctx.history)
    return bool(ctx.max_epochs and ctx.best_epoch and n_epochs >= ctx.max_epochs and ctx.best_epoch >= n_epochs)


def _card(ctx: ReportContext, metric: str) -> str:
    value = ctx.metrics["macro"].get(metric)
    qualifier = "macro " if len(ctx.label_names) > 1 and ctx.task != "multiclass" else ""
    html_ = f'<div class="card"><div class="label">{qualifier}{escape(METRIC_LABELS.get(metric, metric))}</div>'
    html_ += f'<div class="big">{fmt(value)}</div>'
    ci = interval_text(ctx, "cnn", metric)
    html_ += f'<div class="ci">95% CI {ci}</div>' if ci else ""
    if ctx.baseline_metrics is not None:
        base = ctx.baseline_metrics["macro"].get(metric)
        html_ += f'<div class="vs"><i style="background:{BASELINE_COLOR}"></i>{escape(ctx.baseline_name)} '
        html_ += f"<b>{fmt(base)}</b> {delta_span(metric, value, base)}</div>"
    return html_ + "</div>"


def _verdict(ctx: ReportContext) -> str:
    metric = MAIN_METRIC[ctx.task]
    label = ("macro " if ctx.task != "multiclass" and len(ctx.label_names) > 1 else "") + METRIC_LABELS[metric]
    value = ctx.metrics["macro"].get(metric)
    if value is None:
        return f"{label} is undefined on the {escape(ctx.split)} split (a single class?)."
    if ctx.baseline_metrics is None or ctx.baseline_metrics["macro"].get(metric) is None:
        return (
            f"{escape(ctx.model_name)}: {label} {fmt(value)} on the {escape(ctx.split)} split; no baseline was fitted."
        )
    base = ctx.baseline_metrics["macro"][metric]
    diff = ((ctx.intervals or {}).get("difference") or {}).get(metric)
    n = f"n = {n_labelled(ctx):,}"
    if diff is None:
        verb = "beats" if value > base else ("matches" if value == base else "trails")
        return (
            f"The {escape(ctx.model_name)} {verb} the {escape(ctx.baseline_name)} baseline by "
            f"{abs(value - base):.3f} {label} on the {escape(ctx.split)} split ({fmt(value)} vs {fmt(base)}, {n})."
        )
    better = value < base if metric in LOWER_IS_BETTER else value > base
    evidence = (
        f"difference {signed(diff['estimate'])}, 95% CI {signed(diff['low'])} to {signed(diff['high'])}, "
        f"paired bootstrap p = {p_text(diff['p_value'])}, {n}"
    )
    if diff["p_value"] >= 0.05:
        return (
            f"The {escape(ctx.model_name)} and the {escape(ctx.baseline_name)} baseline do not differ clearly "
            f"in {label} on the {escape(ctx.split)} split: {fmt(value)} vs {fmt(base)} ({evidence})."
        )
    verb = "beats" if better else "trails"
    return (
        f"The {escape(ctx.model_name)} {verb} the {escape(ctx.baseline_name)} baseline by {abs(value - base):.3f} "
        f"{label} on the {escape(ctx.split)} split: {fmt(value)} vs {fmt(base)} ({evidence})."
    )


def _evaluation_sections(ctx: ReportContext) -> list[tuple[str, str, str]]:
    note = _task_limit_note(ctx)
    if ctx.task == "regression":
        return [
            ("scatter", "Observed vs predicted", context_figure(scatter_figure, ctx, note)),
            ("residuals", "Residuals", context_figure(residual_figure, ctx, note)),
        ]
    what = "one-vs-rest per class" if ctx.task == "multiclass" else ""
    return [
        ("curves", "ROC and precision-recall curves", context_figure(curves_figure, ctx, join_text(what, note))),
        ("confusion", "Confusion matrix", context_figure(confusion_figure, ctx, _confusion_caption(ctx))),
        ("scores", "Score distributions", context_figure(score_figure, ctx, note)),
        ("calibration", "Calibration", context_figure(calibration_figure, ctx, _calibration_caption(ctx))),
    ]


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
    return join_text(f"{what}, {bins}", "" if ctx.task == "multiclass" else _task_limit_note(ctx))
