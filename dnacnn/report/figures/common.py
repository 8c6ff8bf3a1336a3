"""Shared pieces of the run report's figures: the rows of each plotted task, panel grids, legends.

:func:`context_figure` embeds ``draw(ctx)`` as a base64 PNG; :func:`task_panels` gives at most
:data:`MAX_PLOT_TASKS` tasks (one-vs-rest per class for multiclass) on their labelled rows;
:func:`model_scores` yields the CNN then the baseline with their colours and legend names.
"""

from __future__ import annotations

import math

import numpy as np

from dnacnn.report.context import ReportContext, as_2d
from dnacnn.report.page import figure_html, new_figure
from dnacnn.report.style import BASELINE_COLOR, CNN_COLOR

MAX_PLOT_TASKS = 8


def context_figure(draw, ctx: ReportContext, caption: str = "") -> str:
    """Run ``draw(ctx) -> Figure | None`` under the house style and embed it as a base64 PNG."""
    return figure_html(lambda: draw(ctx), caption)


def task_panels(ctx: ReportContext) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Per plotted task (one-vs-rest per class for multiclass): ``(name, y, cnn score, baseline score)``
    on the labelled rows, 1-D arrays; at most ``MAX_PLOT_TASKS``."""
    y = as_2d(ctx.y_true).astype(float)
    s = as_2d(ctx.y_score).astype(float)
    b = None if ctx.baseline_score is None else as_2d(ctx.baseline_score).astype(float)
    out = []
    for j, name in enumerate(ctx.label_names[:MAX_PLOT_TASKS]):
        col = y[:, 0] if ctx.task == "multiclass" else y[:, j]
        keep = ~np.isnan(col)
        target = (col[keep] == j).astype(float) if ctx.task == "multiclass" else col[keep]
        out.append((name, target, s[keep, j], None if b is None else b[keep, j]))
    return out


def panel_grid(n_tasks: int, per_task: int, panel_w: float = 2.45, panel_h: float = 2.45, single_w: float = 4.6):
    """A figure with ``per_task`` panels for each task: one row for a single task (wider panels),
    otherwise rows of up to 4 panels.  Returns ``(fig, axes)`` with ``axes[t][p]``."""
    if n_tasks == 1:
        fig = new_figure(single_w * per_task, single_w * 0.86)
        axes = fig.subplots(1, per_task, squeeze=False)[0]
        return fig, [list(axes)]
    tasks_per_row = max(1, 4 // per_task)
    rows = math.ceil(n_tasks / tasks_per_row)
    cols = tasks_per_row * per_task
    fig = new_figure(panel_w * cols + 0.4, panel_h * rows + 0.2)
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


def two_classes(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < (y == 1).sum() < len(y)


def short_label(label: str, compact: bool) -> str:
    return label if not compact or len(label) <= 14 else label[:13] + "\u2026"


def model_scores(ctx: ReportContext, s: np.ndarray, b: np.ndarray | None, compact: bool = False):
    """``(score, colour, legend name)`` of the CNN and, when present, the baseline; small panels get
    generic names for long ones (the page legend spells them out)."""
    yield s, CNN_COLOR, ctx.model_name if not compact or len(ctx.model_name) <= 14 else "CNN"
    if b is not None:
        yield b, BASELINE_COLOR, ctx.baseline_name if not compact or len(ctx.baseline_name) <= 14 else "baseline"


def legend_headroom(ax, fraction: float = 0.3) -> None:
    """Raise the y limit so a legend at the top does not cover the histogram."""
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + fraction * (top - bottom))


def histogram_bins(n: int) -> int:
    """Histogram bins: about 2 sqrt(n), 8..40 (40 bins of 60 residuals are mostly empty)."""
    return int(np.clip(2 * np.sqrt(max(n, 1)), 8, 40))
