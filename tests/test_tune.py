"""dnacnn.tune: search spaces, seeded studies on the Zou store, best spec and trials table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import assert_one_line_error

from dnacnn.encode import EncodeOptions, encode
from dnacnn.errors import DnacnnError
from dnacnn.models import load_spec
from dnacnn.tune import DEFAULT_SEARCH, apply_params, check_search, read_raw_spec, read_search, split_search, tune

pytest.importorskip("optuna")

DATA = Path(__file__).parent / "data"
SEARCH = {
    "lr": {"low": 1e-4, "high": 1e-2, "log": True},
    "batch_size": [32, 64, 128],
    "layers.0.conv1d.filters": [16, 32],
    "layers.3.dense.units": {"low": 8, "high": 32},
}


@pytest.fixture(scope="module")
def zou_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("zou") / "zou.store"
    return encode(DATA / "zou_sequences.txt", out, EncodeOptions(labels=str(DATA / "zou_labels.txt"), progress=False))


@pytest.fixture
def spec_file(tmp_path) -> Path:
    raw, _ = read_raw_spec("zou2019")
    path = tmp_path / "zou_search.yaml"
    path.write_text(yaml.safe_dump({**raw, "search": SEARCH}, sort_keys=False))
    return path


def _study(store, out, spec, seed=0):
    return tune(store, out, spec, n_trials=2, timeout_minutes=None, seed=seed, epochs=1, threads=1)


def test_tune_writes_best_spec_model_and_trials(zou_store, spec_file, tmp_path):
    result = _study(zou_store, tmp_path / "study", spec_file)
    trials = pd.read_csv(result["trials_tsv"], sep="\t")
    assert list(trials.columns) == ["number", "state", "value", "seconds", "best_epoch", *SEARCH]
    assert trials["number"].tolist() == [0, 1] and (trials["state"] == "COMPLETE").all()
    assert result["n_trials"] == result["n_complete"] == 2
    assert result["metric"] == "roc_auc" and 0.5 < result["best_value"] <= 1.0
    assert result["best_value"] == trials["value"].max()

    best = load_spec(str(result["best_spec"]))  # validates; the search block is gone
    assert best["train"]["batch_size"] == result["best_params"]["batch_size"]
    assert best["train"]["lr"] == pytest.approx(result["best_params"]["lr"])
    assert best["layers"][0]["conv1d"]["filters"] == result["best_params"]["layers.0.conv1d.filters"]
    assert best["layers"][3]["dense"]["units"] == result["best_params"]["layers.3.dense.units"]
    assert best["train"]["epochs"] == 50  # the preset's value stays where it is not searched
    assert "search" not in yaml.safe_load(Path(result["best_spec"]).read_text())
    assert Path(result["best_model"]).is_file()
    # only the best trial's model is kept (moved to best.dnacnn); every trial's spec stays
    assert sorted(p.name for p in (tmp_path / "study" / "trials").iterdir()) == ["trial_000.yaml", "trial_001.yaml"]


def test_same_seed_same_trials_other_seed_other_params(zou_store, spec_file, tmp_path):
    a = pd.read_csv(_study(zou_store, tmp_path / "a", spec_file, seed=7)["trials_tsv"], sep="\t")
    b = pd.read_csv(_study(zou_store, tmp_path / "b", spec_file, seed=7)["trials_tsv"], sep="\t")
    c = pd.read_csv(_study(zou_store, tmp_path / "c", spec_file, seed=8)["trials_tsv"], sep="\t")
    keys = list(SEARCH)
    pd.testing.assert_frame_equal(a[keys], b[keys])
    assert a["value"].tolist() == b["value"].tolist()  # same params, same training seed
    assert not a[keys].equals(c[keys])


def test_tune_timeout_stops_the_study(zou_store, spec_file, tmp_path):
    result = tune(zou_store, tmp_path / "t", spec_file, n_trials=50, timeout_minutes=0.001, seed=0, epochs=1, threads=1)
    assert result["n_trials"] == 1  # the first trial starts, none after the deadline


def test_default_search_without_search_block(zou_store, tmp_path):
    result = _study(zou_store, tmp_path / "d", "zou2019")
    assert set(result["best_params"]) == set(DEFAULT_SEARCH)


def test_store_without_validation_rows(tmp_path, spec_file):
    store = encode(
        DATA / "zou_sequences.txt",
        tmp_path / "nv.store",
        EncodeOptions(labels=str(DATA / "zou_labels.txt"), valid_frac=0.0, progress=False),
    )
    with pytest.raises(DnacnnError, match="the store has no validation rows, which tuning scores trials on"):
        _study(store, tmp_path / "x", spec_file)


def test_apply_params_places_every_kind_of_key():
    raw, source = read_raw_spec("tfbind")
    spec, search = split_search(raw, source)
    params = {
        "lr": 0.003,
        "train.patience": 2,
        "strand_merge": "mean",
        "layers.0.conv1d.kernel_size": 19,
        "layers.13.dropout.rate": 0.5,
    }
    out = apply_params(spec, params)
    assert out["train"]["lr"] == 0.003 and out["train"]["patience"] == 2 and out["strand_merge"] == "mean"
    assert out["layers"][0]["conv1d"] == {"filters": 128, "kernel_size": 19, "padding": "same"}
    assert out["layers"][13] == {"dropout": {"rate": 0.5}}
    assert spec["layers"][0]["conv1d"]["kernel_size"] == 15  # the input is not modified
    load_spec  # noqa: B018 - the result must still validate:
    from dnacnn.models.spec import validate_spec

    validate_spec(out, "x")


@pytest.mark.parametrize(
    ("search", "message"),
    [
        (
            {"layers.0.dense.units": [8]},
            "search key 'layers.0.dense.units': layer 0 is conv1d, not dense; write layers.0.conv1d.PARAM",
        ),
        (
            {"layers.9.conv1d.filters": [8]},
            "search key 'layers.9.conv1d.filters': no layer 9 (layers are counted from 0; the spec has 4)",
        ),
        ({"momentum": [0.9]}, "search key 'momentum': cannot place it; use a training setting"),
        ({"lr": []}, "search key 'lr': an empty list of choices; give at least one value"),
        ({"lr": {"low": 0, "high": 1, "log": True}}, "search key 'lr': a log range needs low > 0, got 0"),
        ({"lr": {"low": 0.1, "high": 0.01}}, "search key 'lr': low (0.1) must be below high (0.01)"),
        ({"lr": {"low": 0.1}}, "search key 'lr': give a list of choices or a range {low: A, high: B}"),
        ({"lr": {"low": 0.01, "high": 0.1, "scale": "log"}}, "search key 'lr': unknown range key 'scale'"),
        ({}, "the search space is empty"),
    ],
)
def test_bad_search_spaces_are_one_line_errors(search, message):
    raw, source = read_raw_spec("zou2019")
    spec, _ = split_search(raw, source)
    with pytest.raises(DnacnnError) as err:
        check_search(search, spec, source)
    assert message in str(err.value) and str(err.value).startswith("preset:zou2019: ")
    assert "\n" not in str(err.value)


def test_range_kinds():
    raw, source = read_raw_spec("zou2019")
    spec, _ = split_search(raw, source)
    dims = check_search(
        {
            "lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "epochs": {"low": 5, "high": 50},
            "batch_size": {"low": 16, "high": 128, "step": 16},
            "optimizer": ["adam", "sgd"],
        },
        spec,
        source,
    )
    assert [d.kind for d in dims.values()] == ["float", "int", "int", "categorical"]
    assert (dims["batch_size"].low, dims["batch_size"].high, dims["batch_size"].step) == (16, 128, 16)


def test_read_search_file(tmp_path):
    bare = tmp_path / "space.yaml"
    bare.write_text("lr: [0.001, 0.003]\n")
    assert read_search(bare) == {"lr": [0.001, 0.003]}
    block = tmp_path / "spec.yaml"
    block.write_text(yaml.safe_dump({"layers": [{"flatten": {}}], "search": {"batch_size": [32, 64]}}))
    assert read_search(block) == {"batch_size": [32, 64]}
    empty = tmp_path / "empty.yaml"
    empty.write_text("[]\n")
    with pytest.raises(DnacnnError, match="a search space must be a non-empty mapping"):
        read_search(empty)


# --------------------------------------------------------------------------- the command line


def test_cli_tune_writes_the_study_and_a_summary_line(cli, zou_store, spec_file, tmp_path):
    out = tmp_path / "cli_study"
    search = tmp_path / "space.yaml"
    space = {"lr": {"low": 1e-3, "high": 1e-2, "log": True}, "batch_size": [32, 64]}
    search.write_text(yaml.safe_dump(space, sort_keys=False))
    result = cli(
        "tune", zou_store, "--out", out, "--model", spec_file, "--search", search,
        "--trials", 2, "--epochs", 1, "--seed", 3, "--threads", 1, "--device", "cpu", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    trials = pd.read_csv(out / "trials.tsv", sep="\t")
    # --search replaces the spec's own search: block
    assert list(trials.columns) == ["number", "state", "value", "seconds", "best_epoch", "lr", "batch_size"]
    assert len(trials) == 2 and (trials["state"] == "COMPLETE").all()
    assert (out / "best.dnacnn").is_file()
    best = load_spec(str(out / "best.yaml"))
    assert best["train"]["batch_size"] in (32, 64)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"wrote {out}: best trial ") and " of 2 (2 complete), val roc_auc " in line
    for name in ("best.yaml", "best.dnacnn", "trials.tsv"):
        assert str(out / name) in line


def test_cli_tune_bad_search_key_is_one_line_and_writes_nothing(cli, zou_store, tmp_path):
    search = tmp_path / "space.yaml"
    search.write_text("momentum: [0.9, 0.99]\n")
    out = tmp_path / "never"
    result = cli("tune", zou_store, "--out", out, "--model", "zou2019", "--search", search, "--trials", 2)
    assert_one_line_error(result, "dnacnn: error: preset:zou2019: search key 'momentum': cannot place it")
    assert not out.exists()


def test_cli_tune_bad_trials_and_missing_search_file(cli, zou_store, tmp_path):
    out = tmp_path / "never"
    result = cli("tune", zou_store, "--out", out, "--model", "zou2019", "--trials", 0)
    assert_one_line_error(result, "dnacnn: error: --trials must be at least 1, got 0")
    result = cli("tune", zou_store, "--out", out, "--search", tmp_path / "nope.yaml")
    assert_one_line_error(result, "nope.yaml: no such search-space file")
    assert not out.exists()


def test_search_keys_are_the_spec_train_keys_of_train_settings():
    """Every key of a spec's train: block (TrainSettings' spec keys, --clip-norm included) can be
    searched and goes into the train: block; DEFAULT_SEARCH names only such keys."""
    from dnacnn.train.settings import SPEC_KEYS
    from dnacnn.tune import TRAIN_KEYS

    assert TRAIN_KEYS == SPEC_KEYS and "clip_norm" in TRAIN_KEYS and set(DEFAULT_SEARCH) <= set(SPEC_KEYS)
    spec = apply_params({"name": "s", "layers": []}, {"clip_norm": 0.5, "train.max_shift": 3})
    assert spec["train"] == {"clip_norm": 0.5, "max_shift": 3}
