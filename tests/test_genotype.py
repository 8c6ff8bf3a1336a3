"""Genotype inputs through one entry point (dnacnn.io.genotype): VCF/BCF and PLINK 1 as the numeric matrix,
format detection, one-line errors."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from genotype_files import (
    COLUMNS,
    DATA,
    GENO,
    SMALL_IDS,
    VCF_HEADER,
    encode_means,
    error,
    matrix_to_plink,
    matrix_to_text,
    matrix_to_vcf,
    needs_bed_reader,
    needs_cyvcf2,
    vcf_file,
    write,
)

from dnacnn.errors import DnacnnError
from dnacnn.io.genotype import detect_genotype_format, read_genotype_input, read_genotypes
from dnacnn.io.genotype_qc import GenotypeQC, GenotypeSummary

# the multi-allelic record of small.vcf (A -> C,T): 0/1 1/2 2/2 0/0 ./. 1/1 0/2 1/0
MULTI_C = [1, 1, 0, 0, 3, 2, 0, 1]
MULTI_T = [0, 1, 2, 0, 3, 0, 1, 0]


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
        f"{path}:5: htslib cannot read this record (htslib: [E::vcf_parse_format_check7] Number of columns at 1:20 "
        "does not match the number of samples (2 vs 3)): wrong number of columns, a malformed "
        "field, or a truncated or corrupt file; fix or re-create the file (bcftools view reports the same problem)"
    )
    path = vcf_file(tmp_path, [], name="empty.vcf")
    assert error(read_genotype_input, path) == f"{path}: no variant records after the header; give a VCF with records"
    path = write(tmp_path, "sites.vcf", VCF_HEADER + COLUMNS.rsplit("\t", 1)[0] + "\n1\t10\t.\tA\tG\t.\t.\t.\n")
    assert error(read_genotype_input, path).startswith(f"{path}: no samples: the #CHROM line has no columns after")
    path = vcf_file(tmp_path, ["1 10 rs1 A G . . . GT 0/0 0/1 1/1"], samples=("a", "b", "a"), name="dup.vcf")
    assert error(read_genotype_input, path).startswith(
        f"{path}: htslib cannot parse the VCF header (htslib: [E::bcf_hdr_add_sample_len] Duplicated sample name 'a'"
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
