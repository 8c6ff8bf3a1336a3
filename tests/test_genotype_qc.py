"""Genotype QC (dnacnn.io.genotype_qc) through every format: counts, removals, chunks, spill files,
phenotype matching."""

from pathlib import Path

import numpy as np
import pytest
from genotype_files import (
    GENO,
    SMALL_IDS,
    encode_means,
    error,
    matrix_to_plink,
    matrix_to_text,
    matrix_to_vcf,
    needs_bed_reader,
    needs_cyvcf2,
    write,
)

from dnacnn.errors import DnacnnError
from dnacnn.io.genotype import read_genotype_input, read_phenotypes
from dnacnn.io.genotype_qc import GenotypeQC

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
    monkeypatch.setattr(genotype_qc, "_MARKER_BLOCK_BYTES", 50)  # many blocks
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
