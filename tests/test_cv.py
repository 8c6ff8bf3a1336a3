"""Cross-validation: encode --split folds, train/evaluate --fold, dnacnn cv's summary with kernel baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dnacnn.cv import KERNEL_METHODS, cross_validate, summarize_folds
from dnacnn.encode import EncodeOptions, encode
from dnacnn.errors import DnacnnError
from dnacnn.modelfile import read_tensors
from dnacnn.train import TrainSettings

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def wheat_cv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cv")
    sets = tmp / "wheat.sets"
    sets.write_text("".join(f"{i % 3 + 1}\n" for i in range(150)))
    opts = EncodeOptions(format="genotype", phenotypes=str(DATA / "wheat_slice.Y"), traits=["1"], split="folds",
                         fold_file=str(sets), progress=False)  # fmt: skip
    store = encode(DATA / "wheat_slice.X", tmp / "wheat.store", opts)
    table = cross_validate(store, tmp / "cv", TrainSettings(model="snp-cnn", epochs=2), progress=False)
    return {"tmp": tmp, "store": store, "table": table, "out": tmp / "cv"}


def test_every_fold_is_held_out_once_and_scored_beside_the_baselines(wheat_cv):
    table = wheat_cv["table"]
    assert table["fold"].tolist() == ["1", "2", "3", "mean", "sd", "pooled"]
    assert list(table.columns) == ["fold", "n", "CNN", "RR-BLUP (ridge)", *KERNEL_METHODS]
    folds = table.iloc[:3]
    assert folds["n"].tolist() == [50, 50, 50]
    for method in ("CNN", "RR-BLUP (ridge)", *KERNEL_METHODS):
        assert table.set_index("fold").loc["mean", method] == pytest.approx(folds[method].mean())
        assert -1 <= table.set_index("fold").loc["pooled", method] <= 1
    predictions = pd.read_csv(wheat_cv["out"] / "predictions.tsv", sep="\t", dtype={"id": str})
    assert len(predictions) == 150 and predictions["id"].is_unique
    ids = Path(wheat_cv["store"], "ids.txt").read_text().split()
    assert (predictions.set_index("id").loc[ids[:6], "fold"].tolist()) == [1, 2, 3, 1, 2, 3]


def test_the_model_of_a_fold_never_saw_its_test_rows(wheat_cv):
    for fold in (1, 2, 3):
        _, meta = read_tensors(wheat_cv["out"] / f"fold_{fold}" / "model.dnacnn", with_tensors=False)
        assert meta["store"]["fold"] == fold
        counts = meta["store"]["split_counts"]
        assert counts["test"] == 50 and counts["train"] + counts["valid"] == 100
        m = json.loads((wheat_cv["out"] / f"fold_{fold}" / "eval" / "metrics.json").read_text())
        assert m["run"]["fold"] == fold and m["run"]["n"] == 50


def test_the_summary_page_and_json(wheat_cv):
    html = (wheat_cv["out"] / "cv.html").read_text()
    assert "3-fold cross-validation" in html and "GBLUP" in html and "data:image/png;base64," in html
    summary = json.loads((wheat_cv["out"] / "cv.json").read_text())
    assert summary["metric"] == "pearson_r" and summary["folds"] == [1, 2, 3]
    assert set(summary["per_fold"]) == {"CNN", "RR-BLUP (ridge)", *KERNEL_METHODS}


def test_summaries_refuse_mixed_or_repeated_folds(wheat_cv):
    d = wheat_cv["out"]
    with pytest.raises(DnacnnError, match="fold 2 is given twice"):
        summarize_folds([d / "fold_2" / "eval", d / "fold_2" / "eval"], wheat_cv["tmp"] / "x")
    with pytest.raises(DnacnnError, match="no metrics.json"):
        summarize_folds([d], wheat_cv["tmp"] / "x")


def test_cv_needs_a_store_with_folds(tmp_path):
    opts = EncodeOptions(format="genotype", phenotypes=str(DATA / "wheat_slice.Y"), traits=["1"], progress=False)
    store = encode(DATA / "wheat_slice.X", tmp_path / "w.store", opts)
    with pytest.raises(DnacnnError, match="store has no folds; encode it with --split folds"):
        cross_validate(store, tmp_path / "cv", TrainSettings(model="snp-cnn", epochs=1), progress=False)
    assert not (tmp_path / "cv").exists()


def test_cli_encode_folds_cv_and_cv_summary(tmp_path, cli):
    from conftest import assert_one_line_error

    sets = tmp_path / "wheat.sets"
    sets.write_text("".join(f"{i % 2 + 1}\n" for i in range(150)))
    store = tmp_path / "w.store"
    result = cli("encode", DATA / "wheat_slice.X", "--format", "genotype", "--phenotypes", DATA / "wheat_slice.Y",
                 "--traits", "1", "--split", "folds", "--fold-file", sets, "-o", store, "--no-progress")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "folds: 2 (train one with --fold K, or all with 'dnacnn cv')" in result.stderr
    result = cli("cv", store, "--epochs", "1", "--no-baselines", "-o", tmp_path / "cv", "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert "cv.html: mean over 2 folds: CNN " in result.stderr and "GBLUP" not in result.stderr
    result = cli("cv-summary", tmp_path / "cv" / "fold_1" / "eval", "-o", tmp_path / "one")
    assert result.exit_code == 0 and (tmp_path / "one" / "cv.tsv").is_file()
    result = cli("cv", store, "--folds", "x", "-o", tmp_path / "bad")
    assert result.exit_code == 2 and "give fold numbers" in result.stderr
    plain = tmp_path / "plain.store"
    cli("encode", DATA / "wheat_slice.X", "--format", "genotype", "--phenotypes", DATA / "wheat_slice.Y", "-o", plain)
    assert_one_line_error(cli("cv", plain, "-o", tmp_path / "cv2"), "store has no folds", "--split folds")
    assert_one_line_error(cli("train", store, "--fold", "3", "-o", tmp_path / "m.dnacnn"), "--fold 3", "folds 1..2")
