"""dnacnn predict / evaluate / aggregate / export on real data slices."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error

from dnacnn.encode import EncodeOptions, encode
from dnacnn.predict import Predictor, predict_store
from dnacnn.train import TrainOptions, train


@pytest.fixture(scope="module")
def rest(tmp_path_factory):
    """A deepbind-preset model trained on a REST slice (positives + shuffled negatives), and the
    DeepBind test slice encoded as an external test store."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    tmp = tmp_path_factory.mktemp("rest")
    cols = dict(seq_col="seq", id_col="EventID", label_cols=["Bound"], progress=False)
    train_store = encode(data / "rest_AC_slice.seq.gz", tmp / "ac.store", EncodeOptions(negatives="shuffle", **cols))
    test_store = encode(data / "rest_B_slice.seq.gz", tmp / "b.store", EncodeOptions(split="test", **cols))
    model = train(train_store, tmp / "rest.dnacnn", TrainOptions(model="deepbind", epochs=3, progress=False)).model_path
    return {"train": train_store, "test": test_store, "model": model, "tmp": tmp, "data": data}


def _fasta_from_table(src, dst, n=None):
    df = pd.read_csv(src, sep="\t")
    if n:
        df = df.head(n)
    with open(dst, "w") as f:
        for rid, seq in zip(df.EventID, df.seq):
            f.write(f">{rid}\n{seq[:60]}\n{seq[60:]}\n")
    return df


def test_predict_fasta_matches_store_scores(rest, cli):
    fa = rest["tmp"] / "b.fa"
    df = _fasta_from_table(rest["data"] / "rest_B_slice.seq.gz", fa)
    out = rest["tmp"] / "preds.tsv"
    result = cli("predict", rest["model"], fa, "-o", out, "--no-progress")
    assert result.exit_code == 0, result.stderr
    preds = pd.read_csv(out, sep="\t")
    assert list(preds.columns) == ["id", "Bound"]
    assert preds.id.tolist() == df.EventID.tolist()
    ids, y, scores = predict_store(rest["model"], rest["test"], split="all")
    assert np.allclose(preds.Bound.to_numpy(), scores[:, 0], atol=1e-6)
    assert ((preds.Bound >= 0) & (preds.Bound <= 1)).all()


def test_predict_stdin_to_stdout_and_rc_average(rest):
    fa = rest["tmp"] / "b20.fa"
    _fasta_from_table(rest["data"] / "rest_B_slice.seq.gz", fa, n=20)
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "dnacnn", "predict", str(rest["model"]), "-", "--no-progress", *extra],
        stdin=open(fa),
        capture_output=True,
        text=True,
    )
    plain, averaged = run(), run("--rc-average")
    assert plain.returncode == 0, plain.stderr
    rows = plain.stdout.strip().splitlines()
    assert rows[0] == "id\tBound" and len(rows) == 21
    # the deepbind preset scans both strands already, so averaging over strands changes nothing
    a = np.array([float(r.split("\t")[1]) for r in rows[1:]])
    b = np.array([float(r.split("\t")[1]) for r in averaged.stdout.strip().splitlines()[1:]])
    assert np.allclose(a, b, atol=1e-5)


def test_predict_refuses_other_lengths_unless_fit(rest, cli, tmp_path):
    fa = tmp_path / "short.fa"
    fa.write_text(">a\n" + "ACGT" * 20 + "\n>b\n" + "ACGT" * 20 + "\n")
    out = tmp_path / "p.tsv"
    result = cli("predict", rest["model"], fa, "-o", out, "--no-progress")
    assert_one_line_error(result, "short.fa:1", "80 bp", "101 bp", "--length-policy fit")
    assert not out.exists()
    result = cli("predict", rest["model"], fa, "-o", out, "--no-progress", "--length-policy", "fit")
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 3


def test_predict_refuses_bad_alphabet(rest, cli, tmp_path):
    fa = tmp_path / "bad.fa"
    fa.write_text(">a\n" + "ACGU" * 25 + "X\n")
    result = cli("predict", rest["model"], fa, "-o", tmp_path / "p.tsv", "--no-progress")
    assert_one_line_error(result, "bad.fa:2", "invalid character 'X'")


def test_evaluate_external_test_store_and_aggregate(rest, cli):
    out = rest["tmp"] / "res" / "rest" / "deepbind" / "eval"
    result = cli("evaluate", rest["model"], rest["test"], "-o", out, "--split", "all")
    assert result.exit_code == 0, result.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["run"]["n"] == 300 and m["task"] == "binary"
    cnn = m["cnn"]["macro"]
    assert 0.5 < cnn["roc_auc"] <= 1.0
    assert m["baseline_name"].endswith("logistic regression") and m["baseline"]["macro"]["roc_auc"] > 0.6
    conf = m["cnn"]["tasks"]["Bound"]["confusion"]
    assert sum(map(sum, conf)) == 300
    table = pd.read_csv(out / "metrics.tsv", sep="\t")
    assert set(table.model) == {"cnn", m["baseline_name"]}
    preds = pd.read_csv(out / "predictions.tsv", sep="\t")
    assert len(preds) == 300 and {"observed_Bound", "cnn_Bound", "baseline_Bound"} <= set(preds.columns)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 5 and "http://" not in html.replace("http://www.w3.org", "")
    summary = rest["tmp"] / "res" / "summary.tsv"
    result = cli("aggregate", out, "--tsv", summary, "--html", rest["tmp"] / "res" / "summary.html")
    assert result.exit_code == 0, result.stderr
    row = pd.read_csv(summary, sep="\t").iloc[0]
    assert (row.dataset, row.model) == ("rest", "deepbind")
    assert row.metric == "roc_auc" and row.value == pytest.approx(cnn["roc_auc"], abs=1e-4)
    assert row.baseline == pytest.approx(m["baseline"]["macro"]["roc_auc"], abs=1e-4)
    assert row.pr_auc == pytest.approx(cnn["pr_auc"], abs=1e-4)
    assert row.report == "rest/deepbind/eval/report.html"


def test_onnx_export_matches_pytorch_on_real_sequences(rest, tmp_path, cli):
    ort = pytest.importorskip("onnxruntime")
    from dnacnn.encoding import one_hot
    from dnacnn.store import Store

    onnx_path = tmp_path / "rest.onnx"
    result = cli("export", rest["model"], "-o", onnx_path)
    assert result.exit_code == 0, result.stderr
    store = Store.open(rest["test"])
    X = one_hot(np.asarray(store.codes), store.encoding)
    ours = Predictor(rest["model"], "cpu")(np.asarray(store.codes))
    theirs = ort.InferenceSession(str(onnx_path)).run(None, {"X": X})[0]
    assert theirs.shape == (300, 1)
    assert np.abs(theirs - ours).max() < 1e-5
    sidecar = json.loads((tmp_path / "rest.onnx.json").read_text())
    assert sidecar["input"]["channel_order"] == "A,C,G,T"


def test_torchscript_export_matches(rest, tmp_path, cli):
    import torch

    from dnacnn.encoding import one_hot
    from dnacnn.store import Store

    path = tmp_path / "rest.pt"
    assert cli("export", rest["model"], "-o", path, "--format", "torchscript").exit_code == 0
    store = Store.open(rest["test"])
    X = torch.from_numpy(one_hot(np.asarray(store.codes[:50]), store.encoding))
    with torch.no_grad():
        ts = torch.jit.load(str(path))(X).numpy()
    ours = Predictor(rest["model"], "cpu")(np.asarray(store.codes[:50]))
    assert np.abs(ts - ours).max() < 1e-5


def test_genotype_predict(tmp_path, data_dir, cli):
    store = encode(
        data_dir / "wheat_slice.X",
        tmp_path / "w.store",
        EncodeOptions(format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), traits=["2"], progress=False),
    )
    model = train(store, tmp_path / "w.dnacnn", TrainOptions(model="snp-cnn", epochs=2, progress=False)).model_path
    out = tmp_path / "g.tsv"
    result = cli("predict", model, data_dir / "wheat_slice.X", "--format", "genotype", "-o", out, "--no-progress")
    assert result.exit_code == 0, result.stderr
    preds = pd.read_csv(out, sep="\t")
    assert len(preds) == 150 and preds.columns.tolist() == ["id", "trait2"]
    assert preds.trait2.std() > 0
