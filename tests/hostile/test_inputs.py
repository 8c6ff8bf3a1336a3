"""Input readers under hostile input (issue 17): nothing silently wrong, nothing unbounded, no crash.

A table row shorter than its header and an infinite label (``inf``, ``1e999``, past float32) were
stored as they came; each is now one line naming the file and line.  The line-based readers
(one-sequence-per-line, tables, label tables, ``variants``' VCF) read a line in bounded pieces
and refuse a line over :data:`dnacnn.io.MAX_LINE_BYTES` (patched small here) or a NUL byte, so a
1 MB gzip holding one 1 GiB line, or ``/dev/zero`` on stdin, is refused before it grows;
``--negatives-per-positive`` and ``--seed`` are bounded.  A symbolic link loop, a device, a FIFO
nobody writes to and a truncated ``.vcf.gz`` (htslib's own message folded in) are one line each; a
pipe (``<(cat in.fa)``) is read as a stream, and a UTF-8 byte-order mark is dropped.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, assert_one_line_error
from harness import refused, run_process

import dnacnn.io
import dnacnn.io.tabular
from dnacnn.errors import SettingError
from dnacnn.train.settings import check_value


def write(path: str, data: str | bytes) -> str:
    Path(path).write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def table(rows: list[str], sep: str = "\t") -> str:
    return "\n".join(["id", "seq", "label"] and [sep.join(["id", "seq", "label"])] + rows) + "\n"


SEQ = "ACGTACGTAC"
ROWS = [f"r{i}\t{SEQ}\t{i % 2}" for i in range(1, 10)]


def encode_table(name: str) -> list[str]:
    return ["encode", name, "--id-col", "id", "--label-col", "label", "--no-progress", "-o", "x.store"]


# --- 1. a row shorter than the header: it was encoded with a made-up label --------------------------


@pytest.mark.parametrize(
    "name, text, where",
    [
        ("last.tsv", table([*ROWS[:-1], f"r9\t{SEQ}"]), "last.tsv:10"),
        ("middle.tsv", table([*ROWS[:6], f"r7\t{SEQ}", *ROWS[7:]]), "middle.tsv:8"),
        ("first.tsv", table([f"r1\t{SEQ}", *ROWS[1:]]), "first.tsv:2"),
        ("one-field.tsv", table([*ROWS[:3], "r4", *ROWS[4:]]), "one-field.tsv:5"),
        ("comma.csv", table([r.replace("\t", ",") for r in ROWS[:4]] + [f"r5,{SEQ}"], sep=","), "comma.csv:6"),
    ],
)
def test_a_short_table_row_is_refused(cli, work, name, text, where):
    write(name, text)
    refused(cli, work, encode_table(name), where, "field(s) but the header names 3")


@pytest.mark.parametrize(
    "text, where",
    [
        ("id\tlabel\ns0\t1\ns1\n", "lab.tsv:3"),
        ("id\ta\tb\ns0\t1\t0\ns1\t1\n", "lab.tsv:3"),
    ],
)
def test_a_short_label_table_row_is_refused(cli, work, text, where):
    write("lab.tsv", text)
    refused(cli, work, ["encode", "seqs.fa", "--labels", "lab.tsv", "--no-progress", "-o", "x.store"], where, "field")


def test_an_empty_label_cell_is_still_missing_not_short(cli, work):
    write("t.tsv", table([*ROWS[:4], f"r5\t{SEQ}\t", *ROWS[5:]]))
    assert cli(*encode_table("t.tsv")).exit_code in (0, 1)  # NA handling is another reader's; never a crash


# --- 2. infinite labels ----------------------------------------------------------------------------


def keyed_labels(value: str, at: int = 3) -> str:
    return "id\tlabel\n" + "".join(f"s{i}\t{value if i == at else i % 2}\n" for i in range(20))


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e999", "-1e400", "1e39", "INF"])
def test_an_infinite_label_in_a_label_table_is_refused(cli, work, value):
    write("lab.tsv", keyed_labels(value))
    args = ["encode", "seqs.fa", "--labels", "lab.tsv", "--task", "regression", "--no-progress", "-o", "x.store"]
    refused(cli, work, args, "lab.tsv:5", "'s3'", "not a finite number")


def test_an_infinite_label_in_an_ordered_label_file_is_refused(cli, work):
    labels = Path("labels.txt").read_text().splitlines()
    labels[6] = "inf"
    write("lab.txt", "\n".join(labels) + "\n")
    args = ["encode", "seqs.txt", "--format", "lines", "--labels", "lab.txt", "--no-progress", "-o", "x.store"]
    refused(cli, work, args, "lab.txt:7", "not a finite number")


@pytest.mark.parametrize("value", ["inf", "1e999"])
def test_an_infinite_fasta_header_label_is_refused(cli, work, value):
    write("h.fa", "".join(f">s{i} {value if i == 4 else 1}\n{SEQ}\n" for i in range(8)))
    refused(cli, work, ["encode", "h.fa", "--labels", "header", "--no-progress", "-o", "x.store"], "h.fa:9", "'s4'")


def test_an_infinite_table_label_column_is_refused(cli, work):
    write("t.tsv", table([*ROWS[:2], f"r3\t{SEQ}\tinf", *ROWS[3:]]))
    refused(cli, work, encode_table("t.tsv"), "t.tsv:4", "'r3'", "not a finite number")


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_an_infinite_label_value_is_refused(cli, work, value):
    args = ["encode", "seqs.fa", "--label-value", value, "--no-progress", "-o", "x.store"]
    refused(cli, work, args, "--label-value", "finite")


# --- 3. resource bombs -----------------------------------------------------------------------------


@pytest.fixture
def small_lines(monkeypatch):
    """Lines over 4 KiB are refused (the real limit is 256 MiB), read in 1 KiB pieces."""
    monkeypatch.setattr(dnacnn.io, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(dnacnn.io, "_PIECE_BYTES", 1024)
    monkeypatch.setattr(dnacnn.io.tabular, "MAX_LINE_BYTES", 4096)
    return 4096


def lines_args(name: str) -> list[str]:
    return ["encode", name, "--format", "lines", "--labels", "lab.txt", "--length", "50", "--no-progress", "-o", "x"]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("at", [1, 3])
def test_a_line_bomb_in_a_sequence_list_is_refused(cli, work, small_lines, gz, at):
    lines = [SEQ * 5] * 4
    lines[at - 1] = "A" * 10_000
    data = ("\n".join(lines) + "\n").encode()
    write("b.txt", gzip.compress(data) if gz else data)
    write("lab.txt", "1\n" * 4)
    refused(cli, work, lines_args("b.txt"), f"b.txt:{at}", "line longer than 0 MiB")


def test_a_line_just_under_the_limit_is_read(cli, work, small_lines):
    write("ok.txt", "A" * 4095 + "\n")
    write("lab.txt", "1\n")
    result = cli(*lines_args("ok.txt"), "--split", "train")
    assert result.exit_code == 0, result.stderr


def test_a_nul_byte_in_a_sequence_list_is_refused(cli, work):
    write("z.txt", f"{SEQ}\n\x00{SEQ}\n")
    write("lab.txt", "1\n1\n")
    refused(cli, work, lines_args("z.txt"), "z.txt:2", "NUL bytes: not a text file")


@pytest.mark.parametrize("gz", [False, True])
def test_a_line_bomb_in_a_table_is_refused(cli, work, small_lines, gz):
    data = table([*ROWS[:3], f"r4\t{'A' * 10_000}\t1", *ROWS[4:]]).encode()
    write("t.tsv", gzip.compress(data) if gz else data)
    refused(cli, work, encode_table("t.tsv"), "t.tsv:5", "line longer than")


def test_a_line_bomb_in_a_label_table_is_refused(cli, work, small_lines):
    write("lab.tsv", "id\tlabel\n" + "s0\t" + "1" * 10_000 + "\n")
    refused(cli, work, ["encode", "seqs.fa", "--labels", "lab.tsv", "-o", "x.store"], "lab.tsv:2", "line longer than")


def variants_args(vcf: str) -> list[str]:
    return ["variants", "m.dnacnn", vcf, "--genome", "genome.fa", "-o", "e.tsv"]


def test_a_line_bomb_in_a_vcf_is_refused(cli, work, small_lines):
    write("big.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t5\t.\tA\t" + "C" * 10_000 + "\n")
    refused(cli, work, variants_args("big.vcf"), "big.vcf:3", "line longer than")


def test_dev_zero_on_stdin_is_refused_as_not_text(cli, work):
    before = dnacnn.io.MAX_LINE_BYTES
    result = cli.runner.invoke(cli.app, variants_args("-"), input=b"\x00" * 300_000, catch_exceptions=False)
    assert_one_line_error(result, "-:1", "NUL bytes: not a text file")
    assert before == dnacnn.io.MAX_LINE_BYTES
    assert not Path("e.tsv").exists()


def test_dev_zero_as_a_vcf_path_is_refused(cli, work):
    refused(cli, work, variants_args("/dev/zero"), "/dev/zero", "is a device")


@pytest.mark.parametrize("n", ["1000000000", "1001", "0", "-3"])
def test_negatives_per_positive_is_bounded(cli, work, n):
    args = ["encode", "seqs.fa", "--label-value", "1", "--negatives", "shuffle", "--negatives-per-positive", n]
    refused(cli, work, [*args, "--no-progress", "-o", "x.store"], "--negatives-per-positive", "1 to 1000")


# --- 4. crashes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [str(2**70), str(2**32), "-1"])
def test_encode_seed_is_bounded(cli, work, seed):
    args = ["encode", "seqs.fa", "--label-value", "1", "--seed", seed, "--no-progress", "-o", "x.store"]
    refused(cli, work, args, "--seed", "0" if seed == "-1" else "4294967295")


@pytest.mark.parametrize("seed", [2**70, 2**32, -1])
def test_train_seed_is_bounded(seed):
    with pytest.raises(SettingError, match="seed"):
        check_value("seed", seed)
    assert check_value("seed", 2**32 - 1) == 2**32 - 1


@pytest.mark.parametrize("option", ["input", "--labels"])
def test_a_symlink_loop_is_one_line(cli, work, option):
    os.symlink("b.fa", "a.fa")
    os.symlink("a.fa", "b.fa")
    args = ["encode", "a.fa", "--labels", "header"] if option == "input" else ["encode", "seqs.fa", "--labels", "a.fa"]
    refused(cli, work, [*args, "--no-progress", "-o", "x.store"], "a.fa", "symbolic link loop")


# --- 5. devices, pipes, byte-order marks, htslib's messages -----------------------------------------


def test_dev_zero_as_encode_input_is_a_device_not_empty(cli, work):
    line = refused(cli, work, ["encode", "/dev/zero", "--format", "fasta", "--label-value", "1", "-o", "x"], "device")
    assert "empty" not in line


def test_a_fifo_nobody_writes_to_is_refused_without_waiting(cli, work, monkeypatch):
    monkeypatch.setattr(dnacnn.io, "PIPE_WAIT_S", 0.2)
    os.mkfifo("in.fa")
    line = refused(cli, work, ["encode", "in.fa", "--labels", "header", "--no-progress", "-o", "x.store"], "pipe")
    assert "empty" not in line


def test_process_substitution_works(work):
    script = '"$0" -m dnacnn encode <(cat seqs.fa) --label-value 1 --no-progress -o x.store'
    import sys

    proc = subprocess.run(["bash", "-c", script, sys.executable], cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Path(work / "x.store/ids.txt").read_text().splitlines()[0] == "s0"


def test_a_bom_before_fasta_is_dropped(cli, work):
    write("bom.fa", b"\xef\xbb\xbf" + Path("seqs.fa").read_bytes())
    assert cli("encode", "seqs.fa", "--label-value", "1", "--split", "train", "--no-progress", "-o", "a").exit_code == 0
    result = cli("encode", "bom.fa", "--label-value", "1", "--split", "train", "--no-progress", "-o", "b")
    assert result.exit_code == 0, result.stderr
    assert Path("a/ids.txt").read_bytes() == Path("b/ids.txt").read_bytes()
    assert np.array_equal(np.fromfile("a/codes.u8", np.uint8), np.fromfile("b/codes.u8", np.uint8))


@pytest.mark.parametrize("name, args", [("bom.tsv", None), ("bom.txt", ["--format", "lines", "--label-value", "1"])])
def test_a_bom_before_a_table_or_list_is_dropped(cli, work, name, args):
    text = table(ROWS) if args is None else f"{SEQ}\n" * 9
    write(name, b"\xef\xbb\xbf" + text.encode())
    result = cli(*(encode_table(name) if args is None else ["encode", name, *args, "--no-progress", "-o", "x.store"]))
    assert result.exit_code == 0, result.stderr


def test_a_truncated_vcf_gz_is_one_line_with_htslib_detail(work, tmp_path):
    pysam = pytest.importorskip("pysam")
    pytest.importorskip("cyvcf2")
    src = DATA / "genotypes" / "small.vcf"
    if not src.exists():
        pytest.skip("no genotypes/small.vcf")
    shutil.copy(src, work / "small.vcf")
    pysam.tabix_compress(str(work / "small.vcf"), str(work / "full.vcf.gz"))
    data = (work / "full.vcf.gz").read_bytes()
    write(str(work / "cut.vcf.gz"), data[: len(data) * 2 // 3])
    header = next(x for x in (work / "small.vcf").read_text().splitlines() if x.startswith("#CHROM"))
    pheno = write(str(work / "pheno.tsv"), "id\ty\n" + "".join(f"{s}\t1\n" for s in header.split("\t")[9:]))
    args = ["encode", "cut.vcf.gz", "--phenotypes", str(pheno), "--split", "train", "--no-progress", "-o", "x.store"]
    proc = run_process(args, work)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dnacnn: error: cut.vcf.gz"), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "1e39"])
def test_an_infinite_phenotype_is_refused(cli, work, value):
    shutil.copy(DATA / "genotypes" / "small.txt", "g.txt")
    ids = [line.split("\t")[0] for line in Path("g.txt").read_text().splitlines()[1:] if line.strip()]
    write(
        "ph.tsv", "id\ty\n" + "".join(f"{s}\t{value if k == 2 else 'NA' if k == 4 else k}\n" for k, s in enumerate(ids))
    )
    args = ["encode", "g.txt", "--format", "genotype", "--phenotypes", "ph.tsv", "--split", "train"]
    refused(
        cli, work, [*args, "--no-progress", "-o", "x.store"], "ph.tsv:4", f"'{ids[2]}'", "not a finite number", "NA"
    )


# --- a store's labels forged to inf or all missing: train gave nan metrics and exit 0 --------------

ZOU_MODEL = Path(__file__).resolve().parents[2] / "galaxy" / "test-data" / "zou.dnacnn"
TRAIN = ["train", "s.store", "--model", "zou2019", "--epochs", "1", "-o", "t.dnacnn", "--no-progress"]


def forged_labels(folder: Path, change) -> None:
    from harness import zou_stores

    zou_stores(folder)
    labels = np.fromfile(folder / "s.store" / "labels.f32", np.float32)
    split = np.fromfile(folder / "s.store" / "split.u8", np.uint8)
    change(labels, split)
    labels.tofile(folder / "s.store" / "labels.f32")


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_an_infinite_label_in_a_store_is_refused(cli, work, value, command):
    forged_labels(work, lambda labels, split: labels.__setitem__(6, value))
    args = TRAIN if command == "train" else ["evaluate", str(ZOU_MODEL), "s.store", "-o", "ev"]
    refused(cli, work, args, "s.store/labels.f32", "record 7", "not a finite number", "dnacnn encode")


def test_a_store_without_a_training_label_is_refused(cli, work):
    forged_labels(work, lambda labels, split: labels.fill(np.nan))
    refused(cli, work, TRAIN, "s.store", "task", "no label in the training split", "--targets")


def test_a_store_without_a_validation_label_is_refused(cli, work):
    forged_labels(work, lambda labels, split: labels.__setitem__(split == 1, np.nan))
    refused(cli, work, TRAIN, "s.store", "validation split", "no label", "early stopping")


def test_a_store_with_some_missing_labels_still_trains(cli, work):
    forged_labels(work, lambda labels, split: labels.__setitem__(slice(0, 200, 3), np.nan))
    result = cli(*TRAIN)
    assert result.exit_code == 0, result.stderr


# --- a .fai that is not an index (a link to another file): its lines were quoted in the error ---


@pytest.mark.parametrize("content", ["root:x:0:0:secret-line:/root:/bin/bash\n", "chr1\t100\tsecret-line\t60\t61\n"])
@pytest.mark.parametrize("command", ["encode", "scan"])
def test_an_unreadable_fai_is_named_not_quoted(cli, work, content, command):
    write("other.txt", Path("genome.fa.fai").read_text().splitlines()[0] + "\n" + content)
    os.remove("genome.fa.fai")
    os.symlink("other.txt", "genome.fa.fai")
    write("x.bed", "chr1\t10\t40\n")
    if command == "encode":
        args = ["encode", "x.bed", "--genome", "genome.fa", "--length", "20", "--label-value", "1", "-o", "x.store"]
    else:
        args = ["scan", "m.dnacnn", "genome.fa", "-o", "s.bw", "--no-progress"]
    line = refused(cli, work, [*args, "--no-progress"] if command == "encode" else args, "genome.fa.fai:2",
                   "5 tab-separated fields", "samtools faidx genome.fa")  # fmt: skip
    assert "secret-line" not in line and "root" not in line
