"""The report of ``dnacnn evaluate``: from one evaluation's results to a :class:`ReportContext`.

:class:`Evaluation` holds what :func:`dnacnn.evaluate.evaluate` computed (model metadata, the
evaluated rows of the store, scores, metrics, baselines, intervals, provenance);
:func:`write_evaluation_report` turns it into the run report (:func:`dnacnn.report.run.write_report`):
the dataset facts, how the negatives were made, the ensemble's members and the largest errors
with their sequences.  It reads the model file's metadata and the stores; it fits nothing.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.report.context import ReportContext
from dnacnn.report.run import write_report

if TYPE_CHECKING:
    from dnacnn.models.meta import ModelMeta


@dataclass(kw_only=True)
class Evaluation:
    """One evaluation: a model (or ensemble) scored on some rows of a store.

    Attributes
    ----------
    meta : dnacnn.models.meta.ModelMeta
        The model file's metadata (the first member's for an ensemble).
    store : dnacnn.store.Store
        The evaluated store (seen by the scored fold, if any).
    idx : np.ndarray, shape=(n,)
        The evaluated rows of ``store``.
    split : str
        Name of the evaluated split.
    names : list of str
        Task names (binary, regression) or class names (multiclass).
    y : np.ndarray, shape=(n, tasks)
        Labels of the evaluated rows.
    scores : np.ndarray, shape=(n, outputs)
        The CNN's scores.
    metrics : dict
        :func:`dnacnn.metrics.compute_metrics` of the CNN.
    columns : list of str
        The model's output columns (predictions table).
    baseline : object or None
        The fitted baseline (:func:`dnacnn.baselines.fit_baseline`): ``name``, ``description``.
    baseline_scores, baseline_metrics
        Its scores (shape of ``scores``) and metrics; None without a baseline.
    kernel_scores : dict
        Genotype regression: GBLUP / RKHS name -> scores, shape=(n, outputs).
    kernels : dict
        Name -> ``{"metrics": ..., "intervals": ...}`` of the kernel baselines.
    intervals : dict
        :func:`dnacnn.intervals.headline_intervals` of the CNN against the baseline.
    provenance : dict
        Shown as the report's provenance and written to ``metrics.json``.
    members : list of dict
        One row per ensemble member (file, spec, seed, best epoch, ...); [] for one model.
    rows_evaluated : str
        Which rows were scored, e.g. ``"test split: 120 of 599 records"``.
    """

    meta: dict
    store: object
    idx: np.ndarray
    split: str
    names: list[str]
    y: np.ndarray
    scores: np.ndarray
    metrics: dict
    columns: list[str]
    baseline: object | None = None
    baseline_scores: np.ndarray | None = None
    baseline_metrics: dict | None = None
    kernel_scores: dict = field(default_factory=dict)
    kernels: dict = field(default_factory=dict)
    intervals: dict | None = None
    provenance: dict = field(default_factory=dict)
    members: list[dict] = field(default_factory=list)
    rows_evaluated: str = ""


def write_evaluation_report(
    path: str | os.PathLike,
    run: Evaluation,
    title: str | None = None,
    motifs_dir: str | os.PathLike | None = None,
) -> None:
    """Write the report of ``run`` to ``path`` (one self-contained HTML file, written atomically);
    ``title`` defaults to "<spec> on <dataset>", ``motifs_dir`` adds a 'dnacnn motifs' section."""
    ctx = evaluation_context(run, title)
    if motifs_dir:
        from dnacnn.interpret.motif_report import motif_section

        ctx.extra_sections.append(motif_section(motifs_dir))
    write_report(path, ctx)


def evaluation_context(run: Evaluation, title: str | None = None) -> ReportContext:
    """The :class:`ReportContext` of one evaluation (see :func:`write_evaluation_report`)."""
    import pandas as pd

    from dnacnn.models import summarize

    meta, base = run.meta, run.baseline
    enc = meta.encoding
    summary = summarize(meta.spec, enc.channels, enc.length, meta.n_outputs, meta.task).text
    dataset = _dataset(run)
    members = [dict(row) for row in run.members]
    model_name, default_title = _model_names(meta.name, dataset["name"], members)
    return ReportContext(
        title=title or default_title,
        task=meta.task,
        label_names=run.names,
        dataset=dataset,
        model_summary_text=summary,
        history=pd.DataFrame(meta.history) if meta.history else None,
        metrics=run.metrics,
        baseline_metrics=run.baseline_metrics,
        baseline_name=base.name if base is not None else "baseline",
        y_true=run.y,
        y_score=run.scores,
        baseline_score=run.baseline_scores,
        provenance=run.provenance,
        model_name=model_name,
        split=run.split,
        val_metric_name=meta.metric_name,
        best_epoch=meta.best_epoch,
        max_epochs=meta.epochs,
        training_seconds=meta.seconds,
        members=members,
        intervals=run.intervals,
        other_baselines=run.kernels,
        baseline_fit=getattr(base, "description", None),
        examples=worst_examples(run.store, run.idx, run.y, run.scores, run.baseline_scores, meta.task),
    )


def _dataset(run: Evaluation) -> dict:
    """The dataset facts: the training store's name and split counts, and what was scored here."""
    meta, store = run.meta, run.store
    counts = meta.split_counts or {}
    trained_on = meta.trained_on if meta.trained_on is not None else store.path
    same_store = Path(trained_on).resolve() == store.path.resolve()
    return {
        "name": dataset_name(trained_on),
        "n": counts,
        "evaluated on": f"{store.path} ({run.rows_evaluated})" + ("" if same_store else "; not the training store"),
        "kind": meta.encoding.kind,
        "length": meta.encoding.length,
        "negatives": negatives(meta, store) if meta.task == "binary" else None,
        "external": not same_store,
    }


def _model_names(spec: str, dataset: str, members: list[dict]) -> tuple[str, str]:
    """The CNN's legend name and the default title; for an ensemble, the members' rows lose their
    ``model spec`` when all share one (the usual seed ensemble: the architecture is said once)."""
    if not members:
        return f"CNN ({spec})", f"{spec} on {dataset}"
    specs = list(dict.fromkeys(row["model spec"] for row in members))
    if len(specs) == 1:
        for row in members:
            del row["model spec"]
    name = f"{len(members)} x {spec}" if len(specs) == 1 else f"{len(members)} models"
    return (
        f"CNN ensemble ({name})",
        f"{spec if len(specs) == 1 else 'CNN'} ensemble of {len(members)} on {dataset}",
    )


def dataset_name(store_path) -> str:
    """A store's name for people: ``results/REST/store`` -> ``REST``, ``ctcf.store`` (or the archive
    ``ctcf.store.tar``) -> ``ctcf``."""
    path = Path(store_path)
    name = path.name.removesuffix(".tar").removesuffix(".store")
    if name in ("store", "test_store", "train_store", "") and path.parent.name:
        return path.parent.name
    return name


def negatives(meta: ModelMeta, store) -> dict:
    """How the negatives of training and of the evaluated rows were made, as far as the files say."""
    from dnacnn.store import Store

    def made_by(settings: dict) -> str | None:
        value = settings.get("negatives")
        return None if value is None else (value if value in ("shuffle", "genome") else "file")

    trained = None
    with contextlib.suppress(DnacnnError, KeyError, TypeError, OSError):  # the training store may be gone
        trained = made_by(Store.open(meta.trained_on).manifest.get("settings", {}))
    if meta.fresh_negatives:
        trained = "shuffle"
    return {"training": trained, "evaluated": made_by(store.manifest.get("settings", {}))}


def worst_examples(store, idx, y, scores, base_scores, task: str, k: int = 5) -> list[dict]:
    """The model's largest errors on the first task: the k highest-scored negatives and k lowest-scored
    positives (binary), or the k largest residuals (regression), with their sequences."""
    from dnacnn.codes import codes_to_dna

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
