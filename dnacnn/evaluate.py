"""``dnacnn evaluate`` and ``dnacnn aggregate``: metrics, a baseline and readable reports.

``evaluate(model, store, outdir)`` scores one split of a store (``test`` by default; give an
external test store such as DeepBind's ``_B`` file encoded with ``--split test`` and use
``split="all"``), fits the same-run baseline on the training store (k-mer logistic regression
for DNA, ridge regression / RR-BLUP for genotypes) and writes into ``outdir``::

    metrics.json      CNN and baseline metrics, run provenance
    metrics.tsv       one row per model x task (+ macro)
    predictions.tsv   id, observed label(s), CNN score(s), baseline score(s)
    report.html       self-contained HTML report (plots embedded; :mod:`dnacnn.report.evaluation`)

``model`` may also be a list of model files (e.g. one architecture trained with several seeds):
they are scored as one ensemble, the mean of their predictions (``dnacnn.predict.Ensemble``).

``aggregate(eval_dirs, tsv, html)`` gathers many evaluations into one table and page.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dnacnn import __version__
from dnacnn.errors import DnacnnError, InputError
from dnacnn.ids import shown

if TYPE_CHECKING:
    from dnacnn.report.evaluation import Evaluation


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
    from dnacnn.predict import check_store_matches, load_predictor, model_paths
    from dnacnn.store import Store

    started = time.time()
    out_dir = Path(out_dir)
    store = Store.open(store_path)
    paths = model_paths(model_path)
    predictor = load_predictor(paths, device, rc_average)
    check_store_matches(predictor, store)
    meta = predictor.meta
    trained_on = meta.trained_on  # the baseline is fitted on it
    inputs = [store.path, *map(Path, paths), *(Path(p) for p in (train_store, trained_on) if p)]
    _check_out_dir(out_dir, inputs)
    fold = fold if fold is not None else (meta.fold if store.n_folds else None)
    if fold is not None:
        store = store.for_fold(fold)
    run, codes = _score(predictor, store, _split_rows(store, split), split, threshold)
    source = _training_store(meta, store, train_store, fold) if baseline else None
    _score_baselines(run, codes, source, threshold)
    run.provenance = _provenance(paths, store, meta, predictor, split, started)
    run.members = _members(predictor)
    result = _result(run, paths, fold)
    _write_outputs(out_dir, result, run, title, motifs_dir)
    return result


EVALUATION_FILES = ("metrics.json", "metrics.tsv", "predictions.tsv", "report.html")


def _check_out_dir(out_dir: Path, inputs: list[Path]) -> None:
    """``out_dir`` is replaced as a whole, so it must be new or an earlier evaluation, and must not
    hold, or lie inside, an input (``-o`` pointed at the store or the model's folder deleted them)."""
    from dnacnn.io.outputs import check_output_folder

    check_output_folder(out_dir, inputs, fix=f"give a new folder, e.g. {out_dir.name}_eval")
    _check_replaceable(out_dir)


def _check_replaceable(out_dir: Path) -> None:
    """A new folder, an empty one or an earlier evaluation (all or some of its files) is replaced."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DnacnnError(f"{out_dir}: exists and is a file; --out takes a folder, give a new one")
    extra = sorted(p.name for p in out_dir.iterdir() if p.name not in EVALUATION_FILES) if out_dir.is_dir() else []
    if extra:
        raise DnacnnError(
            f"{out_dir}: holds files an evaluation does not write ({', '.join(extra[:3])}); "
            "give a new folder or move them"
        )


def _split_rows(store, split: str) -> np.ndarray:
    """The rows of ``split``; an empty split is an error that says what to give instead."""
    idx = store.indices(split)
    if split == "test" and len(idx) == 0:
        raise DnacnnError(
            f"{store.path}: no test rows; give --split all for an external test store, or re-encode "
            "with --test-frac > 0"
        )
    if len(idx) == 0:
        raise DnacnnError(f"{store.path}: split {split!r} is empty; choose another --split")
    return idx


def _score(predictor, store, idx: np.ndarray, split: str, threshold: float) -> tuple[Evaluation, np.ndarray]:
    """The CNN's scores and metrics on rows ``idx`` of ``store``, and those rows' codes (for the baselines)."""
    from dnacnn.metrics import compute_metrics
    from dnacnn.report.evaluation import Evaluation

    codes = np.asarray(store.codes[idx])
    y = np.asarray(store.labels[idx])
    scores = predictor(codes)
    meta = predictor.meta
    names = meta.task_names
    metrics = compute_metrics(y, scores, meta.task, names, threshold)
    run = Evaluation(
        meta=meta,
        store=store,
        idx=idx,
        split=split,
        names=names,
        y=y,
        scores=scores,
        metrics=metrics,
        columns=predictor.columns,
        rows_evaluated=_rows_evaluated(store, split),
    )
    return run, codes


def _score_baselines(run: Evaluation, codes: np.ndarray, source, threshold: float) -> None:
    """Fit the baseline and, for genotype regression, the kernel baselines on ``source`` (None: no
    baseline), score them on ``codes`` and fill ``run``'s baseline fields and intervals."""
    from dnacnn.intervals import headline_intervals
    from dnacnn.metrics import compute_metrics

    task, names, y = run.meta.task, run.names, run.y
    base = _fit_baseline(run.meta, source) if source is not None else None
    if base is not None:
        run.baseline = base
        run.baseline_scores = base.predict_scores(codes)
        run.baseline_metrics = compute_metrics(y, run.baseline_scores, task, names, threshold)
    run.kernel_scores = _fit_kernels(run.meta, source, codes) if source is not None else {}
    run.intervals = headline_intervals(y, run.scores, task, run.baseline_scores, threshold=threshold)
    run.kernels = {
        name: {
            "metrics": compute_metrics(y, predicted, task, names, threshold),
            "intervals": headline_intervals(y, run.scores, task, predicted, threshold=threshold),
        }
        for name, predicted in run.kernel_scores.items()
    }


def _result(run: Evaluation, paths: list, fold: int | None) -> dict:
    """The ``metrics.json`` of ``run``."""
    from dnacnn.metrics import main_metric

    model = {"model": str(paths[0])}
    if len(paths) > 1:
        model["models"] = [str(path) for path in paths]
    return {
        "run": {**model, "store": str(run.store.path), "split": run.split, "n": int(len(run.idx)), "fold": fold},
        "task": run.meta.task,
        "main_metric": main_metric(run.metrics)[0],
        "cnn": run.metrics,
        "baseline_name": run.baseline.name if run.baseline is not None else None,
        "baseline": run.baseline_metrics,
        "intervals": run.intervals,
        "kernel_baselines": run.kernels,
        "provenance": run.provenance,
    }


def _write_outputs(out_dir: Path, result: dict, run: Evaluation, title, motifs_dir) -> None:
    """Write the four evaluation files into a temporary folder, then replace ``out_dir`` with it."""
    from dnacnn.io.outputs import output_dir
    from dnacnn.io.tsv import write_table
    from dnacnn.report.evaluation import write_evaluation_report

    with output_dir(out_dir, _check_replaceable) as tmp_dir:
        (tmp_dir / "metrics.json").write_text(json.dumps(result, indent=2, default=_json_default) + "\n")
        for name, table in (("metrics.tsv", _metrics_table(run)), ("predictions.tsv", _predictions_table(run))):
            write_table(tmp_dir / name, table, "%.6g", shown_as=Path(out_dir) / name)
        write_evaluation_report(tmp_dir / "report.html", run, title, motifs_dir)


def _metrics_table(run: Evaluation):
    """``metrics.tsv``: one row per model x task (+ macro), the model first."""
    import pandas as pd

    from dnacnn.metrics import metrics_table

    table = metrics_table(run.metrics).assign(model="cnn")
    if run.baseline_metrics is not None:
        table = pd.concat([table, metrics_table(run.baseline_metrics).assign(model=run.baseline.name)])
    return table[["model", *[c for c in table.columns if c != "model"]]]


def _training_store(meta, store, train_store, fold: int | None):
    """The store the baselines are fitted on: the model's training store (or ``train_store``), as
    seen by the same fold when the model was trained on one; None (with a note) when there is none."""
    from dnacnn.store import Store, looks_like_store

    source = None
    candidates = (train_store,) if train_store else (meta.trained_on, store.path)
    for candidate in candidates:
        if candidate and looks_like_store(candidate):
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
    n_classes = len(meta.classes or []) or None
    return fit_baseline(
        source.encoding.kind,
        meta.task,
        np.asarray(source.codes[tr]),
        np.asarray(source.labels[tr]),
        np.asarray(source.codes[va]) if len(va) else None,
        np.asarray(source.labels[va]) if len(va) else None,
        n_classes=n_classes,
        seed=int(meta.seed or 0),
    )


KERNEL_BASELINES = {"GBLUP": "gblup", "RKHS": "rkhs", "RKHS (kernel average)": "rkhs_average"}


def _fit_kernels(meta, source, codes) -> dict[str, np.ndarray]:
    """Genotype regression: GBLUP, RKHS and kernel-averaged RKHS (:mod:`dnacnn.kernels`) fitted on the
    training and validation rows of ``source`` (they choose their own hyperparameters by inner CV or
    REML), predicting ``codes``; {} for other tasks."""
    from threadpoolctl import threadpool_limits

    from dnacnn.kernels import GBLUP, RKHS

    if meta.task != "regression" or source.encoding.kind != "genotype":
        return {}
    rows = np.sort(np.concatenate([source.indices("train"), source.indices("valid")]))
    X, y = np.asarray(source.codes[rows]), np.asarray(source.labels[rows])
    seed = int(meta.seed or 0)
    models = {"GBLUP": GBLUP(), "RKHS": RKHS(seed=seed), "RKHS (kernel average)": RKHS(average=True, seed=seed)}
    # dozens of eigendecompositions of a few-hundred-line kernel: BLAS threads spin-wait on a busy
    # machine (RKHS on 480 wheat lines: 1.4 s with one thread, 14 s with two beside other work)
    with threadpool_limits(1 if len(rows) <= 3000 else None, user_api="blas"):
        return {
            name: np.asarray(m.fit(X, y).predict(codes), np.float64).reshape(len(codes), -1)
            for name, m in models.items()
        }


def _predictions_table(run: Evaluation):
    """``predictions.tsv``: id, observed label(s), then the scores of the CNN and of each baseline."""
    import pandas as pd

    ids, y, columns = run.store.ids, run.y, run.columns
    table = {"id": [ids[i] for i in run.idx]}
    names = run.names if y.shape[1] == len(run.names) else [f"y{j}" for j in range(y.shape[1])]
    for j, name in enumerate(names):
        table[f"observed_{name}"] = y[:, j]
    for j, col in enumerate(columns):
        table[f"cnn_{col}"] = run.scores[:, j]
    if run.baseline_scores is not None:
        for j, col in enumerate(columns):
            table[f"baseline_{col}"] = run.baseline_scores[:, j]
    for name, predicted in run.kernel_scores.items():
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
            "model spec": str(m.name),
            "seed": m.seed,
            "best epoch": m.best_epoch,
        }
        if m.metric_name:
            row[f"validation {m.metric_name}"] = m.best_val_metric
        rows.append(row)
    return rows


def _provenance(paths, store, meta, predictor, split, started) -> dict:
    import sklearn
    import torch

    from dnacnn.train.settings import PROVENANCE_KEYS

    settings = meta.settings
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
        "training inputs": [f"{i['path']} sha256:{i['sha256'][:16]}…" for i in meta.training_inputs or []],
        "encoding": meta.encoding.to_dict(),
        "model spec": meta.spec.get("name"),
        "training settings": {k: settings.get(k) for k in PROVENANCE_KEYS},
        "seed": per_member(lambda m: m.seed),
        "training device": meta.training_device,
        "training time (s)": per_member(lambda m: m.seconds),
        "best epoch": per_member(lambda m: m.best_epoch),
        "evaluation device": str(predictor.device),
        "evaluation time (s)": round(time.time() - started, 2),
        "versions": f"dnacnn {__version__} (model made by {meta.dnacnn_version}), torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, python {platform.python_version()}",
    }


def _rows_evaluated(store, split: str) -> str:
    n = len(store.indices(split))
    return f"all {n:,} records" if n == store.n else f"{split} split: {n:,} of {store.n:,} records"


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

    from dnacnn.io.tsv import write_table
    from dnacnn.report import summary_row

    names = check_run_names(names, len(eval_dirs))
    rows = []
    for k, d in enumerate(eval_dirs):
        d = Path(d)
        m = read_metrics(d)
        dataset, model = _run_names(d, m, names[k] if names else None)
        report = os.path.relpath(d / "report.html", Path(html).parent if html else Path(tsv).parent)
        try:
            extra = {}
            for key in KEY_METRICS[m["task"]]:
                if key == m["main_metric"]:
                    continue  # the main metric is the row's value / baseline columns
                extra[key] = m["cnn"]["macro"].get(key)
                if m.get("baseline"):
                    extra[f"baseline_{key}"] = m["baseline"]["macro"].get(key)
            row = summary_row(
                dataset, model, m["cnn"], m.get("baseline"), m.get("baseline_name"), report, m.get("intervals"), **extra
            )
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise _not_metrics(d, f"its metrics lack or garble {shown(str(e))[:60]}") from None
        rows.append(row)
    table = pd.DataFrame(rows)
    write_table(tsv, table, "%.4f")
    if html:
        from dnacnn.report import write_summary

        write_summary(html, table)
    return table


METRICS_LIMIT = 64 << 20  # metrics.json of thousands of tasks is a few MB


def _not_metrics(d: Path, problem: str) -> InputError:
    return InputError(Path(d) / "metrics.json", None, problem, "re-run 'dnacnn evaluate' into the folder")


def read_metrics(d: str | os.PathLike) -> dict:
    """The ``metrics.json`` of the evaluation folder ``d``, read as a result file (its own regular
    file, bounded, JSON nested as dnacnn writes it) with the fields every reader uses checked."""
    from dnacnn.io.jsonfile import read_json
    from dnacnn.store_files import open_result_file, result_file_present

    d = Path(d)
    if not result_file_present(d, "metrics.json"):
        raise DnacnnError(f"{d}: no metrics.json; run 'dnacnn evaluate' into it first")
    with open_result_file(d, "metrics.json", "dnacnn evaluate", METRICS_LIMIT) as f:
        m = read_json(f, METRICS_LIMIT, lambda problem: _not_metrics(d, problem), "metrics file")
    run, cnn = m.get("run") if isinstance(m, dict) else None, m.get("cnn") if isinstance(m, dict) else None
    checks = (
        (isinstance(m, dict) and m.get("task") in KEY_METRICS, "'task'"),
        (isinstance(m, dict) and isinstance(m.get("main_metric"), str), "'main_metric'"),
        (isinstance(run, dict) and all(isinstance(run.get(k), str) for k in ("store", "model")), "'run'"),
        (isinstance(run, dict) and (run.get("fold") is None or type(run.get("fold")) is int), "'run' fold"),
        (isinstance(cnn, dict) and isinstance(cnn.get("macro"), dict), "'cnn'"),
        (isinstance(cnn, dict) and _strings(cnn.get("label_names")), "'cnn' label_names"),
        (isinstance(m, dict) and (m.get("baseline") is None or isinstance(m["baseline"].get("macro"), dict)
                                  if isinstance(m.get("baseline"), (dict, type(None))) else False), "'baseline'"),
        (isinstance(m, dict) and isinstance(m.get("baseline_name"), (str, type(None))), "'baseline_name'"),
    )  # fmt: skip
    for ok, field in checks:
        if not ok:
            raise _not_metrics(d, f"is not the metrics.json 'dnacnn evaluate' writes ({field} missing or wrong)")
    return m


def _strings(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def check_run_names(names: list[str] | None, n_dirs: int) -> list[str] | None:
    """``names`` (``dataset/model`` per evaluation folder, the ``--names`` option) checked: one per
    folder, each part one word of printable characters; one line naming ``--names`` otherwise."""
    from dnacnn.ids import problem

    if not names:
        return None
    if len(names) != n_dirs:
        raise DnacnnError(
            f"--names gives {len(names)} name{'s' * (len(names) != 1)} for {n_dirs} evaluation folders; "
            "give one dataset/model per folder"
        )
    for name in names:
        for part in name.partition("/")[::2]:
            trouble = problem(part) if part else None
            if trouble:
                raise DnacnnError(
                    f"--names: '{shown(name)}' {trouble}; a dataset/model name is one word of printable characters"
                )
    return names


def _run_names(d: Path, m: dict, name: str | None) -> tuple[str, str]:
    if name:
        dataset, _, model = name.partition("/")
        return dataset, model or "model"
    parts = d.resolve().parts
    if d.name == "eval" and len(parts) >= 3:
        return parts[-3], parts[-2]
    return Path(m["run"]["store"]).name, Path(m["run"]["model"]).stem
