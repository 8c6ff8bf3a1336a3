"""The text and table sections of the run report: dataset, model, training, metrics, largest
errors, kernel baselines and provenance.

Each ``*_section(ctx)`` returns an HTML fragment (``""`` when the section has nothing to show)
from a :class:`dnacnn.report.context.ReportContext`; :mod:`dnacnn.report.run` puts them in order.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dnacnn import __version__
from dnacnn.metrics import (
    BINARY_METRICS,
    HEADLINE_METRICS,
    LOWER_IS_BETTER,
    METRIC_LABELS,
    MULTICLASS_METRICS,
    REGRESSION_METRICS,
    metrics_table,
)
from dnacnn.report.context import ReportContext, as_2d, interval_text, n_labelled
from dnacnn.report.figures.common import context_figure
from dnacnn.report.figures.training import training_figure
from dnacnn.report.text import delta_span, duration, escape, fmt, is_number, join_text, p_text, signed

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


_NEGATIVES = {
    "shuffle": "dinucleotide shuffles of the positives",
    "genome": "genome windows away from every peak, GC-matched to the positives",
    "file": "from a file of negatives",
}


def dataset_section(ctx: ReportContext) -> str:
    d = ctx.dataset or {}
    hidden = ("n", "balance", "negatives", "external")
    facts = {k: v for k, v in d.items() if k not in hidden and not isinstance(v, (dict, list))}
    negatives = d.get("negatives") or {}
    if negatives.get("training"):
        facts["negatives in training"] = _NEGATIVES[negatives["training"]]
    out = _kv_table(facts) if facts else ""
    splits = {k: int(v) for k, v in (d.get("n") or {}).items() if is_number(v)} if isinstance(d.get("n"), dict) else {}
    if d.get("external"):  # the training store's own test split is not what was scored here
        splits = {k: v for k, v in splits.items() if v}
    if splits:
        total = sum(splits.values())
        cells = "".join(
            f'<div class="split"><b>{v:,}</b><span>{escape(k)}</span><em>{100 * v / max(total, 1):.0f}%</em></div>'
            for k, v in splits.items()
        )
        cells += f'<div class="split total"><b>{total:,}</b><span>total</span></div>'
        if d.get("external"):
            cells += (
                f'<div class="split evaluated"><b>{n_labelled(ctx):,}</b><span>evaluated here</span>'
                "<em>another store</em></div>"
            )
        out += f'<h3>Training store</h3><div class="splits">{cells}</div>'
    balance = d.get("balance") or _balance_from_labels(ctx)
    if balance:
        out += "<h3>Class balance</h3>" if ctx.task != "regression" else "<h3>Targets</h3>"
        out += _balance_table(ctx.task, balance)
        if not d.get("balance"):
            out += f'<p class="note">Of the {n_labelled(ctx):,} labelled records scored in this report.</p>'
    return out


def _balance_from_labels(ctx: ReportContext) -> dict:
    y = as_2d(ctx.y_true).astype(float)
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
    head = "".join(f"<th>{escape(_BALANCE_LABELS.get(k, k.replace('_', ' ')))}</th>" for k in keys)
    frac_key = next((k for k in ("frac_pos", "fraction") if k in keys), None)
    if frac_key:
        head += "<th></th>"
    rows = ""
    for name, stats in balance.items():
        cells = "".join(f"<td>{fmt(stats.get(k))}</td>" for k in keys)
        if frac_key:
            frac = stats.get(frac_key) or 0.0
            cells += f'<td class="barcell"><div class="bar"><i style="width:{100 * frac:.1f}%"></i></div></td>'
        rows += f"<tr><td>{escape(name)}</td>{cells}</tr>"
    label = "class" if task == "multiclass" else "task"
    return f'<table class="data"><thead><tr><th>{label}</th>{head}</tr></thead><tbody>{rows}</tbody></table>'


def model_section(ctx: ReportContext) -> str:
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
        out += f"<pre>{escape(ctx.model_summary_text)}</pre>"
    return out


def training_section(ctx: ReportContext) -> str:
    h = ctx.history
    if h is None or len(h) == 0:
        return '<p class="note">No training history was recorded for this model.</p>'
    out = context_figure(training_figure, ctx, training_caption(ctx))
    total = ctx.training_seconds
    if total is None and "seconds" in h:
        total = pd.to_numeric(h["seconds"], errors="coerce").sum()
    facts = {"epochs": len(h) if not ctx.max_epochs else f"{len(h)} of at most {ctx.max_epochs}"}
    if ctx.best_epoch is not None:
        facts["weights kept from epoch"] = ctx.best_epoch
    if total:
        facts["training time"] = duration(float(total))
    return out + _kv_table(facts)


def training_caption(ctx: ReportContext) -> str:
    caption = "Dotted line: the epoch whose weights were kept." if ctx.best_epoch is not None else ""
    if ctx.members:
        caption = join_text(f"The first of the ensemble's {len(ctx.members)} members.", caption)
    return caption


def metrics_section(ctx: ReportContext) -> str:
    out = "<h3>Overall</h3>" + _overall_table(ctx)
    if ctx.task == "multiclass" or len(ctx.metrics["tasks"]) > 1:
        out += "<h3>Per class</h3>" if ctx.task == "multiclass" else "<h3>Per task</h3>"
        out += _per_task_table(ctx)
    note = f"{escape(ctx.split.capitalize())} split. "
    if ctx.baseline_metrics is not None:
        note += "The better value is bold. "
        if ctx.task == "multiclass" or len(ctx.metrics["tasks"]) > 1:
            note += f"<b>CNN</b> = {escape(ctx.model_name)}, <b>base</b> = {escape(ctx.baseline_name)}. "
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
        note += f"<br><b>Baseline</b>: {escape(ctx.baseline_fit)}"
    out += f'<p class="note">{note}</p>'
    everything = _frame_table(metrics_table(ctx.metrics))
    out += f"<details><summary>All {escape(ctx.model_name)} metrics</summary>{everything}</details>"
    if ctx.task != "regression":
        out += _confusion_tables(ctx)
    return out


def _overall_table(ctx: ReportContext) -> str:
    """Macro metrics as rows: metric | CNN | baseline | difference."""
    base = ctx.baseline_metrics
    head = f'<th>metric</th><th class="c">{escape(ctx.model_name)}</th>'
    if base is not None:
        head += f'<th class="b">{escape(ctx.baseline_name)}</th><th>difference</th>'
    rows = ""
    for m in OVERALL_METRICS[ctx.task]:
        a = ctx.metrics["macro"].get(m)
        b = None if base is None else base["macro"].get(m)
        win_a, win_b = _winner(m, a, b)
        ci_a, ci_b = (
            f'<small class="ci">{c}</small>' if c else ""
            for c in (interval_text(ctx, "cnn", m), interval_text(ctx, "baseline", m))
        )
        row = f'<td>{escape(METRIC_LABELS.get(m, m))}</td><td class="{"win" if win_a else ""}">{fmt(a)}{ci_a}</td>'
        if base is not None:
            row += f'<td class="b {"win" if win_b else ""}">{fmt(b)}{ci_b}</td><td>{delta_span(m, a, b)}</td>'
        rows += f"<tr>{row}</tr>"
    return f'<table class="data metrics overall"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _per_task_table(ctx: ReportContext) -> str:
    """One row per task (class): the table metrics of the CNN beside the baseline's."""
    cols = TABLE_METRICS[ctx.task]
    base = ctx.baseline_metrics
    head1 = '<th rowspan="2">' + ("class" if ctx.task == "multiclass" else "task") + "</th>"
    head2 = ""
    for m in cols:
        head1 += f'<th colspan="{2 if base else 1}">{escape(METRIC_LABELS.get(m, m))}</th>'
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
            cells += f'<td class="{"win" if win_a else ""}">{fmt(a)}</td>'
            if base is not None:
                cells += f'<td class="b {"win" if win_b else ""}">{fmt(b)}</td>'
        cls = ' class="macro"' if source else ""
        rows += f"<tr{cls}><td>{escape(name)}</td>{cells}</tr>"
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
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = "".join(
        f"<tr><td>{escape(n)}</td>" + "".join(f"<td>{v:,}</td>" for v in row) + "</tr>"
        for n, row in zip(names, cm, strict=False)
    )
    return f'<table class="data"><thead><tr><th>true \\ predicted</th>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _frame_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(METRIC_LABELS.get(c, c))}</th>" for c in frame.columns)
    rows = ""
    for _, row in frame.iterrows():
        rows += "<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row.tolist()) + "</tr>"
    return f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def other_baselines_section(ctx: ReportContext) -> str:
    if not ctx.other_baselines:
        return ""
    metrics = HEADLINE_METRICS[ctx.task]
    main = metrics[0]
    label = METRIC_LABELS.get(main, main)
    head = "<th>method</th>" + "".join(f"<th>{escape(METRIC_LABELS.get(m, m))}</th>" for m in metrics)
    head += f"<th>CNN \u2212 method, {escape(label)}</th>"
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
        cells = f'<td class="t">{escape(name)}</td>'
        for m in metrics:
            ci = ((intervals.get("cnn") or {}).get(m)) or None
            small = f'<small class="ci">{fmt(ci["low"])}\u2013{fmt(ci["high"])}</small>' if ci else ""
            cells += f"<td>{fmt(values['macro'].get(m))}{small}</td>"
        diff = (intervals.get("difference") or {}).get(main)
        if diff:
            cells += f'<td>{delta_span(main, diff["estimate"], 0.0)}<small class="ci">{signed(diff["low"])} to '
            cells += f"{signed(diff['high'])}, p = {p_text(diff['p_value'])}</small></td>"
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


def errors_section(ctx: ReportContext) -> str:
    if not ctx.examples:
        return ""
    has_base = any("baseline" in row for row in ctx.examples)
    has_seq = any("sequence" in row for row in ctx.examples)
    head = "<th>record</th><th>observed</th>" + f'<th class="c">{escape(ctx.model_name)}</th>'
    head += f'<th class="b">{escape(ctx.baseline_name)}</th>' if has_base else ""
    head += '<th class="t">sequence</th>' if has_seq else ""
    groups: dict[str, list[dict]] = {}
    for row in ctx.examples:
        groups.setdefault(row["kind"], []).append(row)
    out = ""
    for kind, rows in groups.items():
        body = ""
        for row in rows:
            cells = f'<td class="t">{escape(row["id"])}</td><td>{fmt(row["observed"])}</td><td>{fmt(row["cnn"])}</td>'
            cells += f'<td class="b">{fmt(row.get("baseline"))}</td>' if has_base else ""
            cells += f'<td class="t"><code class="seq">{escape(row.get("sequence", ""))}</code></td>' if has_seq else ""
            body += f"<tr>{cells}</tr>"
        title = {"false positive": "Highest-scored negatives", "false negative": "Lowest-scored positives"}
        out += f"<h3>{escape(title.get(kind, 'Largest residuals'))}</h3>"
        out += f'<div class="scroll"><table class="data metrics errors"><thead><tr>{head}</tr></thead>'
        out += f"<tbody>{body}</tbody></table></div>"
    task = ctx.label_names[0] if ctx.label_names else ""
    if len(ctx.label_names) > 1:
        out += f'<p class="note">Task {escape(task)} (the first of {len(ctx.label_names)}).</p>'
    return out


def provenance_section(ctx: ReportContext) -> str:
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
            head = "".join(f"<th>{escape(k)}</th>" for k in keys)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_render_value(v.get(k))}</td>" for k in keys) + "</tr>" for v in value
            )
            return f'<table class="data inner"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        return ", ".join(_render_value(v) for v in value) if value else "\u2013"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f'<code class="hash">{value}</code>'
    if isinstance(value, float):
        return fmt(value)
    return escape("\u2013" if value is None else str(value))


def _kv_table(d: dict, render=None) -> str:
    render = render or (lambda v: escape(str(v)) if not isinstance(v, float) else fmt(v))
    rows = "".join(f'<tr><th scope="row">{escape(str(k))}</th><td>{render(v)}</td></tr>' for k, v in d.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'
