"""dnacnn.interpret.modisco and ``dnacnn motifs --method modisco``: TF-MoDISco (modisco-lite) patterns of a
model's attributions, matched to JASPAR with Tomtom.  The acceptance check of issue 23 runs on the
bundled REST slice (a deepbind model, about a minute on 2 cores); the workflow's REST model is
benchmarks/interpret_checks.py --modisco."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import Cli, assert_one_line_error

from dnacnn.errors import DnacnnError
from dnacnn.interpret.modisco import core_columns, hypothetical_contributions, modisco_settings
from dnacnn.interpret.motif_report import motif_section
from dnacnn.io.meme import read_meme

pytest.importorskip("modiscolite")
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def rest(tmp_path_factory):
    """The REST slice (800 AC peaks + dinucleotide shuffles), the deepbind preset with fresh
    negatives for 10 epochs, then ``dnacnn motifs --method both`` against JASPAR 2024."""
    pytest.importorskip("memelite")
    pytest.importorskip("pyjaspar")
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.train import TrainSettings, train

    tmp = tmp_path_factory.mktemp("rest_modisco")
    opts = EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], negatives="shuffle", progress=False)
    store = encode(DATA / "rest_AC_slice.seq.gz", tmp / "rest.store", opts)
    with contextlib.redirect_stderr(io.StringIO()):
        opts = TrainSettings(model="deepbind", epochs=10, fresh_negatives=True, progress=False, device="cpu", threads=1)
        model = train(store, tmp / "rest.dnacnn", opts).model_path
    out = tmp / "motifs"
    run = Cli()("motifs", model, store, "-o", out, "--method", "both", "--device", "cpu")
    assert run.exit_code == 0, run.stderr
    return {"model": model, "store": store, "out": out, "stderr": run.stderr}


@pytest.mark.slow
def test_rest_pattern_matches_rest(rest):
    """Issue 23's done-when: a TF-MoDISco pattern whose best JASPAR match is REST, q < 0.05 (and
    calibrated); here the largest pattern, the RE1 site, with hundreds of seqlets."""
    t = pd.read_csv(rest["out"] / "modisco_patterns.tsv", sep="\t")
    print(t[["pattern", "n_seqlets", "consensus", "best_name", "best_q_value", "matched"]].to_string())
    top = t.iloc[0]
    assert top.pattern == "pos_pattern_0" and top.sign == "positive" and top.n_seqlets >= 200
    assert top.best_name == "REST" and top.best_q_value < 0.05 and bool(top.matched)
    assert "GGTGCTGA" in top.consensus.upper() or "TCAGCACC" in top.consensus.upper(), top.consensus
    assert re.search(r"; \d+ TF-MoDISco patterns in 800 seqs; largest matched pos_pattern_0 \([\d,]+ seqlets\) "
                     r"~ REST \(q=", rest["stderr"]), rest["stderr"]  # fmt: skip


@pytest.mark.slow
def test_modisco_outputs_and_report_section(rest):
    out = rest["out"]
    t = pd.read_csv(out / "modisco_patterns.tsv", sep="\t")
    names = list(t.pattern)
    assert list(t.columns[:9]) == ["pattern", "sign", "n_seqlets", "contribution", "information_content",
                                   "core_start", "core_width", "width", "consensus"]  # fmt: skip
    ids, _, ppms = read_meme(out / "modisco_patterns.meme")
    assert ids == names and [p.shape[1] for p in ppms] == list(t.core_width)
    tomtom = pd.read_csv(out / "modisco_tomtom.tsv", sep="\t")
    assert set(tomtom["query"]) == set(names) and tomtom.groupby("query").size().max() == 5
    assert sorted(p.stem for p in (out / "logos").glob("*_pattern_?.png")) == sorted(names)
    assert (out / "logos" / "pos_pattern_0_match.png").is_file()
    assert (out / "filters.tsv").is_file() and (out / "tomtom.tsv").is_file()  # --method both
    title, html = motif_section(out)
    assert title == "Motifs (first-layer filters and TF-MoDISco patterns)"
    assert "<h3>First-layer filters</h3>" in html and "<h3>TF-MoDISco patterns</h3>" in html
    assert re.search(r"<b>REST \(MA0138\.\d\) q = [\d.e-]+</b>", html)
    assert 'alt="pos_pattern_0 contribution logo"' in html and 'alt="pos_pattern_0 aligned to REST"' in html
    assert not re.search(r"https?://", html)  # no external link (base64 images may hold "http" by chance)
    assert "TF-MoDISco: 800 sequences, gradxinput attributions" in (out / "motifs.html").read_text()
    (out / "filters.tsv").rename(out / "filters.tsv.bak")
    try:
        assert motif_section(out)[0] == "Motifs (TF-MoDISco patterns)"
    finally:
        (out / "filters.tsv.bak").rename(out / "filters.tsv")


def test_settings_fit_short_sequences():
    assert modisco_settings(101) == {"sliding_window_size": 21, "flank_size": 10, "trim_to_window_size": 30,
                                     "initial_flank_to_add": 10}  # fmt: skip
    for length in (15, 20, 50, 300):
        s = modisco_settings(length)
        assert s["sliding_window_size"] + 2 * s["flank_size"] <= length, length
    with pytest.raises(DnacnnError, match="sequences of 14 bp are too short for TF-MoDISco"):
        modisco_settings(14)


def test_hypothetical_contributions_and_core():
    attr = np.zeros((1, 4, 3), np.float32)
    attr[0, :, 0] = [0.0, -3.0, -3.0, -6.0]  # ISM at an A: every change lowers the output
    codes = np.array([[0, 1, 4]], np.uint8)
    hyp = hypothetical_contributions(attr, codes, "ism")
    assert hyp.shape == (1, 3, 4)
    np.testing.assert_allclose(hyp[0, 0], [3.0, 0.0, 0.0, -3.0])
    assert not hyp[0, 2].any()  # N
    np.testing.assert_array_equal(hypothetical_contributions(attr, codes, "gradxinput")[0], attr[0].T)
    cwm = np.zeros((4, 8))
    cwm[0, 2], cwm[1, 3], cwm[2, 5], cwm[3, 7] = 1.0, 0.5, -0.4, 0.1
    assert core_columns(cwm) == (2, 6)


# --------------------------------------------------------------------------- the command


def test_cli_modisco_refuses_a_genotype_model(cli, tmp_path, data_dir):
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.train import TrainSettings, train

    opts = EncodeOptions(format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), traits=["1"], progress=False)
    store = encode(data_dir / "wheat_slice.X", tmp_path / "w.store", opts)
    with contextlib.redirect_stderr(io.StringIO()):
        model = train(store, tmp_path / "w.dnacnn", TrainSettings(model="snp-cnn", epochs=1, progress=False)).model_path
    out = tmp_path / "m"
    bad = cli("motifs", model, store, "-o", out, "--method", "modisco", "--device", "cpu")
    assert_one_line_error(bad, "interpretation needs a DNA model; this one reads genotypes")
    assert not out.exists()


@pytest.mark.slow
def test_cli_modisco_errors_leave_nothing(rest, cli, tmp_path, monkeypatch):
    out = tmp_path / "m"
    args = ("motifs", rest["model"], rest["store"], "-o", out, "--database", "none", "--device", "cpu")
    too_few = cli(*args, "--method", "modisco", "--modisco-sequences", "40")
    assert_one_line_error(too_few, "TF-MoDISco found no pattern in 40 sequences (gradxinput attributions)",
                          "give more sequences (--modisco-sequences")  # fmt: skip
    assert not out.exists()
    assert_one_line_error(cli(*args, "--method", "motif"), "unknown --method 'motif'; use one of filters, modisco")
    assert_one_line_error(cli(*args, "--method", "modisco", "--attribution", "saliency"),
                          "unknown --attribution 'saliency'; use one of gradxinput, deeplift, ism")  # fmt: skip
    assert_one_line_error(cli(*args, "--method", "modisco", "--modisco-sequences", "0"),
                          "--modisco-sequences must be at least 1, got 0")  # fmt: skip
    assert not out.exists()
    monkeypatch.setitem(sys.modules, "modiscolite", None)  # as if modisco-lite were not installed
    missing = cli(*args, "--method", "both")
    assert_one_line_error(missing, "--method modisco needs modisco-lite: pip install 'dnacnn[interpret]'")
    assert not out.exists()
