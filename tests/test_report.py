import base64
import os
import re

import numpy as np
import pandas as pd
import pytest

from dnacnn.metrics import compute_metrics
from dnacnn.report import ReportContext, render_report, run, sections, summary_row, write_report, write_summary
from dnacnn.report.figures import classification, common
from dnacnn.report.figures.training import training_figure
from dnacnn.report.page import new_figure
from dnacnn.report.style import RC
from dnacnn.report.summary import summary_dots

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
    section = sections.training_section(binary_context(history=h))
    assert len(images(section)) == 1 and "training time" not in section


def test_ensemble_model_section_lists_the_members():
    members = [{"model file": f"m{i}.dnacnn", "seed": i, "best epoch": 3 + i} for i in range(3)]
    section = sections.model_section(binary_context(members=members))
    assert "Ensemble of 3 models: its scores are the mean of the members' probabilities." in section
    assert section.count("<tr><td>m") == 3 and "<td>m2.dnacnn</td><td>2</td><td>5</td>" in section
    assert "Each member:" in section and "conv1 (Conv1d)" in section
    # members of different architectures: the summary shown is the first member's
    mixed = [dict(row, **{"model spec": spec}) for row, spec in zip(members, ["a", "b", "a"], strict=True)]
    assert "The first member:" in sections.model_section(binary_context(members=mixed))
    assert "The first of the ensemble's 3 members." in sections.training_caption(binary_context(members=members))
    # one model: the summary alone, as before
    assert sections.model_section(binary_context()) == "<pre>conv1 (Conv1d)  (-1, 16, 101)  1,552</pre>"


def test_many_tasks_are_capped_in_figures_and_survive_a_single_class_task(monkeypatch):
    for module in (common, run):  # 8 in use; 4 keeps the test fast
        monkeypatch.setattr(module, "MAX_PLOT_TASKS", 4)
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

    monkeypatch.setattr(os, "replace", broken_replace)
    monkeypatch.setattr(run, "render_report", lambda ctx: "<!DOCTYPE html>" + "x" * 100_000)
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


# --------------------------------------------------------------------------------------------
# what a first-time reader needs (issue 20): every defect seen in Chromium, held by a test


def _with_intervals(ctx: ReportContext) -> ReportContext:
    from dnacnn.intervals import headline_intervals

    ctx.intervals = headline_intervals(ctx.y_true, ctx.y_score, ctx.task, ctx.baseline_score, n_boot=200)
    return ctx


def test_a_constant_learning_rate_gets_one_tick_not_five_equal_ones():
    import matplotlib

    h = history().assign(lr=1e-3)
    with matplotlib.rc_context(RC):
        fig = training_figure(binary_context(history=h))
    lr_axis = fig.axes[2]
    assert lr_axis.get_title(loc="left") == "learning rate"
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    assert list(lr_axis.get_yticks()) == [1e-3]


def test_the_loss_legend_covers_no_point_of_either_curve():
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # the wheat shape: a flat validation loss above a falling training loss
    e = np.arange(1, 31)
    h = pd.DataFrame({"epoch": e, "loss": 0.37 - 0.006 * e, "val_loss": 0.8 + 0.01 * np.sin(e), "lr": 1e-3})
    with matplotlib.rc_context(RC):
        fig = training_figure(binary_context(history=h))
        FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent()
    for line in ax.get_lines():
        points = ax.transData.transform(np.c_[line.get_xdata(), line.get_ydata()])
        assert not any(box.contains(x, y) for x, y in points), line.get_label()


def test_an_external_test_store_is_not_shown_as_an_empty_test_split():
    ctx = binary_context(
        dataset={"name": "REST", "n": {"train": 2700, "valid": 300, "test": 0}, "external": True,
                 "evaluated on": "results/REST/test_store (all 160 records); not the training store"},
        split="all",
    )  # fmt: skip
    html = render_report(ctx)
    assert "<span>test</span>" not in html and "<em>0%</em>" not in html
    assert "<b>160</b><span>evaluated here</span>" in html
    assert "Of the 160 labelled records scored in this report." in html
    assert "Computed from the" not in html


def test_dataset_names_come_from_the_workflow_folder_not_the_word_store():
    from dnacnn.report.evaluation import dataset_name

    assert dataset_name("results/REST/store") == "REST"
    assert dataset_name("results/REST/test_store") == "REST"
    assert dataset_name("runs/ctcf.store") == "ctcf"
    assert dataset_name("wheat_fold1") == "wheat_fold1"


def test_rows_evaluated_say_which_split_of_how_many():
    from dnacnn.evaluate import _rows_evaluated

    class Store:
        n = 599

        def indices(self, split):
            return np.arange(120 if split == "test" else 599)

    assert _rows_evaluated(Store(), "test") == "test split: 120 of 599 records"
    assert _rows_evaluated(Store(), "all") == "all 599 records"


def test_one_training_time_in_the_whole_report():
    html = render_report(binary_context(training_seconds=89.43, provenance={"training time (s)": 89.43}))
    assert "89.4 s" in html and "12.0 s" not in html  # the epochs' seconds sum to 12.0


def test_cards_carry_95_percent_intervals_and_the_verdict_a_paired_test():
    ctx = _with_intervals(binary_context())
    html = render_report(ctx)
    ci = ctx.intervals["cnn"]["roc_auc"]
    assert f'<div class="ci">95% CI {ci["low"]:.3f}\u2013{ci["high"]:.3f}</div>' in html
    diff = ctx.intervals["difference"]["roc_auc"]
    assert "paired bootstrap p = " in html and f"95% CI {diff['low']:+.3f} to {diff['high']:+.3f}" in html
    assert "n = 160)" in html
    assert html.count('<small class="ci">') >= 6  # the overall table: 3 headline metrics x 2 models


def test_a_difference_within_noise_is_not_called_a_win():
    ctx = binary_context()
    ctx.baseline_score = ctx.y_score + np.random.default_rng(0).normal(0, 0.01, ctx.y_score.shape)
    ctx.baseline_metrics = compute_metrics(ctx.y_true, ctx.baseline_score, "binary", ctx.label_names)
    html = render_report(_with_intervals(ctx))
    assert "do not differ clearly in ROC AUC" in html and " beats " not in html


def test_every_section_says_how_to_read_it():
    html = render_report(_with_intervals(binary_context(examples=[])))
    sections = re.findall(r'<section id="([^"]+)"><h2>[^<]*</h2>(<p class="how">)?', html)
    assert sections
    missing = [sid for sid, how in sections if not how and sid not in ("provenance",)]
    assert missing == []


def test_shuffled_negatives_and_unfinished_training_are_flagged():
    ctx = binary_context(
        dataset={"name": "REST", "negatives": {"training": "shuffle", "evaluated": "shuffle"}},
        max_epochs=6, best_epoch=6,
    )  # fmt: skip
    html = render_report(ctx)
    assert html.count('<p class="caveat">') == 2
    assert "dinucleotide shuffles of the positives" in html and "Expect lower numbers" in html
    assert "stopped at its limit of 6 epochs while the validation metric was still improving" in html
    calm = render_report(binary_context(max_epochs=10, best_epoch=4))
    assert '<p class="caveat">' not in calm


def test_calibration_points_show_their_counts_and_each_model_its_brier_score():
    import matplotlib

    ctx = binary_context(n=400)
    with matplotlib.rc_context(RC):
        fig = classification.calibration_figure(ctx)
    ax = fig.axes[0]
    counts = [int(t.get_text().replace(",", "")) for t in ax.texts]
    assert counts and all(c >= classification.CALIBRATION_MIN_ROWS for c in counts)
    # each model's drawn bins hold at most all of its rows
    assert sum(counts) <= 2 * 400
    labels = [line.get_label() for line in ax.get_lines() if "Brier" in line.get_label()]
    brier = ctx.metrics["macro"]["brier"]
    assert labels[0].endswith(f"(Brier {brier:.3f})") and len(labels) == 2
    assert "Brier score" in render_report(ctx)


def test_roc_curves_hugging_the_corner_get_a_zoomed_panel():
    import matplotlib

    rng = np.random.default_rng(1)
    y = (rng.random(600) < 0.5).astype(float)
    good, fair = y * 0.9 + rng.random(600) * 0.2, y * 0.2 + rng.random(600)
    easy = binary_context(y_true=y[:, None], y_score=good[:, None], baseline_score=good[:, None] * 0.99,
                          metrics=compute_metrics(y, good, "binary", ["TF0"]), n=600)  # fmt: skip
    with matplotlib.rc_context(RC):
        zoomed = classification.curves_figure(easy)
        plain = classification.curves_figure(easy.__class__(**{**easy.__dict__, "baseline_score": fair[:, None]}))
    assert len(zoomed.axes) == 3 and zoomed.axes[2].get_xlim() == (0.0, classification.ZOOM_FPR)
    assert len(plain.axes) == 2


def test_the_largest_errors_are_listed_with_their_sequences():
    rows = [
        {"kind": "false positive", "id": "s_shuf", "observed": 0, "cnn": 1, "baseline": 0.3, "sequence": "ACGT" * 25},
        {"kind": "false negative", "id": "peak_<7>", "observed": 1.0, "cnn": 0.02, "baseline": 0.8, "sequence": "TT"},
    ]  # fmt: skip
    html = render_report(binary_context(examples=rows))
    assert "Highest-scored negatives" in html and "Lowest-scored positives" in html
    assert f'<code class="seq">{"ACGT" * 25}</code>' in html and "peak_&lt;7&gt;" in html
    assert render_report(binary_context()).count('id="errors"') == 0


def test_summary_page_fits_its_box_and_shows_intervals(tmp_path):
    ctx = _with_intervals(binary_context())
    y = np.random.default_rng(0).normal(size=120)
    p = 0.6 * y + np.random.default_rng(1).normal(size=120)
    reg = compute_metrics(y, p, "regression", ["E1"])
    reg_ci = headline_intervals_for(y, p)
    rows = pd.DataFrame(
        [
            summary_row("REST", "tfbind", ctx.metrics, ctx.baseline_metrics, "6-mer", "a.html", ctx.intervals,
                        pr_auc=0.998, baseline_pr_auc=0.991),
            summary_row("wheat", "snp-cnn", reg, None, None, "b.html", reg_ci, spearman_rho=0.6, seconds=12.5),
        ]
    )  # fmt: skip
    assert rows.loc[0, "value_low"] <= rows.loc[0, "value"] <= rows.loc[0, "value_high"]
    assert rows.loc[0, "p_value"] == ctx.intervals["difference"]["roc_auc"]["p_value"]
    write_summary(tmp_path / "s.html", rows)
    html = (tmp_path / "s.html").read_text()
    main = re.search(r"<h2>Runs</h2>.*?</table>", html, re.S).group(0)
    assert len(re.findall(r"<th>", main.split("</thead>")[0])) == 8  # fits 1100 px without a hidden scroll
    assert "baseline_" not in html  # raw column names never reach the page
    assert "<th>PR AUC</th>" in html and "baseline 0.991" in html and "<th>training time (s)</th>" in html
    assert "Other metrics: binary" in html and "Other metrics: regression" in html
    lo, hi = rows.loc[0, "value_low"], rows.loc[0, "value_high"]
    assert f"{lo:.3f}\u2013{hi:.3f}" in main and ", p = " in main


def headline_intervals_for(y, p):
    from dnacnn.intervals import headline_intervals

    return headline_intervals(y, p, "regression", n_boot=100)


def test_summary_chart_zooms_so_close_scores_look_different():
    import matplotlib

    rows = pd.DataFrame(
        {"dataset": ["REST", "zou"], "model": ["tfbind", "zou2019"], "metric": "roc_auc",
         "value": [0.998, 0.999], "value_low": [0.996, 0.997], "value_high": [0.999, 1.0], "baseline": [0.991, 1.0]}
    )  # fmt: skip
    with matplotlib.rc_context(RC):
        fig = new_figure(8, 3)
        ax = fig.subplots()
        summary_dots(ax, "roc_auc", rows)
    lo, hi = ax.get_xlim()
    assert hi - lo < 0.05 and hi <= 1.01
    # 0.991 vs 0.998 lie more than a fifth of the axis apart
    assert (0.998 - 0.991) / (hi - lo) > 0.2


def test_kernel_baselines_are_listed_with_the_paired_difference():
    from dnacnn.intervals import headline_intervals

    rng = np.random.default_rng(0)
    y = rng.normal(size=120)
    cnn, ridge, gblup = (0.7 * y + rng.normal(0, s, 120) for s in (0.6, 0.8, 0.9))
    metrics = {k: compute_metrics(y, v, "regression", ["E1"]) for k, v in (("cnn", cnn), ("r", ridge), ("g", gblup))}
    ctx = ReportContext(
        title="wheat", task="regression", label_names=["E1"], y_true=y, y_score=cnn, metrics=metrics["cnn"],
        baseline_metrics=metrics["r"], baseline_score=ridge, baseline_name="RR-BLUP (ridge)",
        intervals=headline_intervals(y, cnn, "regression", ridge, n_boot=200),
        other_baselines={"GBLUP": {"metrics": metrics["g"],
                                   "intervals": headline_intervals(y, cnn, "regression", gblup, n_boot=200)}},
    )  # fmt: skip
    html = render_report(ctx)
    section = html.split('<section id="baselines">')[1].split("</section>")[0]
    assert "<h2>Kernel baselines</h2>" in section and '<p class="how">' in section
    rows = re.findall(r'<tr><td class="t">([^<]+)</td>', section)
    assert rows == ["CNN", "RR-BLUP (ridge)", "GBLUP"]
    r = metrics["g"]["macro"]["pearson_r"]
    assert f"<td>{r:.3f}<small" in section and section.count("p = ") == 2
    assert 'id="baselines"' not in render_report(binary_context())
