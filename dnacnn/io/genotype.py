"""Genotype inputs of ``dnacnn encode``: format detection and one reader for matrix, VCF/BCF and PLINK.

Contract: :func:`read_genotype_input` reads any supported genotype format with marker/individual
QC and returns :class:`~dnacnn.io.genotype_qc.Genotypes` (codes ``(n, m)`` uint8, 0, 1, 2 =
copies of the counted allele and 3 = missing, :data:`dnacnn.codes.GENOTYPE_MISSING`, with
individual ids and marker names); :func:`detect_genotype_format` tells VCF/BCF and PLINK inputs
from other files.  The readers live in :mod:`dnacnn.io.genotype_matrix` (numeric text matrix,
:func:`read_genotypes`), :mod:`dnacnn.io.vcf_genotypes`, :mod:`dnacnn.io.plink` and
:mod:`dnacnn.io.genotype_qc`; phenotype tables in :mod:`dnacnn.io.phenotypes`
(:func:`read_phenotypes`); this module re-exports those two readers.  Every problem raises a
one-line :class:`~dnacnn.errors.InputError` naming the file, and the line and column where there
is one.
"""

from __future__ import annotations

import os
from pathlib import Path

from dnacnn.errors import DnacnnError, InputError
from dnacnn.io import read_head
from dnacnn.io.genotype_matrix import read_genotypes
from dnacnn.io.genotype_qc import Genotypes
from dnacnn.io.phenotypes import Phenotypes, read_phenotypes

__all__ = [
    "GENOTYPE_FORMATS",
    "PLINK_MAGIC",
    "Genotypes",
    "Phenotypes",
    "detect_genotype_format",
    "read_genotype_input",
    "read_genotypes",
    "read_phenotypes",
]


GENOTYPE_FORMATS = ("genotype", "vcf", "plink")


_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


_PLINK_SUFFIXES = (".bed", ".bim", ".fam")


PLINK_MAGIC = b"\x6c\x1b"


def detect_genotype_format(path: str | os.PathLike) -> str | None:
    """``"vcf"`` or ``"plink"`` when ``path`` is one, else None (then the path may still be a
    numeric matrix: see :func:`dnacnn.io.detect_format`).

    VCF/BCF: a ``.vcf``, ``.vcf.gz``, ``.vcf.bgz`` or ``.bcf`` name, or content starting with
    ``##fileformat=VCF`` or ``BCF``.  PLINK: ``X.bed``, ``X.bim``, ``X.fam`` or the prefix ``X``
    when ``X.bed`` starts with the PLINK magic bytes (so a BED file of peaks is never taken for one).
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith(_VCF_SUFFIXES):
        return "vcf"
    try:
        bed = p.with_suffix(".bed") if p.suffix.lower() in _PLINK_SUFFIXES else p.with_name(p.name + ".bed")
        if bed.is_file():
            with open(bed, "rb") as f:
                if f.read(2) == PLINK_MAGIC:
                    return "plink"
        if p.is_file() and p.stat().st_size:
            head = read_head(p, 16)
            if head.startswith((b"##fileformat=VCF", b"BCF\x02")):
                return "vcf"
    except (OSError, InputError):
        return None
    return None


def read_genotype_input(
    path: str | os.PathLike,
    fmt: str = "auto",
    qc=None,
    *,
    multiallelic: str = "skip",
    spill_dir: str | os.PathLike | None = None,
) -> Genotypes:
    """Read genotypes in any supported format, with QC: the one call ``dnacnn encode`` needs.

    Parameters
    ----------
    path : path
        A numeric matrix (``fmt="genotype"``), a VCF/VCF.gz/BCF (``"vcf"``) or a PLINK 1 binary
        fileset given by its ``.bed`` (or ``.bim``/``.fam``/prefix) (``"plink"``).
    fmt : str
        ``"auto"`` (detect with :func:`detect_genotype_format`, else a numeric matrix), or one of
        :data:`GENOTYPE_FORMATS`.
    qc : dnacnn.io.genotype_qc.GenotypeQC, optional
        MAF / missing-rate thresholds (default: keep everything).
    multiallelic : str
        VCF only: ``"skip"`` records with more than one ALT allele (default) or ``"split"`` them
        into one marker per ALT allele (the dosage of that allele).
    spill_dir : path, optional
        VCF and PLINK only: keep the markers that pass QC in temporary files in this directory
        instead of memory; ``codes`` is then a read-only memmap and memory stays ~60 MB at any
        size.  Default: in memory (peak ~ the output plus ~60 MB).

    Returns
    -------
    Genotypes
        With ``counted`` (VCF/PLINK), ``marker_means`` and ``qc`` (a
        :class:`~dnacnn.io.genotype_qc.GenotypeSummary`) filled.
    """
    from dnacnn.io.genotype_qc import GenotypeQC, apply_qc

    qc = qc or GenotypeQC()
    qc.check()
    if fmt == "auto":
        fmt = detect_genotype_format(path) or "genotype"
    if fmt == "vcf":
        from dnacnn.io.vcf_genotypes import read_vcf_genotypes

        return read_vcf_genotypes(path, qc, multiallelic=multiallelic, spill_dir=spill_dir)
    if fmt == "plink":
        from dnacnn.io.plink import read_plink_genotypes

        return read_plink_genotypes(path, qc, spill_dir=spill_dir)
    if fmt == "genotype":
        return apply_qc(read_genotypes(path), qc, path)
    raise DnacnnError(f"unknown genotype format {fmt!r}; use one of {', '.join(GENOTYPE_FORMATS)}")
