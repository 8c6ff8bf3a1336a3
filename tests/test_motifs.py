"""dnacnn.interpret.motifs and its parts: first-layer filters -> PWMs (exact on hand-built scanners), MEME files, logos,
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
import typer
from conftest import assert_one_line_error
from test_explain import trained_zou
from test_variants import MOTIF, motif_model

from dnacnn.codes import dna_to_codes, reverse_complement_codes
from dnacnn.errors import DnacnnError
from dnacnn.interpret.filters import DEFAULT_THRESHOLD, filter_influence, filter_motifs, first_layer
from dnacnn.interpret.logos import alignment_figure
from dnacnn.interpret.motif_report import best_matched, motif_section
from dnacnn.interpret.motifs import motifs
from dnacnn.interpret.pwm import consensus, information_content, trim
from dnacnn.interpret.tomtom import (
    bh_qvalues,
    calibrated,
    load_database,
    offset_corrected,
    pearson_columns,
    shuffled_columns,
    tomtom_matches,
)
from dnacnn.io.meme import read_meme, write_meme
from dnacnn.modelfile import load_model

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
    from dnacnn.interpret.attributions import model_output
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
    assert not re.search(r"https?://", html)  # no external link (base64 images may hold "http" by chance)


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
    # experiment prefix -> a database match the most influential filter must have (q < 0.05, among
    # its 5 best).  GABPA's filter (cACTTCCGG) best matches ZBTB11, Zbtb2 and ZBTB7A, whose JASPAR
    # 2024 matrices (MA2329.1: CACTTCCGG) are the ETS site itself; ELK4 and ELK3 follow.
    "REST": lambda m: m.target_name in ("REST", "NRSF"),
    "CTCFL": lambda m: m.target_name in ("CTCF", "CTCFL"),
    "GABPA": lambda m: "Ets" in str(m.target_family),
}


def tf_motifs(shared_data: Path, tf: str, tmp: Path, n_rows: int = 1000, epochs: int = 10):
    """The recipe of the real-data checks (also benchmarks/interpret_checks.py): the top
    ``n_rows`` peaks of the AC file + dinucleotide shuffles, the deepbind preset with fresh
    negatives each epoch, then motifs matched to JASPAR 2024."""
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.train import TrainSettings, train

    src = next((shared_data / "deepbind-encode").glob(f"{tf}_*_AC.seq.gz"))
    table = tmp / f"{tf}.tsv"
    pd.read_csv(src, sep="\t", nrows=n_rows).to_csv(table, sep="\t", index=False)
    opts = EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], negatives="shuffle", progress=False)
    store = encode(table, tmp / f"{tf}.store", opts)
    with contextlib.redirect_stderr(io.StringIO()):
        model = train(store, tmp / f"{tf}.dnacnn", TrainSettings(model="deepbind", epochs=epochs,
                      fresh_negatives=True, progress=False, device="cpu")).model_path  # fmt: skip
    return motifs(model, store, tmp / f"{tf}_motifs", logos=False, device="cpu")


def tf_check_passes(result, tf: str) -> bool:
    """The most influential filter is matched (q < 1e-3) and one of its 5 best significant
    matches is what ``TF_CHECKS[tf]`` expects (also benchmarks/interpret_checks.py)."""
    top = next(result.filters.itertuples())
    mine = result.matches[(result.matches["query"] == top.filter) & (result.matches.q_value < 0.05)].head(5)
    return bool(top.matched and top.best_q_value < 1e-3 and any(TF_CHECKS[tf](m) for m in mine.itertuples()))


@pytest.mark.slow
@pytest.mark.parametrize("tf", list(TF_CHECKS))
def test_real_tf_filter_matches_its_jaspar_motif(shared_data, tf, tmp_path):
    pytest.importorskip("memelite")
    pytest.importorskip("pyjaspar")
    result = tf_motifs(shared_data, tf, tmp_path)
    top = next(result.filters.itertuples())
    print(f"{tf}: {top.filter} {top.consensus} ~ {top.best_name} {top.best_id} q={top.best_q_value:.2g}")
    assert tf_check_passes(result, tf), result.matches[result.matches["query"] == top.filter]


def test_cli_motifs(zou_motifs, cli, tmp_path):
    from dnacnn.cli import app

    if "motifs" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        pytest.skip("the motifs command is not wired into dnacnn.cli yet")
    zou, _ = zou_motifs
    threshold = next(p for p in typer.main.get_command(app).commands["motifs"].params if p.name == "threshold")
    assert threshold.default == DEFAULT_THRESHOLD  # the CLI keeps the library's default
    out = tmp_path / "m"
    result = cli("motifs", zou["model"], zou["store"], "-o", out, "--database", "none", "--no-logos", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert "filters fired on 987 seqs" in result.stderr
    assert (out / "filters.tsv").is_file() and not (out / "logos").exists()
    bad = cli("motifs", zou["model"], zou["store"], "-o", out, "--rows", "some")
    assert_one_line_error(bad, "unknown --rows 'some'; use positive or all")


def test_a_rerun_leaves_no_file_of_the_earlier_run(zou_motifs, cli, tmp_path):
    """Found by an independent hostile corpus: a rerun with --no-logos into a folder of an earlier
    run left its logos and motifs.html (of another model) beside the new tables.  Now a run first
    removes what a run writes; a user's own files in the folder stay."""
    zou, _ = zou_motifs
    out = tmp_path / "m"
    first = cli("motifs", zou["model"], zou["store"], "-o", out, "--database", "none", "--device", "cpu")
    assert first.exit_code == 0, first.stderr
    assert (out / "motifs.html").is_file() and any((out / "logos").glob("filter_*.png"))
    (out / "notes.txt").write_text("mine\n")
    (out / "logos" / "my_figure.png").write_bytes(b"mine")
    again = cli("motifs", zou["model"], zou["store"], "-o", out, "--database", "none", "--no-logos", "--device", "cpu")
    assert again.exit_code == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["filters.meme", "filters.tsv", "logos", "notes.txt"]
    assert [p.name for p in (out / "logos").iterdir()] == ["my_figure.png"]


# --------------------------------------------------------------------------- calibration of the matching


def test_pearson_columns_turn_euclidean_distance_into_correlation():
    rng = np.random.default_rng(0)
    a, b = rng.dirichlet([1] * 4, size=50).T, rng.dirichlet([1] * 4, size=50).T
    za, zb = pearson_columns(a), pearson_columns(b)
    r = np.array([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(50)])
    np.testing.assert_allclose(((za - zb) ** 2).sum(axis=0), (1 - r) / 2, atol=1e-12)
    assert (za >= 0).all() and (za <= 1).all()
    # a uniform column has no correlation with anything: the same distance to every column
    flat = pearson_columns(np.full((4, 1), 0.25))
    np.testing.assert_array_equal(flat, 0.5)
    np.testing.assert_allclose(((flat - zb) ** 2).sum(axis=0), 0.25)


def test_offset_correction_is_sidak():
    p = np.array([0.0, 1e-20, 1e-3, 0.5, 1.0])
    got = offset_corrected(p, np.array(10))
    np.testing.assert_allclose(got, [0.0, 1e-19, 1 - 0.999**10, 1 - 0.5**10, 1.0], rtol=1e-12)
    assert np.all(np.diff(offset_corrected(np.full(3, 0.01), np.array([1, 5, 20]))) > 0)


def test_decoys_keep_every_column_and_only_move_them():
    db = [np.random.default_rng(i).dirichlet([1] * 4, size=12).T for i in range(5)]
    decoys = shuffled_columns(db, seed=3)
    for m, d in zip(db, decoys):
        assert d.shape == m.shape and not np.array_equal(d, m)
        np.testing.assert_array_equal(np.sort(d, axis=1), np.sort(m, axis=1))
    assert all(np.array_equal(a, b) for a, b in zip(decoys, shuffled_columns(db, seed=3)))


@pytest.fixture(scope="module")
def jaspar():
    pytest.importorskip("memelite")
    pytest.importorskip("pyjaspar")
    return load_database("JASPAR2024")


def _families(text: str) -> set[str]:
    return {f.strip() for f in str(text).split(";") if f.strip()}


def test_calibration_every_jaspar_matrix_finds_itself_or_its_family(jaspar):
    """(a) Each of the 879 JASPAR 2024 CORE vertebrate matrices, queried against the database, has
    itself or a matrix of its own TF family as its best match (>= 95%)."""
    best = tomtom_matches(jaspar.ids, jaspar.ppms, jaspar, top=1)
    family = dict(zip(jaspar.ids, jaspar.families))
    hits = [
        q == t or bool(_families(family[q]) & _families(f))
        for q, t, f in zip(best["query"], best.target_id, best.target_family)
    ]
    print(f"self or family first: {np.mean(hits):.4f}; self first: {(best['query'] == best.target_id).mean():.4f}")
    assert len(best) == len(jaspar.ids) > 800
    assert np.mean(hits) >= 0.95
    assert (best.q_value[hits] < 0.05).mean() >= 0.95


def test_calibration_shuffled_and_random_matrices_match_nothing(jaspar):
    """(b) Column-shuffled JASPAR matrices, and random matrices of the same length and per-column
    information content (each column's letters permuted, then the columns shuffled), get q >= 0.05
    in >= 95% of cases; almost none pass the decoy check as well."""
    rng = np.random.default_rng(0)
    shuffled = shuffled_columns(jaspar.ppms, seed=1)
    random = []
    for m in jaspar.ppms:
        letters = np.argsort(rng.random(m.shape[::-1]), axis=1).T  # a random permutation per column
        random.append(m[letters, np.arange(m.shape[1])][:, rng.permutation(m.shape[1])])
    np.testing.assert_allclose(information_content(random[0]), np.sort(information_content(jaspar.ppms[0]))[
        np.argsort(np.argsort(information_content(random[0])))])  # fmt: skip
    for name, queries in (("column-shuffled", shuffled), ("random, same IC", random)):
        best = tomtom_matches([f"q{i}" for i in range(len(queries))], queries, jaspar, top=1)
        not_significant = (best.q_value >= 0.05).mean()
        named = calibrated(best.q_value, best.p_value, best.decoy_p_value).mean()
        print(f"{name}: q >= 0.05 in {not_significant:.4f}, named {named:.4f}")
        assert not_significant >= 0.95 and named <= 0.02


def test_long_targets_are_not_favoured(jaspar):
    """The failure this matching replaced: random short queries all matched CTCF's 31-33 column
    extended matrices.  Now the best targets of random queries are as long as the database's."""
    rng = np.random.default_rng(0)
    queries = [rng.dirichlet([0.5] * 4, size=rng.integers(6, 16)).T for _ in range(200)]
    best = tomtom_matches([f"r{i}" for i in range(200)], queries, jaspar, top=1)
    width = {i: m.shape[1] for i, m in zip(jaspar.ids, jaspar.ppms)}
    mean_best = best.target_id.map(width).mean()
    print(f"mean width of best target {mean_best:.1f} (database {np.mean(list(width.values())):.1f})")
    assert mean_best < np.mean(list(width.values())) + 2
    assert (best.target_name == "CTCF").sum() <= 4
    assert (best.q_value < 0.05).mean() <= 0.05


IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "W": "AT", "R": "AG"}
PLANTED = {
    # name -> (planted consensus, what the best match of the most influential filter must be)
    "RE1": ("TTCAGCACCATGGACAGCGCC", lambda m: m.best_name == "REST"),
    "ETS": ("CCGGAAGT", lambda m: "Ets" in str(m.best_family)),
    "GATA": ("WGATAR", lambda m: "GATA" in str(m.best_family)),
    "E-box": ("CACGTG", lambda m: re.search("bHLH|helix-loop-helix", str(m.best_family)) is not None),
    "FOX": ("TGTTTAC", lambda m: re.search("FOX|Forkhead", str(m.best_family)) is not None),
}


def planted_store(tmp: Path, motif: str, n: int = 3000, length: int = 60, seed: int = 0) -> Path:
    """Half the rows hold one instance of ``motif`` (IUPAC letters drawn, either strand) in random
    sequence; the other half are random sequence."""
    from dnacnn.encode import EncodeOptions, encode

    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    lines = ["id\tseq\tlabel"]
    for i in range(n):
        seq = "".join(rng.choice(bases, length))
        if i % 2 == 0:
            site = "".join(rng.choice(list(IUPAC[c])) for c in motif)
            if rng.random() < 0.5:
                site = site.translate(str.maketrans("ACGT", "TGCA"))[::-1]
            at = int(rng.integers(0, length - len(site) + 1))
            seq = seq[:at] + site + seq[at + len(site) :]
        lines.append(f"s{i}\t{seq}\t{int(i % 2 == 0)}")
    table = tmp / "planted.tsv"
    table.write_text("\n".join(lines) + "\n")
    opts = EncodeOptions(seq_col="seq", id_col="id", label_cols=["label"], progress=False)
    return encode(table, tmp / "planted.store", opts)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PLANTED))
def test_calibration_planted_motifs_are_named_by_family(jaspar, name, tmp_path):
    """(c) A motif planted in synthetic sequences and learnt by a small model (the deepbind preset)
    is named by family: the best JASPAR match of the most influential filter, and the filter the
    run summary names (the most influential with a calibrated match), in at least 2 of 3 data
    seeds.  One seed can lose the family to a near tie: ETS at seed 0 learnt ACTTCCGGaa, the
    planted site with two extra bases, whose best match was ZBTB11 at q = 0.17, where seeds 1-3
    matched ELK1 at q = 0.013.  GATA's WGATAR (6 bases, two of them two-fold, ~8 bits) is too
    little for any match against 879 matrices to reach q < 0.05 (its best match is GATA5, q ~
    0.2-0.35), so there the summary may name nothing."""
    from dnacnn.train import TrainSettings, train

    motif, check = PLANTED[name]
    named_by_family = []
    for seed in range(3):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        store = planted_store(folder, motif, seed=seed)
        with contextlib.redirect_stderr(io.StringIO()):
            opts = TrainSettings(model="deepbind", epochs=15, progress=False, device="cpu", threads=1)
            model = train(store, folder / "planted.dnacnn", opts).model_path
        result = motifs(model, store, folder / "motifs", logos=False, device="cpu")
        top = next(result.filters.itertuples())
        named = best_matched(result.filters)  # what the run summary names
        print(f"{name} seed {seed}: {top.filter} {top.consensus} ~ {top.best_name} ({top.best_family}) "
              f"q={top.best_q_value:.2g}; summary names {named.best_name if named is not None else None}")  # fmt: skip
        summary_ok = (named is None or check(named)) if name == "GATA" else (named is not None and check(named))
        named_by_family.append(bool(check(top)) and summary_ok)
    assert sum(named_by_family) >= 2, named_by_family


def _holds_ctcf_core(consensus_text: str) -> bool:
    """CTCF's core CCGCGNGGNGGCAG (or its reverse complement) in >= 8 of 14 columns at some offset."""
    core = "CCGCGNGGNGGCAG"
    text = consensus_text.upper()
    for motif in (core, core.translate(str.maketrans("ACGT", "TGCA"))[::-1]):
        for at in range(-len(motif) + 8, len(text) - 7):
            agree = sum(1 for k, b in enumerate(motif) if b != "N" and 0 <= at + k < len(text) and text[at + k] == b)
            if agree >= 8:
                return True
    return False


def test_ctcf_core_helper():
    assert _holds_ctcf_core("ttCCGCGaGGcGGCAGtt") and _holds_ctcf_core("CTGCCnCCnCGCGG")
    assert not _holds_ctcf_core("ntCAGcACCnnggac")


@pytest.mark.slow
def test_rest_workflow_model_filters_name_rest(tmp_path, jaspar):
    """The done-when of the motif-matching issue, on the bundled REST data and the workflow's own
    tfbind model (config/config.yaml: top 1,500 AC peaks + dinucleotide shuffles, valid 10%, 5
    epochs with fresh negatives): >= 3 of the 5 most influential filters have REST as their best
    JASPAR match, and CTCF is the best match of no filter without a CTCF core.  One thread: the
    weights (and so the closest motifs of weak filters) depend on the thread count, which
    ``--threads auto`` picks from the machine's load; at 2 threads this seed gave one filter
    closest to CTCF without its core (q = 0.08) and one matched to ZNF331."""
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.train import TrainSettings, train

    data = Path(__file__).parents[1] / "data" / "deepbind" / "REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz"
    opts = EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], negatives="shuffle",
                         valid_frac=0.1, test_frac=0.0, progress=False)  # fmt: skip
    store = encode(data, tmp_path / "rest.store", opts)
    with contextlib.redirect_stderr(io.StringIO()):
        topts = TrainSettings(model="tfbind", epochs=5, fresh_negatives=True, progress=False, device="cpu", threads=1)
        model = train(store, tmp_path / "rest.dnacnn", topts).model_path
    result = motifs(model, store, tmp_path / "motifs", logos=False, device="cpu", max_sequences=2000)
    t = result.filters
    print(t.head(5)[["filter", "consensus", "best_name", "best_q_value", "matched"]].to_string())
    assert (t.head(5).best_name == "REST").sum() >= 3
    ctcf = t[t.best_name == "CTCF"]
    assert all(_holds_ctcf_core(c) for c in ctcf.consensus), ctcf[["filter", "consensus"]]
    best = best_matched(t)
    assert best is not None and best.best_name == "REST"
    assert set(t[t.matched.astype(bool)].best_name) == {"REST"}


def test_section_names_only_calibrated_matches(tmp_path):
    """Unmatched filters show their closest motif in grey as not significant; matched ones a name,
    their family and an alignment figure; the summary names the most influential matched filter."""
    rows = [
        dict(filter="filter_1", n_sites=10, influence=0.9, information_content=5.0, best_name="CTCF",
             best_id="MA1930.2", best_family="C2H2", best_q_value=0.6, best_p_value=0.01,
             best_decoy_p_value=0.002, matched=False),
        dict(filter="filter_2", n_sites=10, influence=0.5, information_content=9.0, best_name="REST",
             best_id="MA0138.3", best_family="zinc fingers", best_q_value=1e-4, best_p_value=1e-7,
             best_decoy_p_value=0.05, matched=True),
    ]  # fmt: skip
    (tmp_path / "logos").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "filters.tsv", sep="\t", index=False)
    rest = np.eye(4)[:, [3, 3, 1, 0, 2, 1, 0, 1, 1]] * 0.9 + 0.025
    alignment_figure(rest[:, 2:7], rest, 2, "+").savefig(tmp_path / "logos" / "filter_2_match.png")
    _, html = motif_section(tmp_path)
    assert "not significant (closest CTCF)" in html and "<b>CTCF</b>" not in html
    assert "<b>REST</b> (MA0138.3)" in html and 'alt="filter_2 aligned to REST"' in html
    # matched filters come first as cards, their alignment as wide as the card (readable, not 90 px)
    cards = html.split('<div class="motif-cards">')[1].split("<details>")[0]
    assert cards.count('<div class="motif-card">') == 1 and "<b>REST</b> <small>MA0138.3" in cards
    assert re.search(r'<img alt="filter_2 aligned to REST" src=', cards)
    assert "Filters with a significant match (1)" in html
    assert "Most influential matched filter: <b>filter_2</b> ~ REST" in html
    assert best_matched(pd.read_csv(tmp_path / "filters.tsv", sep="\t"))["filter"] == "filter_2"
