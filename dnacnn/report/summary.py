"""The summary page across runs: :func:`summary_row` makes one row per dataset x model from
``compute_metrics`` dictionaries, :func:`write_summary` writes the page (a chart of each run's main
metric with its interval beside the baseline, the runs table and the other metrics per task type),
one self-contained HTML file written atomically.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn import __version__
from dnacnn.io.outputs import write_text_atomic
from dnacnn.metrics import MAIN_METRIC, METRIC_LABELS
from dnacnn.report.page import figure_html, new_figure, render_page
from dnacnn.report.style import BASELINE_COLOR, CNN_COLOR, INK, MUTED
from dnacnn.report.text import DOT, delta_span, escape, fmt, is_number, p_text, signed


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
        f'<header><div class="eyebrow">dnacnn summary</div><h1>{escape(title)}</h1>'
        f'<p class="sub">{n_runs} run{"s" if n_runs != 1 else ""}{DOT}written {stamp}{DOT}dnacnn {__version__}</p>'
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
    write_text_atomic(Path(path_html), render_page(title, content))


def _summary_main_table(rows: pd.DataFrame) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("dataset", "model", "metric", "score", "baseline", "\u0394 vs baseline", "n", "report")
    )
    body = ""
    for _, row in rows.iterrows():
        metric = row.get("metric") if isinstance(row.get("metric"), str) else ""
        score = fmt(row.get("value")) + _interval_small(row.get("value_low"), row.get("value_high"))
        base = fmt(row.get("baseline"))
        if isinstance(row.get("baseline_name"), str):
            base += f'<small class="ci">{escape(row["baseline_name"])}</small>'
        delta = ""
        if is_number(row.get("delta")):
            delta = delta_span(metric, float(row["delta"]), 0.0)
            if is_number(row.get("delta_low")) and is_number(row.get("delta_high")):
                delta += f'<small class="ci">{signed(row["delta_low"])} to {signed(row["delta_high"])}'
                delta += f", p = {p_text(row['p_value'])}</small>" if is_number(row.get("p_value")) else "</small>"
        report = row.get("report")
        link = f'<a href="{escape(report)}">open</a>' if isinstance(report, str) and report else ""
        cells = [
            f'<td class="t">{escape(row.get("dataset", ""))}</td>',
            f'<td class="t">{escape(row.get("model", ""))}</td>',
            f'<td class="t">{escape(METRIC_LABELS.get(metric, metric))}</td>',
            f"<td>{score}</td>",
            f'<td class="b">{base}</td>',
            f"<td>{delta}</td>",
            f"<td>{fmt(row.get('n'))}</td>",
            f'<td class="t">{link}</td>',
        ]
        body += f"<tr>{''.join(cells)}</tr>"
    table = f'<table class="data summary metrics"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _interval_small(low, high) -> str:
    return f'<small class="ci">{fmt(low)}\u2013{fmt(high)}</small>' if is_number(low) and is_number(high) else ""


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
            f"<th>{escape(_SUMMARY_LABELS.get(c, METRIC_LABELS.get(c, c)))}</th>" for c in columns
        )
        body = ""
        for _, row in group.iterrows():
            cells = (
                f'<td class="t">{escape(row.get("dataset", ""))}</td><td class="t">{escape(row.get("model", ""))}</td>'
            )
            for c in columns:
                base = row.get(f"baseline_{c}")
                extra = f'<small class="ci">baseline {fmt(base)}</small>' if is_number(base) else ""
                cells += f"<td>{fmt(row[c])}{extra}</td>"
            body += f"<tr>{cells}</tr>"
        out += (
            f"<h3>Other metrics: {escape(task)}</h3>"
            f'<div class="scroll"><table class="data summary metrics"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )
    return out


def _summary_chart_html(rows: pd.DataFrame) -> str:
    metric_col = rows["metric"] if "metric" in rows else pd.Series(["value"] * len(rows))
    groups = [(m, rows[metric_col == m]) for m in dict.fromkeys(metric_col)]
    height = sum(0.42 * len(g) + 0.9 for _, g in groups)

    def draw():
        fig = new_figure(9.4, max(2.2, height))
        axes = fig.subplots(len(groups), 1, squeeze=False, height_ratios=[len(g) + 1.5 for _, g in groups])[:, 0]
        for ax, (metric, group) in zip(axes, groups, strict=True):
            summary_dots(ax, metric, group)
        return fig

    return figure_html(draw, alt="main metric per run")


# metrics that cannot exceed 1: the zoomed axis stops there
_UNIT_METRICS = frozenset(
    {"roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "f1_macro", "mcc", "pearson_r", "spearman_rho"}
)


# column titles of the summary tables
_SUMMARY_LABELS = {"seconds": "training time (s)", "epochs": "epochs"}


def _column(group: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(group[name], errors="coerce").to_numpy(float) if name in group else np.full(len(group), np.nan)


def summary_dots(ax, metric: str, group: pd.DataFrame) -> None:
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
