"""Figures of a classification run: ROC and precision-recall curves, confusion matrices, score
distributions and calibration (binary tasks, or one-vs-rest per class for multiclass).

Each public ``*_figure(ctx)`` returns a matplotlib Figure drawn from a
:class:`dnacnn.report.context.ReportContext`; calibration bins of fewer than
:data:`CALIBRATION_MIN_ROWS` records are not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dnacnn.metrics import brier_score
from dnacnn.report.context import ReportContext, as_2d
from dnacnn.report.figures.common import (
    histogram_bins,
    legend_headroom,
    model_scores,
    new_figure,
    panel_grid,
    short_label,
    task_panels,
    two_classes,
)
from dnacnn.report.style import INK, MUTED, NEG_COLOR, POS_COLOR

CALIBRATION_BINS = 10
CALIBRATION_MIN_ROWS = 5


def curves_figure(ctx: ReportContext):
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    panels = task_panels(ctx)
    zoom = _zoomed_roc(panels)
    fig, axes = panel_grid(len(panels), 3 if zoom else 2, single_w=3.6 if zoom else 4.6)
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
        if not two_classes(y):
            for ax in (ax_roc, ax_pr):
                ax.text(0.5, 0.5, "one class only:\ncurve undefined", ha="center", va="center", color=MUTED)
            continue
        prevalence = float(y.mean())
        ax_pr.axhline(prevalence, color="#b8c0cc", lw=0.9, ls="--")
        for score, color, label in model_scores(ctx, s, b, multi):
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

    if len(panels) != 1 or not two_classes(panels[0][1]):
        return False
    _, y, s, b = panels[0]
    return all(roc_auc_score(y, score) >= 0.95 for score in (s, b) if score is not None)


def _roc_zoom(ax, ctx: ReportContext, y: np.ndarray, s: np.ndarray, b: np.ndarray | None) -> None:
    from sklearn.metrics import roc_curve

    lowest = 1.0
    for score, color, label in model_scores(ctx, s, b, compact=True):
        fpr, tpr, _ = roc_curve(y, score)
        ax.plot(fpr, tpr, color=color, lw=1.8, drawstyle="steps-post", label=label)
        lowest = min(lowest, float(np.interp(0.0, fpr, tpr)))
    ax.set_xlim(0, ZOOM_FPR)
    ax.set_ylim(max(0.0, lowest - 0.05), 1.005)
    ax.set_title(f"ROC, zoomed (FPR ≤ {ZOOM_FPR:g})", loc="left")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")


def confusion_figure(ctx: ReportContext):
    if ctx.task == "multiclass":
        return _multiclass_confusion_figure(ctx)
    threshold = ctx.metrics.get("threshold", 0.5)
    panels = task_panels(ctx)
    if len(panels) == 1:
        name, y, s, b = panels[0]
        per = 2 if b is not None else 1
        fig = new_figure(3.3 * per + 0.3, 3.0)
        axes = fig.subplots(1, per, squeeze=False)[0]
        for ax, (score, _, label) in zip(axes, model_scores(ctx, s, b), strict=False):
            _heatmap(ax, _binary_confusion(y, score, threshold), ["neg", "pos"], label)
        return fig
    fig, axes = panel_grid(len(panels), 1, panel_w=2.5, panel_h=2.5)
    for (name, y, s, _), (ax,) in zip(panels, axes, strict=True):
        _heatmap(ax, _binary_confusion(y, s, threshold), ["neg", "pos"], f"{name} ({ctx.model_name})")
    return fig


def _binary_confusion(y: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
    pred = score >= threshold
    truth = y == 1
    return np.array([[np.sum(~truth & ~pred), np.sum(~truth & pred)], [np.sum(truth & ~pred), np.sum(truth & pred)]])


def _multiclass_confusion_figure(ctx: ReportContext):
    y = as_2d(ctx.y_true).astype(float)[:, 0]
    keep = ~np.isnan(y)
    k = len(ctx.label_names)
    scores = [(ctx.y_score, ctx.model_name)]
    if ctx.baseline_score is not None:
        scores.append((ctx.baseline_score, ctx.baseline_name))
    size = min(6.0, 2.2 + 0.45 * k)
    fig = new_figure(size * len(scores) + 0.2, size * 0.92)
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
    ticks = [short_label(str(n), True) for n in names]
    ax.set_xticks(range(k), ticks, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), ticks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, loc="left")
    for spine in ax.spines.values():
        spine.set_visible(False)


def score_figure(ctx: ReportContext):
    panels = task_panels(ctx)
    neg, pos = ("other", "this class") if ctx.task == "multiclass" else ("negative", "positive")
    if len(panels) == 1:
        name, y, s, b = panels[0]
        per = 2 if b is not None else 1
        fig = new_figure(4.6 * per, 3.0)
        axes = fig.subplots(1, per, squeeze=False)[0]
        for ax, (score, _, label) in zip(axes, model_scores(ctx, s, b), strict=False):
            _score_hist(ax, y, score, label, neg, pos, ncols=2)
        return fig
    fig, axes = panel_grid(len(panels), 1, panel_w=2.5, panel_h=2.2)
    for (name, y, s, _), (ax,) in zip(panels, axes, strict=True):
        _score_hist(ax, y, s, f"{name} ({ctx.model_name})", neg, pos)
    return fig


def _score_hist(ax, y: np.ndarray, score: np.ndarray, title: str, neg: str, pos: str, ncols: int = 1) -> None:
    n_bins = histogram_bins(len(y))
    bins = np.linspace(0, 1, n_bins + 1) if len(score) and score.min() >= 0 and score.max() <= 1 else n_bins
    for mask, color, label in ((y != 1, NEG_COLOR, neg), (y == 1, POS_COLOR, pos)):
        if mask.any():
            ax.hist(score[mask], bins=bins, density=True, color=color, alpha=0.55, label=f"{label} (n={mask.sum():,})")
            ax.hist(score[mask], bins=bins, density=True, color=color, histtype="step", lw=1.2)
    ax.set_title(title, loc="left")
    ax.set_xlabel("score")
    ax.set_ylabel("density")
    legend_headroom(ax)
    ax.legend(loc="upper center", ncols=ncols)


def calibration_figure(ctx: ReportContext):
    if ctx.task == "multiclass":
        return _multiclass_calibration_figure(ctx)
    panels = task_panels(ctx)
    fig, axes = panel_grid(len(panels), 1, panel_w=2.5, panel_h=2.6, single_w=4.2)
    multi = len(panels) > 1
    for (name, y, s, b), (ax,) in zip(panels, axes, strict=True):
        _calibration_axes(ax, [(y, score, color, label) for score, color, label in model_scores(ctx, s, b, multi)])
        ax.set_title(name if multi else "reliability", loc="left")
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("fraction positive")
    return fig


def _multiclass_calibration_figure(ctx: ReportContext):
    y = as_2d(ctx.y_true).astype(float)[:, 0]
    keep = ~np.isnan(y)
    curves = []
    for score, color, label in model_scores(ctx, ctx.y_score, ctx.baseline_score):
        p = np.asarray(score, float)[keep]
        correct = (p.argmax(axis=1) == y[keep]).astype(float)
        curves.append((correct, p.max(axis=1), color, label))
    fig = new_figure(4.2, 3.6)
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
        if not two_classes(y):
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
