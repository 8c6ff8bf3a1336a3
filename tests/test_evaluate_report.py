"""dnacnn evaluate end to end: what the report and metrics.json tell a reader about one real run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from dnacnn.encode import EncodeOptions, encode
from dnacnn.evaluate import aggregate, evaluate
from dnacnn.modelfile import read_tensors
from dnacnn.report.text import fmt
from dnacnn.train import TrainSettings, train

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def rest_run(tmp_path_factory):
    """REST positives + shuffled negatives in a workflow-like layout (results/REST/store), a short
    training run that ends while still improving, and DeepBind's test slice as an external store."""
    tmp = tmp_path_factory.mktemp("run")
    cols = dict(seq_col="seq", id_col="EventID", label_cols=["Bound"], progress=False)
    store = encode(DATA / "rest_AC_slice.seq.gz", tmp / "REST" / "store", EncodeOptions(negatives="shuffle", **cols))
    test = encode(DATA / "rest_B_slice.seq.gz", tmp / "REST" / "test_store", EncodeOptions(split="test", **cols))
    model = train(
        store, tmp / "REST" / "m.dnacnn", TrainSettings(model="deepbind", epochs=2, progress=False)
    ).model_path
    out = tmp / "REST" / "deepbind" / "eval"
    evaluate(model, test, out, split="all", progress=False)
    return {"tmp": tmp, "store": store, "model": model, "out": out}


def test_metrics_json_holds_the_intervals_of_the_headline_metrics(rest_run):
    m = json.loads((rest_run["out"] / "metrics.json").read_text())
    ci = m["intervals"]["cnn"]["roc_auc"]
    assert ci["method"] == "bootstrap" and ci["low"] <= m["cnn"]["macro"]["roc_auc"] <= ci["high"]
    diff = m["intervals"]["difference"]["roc_auc"]
    assert diff["estimate"] == pytest.approx(m["cnn"]["macro"]["roc_auc"] - m["baseline"]["macro"]["roc_auc"])
    assert 0 < diff["p_value"] <= 1 and m["intervals"]["n_boot"] == 1000
    assert set(m["intervals"]["cnn"]) == {"roc_auc", "pr_auc", "mcc"}


def test_the_report_names_the_dataset_and_the_external_records(rest_run):
    html = (rest_run["out"] / "report.html").read_text()
    n = json.loads((rest_run["out"] / "metrics.json").read_text())["run"]["n"]
    assert "<title>deepbind on REST</title>" in html and ">store<" not in html
    assert f"<b>{n:,}</b><span>evaluated here</span>" in html and "<em>0%</em>" not in html
    assert f"(all {n:,} records); not the training store" in html
    assert "Computed from the" not in html


def test_the_report_flags_shuffled_negatives_and_unfinished_training(rest_run):
    html = (rest_run["out"] / "report.html").read_text()
    _, meta = read_tensors(rest_run["model"], with_tensors=False)
    assert "learned against dinucleotide-shuffled negatives" in html
    assert ("stopped at its limit of 2 epochs" in html) == (meta["best_epoch"] == 2)
    # one training time, the model file's, in the training section and the provenance
    assert html.count(f"{meta['seconds']:.1f} s") == 1
    assert f"training time (s)</th><td>{fmt(meta['seconds'])}</td>" in html


def test_the_report_lists_the_worst_calls_with_their_sequences(rest_run):
    html = (rest_run["out"] / "report.html").read_text()
    assert "Highest-scored negatives" in html and "Lowest-scored positives" in html
    sequences = re.findall(r'<code class="seq">([ACGTN]+)</code>', html)
    assert len(sequences) == 10 and all(len(s) == 101 for s in sequences)
    assert "k = " in html and "chosen on its validation rows" in html  # how the baseline was fitted


def test_aggregate_carries_the_intervals_into_the_summary(rest_run):
    tsv = rest_run["tmp"] / "summary.tsv"
    aggregate([rest_run["out"]], tsv, rest_run["tmp"] / "summary.html")
    row = pd.read_csv(tsv, sep="\t").iloc[0]
    assert row.value_low <= row.value <= row.value_high and 0 < row.p_value <= 1
    html = (rest_run["tmp"] / "summary.html").read_text()
    low, high = re.search(r'<small class="ci">([0-9.]+)\u2013([0-9.]+)</small>', html).groups()
    assert float(low) == pytest.approx(row.value_low, abs=6e-4) and float(high) == pytest.approx(
        row.value_high, abs=6e-4
    )
    assert ", p = " in html


@pytest.mark.parametrize(
    "target, message",
    [
        (lambda run: run["store"], "--out would replace the input"),
        (lambda run: run["store"] / "eval", "--out would replace the input"),
        (lambda run: run["model"].parent, "--out would replace a folder holding the input"),
    ],
)
def test_evaluate_never_deletes_its_inputs(rest_run, cli, target, message):
    """Issue 17's data loss: `-o` at the store, inside it, or at the folder of the model deleted them."""
    from conftest import assert_one_line_error

    out = target(rest_run)
    before = sorted(p.name for p in rest_run["store"].iterdir())
    result = cli("evaluate", rest_run["model"], rest_run["tmp"] / "REST" / "test_store", "--split", "all", "-o", out)
    assert_one_line_error(result, message, "give a new folder")
    assert sorted(p.name for p in rest_run["store"].iterdir()) == before and rest_run["model"].is_file()


def test_evaluate_replaces_only_an_earlier_evaluation(rest_run, cli, tmp_path):
    from conftest import assert_one_line_error

    test_store = rest_run["tmp"] / "REST" / "test_store"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "plan.txt").write_text("keep me")
    result = cli("evaluate", rest_run["model"], test_store, "--split", "all", "-o", notes)
    assert_one_line_error(result, "holds files an evaluation does not write (plan.txt)", "give a new folder")
    assert (notes / "plan.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    for _ in range(2):  # an empty folder, then the evaluation it now holds, are replaced
        result = cli("evaluate", rest_run["model"], test_store, "--split", "all", "-o", tmp_path / "empty")
        assert result.exit_code == 0, result.stderr
    (tmp_path / "empty" / "mine.txt").write_text("x")
    result = cli("evaluate", rest_run["model"], test_store, "--split", "all", "-o", tmp_path / "empty")
    assert_one_line_error(result, "holds files an evaluation does not write (mine.txt)")
    (tmp_path / "empty" / "mine.txt").unlink()
    (tmp_path / "empty" / "metrics.json").unlink()  # what Snakemake leaves before a rerun: replaced
    result = cli("evaluate", rest_run["model"], test_store, "--split", "all", "-o", tmp_path / "empty")
    assert result.exit_code == 0, result.stderr
    result = cli("evaluate", rest_run["model"], test_store, "--split", "all", "-o", notes / "plan.txt")
    assert_one_line_error(result, "is a file; --out takes a folder")
