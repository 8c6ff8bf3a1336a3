"""dnacnn.motifs: first-layer filters -> PWMs (exact on hand-built scanners), MEME files, logos,
Tomtom matches against JASPAR, and the checks on real data (Zou primer; REST, CTCFL, GABPA)."""

from __future__ import annotations

import base64
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_one_line_error
from test_explain import trained_zou
from test_variants import MOTIF, motif_model

from dnacnn.encoding import dna_to_codes, reverse_complement_codes
from dnacnn.errors import DnacnnError
from dnacnn.modelfile import load_model
from dnacnn.motifs import (
    bh_qvalues,
    consensus,
    filter_influence,
    filter_motifs,
    first_layer,
    information_content,
    load_database,
    motif_section,
    motifs,
    read_meme,
    tomtom_matches,
    trim,
    write_meme,
)

DATA = Path(__file__).parent / "data"
ONE_HOT = {b: i for i, b in enumerate("ACGT")}


def planted(n: int, length: int = 50, seed: int = 0, motif: str = MOTIF, rc_every: int = 0) -> np.ndarray:
    """Random codes with ``motif`` at a random offset in each row (its reverse complement in
    every ``rc_every``-th row)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    m = dna_to_codes(motif)
    for i in range(n):
        at = rng.integers(0, length - len(m) + 1)
        codes[i, at : at + len(m)] = reverse_complement_codes(m) if rc_every and i % rc_every == 0 else m
    return codes


def motif_counts(motif: str, n: float) -> np.ndarray:
    out = np.zeros((4, len(motif)))
    out[[ONE_HOT[b] for b in motif], np.arange(len(motif))] = n
    return out


def test_sites_are_exactly_the_planted_motifs(tmp_path):
    m = load_model(motif_model(tmp_path / "m.dnacnn"))
    codes = planted(40)
    fm = filter_motifs(m.module, codes, "sigmoid", influence_sequences=0)
    # scores are matches - 10: the planted 12-mer scores 2, and only it exceeds 0.5 x 2
    assert fm.max_activation.tolist() == [2.0]
    assert fm.n_sites.tolist() == [40]
    np.testing.assert_array_equal(fm.counts[0], motif_counts(MOTIF, 40))
    assert consensus(fm.ppm()[0]) == MOTIF


def test_both_strand_models_scan_the_reverse_complement(tmp_path):
    m = load_model(motif_model(tmp_path / "m.dnacnn", strands="both"))
    codes = planted(30, rc_every=3)  # 10 rows hold the motif only on the reverse strand
    fm = filter_motifs(m.module, codes, "sigmoid", influence_sequences=0)
    assert fm.n_sites.tolist() == [30]
    np.testing.assert_array_equal(fm.counts[0], motif_counts(MOTIF, 30))
    single = filter_motifs(load_model(motif_model(tmp_path / "s.dnacnn")).module, codes, "sigmoid",
                           influence_sequences=0)  # fmt: skip
    assert single.n_sites.tolist() == [20]


def test_same_padding_windows_count_only_real_bases(tmp_path):
    m = load_model(motif_model(tmp_path / "m.dnacnn", padding="same"))
    layer = first_layer(m.module)
    assert (layer.width, layer.left, layer.stride) == (12, 5, 1)  # Keras same: 5 left, 6 right
    codes = np.random.default_rng(1).integers(0, 4, size=(25, 50)).astype(np.uint8)
    codes[:, :11] = dna_to_codes(MOTIF[1:])  # the motif minus its first base, at the sequence start
    # the best window starts one base before the sequence: N + 11 matches, score 1 > 0 x max
    fm = filter_motifs(m.module, codes, "sigmoid", threshold=0.0, influence_sequences=0)
    assert fm.n_sites.tolist() == [25]
    expected = motif_counts(MOTIF, 25)
    expected[:, 0] = 0  # the padding base is not counted
    np.testing.assert_array_equal(fm.counts[0], expected)


def test_batched_influence_equals_one_filter_at_a_time():
    from dnacnn.explain import model_output
    from dnacnn.models import build_model, load_spec

    torch.manual_seed(0)
    model = build_model(load_spec("deepbind"), 4, 40).eval()  # both strands, max merge
    codes = np.random.default_rng(0).integers(0, 4, size=(37, 40)).astype(np.uint8)
    layer = first_layer(model)
    mean = np.linspace(0.0, 0.3, layer.n_filters)
    rms, effect = filter_influence(model, layer, codes, mean, "sigmoid", batch_rows=17 * 10)
    fn = model_output(model, "sigmoid")
    X = torch.eye(4)[torch.as_tensor(codes).long()].transpose(1, 2)
    with torch.no_grad():
        base = fn(X).double()
        for f in range(layer.n_filters):

            def hook(_m, _i, out, f=f):
                out = out.clone()
                out[:, f] = float(mean[f])
                return out

            handle = model.body[layer.last].register_forward_hook(hook)
            d = (base - fn(X).double()).numpy()
            handle.remove()
            assert rms[f] == pytest.approx(np.sqrt((d**2).mean()), rel=1e-6, abs=1e-9)
            assert effect[f] == pytest.approx(d.mean(), rel=1e-6, abs=1e-9)


def test_matrix_helpers():
    ppm = np.array([[1.0, 0.25, 0.5], [0.0, 0.25, 0.5], [0.0, 0.25, 0.0], [0.0, 0.25, 0.0]])
    np.testing.assert_allclose(information_content(ppm), [2.0, 0.0, 1.0], atol=1e-9)
    core, start = trim(ppm[:, ::-1], 0.5)
    assert start == 0 and core.shape == (4, 3)
    core, start = trim(np.hstack([np.full((4, 2), 0.25), ppm]), 0.5)
    assert start == 2 and core.shape == (4, 3)
    assert consensus(ppm) == "AnA"
    np.testing.assert_allclose(bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5])), [0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_meme_round_trip(tmp_path):
    memelite_read = pytest.importorskip("memelite.io").read_meme

    rng = np.random.default_rng(0)
    ppms = [rng.dirichlet([1] * 4, size=w).T for w in (6, 9)]
    write_meme(tmp_path / "m.meme", ["filter_0", "filter_3"], ppms, [12, 40])
    text = (tmp_path / "m.meme").read_text()
    assert text.startswith("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n")
    assert "letter-probability matrix: alength= 4 w= 9 nsites= 40 E= 0" in text
    ids, names, back = read_meme(tmp_path / "m.meme")
    assert ids == ["filter_0", "filter_3"]
    for a, b in zip(ppms, back):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(ppms, memelite_read(str(tmp_path / "m.meme")).values()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_model_without_a_conv_layer_is_refused():
    from dnacnn.models import build_model
    from dnacnn.models.spec import validate_spec

    spec = validate_spec({"layers": [{"flatten": {}}, {"dense": {"units": 4}}]}, "dense")
    with pytest.raises(DnacnnError, match="the model has no conv1d layer"):
        first_layer(build_model(spec, 4, 20))


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def zou_motifs(tmp_path_factory):
    zou = trained_zou(tmp_path_factory)
    out = zou["tmp"] / "motifs"
    return zou, motifs(zou["model"], zou["store"], out, database=None, device="cpu")


def strong_letters(text: str) -> str:
    """Consensus with the low-information (lowercase, n) columns masked."""
    return re.sub(r"[a-z]", "n", text)


def test_zou_filter_logo_carries_the_motif(zou_motifs):
    """A first-layer filter of the primer model spells >= 6 bases of CGACCGAACTCC (>= 0.5 bit each)."""
    _, result = zou_motifs
    t = result.filters
    kmers = {MOTIF[i : i + 6] for i in range(len(MOTIF) - 5)}
    carrying = t[t.consensus.map(lambda c: any(k in strong_letters(c) for k in kmers))]
    print(t[["filter", "n_sites", "influence", "consensus"]].head(8).to_string())
    assert len(carrying) >= 1
    # and the model relies on it: the most influential filter is one of them
    assert t["filter"].iloc[0] in set(carrying["filter"])


def test_zou_outputs_and_html_section(zou_motifs):
    zou, result = zou_motifs
    out = result.out_dir
    assert (out / "filters.meme").is_file() and (out / "motifs.html").is_file()
    assert not (out / "tomtom.tsv").exists()  # database=None
    fired = result.filters[result.filters.n_sites > 0]
    assert sorted(p.stem for p in (out / "logos").glob("*.png")) == sorted(fired["filter"])
    ids, _, ppms = read_meme(out / "filters.meme")
    assert sorted(ids) == sorted(fired["filter"]) and all(p.shape[0] == 4 for p in ppms)
    assert result.filters.influence.is_monotonic_decreasing
    assert result.motifs.n_sequences == 987  # every positive of the store
    title, html = motif_section(out)
    assert title == "Motifs (first-layer filters)"
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == min(40, len(fired))
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http" not in html


@pytest.mark.slow
def test_tomtom_matches_a_jaspar_motif_offline():
    """A noisy copy of JASPAR's REST matrix is matched back to REST (pyjaspar's bundled SQLite,
    no network).  Slow on a fresh install only: numba compiles memelite's Tomtom once (minutes on
    2 cores), then caches it."""
    pytest.importorskip("memelite")
    pytest.importorskip("pyjaspar")
    db = load_database("JASPAR2024")
    assert len(db.ids) > 800 and "MA0138.3" in db.ids
    rest = db.ppms[db.ids.index("MA0138.3")]
    noisy = 0.8 * rest + 0.2 * np.random.default_rng(0).dirichlet([1] * 4, size=rest.shape[1]).T
    random = np.random.default_rng(1).dirichlet([1] * 4, size=10).T
    matches = tomtom_matches(["rest", "random"], [noisy, random], db, top=3)
    best = matches[matches["rank"] == 1].set_index("query")
    assert best.loc["rest", "target_name"] == "REST" and best.loc["rest", "q_value"] < 1e-6
    assert best.loc["random", "q_value"] > 0.01
    assert list(matches.columns[:8]) == ["query", "rank", "target_id", "target_name", "target_family", "p_value",
                                         "e_value", "q_value"]  # fmt: skip
    assert (matches.e_value / matches.p_value).round().eq(len(db.ids)).all()


TF_CHECKS = {
    # experiment prefix -> what the most influential filter's best JASPAR match must be
    "REST": lambda row: row.best_name in ("REST", "NRSF"),
    "CTCFL": lambda row: row.best_name in ("CTCF", "CTCFL"),
    "GABPA": lambda row: "Ets" in str(row.best_family),
}


def tf_motifs(shared_data: Path, tf: str, tmp: Path, n_rows: int = 1000, epochs: int = 10):
    """The recipe of the real-data checks (also benchmarks/interpret_checks.py): the top
    ``n_rows`` peaks of the AC file + dinucleotide shuffles, the deepbind preset with fresh
    negatives each epoch, then motifs matched to JASPAR 2024."""
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.train import TrainOptions, train

    src = next((shared_data / "deepbind-encode").glob(f"{tf}_*_AC.seq.gz"))
    table = tmp / f"{tf}.tsv"
    pd.read_csv(src, sep="\t", nrows=n_rows).to_csv(table, sep="\t", index=False)
    opts = EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], negatives="shuffle", progress=False)
    store = encode(table, tmp / f"{tf}.store", opts)
    with contextlib.redirect_stderr(io.StringIO()):
        model = train(store, tmp / f"{tf}.dnacnn", TrainOptions(model="deepbind", epochs=epochs,
                      fresh_negatives=True, progress=False, device="cpu")).model_path  # fmt: skip
    return motifs(model, store, tmp / f"{tf}_motifs", logos=False, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("tf", list(TF_CHECKS))
def test_real_tf_filter_matches_its_jaspar_motif(shared_data, tf, tmp_path):
    pytest.importorskip("memelite")
    pytest.importorskip("pyjaspar")
    result = tf_motifs(shared_data, tf, tmp_path)
    top = next(result.filters.itertuples())
    print(f"{tf}: {top.filter} {top.consensus} ~ {top.best_name} {top.best_id} q={top.best_q_value:.2g}")
    assert TF_CHECKS[tf](top), (top.best_name, top.best_family)
    assert top.best_q_value < 1e-3


def test_cli_motifs(zou_motifs, cli, tmp_path):
    from dnacnn.cli import app

    if "motifs" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        pytest.skip("the motifs command is not wired into dnacnn.cli yet")
    zou, _ = zou_motifs
    out = tmp_path / "m"
    result = cli("motifs", zou["model"], zou["store"], "-o", out, "--database", "none", "--no-logos", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert "filters fired on 987 seqs" in result.stderr
    assert (out / "filters.tsv").is_file() and not (out / "logos").exists()
    bad = cli("motifs", zou["model"], zou["store"], "-o", out, "--rows", "some")
    assert_one_line_error(bad, "unknown --rows 'some'; use positive or all")
