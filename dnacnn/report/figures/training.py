"""The training figure: loss, validation metric and learning rate per epoch, the kept epoch marked.

:func:`training_figure` returns a matplotlib Figure from ``ctx.history`` (None when no column
holds a finite value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dnacnn.metrics import MAIN_METRIC, METRIC_LABELS
from dnacnn.report.context import ReportContext
from dnacnn.report.figures.common import legend_headroom, new_figure
from dnacnn.report.style import CNN_COLOR, MUTED, POS_COLOR


def training_figure(ctx: ReportContext):
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
    fig = new_figure(3.4 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    metric_name = METRIC_LABELS.get(ctx.val_metric_name or MAIN_METRIC[ctx.task], ctx.val_metric_name)
    for ax, (kind, _) in zip(axes, panels, strict=True):
        if kind == "loss":
            if loss is not None:
                ax.plot(epoch, loss, color=CNN_COLOR, lw=1.6, label="train")
            if val_loss is not None:
                ax.plot(epoch, val_loss, color=CNN_COLOR, lw=1.6, ls="--", label="validation")
            ax.set_title("loss", loc="left")
            legend_headroom(ax, 0.25)
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
