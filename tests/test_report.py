import base64
import os
import re

import numpy as np
import pandas as pd
import pytest

from dnacnn import report
from dnacnn.metrics import compute_metrics
from dnacnn.report import ReportContext, render_report, summary_row, write_report, write_summary

PNG = re.compile(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
# any resource or link that would need the network: src/href/url() to http(s) or protocol-relative
EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)\s*(?:https?:)?//""", re.IGNORECASE)


def history(epochs: int = 6) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    return pd.DataFrame(
        {"epoch": e, "loss": 1 / e, "val_loss": 1.2 / e, "val_metric": 0.9 - 0.2 / e, "lr": 1e-3 * 0.5 ** (e // 3),
         "seconds": np.full(epochs, 2.0)}
    )  # fmt: skip


def binary_context(n_tasks: int = 1, n: int = 160, seed: int = 0, **overrides) -> ReportContext:
    rng = np.random.default_rng(seed)
    names = [f"TF{i}" for i in range(n_tasks)]
    y = (rng.random((n, n_tasks)) < 0.4).astype(float)
    cnn = 1 / (1 + np.exp(-(2.5 * (2 * y - 1) + rng.normal(0, 1.2, y.shape))))
    base = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(0, 1.2, y.shape))))
    kwargs = dict(
        title="CTCF <K562> & friends", task="binary", label_names=names, y_true=y, y_score=cnn,
        metrics=compute_metrics(y, cnn, "binary", names), dataset={"name": "ENCODE", "n": {"train": 800, "test": n}},
        model_summary_text="conv1 (Conv1d)  (-1, 16, 101)  1,552", history=history(), best_epoch=4,
        baseline_metrics=compute_metrics(y, base, "binary", names), baseline_name="6-mer logistic regression",
        baseline_score=base,
        provenance={"inputs": [{"path": "a.fa", "sha256": "ab" * 32}], "settings": {"epochs": 6}, "seed": 1},
    )  # fmt: skip
    kwargs.update(overrides)
    return ReportContext(**kwargs)


def images(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in PNG.findall(html)]


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.findall(html)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images(html))


def test_binary_report_is_one_self_contained_file(tmp_path):
    ctx = binary_context()
    path = tmp_path / "out" / "report.html"
    write_report(path, ctx)
    assert os.listdir(path.parent) == ["report.html"]  # no temporary file left behind
    html = path.read_text(encoding="utf-8")
    assert_self_contained(html)
    # training, ROC/PR, confusion, score distributions, calibration
    assert len(images(html)) == 5
    auc = ctx.metrics["macro"]["roc_auc"]
    assert f'<div class="big">{auc:.3f}</div>' in html
    assert "6-mer logistic regression" in html and "CTCF &lt;K562&gt; &amp; friends" in html
    assert '<code class="hash">' + "ab" * 32 + "</code>" in html
    assert "conv1 (Conv1d)" in html


def test_report_survives_missing_history_and_baseline(tmp_path):
    ctx = binary_context(history=None, baseline_metrics=None, baseline_score=None, model_summary_text="")
    write_report(tmp_path / "r.html", ctx)
    html = (tmp_path / "r.html").read_text()
    assert_self_contained(html)
    assert "No training history was recorded" in html
    assert "no baseline was fitted" in html and "logistic" not in html
    assert len(images(html)) == 4


def test_history_with_missing_columns_and_nan():
    h = history().drop(columns=["lr", "seconds"])
    h.loc[0, "val_metric"] = np.nan
    section = report._training_section(binary_context(history=h))
    assert len(images(section)) == 1 and "training time" not in section


def test_ensemble_model_section_lists_the_members():
    members = [{"model file": f"m{i}.dnacnn", "seed": i, "best epoch": 3 + i} for i in range(3)]
    section = report._model_section(binary_context(members=members))
    assert "Ensemble of 3 models: its scores are the mean of the members' probabilities." in section
    assert section.count("<tr><td>m") == 3 and "<td>m2.dnacnn</td><td>2</td><td>5</td>" in section
    assert "Each member:" in section and "conv1 (Conv1d)" in section
    # members of different architectures: the summary shown is the first member's
    mixed = [dict(row, **{"model spec": spec}) for row, spec in zip(members, ["a", "b", "a"], strict=True)]
    assert "The first member:" in report._model_section(binary_context(members=mixed))
    assert "The first of the ensemble's 3 members." in report._training_caption(binary_context(members=members))
    # one model: the summary alone, as before
    assert report._model_section(binary_context()) == "<pre>conv1 (Conv1d)  (-1, 16, 101)  1,552</pre>"


def test_many_tasks_are_capped_in_figures_and_survive_a_single_class_task(monkeypatch):
    monkeypatch.setattr(report, "MAX_PLOT_TASKS", 4)  # 8 in use; 4 keeps the test fast
    ctx = binary_context(n_tasks=5, n=100)
    y = ctx.y_true.copy()
    y[:, 3] = 1.0  # one class only: no ROC curve, AUC None
    y[::5, 4] = np.nan
    ctx.y_true = y
    ctx.metrics = compute_metrics(y, ctx.y_score, "binary", ctx.label_names)
    ctx.baseline_metrics = compute_metrics(y, ctx.baseline_score, "binary", ctx.label_names)
    html = render_report(ctx)
    assert_self_contained(html)
    assert "Figures show the first 4 of 5 tasks" in html
    assert "<tr><td>TF4</td>" in html  # the tables list every task
    assert len(images(html)) == 5


def test_multiclass_report():
    rng = np.random.default_rng(0)
    classes = ["promoter", "enhancer", "other"]
    y = rng.integers(0, 3, 150)
    logits = rng.normal(0, 1, (150, 3))
    logits[np.arange(150), y] += 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    yt = y[:, None].astype(float)
    ctx = ReportContext(
        title="classes", task="multiclass", label_names=classes, y_true=yt, y_score=p,
        metrics=compute_metrics(yt, p, "multiclass", classes), history=history(),
        baseline_metrics=compute_metrics(yt, p[:, ::-1], "multiclass", classes), baseline_score=p[:, ::-1],
        extra_sections=[("Motifs", '<p class="motif">logo here</p>')],
    )  # fmt: skip
    html = render_report(ctx)
    assert_self_contained(html)
    assert len(images(html)) == 5
    assert "<h3>Per class</h3>" in html and "Macro F1" in html
    assert '<section id="extra-0"><h2>Motifs</h2><p class="motif">logo here</p></section>' in html


def test_regression_report():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1, (80, 2))
    cnn, base = 0.6 * y + rng.normal(0, 0.6, y.shape), 0.5 * y + rng.normal(0, 0.6, y.shape)
    names = ["E1", "E2"]
    m = compute_metrics(y, cnn, "regression", names)
    ctx = ReportContext(
        title="wheat", task="regression", label_names=names, y_true=y, y_score=cnn, metrics=m,
        history=history(), baseline_metrics=compute_metrics(y, base, "regression", names),
        baseline_name="RR-BLUP (ridge)", baseline_score=base, dataset={"name": "wheat"},
    )  # fmt: skip
    html = render_report(ctx)
    assert_self_contained(html)
    assert len(images(html)) == 3  # training, observed vs predicted, residuals
    assert "Observed vs predicted" in html and f"{m['macro']['pearson_r']:.3f}" in html
    assert "<th>mean</th>" in html  # target summary computed from y_true


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(report.os, "replace", broken_replace)
    monkeypatch.setattr(report, "render_report", lambda ctx: "<!DOCTYPE html>" + "x" * 100_000)
    with pytest.raises(OSError, match="disk full"):
        write_report(tmp_path / "r.html", binary_context())
    assert os.listdir(tmp_path) == []


def test_summary_page_links_reports_and_plots_the_main_metric(tmp_path):
    ctx = binary_context()
    y = np.array([1.0, 2.0, 3.0, 4.0])
    reg = compute_metrics(y, y * 0.5 + np.array([0.1, -0.1, 0.2, 0.0]), "regression", ["E1"])
    rows = pd.DataFrame(
        [
            summary_row("REST", "deepbind", ctx.metrics, ctx.baseline_metrics, "6-mer", report="runs/REST/report.html"),
            summary_row("wheat", "cnn", reg, None, report="runs/wheat/report.html", seconds=12.5),
        ]
    )
    assert rows.loc[0, "metric"] == "roc_auc" and rows.loc[1, "metric"] == "pearson_r"
    assert rows.loc[0, "delta"] == pytest.approx(
        ctx.metrics["macro"]["roc_auc"] - ctx.baseline_metrics["macro"]["roc_auc"]
    )
    assert rows.loc[0, "n"] == 160
    path = tmp_path / "summary.html"
    write_summary(path, rows)
    html = path.read_text()
    assert_self_contained(html)
    assert '<a href="runs/REST/report.html">open</a>' in html and '<a href="runs/wheat/report.html">' in html
    assert len(images(html)) == 1
    assert os.listdir(tmp_path) == ["summary.html"]
