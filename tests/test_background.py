"""Peaks + genome at the scale labs work at: genomic background negatives (``--negatives genome``)
and bigWig signal targets (``--targets``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error
from scipy.stats import ks_2samp

from dnacnn.encode import EncodeOptions, encode
from dnacnn.store import Store

LENGTH = 100
CHROM_BP = 120_000


@pytest.fixture(scope="module")
def peaks_genome(tmp_path_factory):
    """Three chromosomes whose G+C rises from 25% to 75% along each (so GC depends on position),
    an N gap on each, and 60 peaks of 300 bp per chromosome, placed where GC is high (as real
    peaks sit in GC-rich DNA): random windows would not match the positives' GC."""
    rng = np.random.default_rng(1)
    root = tmp_path_factory.mktemp("peaks")
    with open(root / "genome.fa", "w") as fa, open(root / "peaks.bed", "w") as bed:
        for c in (1, 2, 3):
            gc = np.linspace(0.25, 0.75, CHROM_BP)
            strong = rng.random(CHROM_BP) < gc
            coin = rng.random(CHROM_BP) < 0.5
            base = np.where(strong, np.where(coin, "C", "G"), np.where(coin, "A", "T"))
            base[2000:4000] = "N"
            seq = "".join(base)
            fa.write(f">chr{c}\n" + "\n".join(seq[i : i + 60] for i in range(0, CHROM_BP, 60)) + "\n")
            for s in np.sort(rng.choice(np.arange(CHROM_BP // 2, CHROM_BP - 2000, 400), 60, replace=False)):
                bed.write(f"chr{c}\t{s}\t{s + 300}\n")
    return root


def _windows(store: Store, label: float):
    rows = np.flatnonzero(np.asarray(store.labels)[:, 0] == label)
    ids = [store.ids[i] for i in rows]
    chroms = [i.rpartition(":")[0] for i in ids]
    starts = np.array([int(i.rpartition(":")[2].split("-")[0]) for i in ids])
    return rows, chroms, starts


def _encode_genome_negatives(peaks_genome, out, **extra):
    opts = EncodeOptions(
        genome=str(peaks_genome / "genome.fa"),
        length=LENGTH,
        label_value=1.0,
        negatives="genome",
        negatives_per_positive=2,
        progress=False,
        **extra,
    )
    return Store.open(encode(peaks_genome / "peaks.bed", out, opts))


def test_genome_negatives_avoid_peaks_match_gc_and_follow_their_positives(peaks_genome, tmp_path):
    store = _encode_genome_negatives(peaks_genome, tmp_path / "s.store")
    pos_rows, _, _ = _windows(store, 1.0)
    neg_rows, neg_chroms, neg_starts = _windows(store, 0.0)
    assert len(pos_rows) == 180 and len(neg_rows) == 360
    # no negative within the flank (default: the window length) of a peak, nor over an N gap
    peaks = np.loadtxt(peaks_genome / "peaks.bed", dtype=object)
    for chrom, start in zip(neg_chroms, neg_starts):
        mine = peaks[peaks[:, 0] == chrom]
        lo, hi = mine[:, 1].astype(int) - LENGTH, mine[:, 2].astype(int) + LENGTH
        assert not ((lo < start + LENGTH) & (hi > start)).any(), (chrom, start)
    codes = np.asarray(store.codes)
    assert not (codes[neg_rows] == 4).any()
    # GC matched: the two-sample KS statistic of the G+C fractions
    gc = np.isin(codes, (1, 2)).mean(axis=1)
    assert ks_2samp(gc[pos_rows], gc[neg_rows]).statistic < 0.05
    assert store.manifest["negatives"]["gc_ks"] < 0.05 and store.manifest["negatives"]["negatives"] == 360
    # without matching, windows drawn evenly would be far from the positives' GC (the test has teeth)
    assert abs(gc[pos_rows].mean() - 0.5) > 0.1
    # each positive's 2 negatives share its split: per split, twice as many negatives as positives
    split = np.asarray(store.split)
    for code in (0, 1, 2):
        assert (split[neg_rows] == code).sum() == 2 * (split[pos_rows] == code).sum()
    # seeded: the same inputs give the same negatives
    again = _encode_genome_negatives(peaks_genome, tmp_path / "t.store")
    assert again.ids == store.ids


def test_genome_negatives_respect_a_chromosome_split(peaks_genome, tmp_path):
    store = _encode_genome_negatives(peaks_genome, tmp_path / "s.store", split="chrom", test_chroms=["chr3"])
    split = np.asarray(store.split)
    on_chr3 = np.array([i.startswith("chr3:") for i in store.ids])
    assert (split[on_chr3] == 2).all() and (split[~on_chr3] != 2).all()
    assert (np.asarray(store.labels)[on_chr3, 0] == 0).sum() == 120


def test_a_chromosome_without_room_gives_fewer_negatives_and_says_so(peaks_genome, tmp_path, cli):
    out = tmp_path / "s.store"
    flank = 30_000  # the peaks fill each chromosome's second half: ~560 free windows of low GC remain
    r = cli(
        "encode", peaks_genome / "peaks.bed", "--genome", peaks_genome / "genome.fa", "--length", LENGTH,
        "--label-value", 1, "--negatives", "genome", "--negative-flank", flank, "--negatives-per-positive", 20,
        "-o", out, "--no-progress",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "short where chromosomes ran out of free windows" in r.stderr
    assert "GC-matched poorly" in r.stderr
    negatives = Store.open(out).manifest["negatives"]
    assert sum(negatives["short"].values()) == 20 * 180 - negatives["negatives"] > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--negatives", "genome", "--negative-flank", "-1"], "--negative-flank must be 0 or more"),
        (["--negatives", "shuffle", "--negative-flank", "10"], "--negative-flank applies to --negatives genome"),
        (["--negatives", "genome", "--negatives-per-positive", "0"], "--negatives-per-positive must be 1 to 1000"),
        (["--negatives", "genome", "--task", "multiclass"], "needs a binary task"),
        (["--targets", "nope.bw"], "nope.bw"),
        (["--targets", "{bed}"], "not a bigWig file"),
        (["--targets", "{bw}", "--target-stat", "median"], "unknown --target-stat 'median'"),
        (["--targets", "{bw}", "--task", "binary"], "--targets gives regression labels"),
        (["--targets", "{bw}", "--negatives", "shuffle"], "use --negatives genome (or none)"),
    ],
)
def test_careless_genome_and_target_options_are_one_clear_line(args, message, peaks_genome, tracks, cli, tmp_path):
    bed = peaks_genome / "peaks.bed"
    before = bed.read_bytes()
    args = [a.format(bed=bed, bw=tracks["a"]) for a in args]
    label = [] if "--targets" in args else ["--label-value", "1"]
    out = tmp_path / "s.store"
    r = cli("encode", bed, "--genome", peaks_genome / "genome.fa", "--length", LENGTH, *label, *args, "-o", out)
    assert_one_line_error(r, message)
    assert not out.exists() and bed.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_genome_negatives_need_peaks_in_a_bed_file(peaks_genome, tmp_path, cli, data_dir):
    r = cli("encode", data_dir / "zou_sequences.txt", "--labels", data_dir / "zou_labels.txt",
            "--negatives", "genome", "-o", tmp_path / "s.store")  # fmt: skip
    assert_one_line_error(r, "--negatives genome needs BED/narrowPeak input")
    assert not (tmp_path / "s.store").exists()


# --------------------------------------------------------------------------- bigWig targets


@pytest.fixture(scope="module")
def tracks(peaks_genome):
    """Two bigWigs written by pyBigWig: ``a`` = 1 on chr1 bases [0, 60000), 3 after, and 2 on chr2;
    ``b`` = position / 1000 on chr1 only (chr2, chr3 missing: NaN labels), with a gap of no data."""
    pyBigWig = pytest.importorskip("pyBigWig")
    paths = {"a": peaks_genome / "a.bw", "b": peaks_genome / "b.bw"}
    header = [(f"chr{c}", CHROM_BP) for c in (1, 2, 3)]
    bw = pyBigWig.open(str(paths["a"]), "w")
    bw.addHeader(header)
    bw.addEntries(["chr1", "chr1", "chr2"], [0, 60_000, 0], ends=[60_000, CHROM_BP, CHROM_BP], values=[1.0, 3.0, 2.0])
    bw.close()
    bw = pyBigWig.open(str(paths["b"]), "w")
    bw.addHeader(header[:1])
    starts = np.arange(0, CHROM_BP, 100)
    keep = (starts < 70_000) | (starts >= 80_000)  # 70-80 kb: no data
    bw.addEntries("chr1", starts[keep].tolist(), span=100, step=100, values=(starts[keep] / 1000.0).tolist())
    bw.close()
    return paths


def test_bigwig_targets_label_each_window_with_its_signal(peaks_genome, tracks, tmp_path, cli):
    out = tmp_path / "t.store"
    r = cli(
        "encode", peaks_genome / "peaks.bed", "--genome", peaks_genome / "genome.fa", "--length", LENGTH,
        "--targets", f"{tracks['a']},{tracks['b']}", "--negatives", "genome", "-o", out, "--no-progress",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "targets: mean of a.bw, b.bw" in r.stderr and "NaN labels" in r.stderr
    store = Store.open(out)
    assert store.task == "regression" and store.manifest["label_names"] == ["a", "b"]
    labels = np.asarray(store.labels)
    for i, window in enumerate(store.ids):
        chrom, _, span = window.rpartition(":")
        start = int(span.split("-")[0])
        expected_a = {"chr1": 1.0 if start + LENGTH <= 60_000 else 3.0 if start >= 60_000 else None, "chr2": 2.0}
        if chrom in expected_a and expected_a[chrom] is not None:
            assert labels[i, 0] == expected_a[chrom]
        if chrom == "chr3":
            assert np.isnan(labels[i, 0])  # a.bw has chr3 in its header but no data there
        if chrom != "chr1":
            assert np.isnan(labels[i, 1])  # b.bw lacks chr2 and chr3
        elif not 70_000 - LENGTH < start < 80_000:
            # b = floor(position / 100) / 10 per 100-bp step: the window's mean, exactly
            pos = np.arange(start, start + LENGTH)
            assert labels[i, 1] == pytest.approx((pos // 100 * 100 / 1000.0).mean(), rel=1e-5)
    targets = store.manifest["targets"]
    assert targets["missing_chrom"][str(tracks["b"])] == (~np.char.startswith(np.array(store.ids), "chr1:")).sum()


def test_a_bigwig_target_store_trains_and_evaluates(peaks_genome, tracks, tmp_path, cli):
    store = tmp_path / "t.store"
    encode(
        peaks_genome / "peaks.bed",
        store,
        EncodeOptions(genome=str(peaks_genome / "genome.fa"), length=LENGTH, targets=[str(tracks["a"])],
                      target_stat="max", target_log1p=True, negatives="genome", progress=False),
    )  # fmt: skip
    assert np.nanmax(np.asarray(Store.open(store).labels)) == pytest.approx(np.log1p(3.0))
    model = tmp_path / "m.dnacnn"
    r = cli("train", store, "--model", "zou2019", "--epochs", "2", "-o", model, "--no-progress", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    r = cli("evaluate", model, store, "-o", tmp_path / "ev")
    assert r.exit_code == 0, r.stderr
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    per_track = metrics["cnn"]["tasks"]["a"]  # regression metrics per track
    assert {"pearson_r", "r2", "mse"} <= set(per_track) and per_track["n"] > 0
