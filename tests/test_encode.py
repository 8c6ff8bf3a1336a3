"""dnacnn encode: real inputs into stores, and every bad input as one clear line."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import assert_one_line_error

from dnacnn.codes import DNA_LUT, Encoding, Expander, dna_to_codes, one_hot, reverse_complement_codes
from dnacnn.encode import EncodeOptions, encode
from dnacnn.errors import DnacnnError
from dnacnn.store import Store


def _no_leftovers(directory):
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name or "dnacnn-tmp-" in p.name]


# --------------------------------------------------------------------------- encodings


def test_lut_rules():
    assert dna_to_codes("ACGTacgtNnRYU").tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 4, 4, 3]
    assert DNA_LUT[ord("*")] == 255 and DNA_LUT[ord("7")] == 255


def test_one_hot_numpy_and_torch_agree():
    import torch

    codes = dna_to_codes("ACGTN")[None, :]
    enc = Encoding("dna", "onehot", 4, 5)
    X = one_hot(codes, enc)
    assert X.shape == (1, 4, 5)
    assert X[0].tolist() == [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]
    assert np.array_equal(Expander(enc)(torch.from_numpy(codes)).numpy(), X)


def test_reverse_complement_matches_flipped_one_hot():
    codes = dna_to_codes("AACGTN")
    rc = reverse_complement_codes(codes)
    assert rc.tolist() == dna_to_codes("NACGTT").tolist()
    enc = Encoding("dna", "onehot", 4, 6)
    assert np.array_equal(one_hot(rc[None], enc), one_hot(codes[None], enc)[:, ::-1, ::-1])


# --------------------------------------------------------------------------- real inputs


def test_zou_primer_lines_plus_labels(tmp_path, data_dir):
    out = encode(
        data_dir / "zou_sequences.txt",
        tmp_path / "zou.store",
        EncodeOptions(labels=str(data_dir / "zou_labels.txt"), progress=False),
    )
    store = Store.open(out)
    assert store.codes.shape == (2000, 50)
    assert store.task == "binary"
    assert store.manifest["split_counts"] == {"train": 1600, "valid": 200, "test": 200}
    first = (data_dir / "zou_sequences.txt").read_text().split()[0]
    assert store.codes[0].tolist() == dna_to_codes(first).tolist()
    assert int(store.labels.sum()) == 987
    # stratified: each split keeps the ~49% positive rate
    for split in ("train", "valid", "test"):
        rate = store.labels[store.indices(split)].mean()
        assert abs(rate - 987 / 2000) < 0.02
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["inputs"][0]["sha256"]) == 64
    assert manifest["encoding"] == {"kind": "dna", "scheme": "onehot", "channels": 4, "length": 50}
    assert _no_leftovers(tmp_path) == []


def test_deepbind_tabular_gz_by_column_names(tmp_path, data_dir):
    out = encode(
        data_dir / "rest_B_slice.seq.gz",
        tmp_path / "b.store",
        EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], split="test", progress=False),
    )
    store = Store.open(out)
    assert store.codes.shape == (300, 101)
    assert store.ids[0] == "seq_00002_peak"
    assert store.label_names == ["Bound"]
    assert store.manifest["split_counts"]["test"] == 300
    assert int(store.labels.sum()) == 150


def test_shuffled_negatives_follow_their_positive(tmp_path, data_dir):
    out = encode(
        data_dir / "rest_AC_slice.seq.gz",
        tmp_path / "ac.store",
        EncodeOptions(seq_col="seq", id_col="EventID", label_cols=["Bound"], negatives="shuffle", progress=False),
    )
    store = Store.open(out)
    assert store.n == 1600 and int(store.labels.sum()) == 800
    ids = store.ids
    split = np.asarray(store.split)
    by_id = dict(zip(ids, split))
    for rid, s in zip(ids, split):
        if rid.endswith("_shuf0"):
            assert by_id[rid[: -len("_shuf0")]] == s
    neg_row = ids.index(ids[0] + "_shuf0")
    pos, neg = store.codes[0], store.codes[neg_row]
    assert not np.array_equal(pos, neg)
    pairs = lambda c: sorted(zip(c[:-1].tolist(), c[1:].tolist()))  # noqa: E731
    assert pairs(pos) == pairs(neg)


def test_fasta_with_label_table_multitask_gz_crlf(tmp_path):
    fa = tmp_path / "x.fa.gz"
    with gzip.open(fa, "wb") as f:
        f.write(b">s1 desc\r\nACGTac\r\ngtNR\r\n>s2\r\nTTTTTTTTTT\r\n")
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\tctcf\trest\ns2\t1\t0\ns1\t0\tNA\n")
    store = Store.open(
        encode(fa, tmp_path / "x.store", EncodeOptions(labels=str(labels), split="train", progress=False))
    )
    assert store.label_names == ["ctcf", "rest"]
    assert store.codes[0].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 4, 4]
    assert store.labels[1].tolist() == [1.0, 0.0]
    assert np.isnan(store.labels[0, 1])


def test_fasta_header_labels_and_length_policy(tmp_path):
    fa = tmp_path / "x.fa"
    fa.write_text(">a 1\nACGTACGTAC\n>b 0\nAC\n>c 1\nACGTACGTACGT\n")
    store = Store.open(
        encode(fa, tmp_path / "x.store", EncodeOptions(labels="header", length=6, split="train", progress=False))
    )
    assert store.labels[:, 0].tolist() == [1, 0, 1]
    assert store.codes[0].tolist() == dna_to_codes("GTACGT").tolist()  # centre crop of 10 -> 6
    assert store.codes[1].tolist() == [4, 4, 0, 1, 4, 4]  # N-padded both sides
    assert store.codes[2].tolist() == dna_to_codes("TACGTA").tolist()  # 12 -> 6: offset 3


def test_genotypes_onehot_and_dosage(tmp_path, data_dir):
    for scheme, channels in (("onehot", 3), ("dosage", 1)):
        out = encode(
            data_dir / "wheat_slice.X",
            tmp_path / f"{scheme}.store",
            EncodeOptions(
                format="genotype",
                phenotypes=str(data_dir / "wheat_slice.Y"),
                traits=["1"],
                genotype_scheme=scheme,
                progress=False,
            ),
        )
        store = Store.open(out)
        assert store.codes.shape == (150, 1279)
        assert store.encoding.channels == channels
        assert store.task == "regression"
        assert store.labels[0, 0] == pytest.approx(1.67162948031973)
        assert store.marker_means.shape == (1279,)


def test_chromosome_split(tmp_path):
    bed_like = tmp_path / "x.tsv"
    rows = [f"chr{c}:{i * 100}-{i * 100 + 8}\tACGTACGT\t{i % 2}" for c in (1, 2, 8, 9) for i in range(5)]
    bed_like.write_text("id\tseq\ty\n" + "\n".join(rows) + "\n")
    store = Store.open(
        encode(
            bed_like,
            tmp_path / "s.store",
            EncodeOptions(
                id_col="id",
                label_cols=["y"],
                split="chrom",
                test_chroms=["chr8", "chr9"],
                valid_chroms=["chr2"],
                progress=False,
            ),
        )
    )
    assert store.manifest["split_counts"] == {"train": 5, "valid": 5, "test": 10}


# --------------------------------------------------------------------------- bad input, via the CLI


@pytest.fixture
def bad(tmp_path):
    def write(name: str, text: str | bytes) -> str:
        p = tmp_path / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return str(p)

    return write


def _encode_fails(cli, tmp_path, *args, fragments=()):
    out = tmp_path / "out.store"
    result = cli("encode", *args, "-o", out, "--no-progress")
    line = assert_one_line_error(result, *fragments)
    assert not out.exists()
    assert _no_leftovers(tmp_path) == []
    return line


def test_missing_file(cli, tmp_path):
    _encode_fails(cli, tmp_path, tmp_path / "nope.fa", fragments=("nope.fa", "file not found"))


def test_empty_file(cli, tmp_path, bad):
    _encode_fails(cli, tmp_path, bad("empty.fa", ""), fragments=("empty.fa", "file is empty"))


def test_fasta_without_header(cli, tmp_path, bad):
    path = bad("nohead.fa", "ACGT\n>a\nACGT\n")
    _encode_fails(
        cli,
        tmp_path,
        path,
        "--format",
        "fasta",
        "--label-value",
        "1",
        fragments=("nohead.fa:1", "before the first '>' header"),
    )


def test_duplicated_ids(cli, tmp_path, bad):
    path = bad("dup.fa", ">a\nACGT\n>b\nACGT\n>a\nACGT\n")
    _encode_fails(cli, tmp_path, path, "--label-value", "1", fragments=("dup.fa", "duplicated ID 'a'", "record 3"))


@pytest.mark.parametrize("char,line", [("7", 4), ("*", 4)])
def test_invalid_characters(cli, tmp_path, bad, char, line):
    path = bad("bad.fa", f">a\nACGT\n>b\nAC{char}T\n")
    _encode_fails(
        cli,
        tmp_path,
        path,
        "--label-value",
        "1",
        fragments=(f"bad.fa:{line}", f"invalid character '{char}'", "record 'b'"),
    )


def test_label_table_missing_id(cli, tmp_path, bad):
    fa = bad("x.fa", ">a\nACGT\n>b\nACGT\n")
    labels = bad("labels.tsv", "id\ty\na\t1\n")
    _encode_fails(cli, tmp_path, fa, "--labels", labels, fragments=("x.fa:3", "record 'b' has no label"))


def test_label_table_extra_id(cli, tmp_path, bad):
    fa = bad("x.fa", ">a\nACGT\n")
    labels = bad("labels.tsv", "id\ty\na\t1\nzz\t0\n")
    _encode_fails(cli, tmp_path, fa, "--labels", labels, fragments=("labels.tsv:3", "1 ID(s) with no record", "'zz'"))


def test_non_numeric_label(cli, tmp_path, bad):
    table = bad("x.tsv", "seq\ty\nACGT\t1\nACGT\tbound\n")
    _encode_fails(cli, tmp_path, table, "--label-col", "y", fragments=("x.tsv:3", "'bound'", "not a number"))


@pytest.mark.parametrize("value", ["3", "-1"])
def test_genotype_out_of_range(cli, tmp_path, bad, value):
    geno = bad("g.txt", f"0 1 2\n1 {value} 0\n")
    pheno = bad("p.txt", "0.5\n1.5\n")
    line = _encode_fails(cli, tmp_path, geno, "--format", "genotype", "--phenotypes", pheno, fragments=("g.txt",))
    assert "2" in line and value in line


def test_phenotype_row_count_mismatch(cli, tmp_path, bad):
    geno = bad("g.txt", "0 1 2\n1 1 0\n")
    pheno = bad("p.txt", "0.5\n1.5\n2.5\n")
    _encode_fails(cli, tmp_path, geno, "--format", "genotype", "--phenotypes", pheno, fragments=("p.txt", "3", "2"))


def test_truncated_gzip(cli, tmp_path, data_dir, bad):
    raw = (data_dir / "rest_B_slice.seq.gz").read_bytes()
    path = bad("trunc.seq.gz", raw[: len(raw) // 2])
    _encode_fails(
        cli, tmp_path, path, "--seq-col", "seq", "--label-col", "Bound", fragments=("trunc.seq.gz", "truncated")
    )


def test_unknown_column_lists_the_header(cli, tmp_path, data_dir):
    _encode_fails(
        cli,
        tmp_path,
        data_dir / "rest_B_slice.seq.gz",
        "--seq-col",
        "sequence",
        "--label-col",
        "Bound",
        fragments=("rest_B_slice.seq.gz:1", "no column 'sequence'", "FoldID, EventID, seq, Bound"),
    )


def test_different_lengths_need_length(cli, tmp_path, bad):
    fa = bad("x.fa", ">a\nACGT\n>b\nACGTA\n")
    _encode_fails(cli, tmp_path, fa, "--label-value", "1", fragments=("x.fa:3", "'b' is 5 bp", "--length"))


def test_usage_error_exits_2(cli, tmp_path):
    result = cli("encode", "--no-such-option")
    assert result.exit_code == 2


# --------------------------------------------------------------------------- BED + genome, via the CLI


@pytest.fixture
def genome(tmp_path, data_dir):
    import shutil

    path = tmp_path / "genome.fa"  # a copy, so pyfaidx's .fai index is not written into tests/data
    shutil.copy(data_dir / "genome_small.fa", path)
    return path


def test_bed_windows_with_shuffled_negatives_and_chrom_split(cli, tmp_path, data_dir, genome):
    out = tmp_path / "peaks.store"
    result = cli(
        "encode",
        data_dir / "bed_peaks.narrowPeak",
        "--genome",
        genome,
        "--length",
        "100",
        "--label-value",
        "1",
        "--negatives",
        "shuffle",
        "--split",
        "chrom",
        "--test-chroms",
        "chr2",
        "-o",
        out,
        "--no-progress",
    )
    assert result.exit_code == 0, result.stderr
    store = Store.open(out)
    assert store.codes.shape == (6, 100)
    assert store.ids[:3] == ["chr1:490-590", "chr1:2100-2200", "chr2:1649-1749"]  # summit-centred
    assert store.manifest["split_counts"] == {"train": 4, "valid": 0, "test": 2}
    seq = "".join(line.strip() for line in genome.read_text().split(">chr2")[0].splitlines()[1:])
    assert store.codes[0].tolist() == dna_to_codes(seq[490:590]).tolist()


def test_bed_past_chromosome_end(cli, tmp_path, bad, genome):
    bed = bad("end.bed", "chr1\t100\t200\nchr2\t1900\t1990\n")
    _encode_fails(
        cli, tmp_path, bed, "--genome", genome, "--length", "200", "--label-value", "1", fragments=("end.bed:2", "chr2")
    )


def test_bed_unknown_chromosome(cli, tmp_path, bad, genome):
    bed = bad("unk.bed", "chr1\t100\t200\nchr22\t100\t200\n")
    _encode_fails(
        cli, tmp_path, bed, "--genome", genome, "--length", "50", "--label-value", "1", fragments=("unk.bed:2", "chr22")
    )


def test_fasta_ending_in_a_bare_header(cli, tmp_path, bad):
    fa = bad("bare.fa", ">a\nACGT\n>")
    _encode_fails(cli, tmp_path, fa, "--label-value", "1", fragments=("bare.fa:3", "header line has no record ID"))


def test_store_writer_write_error_leaves_nothing(tmp_path):
    """A write that fails (disk full) raises, and the temporary directory is removed: nothing
    half-written is left."""
    import errno

    from dnacnn.store import StoreWriter

    class FullDisk:
        closed = False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def close(self):
            self.closed = True

    codes = np.zeros((3, 5), dtype=np.uint8)
    labels = np.ones((3, 1), dtype=np.float32)
    with pytest.raises(OSError, match="No space"), StoreWriter(tmp_path / "s.store", 5, 1) as writer:
        writer._codes.close()
        writer._codes = FullDisk()
        writer.append(codes, labels, ["a", "b", "c"])
        writer.append(codes, labels, ["d", "e", "f"])  # raises the first chunk's error
    assert list(tmp_path.iterdir()) == []


def test_store_writer_streams_chunks_in_order(tmp_path):
    from dnacnn.codes import dna_encoding
    from dnacnn.store import Store, StoreWriter

    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, 5, (n, 7), dtype=np.uint8) for n in (4, 1, 9)]
    with StoreWriter(tmp_path / "s.store", 7, 1) as writer:
        for k, c in enumerate(chunks):
            writer.append(c, np.full((len(c), 1), k, np.float32), [f"r{k}_{i}" for i in range(len(c))])
        assert np.array_equal(writer.labels()[:, 0], np.repeat([0, 1, 2], [4, 1, 9]))
        manifest = {"encoding": dna_encoding(7).to_dict(), "task": "binary", "label_names": ["y"]}
        writer.finish(np.zeros(writer.n, np.uint8), manifest)
    store = Store.open(tmp_path / "s.store")
    assert np.array_equal(np.asarray(store.codes), np.concatenate(chunks))
    assert store.ids[:5] == ["r0_0", "r0_1", "r0_2", "r0_3", "r1_0"]


def test_split_folds_from_a_fold_file_or_seeded(tmp_path, data_dir):
    """--split folds keeps a fold id per record (BGLR's wheat.sets style file, or seeded folds);
    every record starts as train, and Store.for_fold makes a fold's split."""
    sets = tmp_path / "wheat.sets"
    sets.write_text("".join(f"{i % 5 + 1}\n" for i in range(150)))
    common = dict(format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), traits=["1"], progress=False)
    out = encode(
        data_dir / "wheat_slice.X", tmp_path / "f.store", EncodeOptions(split="folds", fold_file=str(sets), **common)
    )
    store = Store.open(out)
    assert store.n_folds == 5 and store.folds[:6].tolist() == [1, 2, 3, 4, 5, 1]
    assert store.manifest["split_counts"] == {"train": 150, "valid": 0, "test": 0}
    assert any(i["path"] == str(sets) for i in store.manifest["inputs"])
    assert store.for_fold(3).indices("test").tolist() == list(range(2, 150, 5))
    seeded = Store.open(
        encode(data_dir / "wheat_slice.X", tmp_path / "s.store", EncodeOptions(split="folds", folds=4, **common))
    )
    assert np.bincount(seeded.folds).tolist() == [0, 38, 38, 37, 37]


def test_split_folds_refuses_a_fold_file_of_the_wrong_length(tmp_path, data_dir):
    sets = tmp_path / "wheat.sets"
    sets.write_text("1\n2\n")
    opts = EncodeOptions(
        format="genotype", phenotypes=str(data_dir / "wheat_slice.Y"), split="folds", fold_file=str(sets)
    )
    with pytest.raises(DnacnnError, match=r"wheat.sets: 2 fold ids for 150 records; give one fold id per record"):
        encode(data_dir / "wheat_slice.X", tmp_path / "f.store", opts)
    assert not (tmp_path / "f.store").exists() and not list(tmp_path.glob("*f.store*tmp-*"))
    with pytest.raises(DnacnnError, match="--fold-file needs --split folds"):
        encode(data_dir / "wheat_slice.X", tmp_path / "g.store", EncodeOptions(fold_file=str(sets)))
