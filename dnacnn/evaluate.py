"""``dnacnn evaluate`` and ``dnacnn aggregate``: metrics, a baseline and readable reports.

``evaluate(model, store, outdir)`` scores one split of a store (``test`` by default; give an
external test store such as DeepBind's ``_B`` file encoded with ``--split test`` and use
``split="all"``), fits the same-run baseline on the training store (k-mer logistic regression
for DNA, ridge regression / RR-BLUP for genotypes) and writes into ``outdir``::

    metrics.json      CNN and baseline metrics, run provenance
    metrics.tsv       one row per model x task (+ macro)
    predictions.tsv   id, observed label(s), CNN score(s), baseline score(s)
    report.html       self-contained HTML report (plots embedded)

``model`` may also be a list of model files (e.g. one architecture trained with several seeds):
they are scored as one ensemble, the mean of their predictions (``dnacnn.predict.Ensemble``).

``aggregate(eval_dirs, tsv, html)`` gathers many evaluations into one table and page.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from dnacnn import __version__
from dnacnn.errors import DnacnnError


def evaluate(
    model_path: str | os.PathLike,
    store_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    split: str = "test",
    baseline: bool = True,
    train_store: str | os.PathLike | None = None,
    device: str = "auto",
    rc_average: bool = False,
    threshold: float = 0.5,
    title: str | None = None,
    motifs_dir: str | os.PathLike | None = None,
    progress: bool = True,
    fold: int | None = None,
) -> dict:
    """Evaluate a model (or an ensemble: a list of model files) on a store; returns the metrics
    dict written to ``metrics.json``.  On a store with folds (``--split folds``) the split is that of
    ``fold``, by default the fold the model was trained for."""
    import pandas as pd

    from dnacnn.metrics import compute_metrics, main_metric, metrics_table
    from dnacnn.predict import _check_store_matches, load_predictor, model_paths
    from dnacnn.store import Store

    started = time.time()
    out_dir = Path(out_dir)
    store = Store.open(store_path)
    paths = model_paths(model_path)
    predictor = load_predictor(paths, device, rc_average)
    _check_store_matches(predictor, store)
    meta = predictor.meta
    trained_on = meta.get("store", {}).get("path")  # the baseline is fitted on it
    inputs = [store.path, *map(Path, paths), *(Path(p) for p in (train_store, trained_on) if p)]
    _check_out_dir(out_dir, inputs)
    fold = fold if fold is not None else (meta.get("store", {}).get("fold") if store.n_folds else None)
    if fold is not None:
        store = store.for_fold(fold)
    idx = store.indices(split)
    if split == "test" and len(idx) == 0:
        raise DnacnnError(
            f"{store.path}: no test rows; give --split all for an external test store, or re-encode "
            "with --test-frac > 0"
        )
    if len(idx) == 0:
        raise DnacnnError(f"{store.path}: split {split!r} is empty; choose another --split")
    codes = np.asarray(store.codes[idx])
    y = np.asarray(store.labels[idx])
    scores = predictor(codes)
    task = meta["task"]
    names = _names(meta)
    metrics = compute_metrics(y, scores, task, names, threshold)

    source = _training_store(meta, store, train_store, fold) if baseline else None
    base = _fit_baseline(meta, source) if source is not None else None
    base_scores = base.predict_scores(codes) if base is not None else None
    base_metrics = compute_metrics(y, base_scores, task, names, threshold) if base is not None else None
    kernel_scores = _fit_kernels(meta, source, codes) if source is not None else {}

    from dnacnn.intervals import headline_intervals

    intervals = headline_intervals(y, scores, task, base_scores, threshold=threshold)
    kernels = {
        name: {
            "metrics": compute_metrics(y, predicted, task, names, threshold),
            "intervals": headline_intervals(y, scores, task, predicted, threshold=threshold),
        }
        for name, predicted in kernel_scores.items()
    }
    provenance = _provenance(paths, store, meta, predictor, split, started)
    run = {"model": str(paths[0])}
    if len(paths) > 1:
        run["models"] = [str(path) for path in paths]
    result = {
        "run": {**run, "store": str(store.path), "split": split, "n": int(len(idx)), "fold": fold},
        "task": task,
        "main_metric": main_metric(metrics)[0],
        "cnn": metrics,
        "baseline_name": base.name if base is not None else None,
        "baseline": base_metrics,
        "intervals": intervals,
        "kernel_baselines": kernels,
        "provenance": provenance,
    }
    tmp_dir = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        (tmp_dir / "metrics.json").write_text(json.dumps(result, indent=2, default=_json_default) + "\n")
        table = metrics_table(metrics).assign(model="cnn")
        if base_metrics is not None:
            table = pd.concat([table, metrics_table(base_metrics).assign(model=base.name)])
        table = table[["model", *[c for c in table.columns if c != "model"]]]
        table.to_csv(tmp_dir / "metrics.tsv", sep="\t", index=False, float_format="%.6g")
        _predictions_table(store, idx, y, scores, base_scores, predictor.columns, names, kernel_scores).to_csv(
            tmp_dir / "predictions.tsv", sep="\t", index=False, float_format="%.6g"
        )
        _write_report(
            tmp_dir / "report.html",
            title,
            meta,
            store,
            y,
            scores,
            metrics,
            base,
            base_scores,
            base_metrics,
            intervals,
            kernels,
            provenance,
            split,
            idx,
            motifs_dir,
            _members(predictor),
        )
        if out_dir.exists():
            import shutil

            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    finally:
        if tmp_dir.exists():
            import shutil

            shutil.rmtree(tmp_dir, ignore_errors=True)
    return result


EVALUATION_FILES = ("metrics.json", "metrics.tsv", "predictions.tsv", "report.html")


def _check_out_dir(out_dir: Path, inputs: list[Path]) -> None:
    """``out_dir`` is replaced as a whole, so it must be new or an earlier evaluation, and must not
    hold, or lie inside, an input (``-o`` pointed at the store or the model's folder deleted them)."""
    out = out_dir.resolve()
    for path in inputs:
        path = path.resolve()
        if out == path or out in path.parents or path in out.parents:
            raise DnacnnError(
                f"{out_dir}: --out would replace {'a folder holding ' if out in path.parents else ''}the input "
                f"{path}; give a new folder, e.g. {out_dir.name}_eval"
            )
    if out_dir.exists() and not out_dir.is_dir():
        raise DnacnnError(f"{out_dir}: exists and is a file; --out takes a folder, give a new one")
    # a new folder, an empty one or an earlier evaluation (all or some of its files) is replaced
    extra = sorted(p.name for p in out_dir.iterdir() if p.name not in EVALUATION_FILES) if out_dir.is_dir() else []
    if extra:
        raise DnacnnError(
            f"{out_dir}: holds files an evaluation does not write ({', '.join(extra[:3])}); "
            "give a new folder or move them"
        )


def _names(meta: dict) -> list[str]:
    if meta["task"] == "multiclass":
        return [str(c) for c in (meta.get("classes") or range(meta["n_outputs"]))]
    return list(meta["label_names"])


def _training_store(meta, store, train_store, fold: int | None):
    """The store the baselines are fitted on: the model's training store (or ``train_store``), as
    seen by the same fold when the model was trained on one; None (with a note) when there is none."""
    from dnacnn.store import Store

    source = None
    candidates = (train_store,) if train_store else (meta.get("store", {}).get("path"), store.path)
    for candidate in candidates:
        if candidate and Path(candidate, "manifest.json").is_file():
            s = Store.open(candidate)
            if fold is not None and s.n_folds:  # never fit the baseline on the fold being scored
                s = s.for_fold(fold)
            if len(s.indices("train")):
                source = s
                break
    if source is None and train_store:
        raise DnacnnError(f"{train_store}: --train-store is not a store with training rows; give the training store")
    if source is None:
        print("dnacnn: no training store found for the baseline; skipping it (give --train-store)", file=sys.stderr)
    return source


def _fit_baseline(meta, source):
    """The k-mer / linear baseline on the training rows of ``source`` (validation rows choose k or C)."""
    from dnacnn.baselines import fit_baseline

    tr, va = source.indices("train"), source.indices("valid")
    n_classes = len(meta.get("classes") or []) or None
    return fit_baseline(
        source.encoding.kind,
        meta["task"],
        np.asarray(source.codes[tr]),
        np.asarray(source.labels[tr]),
        np.asarray(source.codes[va]) if len(va) else None,
        np.asarray(source.labels[va]) if len(va) else None,
        n_classes=n_classes,
        seed=int(meta.get("settings", {}).get("seed", 0)),
    )


KERNEL_BASELINES = {"GBLUP": "gblup", "RKHS": "rkhs", "RKHS (kernel average)": "rkhs_average"}


def _fit_kernels(meta, source, codes) -> dict[str, np.ndarray]:
    """Genotype regression: GBLUP, RKHS and kernel-averaged RKHS (:mod:`dnacnn.kernels`) fitted on the
    training and validation rows of ``source`` (they choose their own hyperparameters by inner CV or
    REML), predicting ``codes``; {} for other tasks."""
    from threadpoolctl import threadpool_limits

    from dnacnn.kernels import GBLUP, RKHS

    if meta["task"] != "regression" or source.encoding.kind != "genotype":
        return {}
    rows = np.sort(np.concatenate([source.indices("train"), source.indices("valid")]))
    X, y = np.asarray(source.codes[rows]), np.asarray(source.labels[rows])
    seed = int(meta.get("settings", {}).get("seed", 0))
    models = {"GBLUP": GBLUP(), "RKHS": RKHS(seed=seed), "RKHS (kernel average)": RKHS(average=True, seed=seed)}
    # dozens of eigendecompositions of a few-hundred-line kernel: BLAS threads spin-wait on a busy
    # machine (RKHS on 480 wheat lines: 1.4 s with one thread, 14 s with two beside other work)
    with threadpool_limits(1 if len(rows) <= 3000 else None, user_api="blas"):
        return {
            name: np.asarray(m.fit(X, y).predict(codes), np.float64).reshape(len(codes), -1)
            for name, m in models.items()
        }


def _predictions_table(store, idx, y, scores, base_scores, columns, names, kernel_scores=None):
    import pandas as pd

    ids = store.ids
    table = {"id": [ids[i] for i in idx]}
    for j, name in enumerate(names if y.shape[1] == len(names) else [f"y{j}" for j in range(y.shape[1])]):
        table[f"observed_{name}"] = y[:, j]
    for j, col in enumerate(columns):
        table[f"cnn_{col}"] = scores[:, j]
    if base_scores is not None:
        for j, col in enumerate(columns):
            table[f"baseline_{col}"] = base_scores[:, j]
    for name, predicted in (kernel_scores or {}).items():
        for j, col in enumerate(columns):
            table[f"{KERNEL_BASELINES[name]}_{col}"] = predicted[:, j]
    return pd.DataFrame(table)


def _members(predictor) -> list[dict]:
    """One row per member of an ensemble (file, spec, seed, best epoch, validation metric); [] for one model."""
    rows = []
    for member in getattr(predictor, "members", []):
        m = member.meta
        row = {
            "model file": str(member.path),
            "model spec": str(m.get("spec", {}).get("name", "model")),
            "seed": m.get("settings", {}).get("seed"),
            "best epoch": m.get("best_epoch"),
        }
        if m.get("metric_name"):
            row[f"validation {m['metric_name']}"] = m.get("best_val_metric")
        rows.append(row)
    return rows


def _provenance(paths, store, meta, predictor, split, started) -> dict:
    import sklearn
    import torch

    settings = meta.get("settings", {})
    # an ensemble: the training settings shown are the first member's; seeds, times and best
    # epochs are lists with one value per member
    metas = [member.meta for member in getattr(predictor, "members", [])] or [meta]

    def per_member(value):
        return value(metas[0]) if len(metas) == 1 else [value(m) for m in metas]

    files = {"model file": str(paths[0])} if len(paths) == 1 else {"model files": [str(path) for path in paths]}
    return {
        **files,
        "evaluated store": f"{store.path} ({_rows_evaluated(store, split)})",
        "inputs": [f"{i['path']} sha256:{i['sha256'][:16]}…" for i in store.manifest.get("inputs", [])],
        "training inputs": [
            f"{i['path']} sha256:{i['sha256'][:16]}…" for i in meta.get("store", {}).get("inputs") or []
        ],
        "encoding": meta.get("encoding"),
        "model spec": meta.get("spec", {}).get("name"),
        "training settings": {
            k: settings.get(k)
            for k in (
                "optimizer",
                "lr",
                "weight_decay",
                "batch_size",
                "epochs",
                "patience",
                "rc_augment",
                "fresh_negatives",
                "shuffles_per_positive",
                "ema",
                "mutation_rate",
                "max_shift",
                "precision",
            )
        },
        "seed": per_member(lambda m: m.get("settings", {}).get("seed")),
        "training device": settings.get("device"),
        "training time (s)": per_member(lambda m: m.get("seconds")),
        "best epoch": per_member(lambda m: m.get("best_epoch")),
        "evaluation device": str(predictor.device),
        "evaluation time (s)": round(time.time() - started, 2),
        "versions": f"dnacnn {__version__} (model made by {meta.get('dnacnn_version')}), torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, python {platform.python_version()}",
    }


def _rows_evaluated(store, split: str) -> str:
    n = len(store.indices(split))
    return f"all {n:,} records" if n == store.n else f"{split} split: {n:,} of {store.n:,} records"


def dataset_name(store_path) -> str:
    """A store's name for people: ``results/REST/store`` -> ``REST``, ``ctcf.store`` -> ``ctcf``."""
    path = Path(store_path)
    name = path.name.removesuffix(".store")
    if name in ("store", "test_store", "train_store", "") and path.parent.name:
        return path.parent.name
    return name


def _negatives(meta: dict, store) -> dict:
    """How the negatives of training and of the evaluated rows were made, as far as the files say."""
    from dnacnn.store import Store

    def made_by(settings: dict) -> str | None:
        value = settings.get("negatives")
        return None if value is None else (value if value in ("shuffle", "genome") else "file")

    trained = None
    with contextlib.suppress(DnacnnError, KeyError, TypeError, OSError):  # the training store may be gone
        trained = made_by(Store.open(meta["store"]["path"]).manifest.get("settings", {}))
    if meta.get("settings", {}).get("fresh_negatives"):
        trained = "shuffle"
    return {"training": trained, "evaluated": made_by(store.manifest.get("settings", {}))}


def _worst_examples(store, idx, y, scores, base_scores, task: str, names: list[str], k: int = 5) -> list[dict]:
    """The model's largest errors on the first task: the k highest-scored negatives and k lowest-scored
    positives (binary), or the k largest residuals (regression), with their sequences."""
    from dnacnn.encoding import codes_to_dna

    if task == "multiclass" or len(idx) == 0:
        return []
    col = y[:, 0].astype(float)
    labelled = np.flatnonzero(~np.isnan(col))
    s = scores[:, 0]
    picks = []
    if task == "binary":
        neg, pos = labelled[col[labelled] == 0], labelled[col[labelled] == 1]
        picks += [("false positive", i) for i in neg[np.argsort(-s[neg], kind="stable")][:k]]
        picks += [("false negative", i) for i in pos[np.argsort(s[pos], kind="stable")][:k]]
    else:
        residual = s[labelled] - col[labelled]
        picks += [("largest error", i) for i in labelled[np.argsort(-np.abs(residual), kind="stable")][: 2 * k]]
    ids, dna = store.ids, store.encoding.kind == "dna"
    rows = []
    for kind, i in picks:
        row = {"kind": kind, "id": ids[idx[i]], "observed": float(col[i]), "cnn": float(s[i])}
        if base_scores is not None:
            row["baseline"] = float(base_scores[i, 0])
        if dna:
            row["sequence"] = codes_to_dna(np.asarray(store.codes[idx[i]]))
        rows.append(row)
    return rows


def _write_report(
    path,
    title,
    meta,
    store,
    y,
    scores,
    metrics,
    base,
    base_scores,
    base_metrics,
    intervals,
    kernels,
    provenance,
    split,
    idx,
    motifs_dir=None,
    members=(),
):
    import pandas as pd

    from dnacnn.models import summarize
    from dnacnn.report import ReportContext, write_report

    enc = meta["encoding"]
    summary = summarize(meta["spec"], enc["channels"], enc["length"], meta["n_outputs"], meta["task"]).text
    history = pd.DataFrame(meta["history"]) if meta.get("history") else None
    counts = meta.get("store", {}).get("split_counts") or {}
    trained_on = meta.get("store", {}).get("path", store.path)
    same_store = Path(trained_on).resolve() == store.path.resolve()
    dataset = {
        "name": dataset_name(trained_on),
        "n": counts,
        "evaluated on": f"{store.path} ({_rows_evaluated(store, split)})"
        + ("" if same_store else "; not the training store"),
        "kind": enc["kind"],
        "length": enc["length"],
        "negatives": _negatives(meta, store) if meta["task"] == "binary" else None,
        "external": not same_store,
    }
    spec = meta.get("spec", {}).get("name", "model")
    model_name, default_title = f"CNN ({spec})", f"{spec} on {dataset['name']}"
    members = [dict(row) for row in members]
    if members:
        specs = list(dict.fromkeys(row["model spec"] for row in members))
        if len(specs) == 1:  # the usual seed ensemble: the architecture is said once
            for row in members:
                del row["model spec"]
        name = f"{len(members)} x {spec}" if len(specs) == 1 else f"{len(members)} models"
        model_name, default_title = (
            f"CNN ensemble ({name})",
            f"{spec if len(specs) == 1 else 'CNN'} ensemble of {len(members)} on {dataset['name']}",
        )
    ctx = ReportContext(
        title=title or default_title,
        task=meta["task"],
        label_names=_names(meta),
        dataset=dataset,
        model_summary_text=summary,
        history=history,
        metrics=metrics,
        baseline_metrics=base_metrics,
        baseline_name=base.name if base is not None else "baseline",
        y_true=y,
        y_score=scores,
        baseline_score=base_scores,
        provenance=provenance,
        model_name=model_name,
        split=split,
        val_metric_name=meta.get("metric_name"),
        best_epoch=meta.get("best_epoch"),
        max_epochs=meta.get("settings", {}).get("epochs"),
        training_seconds=meta.get("seconds"),
        members=members,
        intervals=intervals,
        other_baselines=kernels,
        baseline_fit=getattr(base, "description", None),
        examples=_worst_examples(store, idx, y, scores, base_scores, meta["task"], _names(meta)),
    )
    if motifs_dir:
        from dnacnn.motifs import motif_section

        ctx.extra_sections.append(motif_section(motifs_dir))
    write_report(path, ctx)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


# --------------------------------------------------------------------------- aggregate

KEY_METRICS = {
    "binary": ("roc_auc", "pr_auc", "accuracy", "mcc"),
    "multiclass": ("accuracy", "balanced_accuracy", "roc_auc"),
    "regression": ("pearson_r", "spearman_rho", "r2", "mse"),
}


def aggregate(
    eval_dirs: list[str | os.PathLike],
    tsv: str | os.PathLike,
    html: str | os.PathLike | None = None,
    names: list[str] | None = None,
):
    """One row per evaluation (dataset x model) with key metrics and the baseline beside them."""
    import pandas as pd

    from dnacnn.report import summary_row

    rows = []
    for k, d in enumerate(eval_dirs):
        d = Path(d)
        f = d / "metrics.json"
        if not f.is_file():
            raise DnacnnError(f"{d}: no metrics.json; run 'dnacnn evaluate' into it first")
        m = json.loads(f.read_text())
        dataset, model = _run_names(d, m, names[k] if names else None)
        report = os.path.relpath(d / "report.html", Path(html).parent if html else Path(tsv).parent)
        extra = {}
        for key in KEY_METRICS[m["task"]]:
            if key == m["main_metric"]:
                continue  # the main metric is the row's value / baseline columns
            extra[key] = m["cnn"]["macro"].get(key)
            if m.get("baseline"):
                extra[f"baseline_{key}"] = m["baseline"]["macro"].get(key)
        rows.append(
            summary_row(
                dataset, model, m["cnn"], m.get("baseline"), m.get("baseline_name"), report, m.get("intervals"), **extra
            )
        )
    table = pd.DataFrame(rows)
    _write_atomic_tsv(table, Path(tsv))
    if html:
        from dnacnn.report import write_summary

        write_summary(html, table)
    return table


def _run_names(d: Path, m: dict, name: str | None) -> tuple[str, str]:
    if name:
        dataset, _, model = name.partition("/")
        return dataset, model or "model"
    parts = d.resolve().parts
    if d.name == "eval" and len(parts) >= 3:
        return parts[-3], parts[-2]
    return Path(m["run"]["store"]).name, Path(m["run"]["model"]).stem


def _write_atomic_tsv(table, path: Path) -> None:
    from dnacnn.io import write_text_atomic

    write_text_atomic(path, table.to_csv(sep="\t", index=False, float_format="%.4f"))
