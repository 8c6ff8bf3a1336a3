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
from dnacnn.train import TrainSettings, train


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
    model = train(
        train_store, tmp / "rest.dnacnn", TrainSettings(model="deepbind", epochs=3, progress=False)
    ).model_path
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


@pytest.mark.parametrize("fmt", ["lines", "fasta"])
def test_predict_length_errors_suggest_an_option_predict_has(rest, cli, tmp_path, fmt):
    """Records of mixed lengths: the fix offered is predict's --length-policy fit, not encode's
    --length (which predict refuses)."""
    seqs = ["ACGT" * 25 + "A", "ACGT" * 25]  # 101 bp as the model, then 100 bp
    path = tmp_path / f"mixed.{fmt}"
    path.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)) if fmt == "fasta" else "\n".join(seqs) + "\n")
    out = tmp_path / "p.tsv"
    args = ["predict", rest["model"], path, "--format", fmt, "-o", out, "--no-progress"]
    line = assert_one_line_error(
        cli(*args), f"mixed.{fmt}:{3 if fmt == 'fasta' else 2}", "100 bp", "--length-policy fit"
    )
    assert "--length " not in line
    result = cli(*args, "--length-policy", "fit")
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
    # the summary line shows the metric to 4 significant digits, not 0.99815973...
    summary = f"{out}/report.html: roc_auc {m['cnn']['macro']['roc_auc']:.4g} (baseline {m['baseline_name']}: "
    assert summary in result.stderr, result.stderr
    assert f"{m['baseline']['macro']['roc_auc']:.4g})" in result.stderr
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
    from dnacnn.codes import one_hot
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

    from dnacnn.codes import one_hot
    from dnacnn.store import Store

    path = tmp_path / "rest.pt"
    assert cli("export", rest["model"], "-o", path, "--format", "torchscript").exit_code == 0
    store = Store.open(rest["test"])
    X = torch.from_numpy(one_hot(np.asarray(store.codes[:50]), store.encoding))
    with torch.no_grad():
        ts = torch.jit.load(str(path))(X).numpy()
    ours = Predictor(rest["model"], "cpu")(np.asarray(store.codes[:50]))
    assert np.abs(ts - ours).max() < 1e-5


@pytest.fixture(scope="module")
def wheat(tmp_path_factory):
    """Two snp-cnn regression models on a wheat slice (seeds 0 and 1, trait 2), and one on trait 1."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    tmp = tmp_path_factory.mktemp("wheat")

    def store(trait):
        opts = EncodeOptions(format="genotype", phenotypes=str(data / "wheat_slice.Y"), traits=[trait], progress=False)
        return encode(data / "wheat_slice.X", tmp / f"t{trait}.store", opts)

    t2, t1 = store("2"), store("1")

    def fit(st, name, seed):
        return train(st, tmp / name, TrainSettings(model="snp-cnn", epochs=2, seed=seed, progress=False)).model_path

    return {
        "store": t2,
        "models": [fit(t2, "w.dnacnn", 0), fit(t2, "w1.dnacnn", 1)],
        "trait1": fit(t1, "t1.dnacnn", 0),
        "X": data / "wheat_slice.X",
        "tmp": tmp,
    }


def test_genotype_predict(wheat, tmp_path, cli):
    out = tmp_path / "g.tsv"
    result = cli("predict", wheat["models"][0], wheat["X"], "--format", "genotype", "-o", out, "--no-progress")
    assert result.exit_code == 0, result.stderr
    preds = pd.read_csv(out, sep="\t")
    assert len(preds) == 150 and preds.columns.tolist() == ["id", "trait2"]
    assert preds.trait2.std() > 0


# --------------------------------------------------------------------------- ensembles


@pytest.fixture(scope="module")
def rest_seed1(rest):
    """A second REST model (seed 1) beside the fixture's seed-0 one: a two-model ensemble."""
    opts = TrainSettings(model="deepbind", epochs=1, seed=1, progress=False)
    return train(rest["train"], rest["tmp"] / "rest_seed1.dnacnn", opts).model_path


def _predict_tsv(cli, out, *args):
    result = cli("predict", *args, "-o", out, "--no-progress")
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(out, sep="\t")


def test_ensemble_predict_is_the_mean_of_the_members_probabilities(rest, rest_seed1, cli, tmp_path):
    fa = tmp_path / "b50.fa"
    _fasta_from_table(rest["data"] / "rest_B_slice.seq.gz", fa, n=50)
    a = _predict_tsv(cli, tmp_path / "a.tsv", rest["model"], fa)
    b = _predict_tsv(cli, tmp_path / "b.tsv", rest_seed1, fa)
    both = _predict_tsv(cli, tmp_path / "ab.tsv", "-m", rest["model"], "-m", rest_seed1, fa)
    assert list(both.columns) == ["id", "Bound"] and both.id.tolist() == a.id.tolist()
    assert not np.allclose(a.Bound, b.Bound, atol=1e-3)  # two different members
    assert np.allclose(both.Bound, (a.Bound + b.Bound) / 2, atol=2e-6)
    # MODEL plus -m is the same ensemble; the members' order does not matter
    mixed = _predict_tsv(cli, tmp_path / "ba.tsv", rest_seed1, fa, "-m", rest["model"])
    assert np.allclose(mixed.Bound, both.Bound, atol=1e-6)
    # one model given with -m is the single model, to the last digit
    assert _predict_tsv(cli, tmp_path / "m.tsv", "-m", rest["model"], fa).equals(a)
    # the library: the same mean on a store, and rc_average applied per member
    _, _, single = predict_store(rest["model"], rest["test"], split="all", rc_average=True)
    _, _, other = predict_store(rest_seed1, rest["test"], split="all", rc_average=True)
    _, _, mean = predict_store([rest["model"], rest_seed1], rest["test"], split="all", rc_average=True)
    assert np.allclose(mean, (single + other) / 2, atol=1e-6)


def test_ensemble_predict_is_the_mean_of_the_members_values(wheat, cli, tmp_path):
    args = (wheat["X"], "--format", "genotype")
    a = _predict_tsv(cli, tmp_path / "a.tsv", wheat["models"][0], *args)
    b = _predict_tsv(cli, tmp_path / "b.tsv", wheat["models"][1], *args)
    both = _predict_tsv(cli, tmp_path / "ab.tsv", "-m", wheat["models"][0], "-m", wheat["models"][1], *args)
    assert list(both.columns) == ["id", "trait2"] and len(both) == 150
    assert not np.allclose(a.trait2, b.trait2, atol=1e-3)
    # regression members are averaged on the phenotype's scale (each de-standardised by its own mean / sd)
    assert np.allclose(both.trait2, (a.trait2 + b.trait2) / 2, atol=1e-5)


def test_ensemble_of_mismatched_models_is_one_error_and_writes_nothing(rest, wheat, cli, tmp_path):
    out = tmp_path / "p.tsv"
    models = ("-m", wheat["models"][0], "-m", wheat["models"][1])
    result = cli("predict", *models, "-m", wheat["trait1"], wheat["X"], "--format", "genotype", "-o", out)
    assert_one_line_error(result, f"{wheat['trait1']}: predicts labels trait1 but ", "predicts trait2", "ensemble")
    assert not out.exists()
    result = cli("predict", *models, "-m", rest["model"], wheat["X"], "--format", "genotype", "-o", out)
    assert_one_line_error(result, f"{rest['model']}: reads dna/onehot x 101", "reads genotype/onehot x")
    assert not out.exists()
    eval_dir = tmp_path / "eval"
    result = cli("evaluate", *models, "-m", rest["model"], wheat["store"], "-o", eval_dir, "--no-baseline")
    assert_one_line_error(result, f"{rest['model']}: reads dna/onehot x 101")
    assert not eval_dir.exists()


def test_evaluate_an_ensemble_writes_its_report(rest, rest_seed1, cli):
    out = rest["tmp"] / "ens" / "eval"
    result = cli("evaluate", "-m", rest["model"], "-m", rest_seed1, rest["test"], "-o", out, "--split", "all")
    assert result.exit_code == 0, result.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["run"]["model"] == str(rest["model"]) and m["run"]["models"] == [str(rest["model"]), str(rest_seed1)]
    assert m["provenance"]["model files"] == m["run"]["models"] and m["provenance"]["seed"] == [0, 1]
    _, _, mean = predict_store([rest["model"], rest_seed1], rest["test"], split="all")
    preds = pd.read_csv(out / "predictions.tsv", sep="\t")
    assert np.allclose(preds.cnn_Bound, mean[:, 0], atol=1e-5)
    html = (out / "report.html").read_text()
    assert "Ensemble of 2 models" in html and "CNN ensemble (2 x deepbind)" in html
    assert str(rest_seed1) in html
