"""Write the small genotype fixtures in this folder, each by its format's own library.

The same 8 individuals x 12 biallelic markers in every format:

* ``small.txt``: the numeric matrix (``dnacnn.io.genotype`` layout: ids + header, NA missing);
* ``small.vcf``, ``small.vcf.gz`` (bgzip), ``small.bcf``: written by pysam (htslib), GT only, with
  phased and unphased calls, a half-missing call (``./1``, read as missing), a haploid record
  (chromosome Pt: ``0``/``1``/``.``, read as 0/2/missing) and one multi-allelic record (ALT C,T,
  skipped by default, so the VCF gives exactly the matrix of ``small.txt``);
* ``small.bed``/``.bim``/``.fam``: written by bed-reader with A1 = ALT and A2 = REF (as plink2
  writes them), so counting A1 gives the same matrix.

Run from the repository root:  python tests/data/genotypes/make_genotypes.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
IDS = [f"G{i:02d}" for i in range(1, 9)]
# (chrom, pos, id, ref, alt), in file order: the last (chloroplast) marker is the haploid one; the
# multi-allelic record goes after marker 4 in the VCF only
MARKERS = [
    ("1", 1100, "snp01", "A", "G"),
    ("1", 1250, "snp02", "C", "T"),
    ("1", 3000, ".", "G", "A"),
    ("1", 5020, "snp04", "T", "C"),
    ("2", 800, "snp05", "A", "C"),
    ("2", 1900, "snp06", "G", "T"),
    ("2", 2600, "snp08", "A", "T"),
    ("3", 120, "snp09", "C", "G"),
    ("3", 640, "snp10", "T", "A"),
    ("3", 990, "snp11", "G", "C"),
    ("3", 1500, "snp12", "A", "G"),
    ("Pt", 400, "pt07", "C", "T"),
]
HAPLOID = 11
MULTI = ("1", 6000, "multi13", "A", ("C", "T"))
MULTI_GT = [(0, 1), (1, 2), (2, 2), (0, 0), (None, None), (1, 1), (0, 2), (1, 0)]
# dosage of ALT; 3 = missing
CODES = np.array(
    [
        [0, 1, 2, 0, 1, 2, 1, 0, 2, 1, 0, 0],
        [1, 1, 0, 3, 0, 2, 0, 1, 1, 0, 2, 2],
        [2, 0, 1, 1, 3, 0, 2, 1, 0, 2, 1, 0],
        [0, 2, 1, 2, 1, 1, 1, 0, 0, 1, 3, 3],
        [1, 0, 0, 1, 2, 0, 0, 2, 1, 0, 0, 2],
        [2, 1, 3, 0, 1, 1, 1, 1, 2, 3, 1, 0],
        [0, 0, 2, 1, 0, 3, 2, 0, 1, 1, 2, 2],
        [1, 2, 1, 2, 2, 1, 0, 3, 0, 2, 1, 0],
    ],
    dtype=np.uint8,
)
HALF_CALL = (1, 3)  # individual 2, marker 4: written as ./1, read as missing
PHASED_ROWS = (0, 2, 5)  # individuals whose diploid calls are written phased


def name(marker) -> str:
    chrom, pos, vid, ref, alt = marker
    return vid if vid != "." else f"{chrom}:{pos}:{ref}:{alt}"


def write_matrix() -> None:
    lines = ["id\t" + "\t".join(name(m) for m in MARKERS)]
    for i, row in zip(IDS, CODES):
        lines.append(i + "\t" + "\t".join("NA" if c == 3 else str(c) for c in row))
    (HERE / "small.txt").write_text("\n".join(lines) + "\n")


def gt(code: int, haploid: bool, half: bool) -> tuple:
    if half:
        return (None, 1)
    if code == 3:
        return (None,) if haploid else (None, None)
    if haploid:
        return (0,) if code == 0 else (1,)
    return ((0, 0), (0, 1), (1, 1))[code]


def write_vcfs() -> None:
    import pysam

    header = pysam.VariantHeader()
    for chrom, length in (("1", 10000), ("2", 10000), ("3", 10000), ("Pt", 1000)):
        header.contigs.add(chrom, length=length)
    header.formats.add("GT", 1, "String", "Genotype")
    for i in IDS:
        header.add_sample(i)
    records = [(m, j) for j, m in enumerate(MARKERS)]
    records.insert(4, (MULTI, None))
    for suffix, mode in ((".vcf", "w"), (".vcf.gz", "wz"), (".bcf", "wb")):
        with pysam.VariantFile(str(HERE / f"small{suffix}"), mode, header=header) as out:
            for (chrom, pos, vid, ref, alt), j in records:
                alts = alt if isinstance(alt, tuple) else (alt,)
                rec = out.new_record(contig=chrom, start=pos - 1, alleles=(ref, *alts), id=None if vid == "." else vid)
                for s, sample in enumerate(IDS):
                    if j is None:
                        rec.samples[sample]["GT"] = MULTI_GT[s]
                    else:
                        rec.samples[sample]["GT"] = gt(int(CODES[s, j]), j == HAPLOID, (s, j) == HALF_CALL)
                        rec.samples[sample].phased = s in PHASED_ROWS and j != HAPLOID
                out.write(rec)


def write_plink() -> None:
    from bed_reader import to_bed

    values = CODES.astype(np.int8)
    values[values == 3] = -127
    to_bed(
        HERE / "small.bed",
        values,
        properties={
            "fid": ["trial1"] * 4 + ["trial2"] * 4,
            "iid": IDS,
            "chromosome": [m[0] for m in MARKERS],
            "sid": [m[2] for m in MARKERS],
            "bp_position": [m[1] for m in MARKERS],
            "allele_1": [m[4] for m in MARKERS],  # A1 = ALT: the counted allele
            "allele_2": [m[3] for m in MARKERS],
        },
        count_A1=True,
        num_threads=1,
    )


if __name__ == "__main__":
    write_matrix()
    write_vcfs()
    write_plink()
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("small*"))))
