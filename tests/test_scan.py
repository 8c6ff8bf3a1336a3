"""dnacnn scan: bigWig tracks of window scores along a genome.

The model is built by hand: a 1x1 conv that gives 1 on C or G and 0 elsewhere, global average
pooling, head weight 1 and bias 0, regression without target scaling, so the score of a window
is its G+C fraction (N counted as neither).  The genome is random bases written with plain
Python, so every expected value is computed here with string operations.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error

LENGTH = 21
STRIDE = 4


def gc_model(path: Path, length: int = LENGTH, tasks: int = 1) -> Path:
    """A model file whose task ``t`` is ``(t + 1) x`` the G+C fraction of the window."""
    import torch

    from dnacnn.modelfile import save_model
    from dnacnn.models import build_model
    from dnacnn.models.spec import validate_spec

    spec = validate_spec(
        {
            "name": "gc",
            "layers": [
                {"conv1d": {"filters": 1, "kernel_size": 1, "activation": "none"}},
                {"globalavgpool1d": {}},
            ],
        },
        "gc",
    )
    model = build_model(spec, 4, length, tasks, "regression")
    with torch.no_grad():
        model.body[0].conv.weight.copy_(torch.tensor([0.0, 1.0, 1.0, 0.0]).view(1, 4, 1))
        model.body[0].conv.bias.zero_()
        model.head.linear.weight.copy_(torch.arange(1, tasks + 1, dtype=torch.float32).view(tasks, 1))
        model.head.linear.bias.zero_()
    meta = {
        "spec": spec,
        "encoding": {"kind": "dna", "scheme": "onehot", "channels": 4, "length": length},
        "task": "regression",
        "label_names": [f"t{t}" for t in range(tasks)],
        "classes": None,
        "n_outputs": tasks,
        "head": "linear",
    }
    save_model(path, model, meta)
    return path


def gc(seq: str) -> float:
    return sum(b in "CG" for b in seq.upper()) / len(seq)


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """chr1: 300 random bases with 60 N at 100-160; chr2: 120 bases, 30-49 soft-masked; chr3: 15
    bases (shorter than a window)."""
    rng = random.Random(1)
    chr1 = "".join(rng.choice("ACGT") for _ in range(300))
    chr1 = chr1[:100] + "N" * 60 + chr1[160:]
    chr2 = "".join(rng.choice("ACGT") for _ in range(120))
    chr2 = chr2[:30] + chr2[30:50].lower() + chr2[50:]
    seqs = {"chr1": chr1, "chr2": chr2, "chr3": "ACGTACGTACGTACG"}
    path = tmp_path_factory.mktemp("scan") / "genome.fa"
    path.write_text(
        "".join(
            f">{name}\n" + "\n".join(s[i : i + 50] for i in range(0, len(s), 50)) + "\n" for name, s in seqs.items()
        )
    )
    return path, seqs


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return gc_model(tmp_path_factory.mktemp("model") / "gc.dnacnn")


def expected(seqs: dict[str, str], chrom: str, max_n: float = 0.5, centres=None) -> list[tuple[int, int, float]]:
    """``(bin start, bin end, G+C)`` of every scored window of ``chrom``, computed by hand."""
    seq, out = seqs[chrom], []
    for start in range(0, len(seq) - LENGTH + 1, STRIDE):
        window = seq[start : start + LENGTH]
        centre = start + LENGTH // 2
        if window.upper().count("N") > max_n * LENGTH or (centres is not None and centre not in centres):
            continue
        out.append((centre - STRIDE // 2, centre - STRIDE // 2 + STRIDE, gc(window)))
    return out


def intervals(path: Path, chrom: str) -> list[tuple[int, int, float]]:
    import pyBigWig

    bw = pyBigWig.open(str(path))
    try:
        return list(bw.intervals(chrom) or [])
    finally:
        bw.close()


def assert_track(path: Path, chrom: str, want: list[tuple[int, int, float]]) -> None:
    got = intervals(path, chrom)
    assert [(s, e) for s, e, _ in got] == [(s, e) for s, e, _ in want]
    np.testing.assert_allclose([v for *_, v in got], [v for *_, v in want], rtol=1e-6, atol=1e-6)


def test_whole_genome_scan_gives_each_window_gc_in_its_centre_bin(cli, genome, model, tmp_path):
    fasta, seqs = genome
    result = cli("scan", model, fasta, "-o", tmp_path / "gc.bw", "--stride", STRIDE, "--bedgraph", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    import pyBigWig

    bw = pyBigWig.open(str(tmp_path / "gc.bw"))
    assert bw.chroms() == {"chr1": 300, "chr2": 120, "chr3": 15}
    # the window at 0-21 has centre base 10, its bin is 8-12; 100-160 is N: windows of > 10 N skipped
    assert bw.values("chr1", 8, 12) == pytest.approx([gc(seqs["chr1"][0:21])] * 4)
    bw.close()
    for chrom in seqs:
        assert_track(tmp_path / "gc.bw", chrom, expected(seqs, chrom))
    assert intervals(tmp_path / "gc.bw", "chr3") == []  # shorter than a window
    lines = (tmp_path / "gc.bedGraph").read_text().splitlines()
    want = [f"{c}\t{s}\t{e}\t{v:.6g}" for c in seqs for s, e, v in expected(seqs, c)]
    assert lines == want
    n_skipped = (300 - LENGTH) // STRIDE + 1 - len(expected(seqs, "chr1"))
    assert f"{n_skipped} skipped" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gc.bedGraph", "gc.bw"]


def test_scores_are_what_predict_writes(cli, genome, model, tmp_path):
    fasta, seqs = genome
    window = seqs["chr2"][40 : 40 + LENGTH]
    (tmp_path / "w.fa").write_text(f">w\n{window}\n")
    assert cli("predict", model, tmp_path / "w.fa", "-o", tmp_path / "p.tsv").exit_code == 0
    predicted = float((tmp_path / "p.tsv").read_text().splitlines()[1].split("\t")[1])
    assert cli("scan", model, fasta, "-o", tmp_path / "s", "--stride", STRIDE, "--chroms", "chr2").exit_code == 0
    centre = 40 + LENGTH // 2
    (value,) = [v for s, e, v in intervals(tmp_path / "s.bw", "chr2") if s <= centre < e]
    assert value == pytest.approx(predicted, abs=1e-6)


def test_regions_and_chroms_select_windows_on_the_same_grid(cli, genome, model, tmp_path):
    fasta, seqs = genome
    bed = tmp_path / "regions.bed"
    bed.write_text("track name=x\nchr2\t50\t70\nchr1\t10\t30\nchr2\t60\t90\n")
    out = tmp_path / "r.bw"
    assert cli("scan", model, fasta, "-o", out, "--stride", STRIDE, "--regions", bed).exit_code == 0
    assert_track(out, "chr1", expected(seqs, "chr1", centres=range(10, 30)))
    assert_track(out, "chr2", expected(seqs, "chr2", centres=range(50, 90)))
    # --chroms with --regions: the regions on those chromosomes
    out2 = tmp_path / "r2.bw"
    assert (
        cli("scan", model, fasta, "-o", out2, "--stride", STRIDE, "--regions", bed, "--chroms", "chr2").exit_code == 0
    )
    assert intervals(out2, "chr1") == []
    assert_track(out2, "chr2", expected(seqs, "chr2", centres=range(50, 90)))
    out3 = tmp_path / "c.bw"
    assert (
        cli("scan", model, fasta, "-o", out3, "--stride", STRIDE, "--chroms", "chr2,chr1", "--max-n", "1").exit_code
        == 0
    )
    assert_track(out3, "chr1", expected(seqs, "chr1", max_n=1.0))
    assert_track(out3, "chr2", expected(seqs, "chr2"))


def test_multitask_model_writes_one_track_per_task(cli, genome, tmp_path):
    fasta, seqs = genome
    model = gc_model(tmp_path / "two.dnacnn", tasks=2)
    result = cli("scan", model, fasta, "-o", tmp_path / "two.bw", "--stride", STRIDE, "--chroms", "chr2")
    assert result.exit_code == 0, result.stderr
    want = expected(seqs, "chr2")
    assert_track(tmp_path / "two.t0.bw", "chr2", want)
    assert_track(tmp_path / "two.t1.bw", "chr2", [(s, e, 2 * v) for s, e, v in want])
    result = cli("scan", model, fasta, "-o", tmp_path / "one.bw", "--stride", STRIDE, "--task", "t1")
    assert result.exit_code == 0, result.stderr
    assert_track(tmp_path / "one.bw", "chr2", [(s, e, 2 * v) for s, e, v in want])
    result = cli("scan", model, fasta, "-o", f"{tmp_path / 'dir'}/", "--stride", STRIDE, "--chroms", "chr2")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == ["two.t0.bw", "two.t1.bw"]
    assert_one_line_error(cli("scan", model, fasta, "-o", tmp_path / "x.bw", "--task", "t9"), "no task 't9'", "t0, t1")
    assert not (tmp_path / "x.bw").exists()


@pytest.mark.parametrize(
    "case, fragments",
    [
        ("missing genome", ["nothere.fa", "file not found"]),
        ("unknown chrom", ["chromosome 'chrX' is not in the genome", "fix --chroms"]),
        ("stride 0", ["--stride must be at least 1"]),
        ("stride > window", ["--stride 22 is longer than the model's 21-bp window"]),
        ("out is the model", ["gc.bw: --out would replace the input"]),
        ("out is the genome", ["genome.bw: --out would replace the input"]),
        ("regions not BED", ["regions.bed:1", "1 column"]),
        ("regions chrom", ["regions.bed:1", "chromosome 'chrZ' is not in the genome"]),
        ("no window fits", ["no 21-bp window fits"]),
        ("not a model", ["not a dnacnn model file"]),
    ],
)
def test_careless_inputs_are_one_line_and_leave_nothing(cli, genome, model, tmp_path, case, fragments):
    import shutil

    fasta = tmp_path / "genome.fa"
    shutil.copy(genome[0], fasta)
    shutil.copy(model, tmp_path / "gc.dnacnn")
    model = tmp_path / "gc.dnacnn"
    bed = tmp_path / "regions.bed"
    args = {
        "missing genome": [model, tmp_path / "nothere.fa", "-o", tmp_path / "o.bw"],
        "unknown chrom": [model, fasta, "-o", tmp_path / "o.bw", "--chroms", "chr1,chrX"],
        "stride 0": [model, fasta, "-o", tmp_path / "o.bw", "--stride", "0"],
        "stride > window": [model, fasta, "-o", tmp_path / "o.bw", "--stride", "22"],
        "out is the model": [model, fasta, "-o", tmp_path / "gc"],
        "out is the genome": [model, fasta, "-o", tmp_path / "genome.fa"],
        "regions not BED": [model, fasta, "-o", tmp_path / "o.bw", "--regions", bed],
        "regions chrom": [model, fasta, "-o", tmp_path / "o.bw", "--regions", bed],
        "no window fits": [model, fasta, "-o", tmp_path / "o.bw", "--chroms", "chr3"],
        "not a model": [fasta, fasta, "-o", tmp_path / "o.bw"],
    }[case]
    if case == "out is the model":
        shutil.copy(model, tmp_path / "gc.bw")
        args = [tmp_path / "gc.bw", fasta, "-o", tmp_path / "gc.bw"]
    if case == "out is the genome":
        fasta.rename(tmp_path / "genome.bw")
        fasta = tmp_path / "genome.bw"
        args = [model, fasta, "-o", fasta]
    bed.write_text("chr1_10_20\n" if case == "regions not BED" else "chrZ\t1\t5\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".fai"}
    assert_one_line_error(cli("scan", *args), *fragments)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".fai"}
    assert after == before


def test_interrupted_scan_leaves_no_file(genome, model, tmp_path, monkeypatch):
    from dnacnn import scan as scan_module

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_module._Tracks, "add", interrupted)
    with pytest.raises(KeyboardInterrupt):
        scan_module.scan(model, genome[0], tmp_path / "x.bw", stride=STRIDE, bedgraph=True, device="cpu")
    assert list(tmp_path.iterdir()) == []


def test_window_ranges_pick_windows_centred_in_regions():
    from dnacnn.scan import window_ranges

    # length 10, stride 5: window k covers [5k, 5k + 10), centre 5k + 5; last window fitting 32 bp: k = 4
    assert list(window_ranges(32, 10, 5, None)) == [(0, 5)]
    assert list(window_ranges(9, 10, 5, None)) == []
    regions = np.array([[14, 16], [0, 6], [5, 11], [29, 40]])
    assert list(window_ranges(32, 10, 5, regions)) == [(0, 2), (2, 3)]


def test_workflow_scans_datasets_with_a_genome_only_when_enabled(genome, tmp_path):
    """Dry runs of the Snakefile on a peaks + genome dataset: no scan job by default; with
    ``scan: enabled`` one per run on the dataset, its options passed to ``dnacnn scan``."""
    import shutil

    import yaml
    from test_workflow import dry_run_jobs, job_counts, output, snakemake

    shutil.copy(genome[0], tmp_path / "genome.fa")
    (tmp_path / "peaks.bed").write_text("chr1\t50\t70\nchr2\t40\t60\n")
    (tmp_path / "config").mkdir()
    config = {
        "datasets": [
            {
                "name": "peaks",
                "format": "bed",
                "input": "peaks.bed",
                "genome": "genome.fa",
                "length": 21,
                "label_value": 1,
            }
        ],
        "models": [{"name": "deepbind", "preset": "deepbind"}],
        "gpus_per_train": 0,
    }
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", "-p")
    assert result.returncode == 0, output(result)
    assert "scan" not in job_counts(output(result))
    scan = {"enabled": True, "chroms": "chr1", "stride": 10, "bedgraph": True, "regions": "peaks.bed"}
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({**config, "scan": scan}))
    result = snakemake(tmp_path, "-n", "-p", "--cores", "2")
    assert result.returncode == 0, output(result)
    (job,) = [job for job in dry_run_jobs(output(result)) if job["rule"] == "scan"]
    assert job["shell"] == (
        "dnacnn scan results/peaks/deepbind/model.dnacnn genome.fa -o results/peaks/deepbind/scan/scores.bw"
        " --regions peaks.bed --chroms chr1 --stride 10 --max-n 0.5 --bedgraph --device auto --threads 2"
        " --no-progress > results/logs/scan/peaks/deepbind.log 2>&1"
    )
    scan["regions"] = "nope.bed"
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({**config, "scan": scan}))
    result = snakemake(tmp_path, "-n")
    assert result.returncode != 0
    assert "invalid config: scan -> regions: no such file 'nope.bed'" in output(result)
