"""Cross-validation on a store with folds (``dnacnn encode --split folds``): ``dnacnn cv``.

:func:`cross_validate` trains and evaluates the model once per fold (that fold held out, a seeded
fraction of the others for early stopping), one fold after another, then :func:`summarize_folds`.
The workflow runs the folds as separate jobs (``folds:`` in a dataset) and calls
:func:`summarize_folds` on their evaluation folders, so a cluster trains the folds in parallel.

:func:`summarize_folds` gathers each fold's ``predictions.tsv``: the network and the baselines that
``dnacnn evaluate`` fitted on that fold's training rows and scored on its test rows (the linear
baseline and, for genotype regression, the kernel methods breeders compare against: GBLUP,
Gaussian-kernel RKHS with bandwidth and penalty by inner CV, kernel averaging).  It writes into
``out_dir``::

    cv.tsv           one row per fold and method (n, main metric), then mean, sd and pooled rows
    predictions.tsv  every fold's test rows: fold, id, observed, one column per method
    cv.json          the same numbers, the per-fold metrics of every method, settings
    cv.html          a self-contained page: per-fold and pooled metrics, mean +- sd, a figure

"Pooled" scores all folds' predictions together; "mean" averages the per-fold scores (the number
the genomic-prediction literature reports, e.g. Crossa et al. 2010).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn.errors import DnacnnError, InputError
from dnacnn.evaluate import KERNEL_BASELINES
from dnacnn.ids import shown
from dnacnn.io.outputs import write_text_atomic
from dnacnn.io.tsv import write_table
from dnacnn.metrics import MAIN_METRIC, METRIC_LABELS, compute_metrics

KERNEL_METHODS = tuple(KERNEL_BASELINES)


def cross_validate(
    store_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    opts=None,
    folds: list[int] | None = None,
    baselines: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Train and evaluate ``opts.model`` on every fold (or ``folds``) of the store; returns the
    :func:`summarize_folds` table.  Each fold's model and evaluation go to ``out_dir/fold_K/``."""
    from dnacnn.evaluate import evaluate
    from dnacnn.store import Store
    from dnacnn.train import TrainSettings, train

    opts = opts or TrainSettings(model="snp-cnn")
    store = Store.open(store_path)
    if not store.n_folds:
        raise DnacnnError(f"{store.path}: store has no folds; encode it with --split folds (--folds K or --fold-file)")
    folds = folds or list(range(1, store.n_folds + 1))
    unknown = [f for f in folds if not 1 <= f <= store.n_folds]
    if unknown:  # before any fold folder is made
        raise DnacnnError(
            f"--folds {','.join(map(str, unknown))}: the store has folds 1..{store.n_folds}; choose among them"
        )
    out_dir = Path(out_dir)
    eval_dirs = []
    for fold in folds:
        fold_dir = out_dir / f"fold_{fold}"
        _say(progress, f"cv: fold {fold} of {store.n_folds}")
        made = not fold_dir.exists()
        fold_dir.mkdir(parents=True, exist_ok=True)
        try:
            result = train(
                store.path, fold_dir / "model.dnacnn", dataclasses.replace(opts, fold=fold, progress=progress)
            )
        except BaseException:
            if made and not any(fold_dir.iterdir()):  # an empty fold folder this run made
                fold_dir.rmdir()
            raise
        evaluate(result.model_path, store.path, fold_dir / "eval", fold=fold, baseline=baselines, progress=progress)
        eval_dirs.append(fold_dir / "eval")
    return summarize_folds(eval_dirs, out_dir)


def summarize_folds(eval_dirs: list[str | os.PathLike], out_dir: str | os.PathLike) -> pd.DataFrame:
    """Per-fold, mean +- sd and pooled scores of the network and the baselines evaluated beside it,
    from the fold evaluations in ``eval_dirs``; see the module."""
    runs = [_read_fold(Path(d)) for d in eval_dirs]
    stores = {run["store"] for run in runs}
    if len(stores) != 1:
        raise DnacnnError(f"fold evaluations come from {len(stores)} stores; summarize the folds of one store")
    folds = [run["fold"] for run in runs]
    if len(set(folds)) != len(folds):
        raise DnacnnError(f"fold {next(f for f in folds if folds.count(f) > 1)} is given twice; give each fold once")
    task, names = runs[0]["task"], runs[0]["names"]
    predictions = pd.concat([run["predictions"].assign(fold=run["fold"]) for run in runs], ignore_index=True)
    methods = _methods(predictions, names, runs[0])
    table, per_fold = _score(predictions, methods, task, names)
    _write(Path(out_dir), table, predictions, per_fold, methods, runs, task)
    return table


# --------------------------------------------------------------------------------------------


def _read_fold(d: Path) -> dict:
    from dnacnn.evaluate import read_metrics

    m = read_metrics(d)
    fold = m["run"].get("fold")
    if fold is None:
        raise DnacnnError(f"{d}: not the evaluation of a fold; evaluate a model trained with --fold")
    names = list(m["cnn"]["label_names"])
    return {"store": m["run"]["store"], "fold": int(fold), "task": m["task"], "names": names,
            "baseline_name": m.get("baseline_name"), "model": m["run"]["model"],
            "predictions": _read_predictions(d, names, m["task"])}  # fmt: skip


def _read_predictions(d: Path, names: list[str], task: str) -> pd.DataFrame:
    """The fold's ``predictions.tsv`` (its own regular file), with the id, observed and CNN columns
    of every label and nothing but numbers in the others."""
    from dnacnn.store_files import open_result_file

    path, fix = d / "predictions.tsv", "re-run 'dnacnn evaluate' into the folder"
    try:
        with open_result_file(d, "predictions.tsv", "dnacnn evaluate") as f:
            table = pd.read_csv(f, sep="\t", dtype={"id": str}, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:  # EmptyDataError is a ValueError
        raise InputError(path, None, f"is not a table dnacnn writes ({shown(str(e))[:120]})", fix) from None
    needed = ["id", *(f"observed_{n}" for n in names), *(f"cnn_{n}" for n in names if task != "multiclass")]
    missing = [c for c in needed if c not in table.columns]
    if not missing and not any(str(c).startswith("cnn_") for c in table.columns):
        missing = ["cnn_..."]
    if missing:
        raise InputError(path, None, f"has no column '{shown(missing[0])}' (for the labels of metrics.json)", fix)
    for column in table.columns:
        if column != "id" and not pd.api.types.is_numeric_dtype(table[column]):
            raise InputError(path, None, f"column '{shown(str(column))}' holds values that are not numbers", fix)
    return table


def _methods(predictions: pd.DataFrame, names: list[str], run: dict) -> dict[str, str]:
    """Legend name -> column prefix of each method present."""
    methods = {"CNN": "cnn"}
    if any(c.startswith("baseline_") for c in predictions):
        methods[run["baseline_name"] or "baseline"] = "baseline"
    methods.update({m: p for m, p in KERNEL_BASELINES.items() if f"{p}_{names[0]}" in predictions})
    return methods


def _score(predictions: pd.DataFrame, methods: dict, task: str, names: list[str]):
    """The main metric per fold and method, then mean, sd (across folds) and pooled."""
    metric = MAIN_METRIC[task]
    observed = predictions[[f"observed_{n}" for n in names]].to_numpy(float)
    rows, per_fold = [], {}
    for fold, group in predictions.groupby("fold", sort=True):
        y = observed[group.index]
        row = {"fold": str(fold), "n": len(group)}
        for method, prefix in methods.items():
            scores = _scores(group, prefix, task, names)
            metrics = compute_metrics(y, scores, task, names)
            per_fold.setdefault(method, {})[int(fold)] = metrics
            row[method] = metrics["macro"].get(metric)
        rows.append(row)
    folds = pd.DataFrame(rows)
    summary = []
    for label, reduce in (("mean", np.mean), ("sd", lambda v: np.std(v, ddof=1) if len(v) > 1 else np.nan)):
        summary.append({"fold": label, "n": int(folds["n"].sum()) if label == "mean" else None,
                        **{m: float(reduce(folds[m].dropna())) for m in methods}})  # fmt: skip
    pooled = {"fold": "pooled", "n": len(predictions)}
    for method, prefix in methods.items():
        pooled[method] = compute_metrics(observed, _scores(predictions, prefix, task, names), task, names)["macro"].get(
            metric
        )
    table = pd.concat([folds, pd.DataFrame(summary), pd.DataFrame([pooled])], ignore_index=True)
    table["n"] = table["n"].astype("Int64")  # counts, not 57.0000
    return table, per_fold


def _scores(frame: pd.DataFrame, prefix: str, task: str, names: list[str]) -> np.ndarray:
    columns = [c for c in frame.columns if c.startswith(f"{prefix}_")]
    if task != "multiclass":
        columns = [f"{prefix}_{n}" for n in names]
    return frame[columns].to_numpy(float)


def _write(out_dir: Path, table, predictions, per_fold, methods, runs, task) -> None:
    from dnacnn.report import write_page

    out_dir.mkdir(parents=True, exist_ok=True)
    metric = MAIN_METRIC[task]
    write_table(out_dir / "cv.tsv", table, "%.4f")
    columns = ["fold", *[c for c in predictions.columns if c != "fold"]]
    write_table(out_dir / "predictions.tsv", predictions[columns], "%.6g")
    summary = {
        "task": task,
        "metric": metric,
        "store": runs[0]["store"],
        "folds": sorted(r["fold"] for r in runs),
        "models": {r["fold"]: r["model"] for r in runs},
        "methods": list(methods),
        "table": json.loads(table.to_json(orient="records")),
        "per_fold": {m: {str(f): v for f, v in d.items()} for m, d in per_fold.items()},
    }
    write_text_atomic(out_dir / "cv.json", json.dumps(summary, indent=2) + "\n")
    write_page(out_dir / "cv.html", "dnacnn cross-validation", _page_html(table, methods, metric, runs))


def _page_html(table: pd.DataFrame, methods: dict, metric: str, runs: list[dict]) -> str:
    from html import escape

    from dnacnn.report import figure_html

    label = METRIC_LABELS.get(metric, metric)
    head = "".join(f"<th>{escape(h)}</th>" for h in ("fold", "n", *methods))
    body = ""
    for _, row in table.iterrows():
        cls = ' class="macro"' if row["fold"] in ("mean", "pooled") else ""
        cells = "".join(f"<td>{'' if pd.isna(row[m]) else f'{row[m]:.3f}'}</td>" for m in methods)
        n = "" if pd.isna(row["n"]) else f"{int(row['n']):,}"
        body += f"<tr{cls}><td>{escape(str(row['fold']))}</td><td>{n}</td>{cells}</tr>"
    mean = table.set_index("fold").loc["mean"]
    best = max(methods, key=lambda m: -np.inf if pd.isna(mean[m]) else mean[m])
    k = len(runs)
    return (
        f'<header><div class="eyebrow">dnacnn cross-validation</div><h1>{k}-fold cross-validation</h1>'
        f'<p class="sub">{escape(runs[0]["store"])} \u00b7 {label} per fold \u00b7 best mean: {escape(best)} '
        f"{mean[best]:.3f}</p></header>"
        f'<section><h2>{label} per fold</h2><p class="how">Each fold was held out once: the network trained on the '
        "other folds (a seeded tenth of them for early stopping); the baselines were fitted on the same rows "
        "(GBLUP and RKHS choose their variance ratio and bandwidth by inner cross-validation on them). Mean and "
        "sd are across folds (the number the genomic-prediction literature reports); pooled scores all folds' "
        f"predictions together.</p>{figure_html(lambda: _figure(table, methods, label), alt='per-fold scores')}"
        f'<div class="scroll"><table class="data metrics"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        "</table></div></section>"
    )


def _figure(table: pd.DataFrame, methods: dict, label: str):
    from dnacnn.report import BASELINE_COLOR, CNN_COLOR, MUTED, new_figure

    folds = table[~table["fold"].isin(["mean", "sd", "pooled"])]
    stats = table.set_index("fold")
    fig = new_figure(8.0, 0.55 * len(methods) + 1.2)
    ax = fig.subplots()
    for i, method in enumerate(reversed(list(methods))):
        color = CNN_COLOR if method == "CNN" else (BASELINE_COLOR if i == len(methods) - 2 else MUTED)
        ax.scatter(folds[method], np.full(len(folds), i), s=14, color=color, alpha=0.45, linewidths=0)
        mean, sd = stats.loc["mean", method], stats.loc["sd", method]
        ax.errorbar(mean, i, xerr=None if pd.isna(sd) else sd, fmt="o", color=color, ms=7, capsize=3, lw=1.5)
        ax.plot(stats.loc["pooled", method], i, "D", color=color, ms=5, mfc="white")
        ax.annotate(f"{mean:.3f}", (mean, i), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=8)
    ax.set_yticks(range(len(methods)), list(reversed(list(methods))))
    ax.set_xlabel(f"{label}: folds (small dots), mean \u00b1 sd (dot and bar), pooled (diamond)")
    ax.grid(axis="y", visible=False)
    return fig


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)
