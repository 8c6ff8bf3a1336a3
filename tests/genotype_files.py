"""Genotype test inputs: file writers (text matrix, VCF, PLINK 1) from a code matrix, and one-line error capture."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dnacnn.errors import InputError

DATA = Path(__file__).parent / "data"
GENO = DATA / "genotypes"  # written by make_genotypes.py there (pysam, bed-reader)
WHEAT = Path(__file__).resolve().parents[2] / "shared" / "data" / "wheat-bglr"  # ../shared beside the checkout
needs_wheat = pytest.mark.skipif(not (WHEAT / "wheat.X").is_file(), reason="shared wheat data not present")
needs_cyvcf2 = pytest.mark.skipif(importlib.util.find_spec("cyvcf2") is None, reason="cyvcf2 not installed")
needs_bed_reader = pytest.mark.skipif(importlib.util.find_spec("bed_reader") is None, reason="bed-reader not installed")
VCF_HEADER = '##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
SMALL_IDS = [f"G{i:02d}" for i in range(1, 9)]


def write(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def error(func, *args, **kwargs) -> str:
    with pytest.raises(InputError) as e:
        func(*args, **kwargs)
    return str(e.value)


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
