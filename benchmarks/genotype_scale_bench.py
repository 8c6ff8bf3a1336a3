"""Genotype encode at breeding-programme scale: ``dnacnn encode`` of a PLINK 1 fileset of 10k x 500k.

Writes a synthetic PLINK 1 binary fileset (SNP-major ``.bed`` + ``.bim`` + ``.fam``) of N individuals
x M biallelic markers a chunk of markers at a time (seed 0; allele frequencies uniform in 0.01-0.5,
Hardy-Weinberg genotypes, 1% missing calls), and a phenotype table.  Then, for each size, in fresh
processes under ``/usr/bin/time -v`` (so each peak RSS is its own):

* **bed-reader floor**: bed-reader reading the whole ``.bed`` in the same marker chunks as dnacnn's
  reader and discarding them: the decoding rate no reader built on it can beat;
* **dnacnn encode**: ``dnacnn encode g.bed --format plink --phenotypes g.pheno.tsv -o g.store``
  (QC counts, spill files beside the store, the store written to disk).

Rates are MB/s of ``.bed`` input and million genotypes/s; peak RSS is VmHWM.  A flat peak RSS from
the small size to the large one is the point: memory is bounded by the chunk, not the matrix.

Run:  python benchmarks/genotype_scale_bench.py [--sizes 10000x50000,10000x500000] [--keep]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_bench import machine, markdown_table  # noqa: E402

OUT = HERE / "out" / "genotype_scale_bench"
MARKERS_PER_CHUNK = 20_000
# PLINK 1 two-bit codes for the A1 (counted) dosage 0, 1, 2 and missing
PLINK_CODE = np.array([0b11, 0b10, 0b00, 0b01], dtype=np.uint8)


def write_fileset(prefix: Path, n: int, m: int) -> None:
    """``prefix.bed/.bim/.fam`` and ``prefix.pheno.tsv``, written ``MARKERS_PER_CHUNK`` markers at a time."""
    rng = np.random.default_rng(0)
    per_marker = (n + 3) // 4
    with open(f"{prefix}.bed", "wb") as bed, open(f"{prefix}.bim", "w") as bim:
        bed.write(b"\x6c\x1b\x01")
        for first in range(0, m, MARKERS_PER_CHUNK):
            k = min(MARKERS_PER_CHUNK, m - first)
            p = rng.uniform(0.01, 0.5, k).astype(np.float32)[:, None]
            u = rng.random((k, n), dtype=np.float32)  # one draw per call: Hardy-Weinberg by thresholds
            dosage = (u < 1 - (1 - p) ** 2).astype(np.uint8) + (u < p * p)
            dosage[(u * 4096) % 1 < 0.01] = 3  # missing: 1%, from the draw's low bits
            codes = np.zeros((k, per_marker * 4), dtype=np.uint8)
            codes[:, :n] = PLINK_CODE[dosage]
            quads = codes.reshape(k, per_marker, 4)
            packed = quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6
            bed.write(packed.tobytes())
            bim.writelines(f"1\tm{j + 1}\t0\t{j + 1}\tA\tG\n" for j in range(first, first + k))
    Path(f"{prefix}.fam").write_text("".join(f"f{i + 1}\ti{i + 1}\t0\t0\t0\t-9\n" for i in range(n)))
    Path(f"{prefix}.pheno.tsv").write_text(
        "id\ttrait\n" + "".join(f"i{i + 1}\t{v:.4f}\n" for i, v in enumerate(rng.normal(size=n)))
    )


FLOOR = """
import sys, numpy as np
from bed_reader import open_bed
n, m, step = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open_bed(sys.argv[1], count_A1=True, iid_count=n, sid_count=m) as bed:
    for a in range(0, m, step):
        bed.read(index=np.s_[:, a:a + step], dtype="int8")
"""


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of ``cmd`` under /usr/bin/time -v."""
    result = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result.stderr[-2000:]}")
    text = result.stderr

    def field(name: str) -> str:
        return re.search(rf"{re.escape(name)}: (.+)", text).group(1).strip()

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    seconds = sum(float(x) * 60**i for i, x in enumerate(reversed(wall)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return seconds, cpu, int(field("Maximum resident set size (kbytes)")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000x50000,10000x500000", help="comma-separated NxM")
    parser.add_argument("--keep", action="store_true", help="keep the filesets and stores in benchmarks/out/")
    args = parser.parse_args()
    from dnacnn.io.genotype_qc import CHUNK_BYTES

    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes.split(","):
        n, m = map(int, size.lower().split("x"))
        prefix = OUT / f"g{n}x{m}"
        t0 = time.perf_counter()
        if not Path(f"{prefix}.bed").is_file():
            write_fileset(prefix, n, m)
        print(f"{size}: fileset ready ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        bed_mb = Path(f"{prefix}.bed").stat().st_size / 1e6
        step = max(1, CHUNK_BYTES // n)
        floor = timed([sys.executable, "-c", FLOOR, f"{prefix}.bed", str(n), str(m), str(step)])
        store = Path(f"{prefix}.store")
        shutil.rmtree(store, ignore_errors=True)
        encode = timed(
            [
                *(sys.executable, "-m", "dnacnn", "encode", f"{prefix}.bed", "--format", "plink"),
                *("--phenotypes", f"{prefix}.pheno.tsv", "-o", str(store), "--no-progress"),
            ]
        )
        for name, (wall, cpu, rss) in (("bed-reader floor", floor), ("dnacnn encode", encode)):
            rows.append(
                [f"{n:,} x {m:,}", name, f"{bed_mb:,.0f}", f"{wall:.1f}", f"{cpu:.1f}"]
                + [f"{bed_mb / wall:,.0f}", f"{n * m / wall / 1e6:,.0f}", f"{rss:,.0f}"]
            )
        rows[-1].append(f"{encode[0] / floor[0]:.1f}x")
        rows[-2].append("")
        if not args.keep:
            shutil.rmtree(store, ignore_errors=True)
            for ext in (".bed", ".bim", ".fam", ".pheno.tsv"):
                Path(f"{prefix}{ext}").unlink()
    header = ["individuals x markers", "reader", ".bed MB", "wall s", "CPU s", "MB/s", "M genotypes/s"]
    text = "\n".join(
        [
            "## Genotype encode at scale: PLINK 1 fileset -> store",
            "",
            f"{machine()}; marker chunks of {CHUNK_BYTES / 1e6:.0f} MB of codes; peak RSS from /usr/bin/time -v.",
            "",
            markdown_table([*header, "peak RSS MB", "time vs floor"], rows),
        ]
    )
    print(text)
    (HERE / "out" / "genotype_scale_bench.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
