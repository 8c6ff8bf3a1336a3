"""Figures of a regression run: observed against predicted, and the residuals.

Each public ``*_figure(ctx)`` returns a matplotlib Figure drawn from a
:class:`dnacnn.report.context.ReportContext`, one panel per plotted task and model.
"""

from __future__ import annotations

import numpy as np

from dnacnn.report.context import ReportContext
from dnacnn.report.figures.common import histogram_bins, legend_headroom, model_scores, panel_grid, task_panels
from dnacnn.report.style import GRID_COLOR
from dnacnn.report.text import fmt


def scatter_figure(ctx: ReportContext):
    panels = task_panels(ctx)
    per = 2 if ctx.baseline_score is not None else 1
    fig, axes = panel_grid(len(panels), per, panel_w=2.5, panel_h=2.5, single_w=4.2)
    multi = len(panels) > 1
    rng = np.random.default_rng(0)
    for (name, y, s, b), task_axes in zip(panels, axes, strict=True):
        # a fixed subsample keeps the PNG small; r is computed on all rows
        show = np.sort(rng.permutation(len(y))[:4000])
        lo, hi = _limits(y, s, b)
        for ax, (pred, color, label) in zip(task_axes, model_scores(ctx, s, b, multi), strict=False):
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
                f"r = {fmt(r)}\nn = {len(y):,}",
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


def residual_figure(ctx: ReportContext):
    panels = task_panels(ctx)
    fig, axes = panel_grid(len(panels), 1, panel_w=2.5, panel_h=2.2, single_w=5.0)
    multi = len(panels) > 1
    for (name, y, s, b), (ax,) in zip(panels, axes, strict=True):
        residuals = [(pred - y, color, label) for pred, color, label in model_scores(ctx, s, b, multi)]
        values = np.concatenate([r for r, _, _ in residuals])
        lo, hi = (np.percentile(values, 0.5), np.percentile(values, 99.5)) if len(values) else (-1.0, 1.0)
        bins = np.linspace(lo, hi, histogram_bins(len(y)) + 1)
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
        legend_headroom(ax)
        ax.legend(loc="upper center", ncols=1 if multi else 2)
    return fig
