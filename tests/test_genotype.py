import gzip
from pathlib import Path

import numpy as np
import pytest

from dnacnn.errors import InputError
from dnacnn.io.genotype import read_genotypes, read_phenotypes

DATA = Path(__file__).parent / "data"
WHEAT = Path(__file__).resolve().parents[2] / "shared" / "data" / "wheat-bglr"  # ../shared beside the checkout
needs_wheat = pytest.mark.skipif(not (WHEAT / "wheat.X").is_file(), reason="shared wheat data not present")


def write(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def error(func, *args, **kwargs) -> str:
    with pytest.raises(InputError) as e:
        func(*args, **kwargs)
    return str(e.value)


@needs_wheat
def test_wheat_genotypes():
    g = read_genotypes(WHEAT / "wheat.X")
    assert g.codes.shape == (599, 1279) and g.codes.dtype == np.uint8
    assert g.ids[:2] == ["ind1", "ind2"] and g.ids[-1] == "ind599" and not g.has_ids
    assert g.markers[0] == "m1" and g.markers[-1] == "m1279"
    # counted with awk: line 1 has 480 zeros and 799 ones; line 599 has 499 zeros, 780 ones
    np.testing.assert_array_equal(np.bincount(g.codes[0], minlength=4), [480, 799, 0, 0])
    np.testing.assert_array_equal(np.bincount(g.codes[598], minlength=4), [499, 780, 0, 0])
    np.testing.assert_array_equal(g.codes[0, :10], [0, 1, 1, 1, 1, 0, 1, 1, 1, 1])
    assert g.codes[598, 0] == 1 and g.codes[598, -1] == 1


@needs_wheat
def test_wheat_phenotypes():
    p = read_phenotypes(WHEAT / "wheat.Y", n_expected=599, genotype_path=WHEAT / "wheat.X")
    assert p.values.shape == (599, 4) and p.values.dtype == np.float32
    assert p.names == ["trait1", "trait2", "trait3", "trait4"] and p.ids is None
    assert p.values[0, 0] == np.float32(1.67162948031973)
    assert p.values[-1, 3] == np.float32(0.381317383004178)
    picked = read_phenotypes(WHEAT / "wheat.Y", traits=["2", "trait4", 1])
    assert picked.names == ["trait2", "trait4", "trait1"]
    np.testing.assert_array_equal(picked.values, p.values[:, [1, 3, 0]])


@needs_wheat
def test_phenotype_count_must_match_genotypes():
    assert error(read_phenotypes, WHEAT / "wheat.Y", n_expected=600, genotype_path="geno.txt") == (
        f"{WHEAT}/wheat.Y: 599 phenotype rows but geno.txt has 600 individuals; give one row per genotyped "
        "individual in the same order, or ids in the first column of both files"
    )


def test_ids_header_missing_and_separators(tmp_path):
    text = "id,snp1,snp2,snp3\nA,0,1,2\nB,NA,.,\nC,2,nan,1.0\n"
    g = read_genotypes(write(tmp_path, "g.csv", text))
    assert g.ids == ["A", "B", "C"] and g.markers == ["snp1", "snp2", "snp3"] and g.has_ids
    np.testing.assert_array_equal(g.codes, [[0, 1, 2], [3, 3, 3], [2, 3, 1]])
    tsv = read_genotypes(write(tmp_path, "g.tsv", text.replace(",", "\t")))
    np.testing.assert_array_equal(tsv.codes, g.codes)
    spaces = read_genotypes(write(tmp_path, "g.txt", "A  0 1   2\n B\t2 NA 1\n"))
    np.testing.assert_array_equal(spaces.codes, [[0, 1, 2], [2, 3, 1]])
    assert spaces.ids == ["A", "B"] and spaces.markers == ["m1", "m2", "m3"]


def test_r_style_header_without_id_name(tmp_path):
    g = read_genotypes(write(tmp_path, "g.txt", "m1 m2\nA 0 1\nB 1 2\n"))
    assert g.ids == ["A", "B"] and g.markers == ["m1", "m2"]
    g = read_genotypes(write(tmp_path, "g.csv", '"","rs1","rs2"\n"A",0,1\n"B",2,1\n'))
    assert g.ids == ["A", "B"] and g.markers == ["rs1", "rs2"]
    np.testing.assert_array_equal(g.codes, [[0, 1], [2, 1]])


def test_forcing_layout(tmp_path):
    path = write(tmp_path, "g.txt", "10 20 30\n101 0 1\n102 2 1\n")
    g = read_genotypes(path, header=True, ids=True)
    assert g.ids == ["101", "102"] and g.markers == ["20", "30"]
    np.testing.assert_array_equal(g.codes, [[0, 1], [2, 1]])
    assert error(read_genotypes, path) == (
        f"{path}:1: column 1 (marker m1): '10' is not a genotype; use 0, 1 or 2 (copies of the counted allele), "
        "or NA for missing, or read column 1 as individual ids (ids=True)"
    )
    with pytest.raises(InputError, match="'0,1' is not a genotype"):
        read_genotypes(write(tmp_path, "s2.txt", "1 2\n1 0,1\n"), sep=" ")


def test_windows_line_endings(tmp_path):
    g = read_genotypes(write(tmp_path, "g.csv", "id,a,b\r\nx,0,1\r\ny,2,\r\n"))
    assert g.ids == ["x", "y"] and g.markers == ["a", "b"]
    np.testing.assert_array_equal(g.codes, [[0, 1], [2, 3]])
    g = read_genotypes(write(tmp_path, "g.txt", "0 1 2\r\n2 1 0\r\n"))
    np.testing.assert_array_equal(g.codes, [[0, 1, 2], [2, 1, 0]])
    p = read_phenotypes(write(tmp_path, "p.txt", "id yield\r\nx 1.5\r\ny NA\r\n"))
    assert p.ids == ["x", "y"] and p.names == ["yield"]
    np.testing.assert_array_equal(p.values, [[1.5], [np.nan]])


def test_gzip_and_blank_lines(tmp_path):
    path = tmp_path / "g.txt.gz"
    path.write_bytes(gzip.compress(b"0 1\n\n2 2\n"))
    np.testing.assert_array_equal(read_genotypes(path).codes, [[0, 1], [2, 2]])


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 1 2\n1 3 0\n", "g.txt:2: column 2 (marker m2): '3' is not a genotype"),
        ("0 1 2\n1 -1 0\n", "g.txt:2: column 2 (marker m2): '-1' is not a genotype"),
        ("0 1 2\n1 -9 0\n", "g.txt:2: column 2 (marker m2): '-9' is not a genotype"),
        ("0 1 2\n\n1 0 0.5\n", "g.txt:3: column 3 (marker m3): '0.5' is not a genotype"),
        ("0 1 2\n1 AA 0\n", "g.txt:2: column 2 (marker m2): 'AA' is not a genotype"),
        ("id a b\nx 0 1\ny 1 x\n", "g.txt:3: column 3 (marker b): 'x' is not a genotype"),
    ],
)
def test_bad_genotype_values(tmp_path, text, message):
    path = write(tmp_path, "g.txt", text)
    assert error(read_genotypes, path) == (
        f"{tmp_path}/{message}; use 0, 1 or 2 (copies of the counted allele), or NA for missing"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 1 2\n1 0\n2 2 2\n", "g.txt:2: 2 fields, but line 1 has 3"),
        ("0 1 2\n1 0 1 1\n", "g.txt:2: 4 fields, but line 1 has 3"),
        ("0 1 2\n1 0 1\n1 1 NA\n1 0\n", "g.txt:4: 2 fields, but line 1 has 3"),
        ("0,1,2\n1,0,1,\n", "g.txt:2: 4 fields, but line 1 has 3"),
    ],
)
def test_ragged_genotype_rows(tmp_path, text, message):
    path = write(tmp_path, "g.txt", text)
    assert error(read_genotypes, path) == f"{tmp_path}/{message}; give every line the same number of columns"


def test_empty_and_header_only_files(tmp_path):
    path = write(tmp_path, "e.txt", "")
    assert error(read_genotypes, path) == f"{path}: file is empty; give a file with records"
    path = write(tmp_path, "b.txt", "\n  \n")
    assert error(read_genotypes, path) == f"{path}: file is empty; give a file with one individual per line"
    path = write(tmp_path, "h.txt", "id snp1 snp2\n")
    assert error(read_genotypes, path) == f"{path}: only a header line, no data; add one line per individual"
    path = write(tmp_path, "h2.txt", "id a b c\nx 0 1\n")
    assert (
        error(read_genotypes, path) == f"{path}:1: header has 4 names but line 2 has 3 fields; give one name per column"
    )


def test_phenotypes_matched_by_id(tmp_path):
    geno_ids = ["a", "b", "c"]
    path = write(tmp_path, "p.tsv", "id\th\tw\nc\t3\t30\na\t1\t\nb\t2\t20\n")
    p = read_phenotypes(path, genotype_ids=geno_ids, genotype_path="g.txt")
    assert p.ids == geno_ids and p.names == ["h", "w"]
    np.testing.assert_array_equal(p.values, [[1, np.nan], [2, 20], [3, 30]])
    assert read_phenotypes(path, traits=["w"], genotype_ids=geno_ids).values[:, 0].tolist()[1:] == [20, 30]
    msg = error(read_phenotypes, path, genotype_ids=["a", "b", "d", "e"], genotype_path="g.txt")
    assert msg == (
        f"{path}: 2 individuals of g.txt have no row here (d, e) and 1 ids here are not in g.txt (c); "
        "give both files the same individuals"
    )
    dup = write(tmp_path, "d.tsv", "id\th\na\t1\na\t2\n")
    assert error(read_phenotypes, dup, genotype_ids=["a"]) == (
        f"{dup}: individual 'a' appears more than once; give each individual one row"
    )


def test_phenotype_errors(tmp_path):
    path = write(tmp_path, "p.txt", "1.0 2.0\n3.0 high\n")
    assert error(read_phenotypes, path) == f"{path}:2: column 2: 'high' is not a number; use numbers, or NA for missing"
    path = write(tmp_path, "p2.txt", "1.0 2.0\n3.0\n")
    assert (
        error(read_phenotypes, path)
        == f"{path}:2: 1 fields, but line 1 has 2; give every line the same number of columns"
    )
    path = write(tmp_path, "p3.txt", "yield height\n1 2\n")
    assert error(read_phenotypes, path, traits=["weight"]) == (
        f"{path}: no trait 'weight'; choose one of yield, height, or a trait number 1..2"
    )
    assert (
        error(read_phenotypes, path, traits=[3])
        == f"{path}: no trait '3'; choose one of yield, height, or a trait number 1..2"
    )
    assert read_phenotypes(path, traits=["height", "1"]).values.tolist() == [[2, 1]]
    assert error(read_phenotypes, path, n_expected=2) == (
        f"{path}: 1 phenotype rows but the genotype matrix has 2 individuals; give one row per genotyped "
        "individual in the same order, or ids in the first column of both files"
    )


def test_token_spellings(tmp_path):
    path = write(tmp_path, "g.txt", "0 1 2 NA na NaN nan NAN .\n1.0 2.0 0.0 1.00 +1 2e0 0 1 2")  # no final newline
    np.testing.assert_array_equal(
        read_genotypes(path).codes, [[0, 1, 2, 3, 3, 3, 3, 3, 3], [1, 2, 0, 1, 1, 2, 0, 1, 2]]
    )
    path = write(tmp_path, "q.csv", '\ufeff"id","a","b"\n"x","1",""\n"y"," 2 ","NA"\n')
    g = read_genotypes(path)
    assert g.ids == ["x", "y"] and g.markers == ["a", "b"]
    np.testing.assert_array_equal(g.codes, [[1, 3], [2, 3]])


@pytest.mark.parametrize("block_bytes", [1, 7, 64])
def test_small_blocks_give_the_same_matrix_and_line_numbers(tmp_path, monkeypatch, block_bytes):
    import dnacnn.io.genotype as genotype

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(9, 5))
    tokens = np.array(["0", "1", "2", "NA"])[codes]
    lines = ["\r\n", "id\tm1\tm2\tm3\tm4\tm5\r\n"] + [f"i{r}\t" + "\t".join(t) + "\r\n" for r, t in enumerate(tokens)]
    lines.insert(5, "\r\n")  # a blank line inside the data
    path = write(tmp_path, "g.tsv", "".join(lines))
    monkeypatch.setattr(genotype, "_BLOCK_BYTES", block_bytes)
    g = read_genotypes(path)
    assert g.ids == [f"i{r}" for r in range(9)] and g.markers == ["m1", "m2", "m3", "m4", "m5"]
    np.testing.assert_array_equal(g.codes, codes)
    bad = path.read_text().replace("i7\t", "i7\t5", 1)
    path.write_text(bad)
    assert error(read_genotypes, path).startswith(f"{path}:11: column 2 (marker m1): '5")


# --- VCF / BCF / PLINK 1 binary, and QC -----------------------------------------------------

import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402

from dnacnn.errors import DnacnnError  # noqa: E402
from dnacnn.io.genotype import detect_genotype_format, read_genotype_input  # noqa: E402
from dnacnn.io.genotype_qc import GenotypeQC, GenotypeSummary  # noqa: E402

GENO = DATA / "genotypes"  # written by make_genotypes.py there (pysam, bed-reader)
needs_cyvcf2 = pytest.mark.skipif(importlib.util.find_spec("cyvcf2") is None, reason="cyvcf2 not installed")
needs_bed_reader = pytest.mark.skipif(importlib.util.find_spec("bed_reader") is None, reason="bed-reader not installed")
VCF_HEADER = '##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
SMALL_IDS = [f"G{i:02d}" for i in range(1, 9)]
# the multi-allelic record of small.vcf (A -> C,T): 0/1 1/2 2/2 0/0 ./. 1/1 0/2 1/0
MULTI_C = [1, 1, 0, 0, 3, 2, 0, 1]
MULTI_T = [0, 1, 2, 0, 3, 0, 1, 0]


def encode_means(codes: np.ndarray) -> np.ndarray:
    """Marker means as dnacnn.encode computes them from the whole matrix."""
    missing = codes == 3
    counts = np.maximum((~missing).sum(axis=0), 1)
    return (np.where(missing, 0, codes).sum(axis=0) / counts).astype(np.float32)


def vcf_file(tmp_path, rows: list[str], samples=("a", "b", "c"), header=VCF_HEADER, name="g.vcf") -> Path:
    """A VCF from record lines (tab-separated columns may be written as runs of spaces)."""
    lines = [header + COLUMNS + "".join("\t" + s for s in samples)]
    lines += ["\t".join(r.split()) for r in rows]
    return write(tmp_path, name, "\n".join(lines) + "\n")


def matrix_to_vcf(tmp_path, codes: np.ndarray, ids, rng, name="m.vcf") -> Path:
    """Codes (n, m) as VCF text, each diploid call written phased or unphased at random."""
    rows = []
    for j in range(codes.shape[1]):
        calls = []
        for c in codes[:, j]:
            sep = "|" if rng.random() < 0.5 else "/"
            calls.append(("./.", f"0{sep}0", ("0/1", "1|0", "0|1")[int(rng.integers(3))], f"1{sep}1")[(int(c) + 1) % 4])
        rows.append(f"1 {j + 1} m{j + 1} A G . PASS . GT " + " ".join(calls))
    return vcf_file(tmp_path, rows, samples=ids, name=name)


def matrix_to_plink(tmp_path, codes: np.ndarray, ids, name="m") -> Path:
    from bed_reader import to_bed

    values = codes.astype(np.int8)
    values[values == 3] = -127
    m = codes.shape[1]
    to_bed(
        tmp_path / f"{name}.bed",
        values,
        properties={
            "iid": list(ids),
            "sid": [f"m{j + 1}" for j in range(m)],
            "allele_1": ["G"] * m,
            "allele_2": ["A"] * m,
        },
        num_threads=1,
    )
    return tmp_path / f"{name}.bed"


def matrix_to_text(tmp_path, codes: np.ndarray, ids, name="m.txt") -> Path:
    lines = ["id " + " ".join(f"m{j + 1}" for j in range(codes.shape[1]))]
    lines += [i + " " + " ".join("NA" if c == 3 else str(c) for c in row) for i, row in zip(ids, codes)]
    return write(tmp_path, name, "\n".join(lines) + "\n")


def small_inputs():
    vcf = [pytest.param(GENO / f, "auto", marks=needs_cyvcf2, id=f) for f in ("small.vcf", "small.vcf.gz", "small.bcf")]
    plink = [
        pytest.param(GENO / f, "auto", marks=needs_bed_reader, id=f) for f in ("small.bed", "small.bim", "small.fam")
    ]
    return vcf + plink + [pytest.param(GENO / "small", "plink", marks=needs_bed_reader, id="prefix")]


@pytest.mark.parametrize("path, fmt", small_inputs())
def test_vcf_and_plink_give_the_numeric_matrix(path, fmt):
    ref = read_genotypes(GENO / "small.txt")
    g = read_genotype_input(path, fmt)
    np.testing.assert_array_equal(g.codes, ref.codes)
    assert g.codes.dtype == np.uint8 and g.codes.flags.c_contiguous
    assert g.ids == ref.ids == SMALL_IDS and g.has_ids
    assert g.markers == ref.markers and g.markers[2] == "1:3000:G:A"  # ID '.' -> CHROM:POS:REF:ALT
    assert g.counted == ["G", "T", "A", "C", "C", "T", "T", "G", "A", "C", "G", "T"]  # ALT = A1
    np.testing.assert_array_equal(g.marker_means, encode_means(ref.codes))
    assert g.qc.markers_kept == 12 and g.qc.individuals_kept == 8 and g.qc.removed_ids == []


def test_numeric_matrix_through_the_same_entry_point():
    ref = read_genotypes(GENO / "small.txt")
    g = read_genotype_input(GENO / "small.txt")
    assert g.codes is ref.codes or np.array_equal(g.codes, ref.codes)
    np.testing.assert_array_equal(g.marker_means, encode_means(ref.codes))
    assert g.qc.describe() == "genotypes (genotype): 8 individuals x 12 markers read; 12 markers kept"


def test_detect_genotype_format(tmp_path):
    assert detect_genotype_format(GENO / "small.vcf") == "vcf"
    assert detect_genotype_format(GENO / "small.bcf") == "vcf"
    for name in ("small.bed", "small.bim", "small.fam", "small"):
        assert detect_genotype_format(GENO / name) == "plink", name
    assert detect_genotype_format(DATA / "bed_peaks.bed") is None  # a BED of peaks is not PLINK
    assert detect_genotype_format(GENO / "small.txt") is None
    renamed = tmp_path / "calls.txt"
    shutil.copy(GENO / "small.vcf", renamed)
    assert detect_genotype_format(renamed) == "vcf"  # by content
    assert detect_genotype_format(tmp_path / "nothing") is None


@needs_cyvcf2
def test_vcf_call_rules_and_summary():
    g = read_genotype_input(GENO / "small.vcf")
    # G02 snp04 is ./1 (half-missing -> missing); pt07 is haploid 0 1 0 . 1 0 1 0 -> 0 2 0 3 2 0 2 0
    assert g.codes[1, 3] == 3
    np.testing.assert_array_equal(g.codes[:, 11], [0, 2, 0, 3, 2, 0, 2, 0])
    s = g.qc
    assert (s.markers_read, s.multiallelic_skipped, s.markers_tested, s.markers_kept) == (13, 1, 12, 12)
    assert (s.half_calls, s.haploid_calls) == (1, 7)
    assert s.describe() == (
        "genotypes (vcf): 8 individuals x 13 markers read; 1 multi-allelic skipped; 12 markers kept; "
        "1 half-missing calls (./1) read as missing; 7 haploid calls counted as homozygous"
    )
    assert s.to_dict()["qc"] == {"maf": 0.0, "max_missing": 1.0, "max_sample_missing": 1.0}
    assert GenotypeSummary.from_dict(json.loads(json.dumps(s.to_dict()))) == s  # as a manifest holds it


@needs_cyvcf2
def test_vcf_mixed_ploidy_half_calls_and_no_alt(tmp_path):
    rows = [
        "1 10 a A G . . . GT 0/1 1 . ./1 1|. 0|0",  # diploid record with haploid and half calls
        "1 20 b A G . . . GT 1 0 . 1 0 1",  # haploid record
        "1 30 . A . . . . GT 0/0 0/0 ./. 0 0/0 0|0",  # ALT '.': monomorphic, named CHROM:POS:REF:.
        "1 40 d A G . . . GT 1|1 0|1 1|0 0/0 ./. 1/1",
    ]
    path = vcf_file(tmp_path, rows, samples=("s1", "s2", "s3", "s4", "s5", "s6"))
    g = read_genotype_input(path)
    np.testing.assert_array_equal(
        g.codes.T, [[1, 2, 3, 3, 3, 0], [2, 0, 3, 2, 0, 2], [0, 0, 3, 0, 0, 0], [2, 1, 1, 0, 3, 2]]
    )
    assert g.markers == ["a", "b", "1:30:A:.", "d"] and g.counted == ["G", "G", ".", "G"]
    assert (g.qc.half_calls, g.qc.haploid_calls) == (2, 7)  # a: s2; b: 5 called; 1:30: s4
    assert read_genotype_input(path, qc=GenotypeQC(maf=0.01)).markers == ["a", "b", "d"]


@needs_cyvcf2
@pytest.mark.parametrize("chunk_bytes", [1, 8, 1 << 20])
def test_vcf_multiallelic_split(chunk_bytes):
    from dnacnn.io.vcf_genotypes import read_vcf_genotypes

    ref = read_genotypes(GENO / "small.txt")
    g = read_vcf_genotypes(GENO / "small.bcf", multiallelic="split", chunk_bytes=chunk_bytes)
    assert g.markers[4:6] == ["multi13:C", "multi13:T"] and g.counted[4:6] == ["C", "T"]
    np.testing.assert_array_equal(g.codes[:, 4], MULTI_C)
    np.testing.assert_array_equal(g.codes[:, 5], MULTI_T)
    np.testing.assert_array_equal(np.delete(g.codes, [4, 5], axis=1), ref.codes)
    assert g.qc.multiallelic_split == 1 and g.qc.multiallelic_skipped == 0 and g.qc.markers_kept == 14
    with pytest.raises(DnacnnError, match="unknown multiallelic='keep'"):
        read_vcf_genotypes(GENO / "small.vcf", multiallelic="keep")


# QC: 10 individuals x 6 markers.  m1 monomorphic (MAF 0); m2 one het (MAF 1/20 = 0.05, kept at
# --maf 0.05); m3 3/10 missing (removed at 0.2); m4 2/10 missing (kept at 0.2); m5 all missing
# (counted under missing, not MAF); m6 common.  Individual i9 misses m4 and m6: 2 of the 3 kept
# markers, removed at --max-sample-missing 0.5.
QC_CODES = np.array(
    [
        [0, 1, 3, 3, 3, 2],
        [0, 0, 3, 0, 3, 1],
        [0, 0, 3, 1, 3, 0],
        [0, 0, 0, 2, 3, 1],
        [0, 0, 1, 1, 3, 2],
        [0, 0, 2, 0, 3, 0],
        [0, 0, 1, 1, 3, 1],
        [0, 0, 0, 2, 3, 1],
        [0, 0, 1, 3, 3, 3],
        [0, 0, 2, 1, 3, 0],
    ],
    dtype=np.uint8,
)
QC_IDS = [f"i{k}" for k in range(10)]


def qc_inputs():
    return [
        pytest.param("genotype", id="matrix"),
        pytest.param("vcf", marks=needs_cyvcf2, id="vcf"),
        pytest.param("plink", marks=needs_bed_reader, id="plink"),
    ]


def qc_input(tmp_path, fmt: str, codes=QC_CODES, ids=QC_IDS) -> Path:
    if fmt == "vcf":
        return matrix_to_vcf(tmp_path, codes, ids, np.random.default_rng(1))
    if fmt == "plink":
        return matrix_to_plink(tmp_path, codes, ids)
    return matrix_to_text(tmp_path, codes, ids)


@pytest.mark.parametrize("fmt", qc_inputs())
@pytest.mark.parametrize("spill", [False, True])
def test_qc_counts_and_result(tmp_path, fmt, spill):
    path = qc_input(tmp_path, fmt)
    qc = GenotypeQC(maf=0.05, max_missing=0.2, max_sample_missing=0.5)
    g = read_genotype_input(path, fmt, qc, spill_dir=tmp_path if spill and fmt != "genotype" else None)
    s = g.qc
    assert (s.markers_read, s.markers_removed_missing, s.markers_removed_maf, s.markers_kept) == (6, 2, 1, 3)
    assert (s.individuals_read, s.individuals_removed, s.individuals_kept, s.removed_ids) == (10, 1, 9, ["i8"])
    assert g.markers == ["m2", "m4", "m6"] and g.ids == QC_IDS[:8] + ["i9"]
    expected = np.delete(QC_CODES[:, [1, 3, 5]], 8, axis=0)
    np.testing.assert_array_equal(g.codes, expected)
    np.testing.assert_array_equal(g.marker_means, encode_means(expected))
    assert s.describe() == (
        f"genotypes ({fmt}): 10 individuals x 6 markers read; 2 removed by missing rate > 0.2; "
        "1 removed by MAF < 0.05; 3 markers kept; 1 individuals removed by missing rate > 0.5 (9 kept)"
    )
    # just above the boundaries: m2 (MAF 0.05) and m4 (missing 0.2) go too
    s = read_genotype_input(path, fmt, GenotypeQC(maf=0.051, max_missing=0.19)).qc
    assert (s.markers_removed_missing, s.markers_removed_maf, s.markers_kept) == (3, 2, 1)
    assert list(tmp_path.glob("dnacnn-genotypes-*")) == []  # spill files are unlinked


@pytest.mark.parametrize("fmt", qc_inputs())
def test_nothing_left_after_qc(tmp_path, fmt):
    path = qc_input(tmp_path, fmt)
    where = path if fmt != "plink" else path.with_suffix(".bed")
    assert error(read_genotype_input, path, fmt, GenotypeQC(maf=0.5, max_missing=0.1)) == (
        f"{where}: no markers left after QC (6 read, 3 removed by missing rate > 0.1, 3 removed by MAF < 0.5); "
        "lower --maf or raise --max-missing, or check that the file holds the genotypes you expect"
    )
    # every individual misses m5 (all missing), 1 of the 6 markers kept
    assert error(read_genotype_input, path, fmt, GenotypeQC(max_sample_missing=0.1)) == (
        f"{where}: no individuals left after QC: all 10 have more than 0.1 of their 6 kept markers missing; "
        "raise --max-sample-missing"
    )


def test_qc_thresholds_are_checked():
    with pytest.raises(DnacnnError, match="--maf must be between 0 and 0.5"):
        read_genotype_input(GENO / "small.txt", qc=GenotypeQC(maf=0.6))
    with pytest.raises(DnacnnError, match="--max-missing must be between 0 and 1"):
        read_genotype_input(GENO / "small.txt", qc=GenotypeQC(max_missing=5))
    with pytest.raises(DnacnnError, match="unknown genotype format 'ped'"):
        read_genotype_input(GENO / "small.txt", "ped")


@needs_cyvcf2
@needs_bed_reader
@pytest.mark.parametrize("chunk_bytes", [1, 100, 1 << 20])
def test_random_genotypes_agree_across_formats_chunks_and_spill(tmp_path, monkeypatch, chunk_bytes):
    import dnacnn.io.genotype_qc as genotype_qc
    from dnacnn.io.plink import read_plink_genotypes
    from dnacnn.io.vcf_genotypes import read_vcf_genotypes

    rng = np.random.default_rng(7)
    n, m = 37, 211
    codes = rng.choice(4, size=(n, m), p=[0.5, 0.3, 0.15, 0.05]).astype(np.uint8)
    codes[:, :20] = rng.choice([0, 3], size=(n, 20), p=[0.97, 0.03])  # rare and monomorphic markers
    codes[:3, 20:40] = 3  # missing-heavy markers
    codes[5, :150] = 3  # a missing-heavy individual
    ids = [f"line{k}" for k in range(n)]
    qc = GenotypeQC(maf=0.02, max_missing=0.06, max_sample_missing=0.3)
    ref = read_genotype_input(matrix_to_text(tmp_path, codes, ids), "genotype", qc)
    assert ref.qc.markers_removed_maf > 0 and ref.qc.markers_removed_missing > 0 and ref.qc.removed_ids == ["line5"]
    monkeypatch.setattr(genotype_qc, "_BLOCK_BYTES", 50)  # many blocks
    monkeypatch.setattr(genotype_qc, "_BAND_BYTES", 300)  # many bands
    vcf = matrix_to_vcf(tmp_path, codes, ids, rng)
    bed = matrix_to_plink(tmp_path, codes, ids)
    for spill in (None, tmp_path):
        for g in (
            read_vcf_genotypes(vcf, qc, chunk_bytes=chunk_bytes, spill_dir=spill),
            read_plink_genotypes(bed, qc, chunk_bytes=chunk_bytes, spill_dir=spill, num_threads=1),
        ):
            np.testing.assert_array_equal(np.asarray(g.codes), ref.codes)
            assert g.ids == ref.ids and g.markers == ref.markers
            np.testing.assert_array_equal(g.marker_means, ref.marker_means)
            assert g.qc.describe().split(":", 1)[1] == ref.qc.describe().split(":", 1)[1]
            assert isinstance(g.codes, np.memmap) == (spill is not None)


@needs_cyvcf2
def test_phenotypes_matched_to_vcf_ids_and_qc_removals(tmp_path):
    g = read_genotype_input(GENO / "small.vcf")
    rows = [f"{i}\t{k}" for k, i in enumerate(SMALL_IDS)]
    pheno = write(tmp_path, "p.tsv", "id\tyield\n" + "\n".join(reversed(rows)) + "\n")
    p = read_phenotypes(pheno, genotype_ids=g.ids, genotype_path=GENO / "small.vcf")
    assert p.ids == SMALL_IDS
    np.testing.assert_array_equal(p.values[:, 0], np.arange(8))
    # an individual removed by QC: its phenotype row is dropped, the rest still match
    p = read_phenotypes(pheno, genotype_ids=SMALL_IDS[1:], removed_ids=["G01"])
    np.testing.assert_array_equal(p.values[:, 0], np.arange(1, 8))
    no_ids = write(tmp_path, "p.txt", "\n".join(str(k) for k in range(8)) + "\n")
    assert error(read_phenotypes, no_ids, genotype_path="g.vcf", removed_ids=["G01"]) == (
        f"{no_ids}: genotype QC removed 1 individuals of g.vcf, so phenotype rows must be matched by id, and this "
        "file has no id column; put individual ids in the first column, or keep every individual "
        "(no individual missing-rate filter)"
    )
    wrong = write(tmp_path, "w.tsv", "id\ty\nG01\t1\nX\t2\n")
    assert "6 individuals of g.vcf have no row here" in error(
        read_phenotypes, wrong, genotype_ids=SMALL_IDS[:7], genotype_path="g.vcf"
    )


# --- one-line errors: VCF ---------------------------------------------------------------------


@needs_cyvcf2
def test_vcf_errors(tmp_path):
    no_gt_header = '##fileformat=VCFv4.2\n##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . DP 3 4 5"], header=no_gt_header, name="nogt.vcf")
    assert error(read_genotype_input, path) == (
        f"{path}: no GT field in the header (no ##FORMAT=<ID=GT,...> line), so there are no genotype calls to read; "
        "give a VCF with called genotypes (GT); dosage-only (DS) or likelihood-only files are not read"
    )
    header = VCF_HEADER + '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . GT 0/0 0/1 1/1", "1 20 rs2 A G . . . DP 3 4 5"], header=header)
    assert error(read_genotype_input, path) == (
        f"{path}:6: 1:20 (rs2) has no GT in its FORMAT column (DP); give every record a GT call per sample"
    )
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . GT 0/0 0/1 1/1", "1 20 . A G . . . GT 0/1 0/0/1/1 1/1"])
    assert error(read_genotype_input, path) == (
        f"{path}:5: 1:20: sample 'b' has a 4-allele call 0/0/1/1; only haploid and diploid calls can be coded 0/1/2; "
        "remove polyploid samples or records first (bcftools view -s / -e)"
    )
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . GT 0/0 0/1 1/1", "1 20 rs2 A G . . . GT 0/0 0/1 0/2"])
    assert error(read_genotype_input, path) == (
        f"{path}:5: 1:20 (rs2): sample 'c' has allele index 2 but the record has 2 alleles (REF + 1 ALT); "
        "fix the GT or the ALT column"
    )
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . GT 0/0 0/1 1/1", "1 20 rs2 A G . . . GT 0/0 0/1"])
    assert error(read_genotype_input, path) == (
        f"{path}:5: htslib cannot read this record (see its message above): wrong number of columns, a malformed "
        "field, or a truncated or corrupt file; fix or re-create the file (bcftools view reports the same problem)"
    )
    path = vcf_file(tmp_path, [], name="empty.vcf")
    assert error(read_genotype_input, path) == f"{path}: no variant records after the header; give a VCF with records"
    path = write(tmp_path, "sites.vcf", VCF_HEADER + COLUMNS.rsplit("\t", 1)[0] + "\n1\t10\t.\tA\tG\t.\t.\t.\n")
    assert error(read_genotype_input, path).startswith(f"{path}: no samples: the #CHROM line has no columns after")
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . GT 0/0 0/1 1/1"], samples=("a", "b", "a"), name="dup.vcf")
    assert error(read_genotype_input, path).startswith(
        f"{path}: htslib cannot parse the VCF header (see its message above, e.g. a duplicated sample name)"
    )
    path = write(tmp_path, "junk.vcf", "this is not a vcf\n")
    assert error(read_genotype_input, path) == (
        f"{path}: not a VCF or BCF file (htslib cannot read it); give a .vcf, .vcf.gz or .bcf"
    )


@needs_cyvcf2
def test_truncated_bgzip_vcf(tmp_path):
    from Bio import bgzf

    ids = [f"s{k}" for k in range(50)]
    codes = np.random.default_rng(3).integers(0, 4, size=(50, 2000)).astype(np.uint8)
    text = matrix_to_vcf(tmp_path, codes, ids, np.random.default_rng(4))
    gz = tmp_path / "big.vcf.gz"
    with bgzf.BgzfWriter(str(gz), "wb") as out:
        out.write(text.read_bytes())
    assert read_genotype_input(gz).codes.shape == (50, 2000)
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])
    message = error(read_genotype_input, gz)
    assert message.startswith(f"{gz}:") and "htslib cannot read this record" in message
    line = int(message.split(":")[1])
    assert 3 < line < 2003  # a line number inside the records


# --- one-line errors: PLINK -------------------------------------------------------------------


def plink_copy(tmp_path, name="c") -> Path:
    for ext in (".bed", ".bim", ".fam"):
        shutil.copy(GENO / f"small{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / f"{name}.bed"


@needs_bed_reader
def test_plink_size_errors(tmp_path):
    bed = plink_copy(tmp_path)
    assert bed.stat().st_size == 3 + 12 * 2  # 8 individuals: 2 bytes per marker
    bed.write_bytes(bed.read_bytes()[:-3])
    assert error(read_genotype_input, bed, "plink") == (
        f"{bed}: truncated: 24 bytes but 8 individuals (.fam) x 12 markers (.bim) take 27 bytes; "
        "re-copy or re-create the .bed (plink --make-bed)"
    )
    bed.write_bytes(bed.read_bytes()[:-1])  # cut at a marker boundary
    assert error(read_genotype_input, bed, "plink") == (
        f"{bed}: holds 10 markers but c.bim lists 12 (8 individuals (.fam) x 12 markers (.bim) take 27 bytes, "
        "the .bed has 23); the .bed is truncated, or not from the same fileset as c.bim; re-create them together"
    )
    bed = plink_copy(tmp_path)
    fam = bed.with_suffix(".fam")
    fam.write_text(fam.read_text() + "".join(f"trial3 X{k} 0 0 0 -9\n" for k in range(4)))
    assert error(read_genotype_input, bed, "plink") == (
        f"{bed}: c.fam lists 12 individuals but the .bed holds 2 bytes per marker, i.e. 5-8 individuals "
        "(12 individuals (.fam) x 12 markers (.bim) take 39 bytes, the .bed has 27); "
        "c.fam is not from the same fileset as the .bed (or the .bed is truncated); re-create them together"
    )
    bed = plink_copy(tmp_path)
    bim = bed.with_suffix(".bim")
    bim.write_text(bim.read_text() + "3\tsnp13\t0\t2000\tA\tG\n")
    assert error(read_genotype_input, bed, "plink").startswith(f"{bed}: holds 12 markers but c.bim lists 13")


@needs_bed_reader
def test_plink_file_errors(tmp_path):
    bed = plink_copy(tmp_path)
    bed.write_bytes(b"\x6c\x1b\x02" + bed.read_bytes()[3:])
    assert error(read_genotype_input, bed, "plink") == (
        f"{bed}: not a PLINK 1 .bed file (starts with 6c1b02, not 6c1b01); "
        "convert it with plink --make-bed (PLINK 2 .pgen and text .ped files are not read)"
    )
    bed = plink_copy(tmp_path)
    bed.with_suffix(".fam").unlink()
    assert error(read_genotype_input, bed, "plink") == (
        f"{bed.with_suffix('.fam')}: file not found (a PLINK 1 fileset is X.bed + X.bim + X.fam); "
        "put the three files together"
    )
    bed = plink_copy(tmp_path)
    fam = bed.with_suffix(".fam")
    fam.write_text(fam.read_text().replace("trial1 G03 0 0 0 0", "G03 0 0"))
    assert error(read_genotype_input, bed, "plink") == (
        f"{fam}:3: 3 fields, but a .fam line has 6 (FID IID father mother sex phenotype); "
        "write the .fam with plink, or fill the missing columns with 0"
    )
    bed = plink_copy(tmp_path)
    bim = bed.with_suffix(".bim")
    bim.write_text(bim.read_text().replace("snp05\t0.0\t800\t", "snp05\t800\t"))
    assert error(read_genotype_input, bed, "plink") == (
        f"{bim}:5: 5 fields, but a .bim line has 6 (chromosome ID cM position A1 A2); write the .bim with plink"
    )


@needs_bed_reader
def test_plink_duplicate_iids_become_fid_iid(tmp_path):
    bed = plink_copy(tmp_path)
    fam = bed.with_suffix(".fam")
    fam.write_text(fam.read_text().replace("G05", "G01"))  # G01 in trial1 and in trial2
    g = read_genotype_input(bed, "plink")
    assert g.ids == [f"trial1_G0{k}" for k in (1, 2, 3, 4)] + [f"trial2_G0{k}" for k in (1, 6, 7, 8)]
    fam.write_text(fam.read_text().replace("trial2 G01", "trial1 G01"))
    assert error(read_genotype_input, bed, "plink") == (
        f"{fam}:5: individual trial1 G01 (FID IID) also on line 1; give each individual one line"
    )


@needs_cyvcf2
@needs_bed_reader
def test_the_wheat_matrix_as_vcf_and_plink_gives_the_same_store(tmp_path):
    """The issue's check: the wheat slice converted to VCF (pysam-free text, phased and unphased
    calls) and to PLINK (bed-reader) encodes to the same store as the matrix: codes, labels,
    marker means, split, and the phenotypes matched to the same individuals."""
    import pandas as pd

    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.io.genotype import read_genotypes
    from dnacnn.store import Store

    matrix = read_genotypes(DATA / "wheat_slice.X")
    ids = [f"ind{k + 1}" for k in range(len(matrix.ids))]
    codes = np.asarray(matrix.codes)
    sources = {
        "genotype": matrix_to_text(tmp_path, codes, ids),
        "vcf": matrix_to_vcf(tmp_path, codes, ids, np.random.default_rng(0)),
        "plink": matrix_to_plink(tmp_path, codes, ids),
    }
    pheno = tmp_path / "pheno.tsv"
    y = pd.read_csv(DATA / "wheat_slice.Y", sep=r"\s+", header=None, names=["E1", "E2", "E3", "E4"])
    y.insert(0, "id", ids)
    y.sample(frac=1.0, random_state=1).to_csv(pheno, sep="\t", index=False)  # rows in another order: matched by ID
    stores = {
        fmt: Store.open(encode(path, tmp_path / f"{fmt}.store", EncodeOptions(format=fmt, phenotypes=str(pheno),
                                                                             traits=["2"], progress=False)))
        for fmt, path in sources.items()
    }  # fmt: skip
    ref = stores["genotype"]
    assert ref.n == 150 and ref.encoding.length == codes.shape[1]
    for fmt in ("vcf", "plink"):
        store = stores[fmt]
        np.testing.assert_array_equal(np.asarray(store.codes), np.asarray(ref.codes))
        np.testing.assert_array_equal(np.asarray(store.labels), np.asarray(ref.labels))
        np.testing.assert_array_equal(store.marker_means, ref.marker_means)
        np.testing.assert_array_equal(np.asarray(store.split), np.asarray(ref.split))
        assert store.ids == ref.ids and store.manifest["genotype_format"] == fmt
    np.testing.assert_allclose(np.asarray(ref.labels)[:, 0], y.iloc[:, 2].to_numpy(), rtol=1e-6)
