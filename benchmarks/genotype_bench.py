"""Genotype readers: VCF / VCF.gz / BCF and PLINK 1 binary beside the numeric-matrix reader.

Writes one deterministic genotype set of N individuals x M biallelic markers (seed 0; allele
frequencies uniform in 0.01-0.5, Hardy-Weinberg genotypes, 1% missing calls, half the calls
phased) under ``benchmarks/out/genotype_bench/`` in every format, each by its own tool:

* ``matrix.tsv``: the numeric matrix (ids + header, NA missing), the baseline format;
* ``geno.vcf``: VCF text (GT only) with 0.5% extra multi-allelic records (skipped by the reader,
  so it gives the same matrix), written with numpy;
* ``geno.vcf.gz`` (bgzip, by pysam/htslib or Biopython's bgzf) and ``geno.bcf`` (cyvcf2/htslib);
* ``geno.bed/.bim/.fam``: bed-reader's ``to_bed`` (A1 = ALT).

Then times each reader in a fresh process (so its peak RSS, VmHWM, is its own): seconds (best of R),
CPU seconds, markers/s, peak RSS and peak RSS above the imports, against the output size (N x M
bytes).  Baselines in the same run: dnacnn's numeric-matrix reader and ``pandas.read_csv`` on the
same genotypes, and the libraries' own floors (cyvcf2 decoding every record's GT array;
bed-reader reading the whole matrix at once).  Every dnacnn reader's matrix is checked to equal
the numeric reader's (sha256 of the codes).

Run:  python benchmarks/genotype_bench.py [--n 2000] [--m 25000] [--repeats 1] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "genotype_bench"
MULTI_EVERY = 200  # one extra multi-allelic VCF record per this many markers

# --------------------------------------------------------------------------- inputs


def genotypes(n: int, m: int, chunk: int = 5000):
    """Codes ``(n, k)`` uint8 blocks of markers (3 = missing), deterministic."""
    rng = np.random.default_rng(0)
    for j0 in range(0, m, chunk):
        k = min(chunk, m - j0)
        p = rng.uniform(0.01, 0.5, size=k)
        codes = (rng.random((n, k)) < p).astype(np.uint8) + (rng.random((n, k)) < p)
        codes[rng.random((n, k)) < 0.01] = 3
        yield j0, codes


def write_inputs(n: int, m: int, out: Path, full: bool = True) -> dict[str, Path]:
    """Every format (``full``), or only VCF.gz and PLINK (the memory-scaling run)."""
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{n}x{m}"
    paths = {
        "matrix": out / f"matrix_{tag}.tsv",
        "vcf": out / f"geno_{tag}.vcf",
        "vcf.gz": out / f"geno_{tag}.vcf.gz",
        "bcf": out / f"geno_{tag}.bcf",
        "plink": out / f"geno_{tag}.bed",
    }
    if not full:
        paths = {k: paths[k] for k in ("vcf.gz", "plink")}
    if all(p.exists() for p in paths.values()):
        return paths
    ids = [f"line{i:05d}" for i in range(n)]
    t = time.perf_counter()
    vcf = out / f"geno_{tag}.vcf"
    _write_matrix_and_vcf(n, m, ids, paths.get("matrix"), vcf)
    _bgzip(vcf, paths["vcf.gz"])
    if full:
        _bcf(vcf, paths["bcf"])
    else:
        vcf.unlink()
    _plink(n, m, ids, paths["plink"])
    print(f"wrote inputs in {time.perf_counter() - t:.0f} s under {out}", file=sys.stderr)
    return paths


def _write_matrix_and_vcf(n: int, m: int, ids, matrix_path: Path | None, vcf_path: Path) -> None:
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000000000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids) + "\n"
    )
    # each call as 4 bytes: GT + tab; phased or not at random
    unphased = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", np.uint8).reshape(4, 4)
    phased = np.frombuffer(b"0|0\t0|1\t1|1\t.|.\t", np.uint8).reshape(4, 4)
    rng = np.random.default_rng(1)
    matrix_cols = []
    tokens = np.array([b"0", b"1", b"2", b"NA"])
    with open(vcf_path, "wb") as vcf:
        vcf.write(header.encode())
        for j0, codes in genotypes(n, m):
            k = codes.shape[1]
            calls = np.where((rng.random((k, n)) < 0.5)[..., None], phased[codes.T], unphased[codes.T])
            calls[:, -1, 3] = ord("\n")
            lines = []
            for j in range(k):
                pos = j0 + j + 1
                lines.append(b"1\t%d\tm%d\tA\tG\t.\tPASS\t.\tGT\t" % (pos * 10, pos) + calls[j].tobytes())
                if pos % MULTI_EVERY == 0:
                    multi = rng.choice([b"0/1", b"1/2", b"0/2", b"2/2", b"0/0"], size=n)
                    lines.append(
                        b"1\t%d\tmulti%d\tA\tC,T\t.\tPASS\t.\tGT\t" % (pos * 10 + 5, pos) + b"\t".join(multi) + b"\n"
                    )
            vcf.write(b"".join(lines))
            if matrix_path is not None:
                matrix_cols.append(tokens[codes])
    if matrix_path is None:
        return
    with open(matrix_path, "wb") as f:
        f.write(b"id\t" + "\t".join(f"m{j + 1}" for j in range(m)).encode() + b"\n")
        full = np.concatenate(matrix_cols, axis=1)
        for i, row in zip(ids, full):
            f.write(i.encode() + b"\t" + b"\t".join(row) + b"\n")


def _bgzip(src: Path, dst: Path) -> None:
    try:
        import pysam

        pysam.tabix_compress(str(src), str(dst), force=True)
    except ImportError:
        from Bio import bgzf

        with open(src, "rb") as f, bgzf.BgzfWriter(str(dst), "wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)


def _bcf(src: Path, dst: Path) -> None:
    import cyvcf2

    vcf = cyvcf2.VCF(str(src))
    w = cyvcf2.Writer(str(dst), vcf, mode="wb")
    for v in vcf:
        w.write_record(v)
    w.close()
    vcf.close()


def _plink(n: int, m: int, ids, bed: Path) -> None:
    from bed_reader import to_bed

    values = np.empty((n, m), np.int8)
    for j0, codes in genotypes(n, m):
        block = codes.astype(np.int8)
        block[block == 3] = -127
        values[:, j0 : j0 + codes.shape[1]] = block
    to_bed(
        bed,
        values,
        properties={
            "iid": ids,
            "sid": [f"m{j + 1}" for j in range(m)],
            "chromosome": ["1"] * m,
            "bp_position": [10 * (j + 1) for j in range(m)],
            "allele_1": ["G"] * m,
            "allele_2": ["A"] * m,
        },
    )


# --------------------------------------------------------------------------- methods (run in a worker process)

METHODS = {
    # name: (label, input, kind)
    "matrix": ("dnacnn numeric matrix reader (baseline)", "matrix", "baseline"),
    "pandas": ("pandas.read_csv of the matrix (baseline)", "matrix", "baseline"),
    "cyvcf2_floor": ("cyvcf2: GT array of every record (floor)", "vcf", "floor"),
    "vcf": ("dnacnn VCF", "vcf", "dnacnn"),
    "vcf_spill": ("dnacnn VCF, spill_dir", "vcf", "dnacnn"),
    "vcf_qc": ("dnacnn VCF, --maf 0.05 --max-missing 0.1", "vcf", "qc"),
    "vcf.gz": ("dnacnn VCF.gz (bgzip)", "vcf.gz", "dnacnn"),
    "vcf.gz_spill": ("dnacnn VCF.gz (bgzip), spill_dir", "vcf.gz", "dnacnn"),
    "bcf": ("dnacnn BCF", "bcf", "dnacnn"),
    "bed_floor": ("bed-reader: whole matrix in one read (floor)", "plink", "floor"),
    "plink": ("dnacnn PLINK", "plink", "dnacnn"),
    "plink_spill": ("dnacnn PLINK, spill_dir", "plink", "dnacnn"),
}
SCALE = ("vcf.gz", "vcf.gz_spill", "plink", "plink_spill")
QUICK = ("matrix", "pandas", "cyvcf2_floor", "vcf", "vcf_spill", "bcf", "bed_floor", "plink", "plink_spill")


def _rss_mb() -> float:
    """Peak RSS of this process so far: VmHWM, which starts afresh at exec (``ru_maxrss`` carries
    the parent's peak over a fork + exec, so a worker started by a big parent would read high)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(method: str, path: Path, spill: Path) -> dict:
    """Run one method once; returns seconds, CPU seconds, RSS after imports and peak RSS."""
    import bed_reader  # noqa: F401  (all imports before the RSS baseline)
    import cyvcf2
    import pandas as pd

    from dnacnn.io.genotype import read_genotype_input, read_genotypes
    from dnacnn.io.genotype_qc import GenotypeQC

    rss0 = _rss_mb()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    codes = None
    if method == "matrix":
        codes = read_genotypes(path).codes
    elif method == "pandas":
        df = pd.read_csv(path, sep="\t", index_col=0)
        codes = df.fillna(3).to_numpy(np.uint8)
        del df
    elif method == "cyvcf2_floor":
        for v in cyvcf2.VCF(str(path), lazy=True):
            v.genotype.array()
    elif method == "bed_floor":
        from bed_reader import open_bed

        with open_bed(path) as bed:
            values = bed.read(dtype=np.int8, order="C")
        values[values == -127] = 3
        codes = values.view(np.uint8)
    else:
        qc = GenotypeQC(maf=0.05, max_missing=0.1) if method.endswith("_qc") else None
        fmt = "plink" if method.startswith("plink") else "vcf"
        spill_dir = spill if method.endswith("_spill") else None
        codes = read_genotype_input(path, fmt, qc, spill_dir=spill_dir).codes
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    rss = _rss_mb()
    digest = None
    if codes is not None:
        h = hashlib.sha256()
        for r0 in range(0, codes.shape[0], 256):
            h.update(np.ascontiguousarray(codes[r0 : r0 + 256]).data)
        digest = f"{codes.shape[0]}x{codes.shape[1]}:{h.hexdigest()[:16]}"
    return {"seconds": seconds, "cpu": cpu, "rss_imports": rss0, "rss_peak": rss, "codes": digest}


def run_worker(method: str, path: Path, spill: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", method, "--path", str(path), "--spill", str(spill)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{method} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="individuals")
    ap.add_argument("--m", type=int, default=25000, help="markers")
    ap.add_argument("--repeats", type=int, default=1, help="runs per method (best kept)")
    ap.add_argument("--quick", action="store_true", help="fewer methods (no .vcf.gz, no QC run)")
    ap.add_argument("--methods", help=f"comma-separated subset of: {', '.join(METHODS)} (matrix is always run)")
    ap.add_argument(
        "--scale",
        type=int,
        default=0,
        help="also run VCF.gz and PLINK at this many times the markers and print peak RSS against the output size",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--spill", type=Path, default=OUT, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.path, args.spill)))
        return

    paths = write_inputs(args.n, args.m, OUT)
    methods = QUICK if args.quick else tuple(METHODS)
    if args.methods:
        methods = ("matrix", *[x for x in args.methods.split(",") if x != "matrix"])
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for method in methods:  # interleaved, so load from other jobs hits every method alike
            r = run_worker(method, paths[METHODS[method][1]], OUT)
            if method not in best or r["seconds"] < best[method]["seconds"]:
                best[method] = r
    n, m = args.n, args.m
    out_mb = n * m / 1e6
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    size = f"{n:,} individuals x {m:,} markers = {n * m / 1e6:.0f} M genotypes"
    print(f"\n### genotype readers ({size}, best of {args.repeats})\n")
    print(
        f"{os.cpu_count()} logical cores, load average {load:.1f}; python {platform.python_version()}, "
        f"numpy {np.__version__}, cyvcf2 {_version('cyvcf2')}, bed-reader {_version('bed-reader')}.  "
        f"Input sizes: matrix {_mb(paths['matrix'])}, VCF {_mb(paths['vcf'])} (+{m // MULTI_EVERY} multi-allelic "
        f"records), VCF.gz {_mb(paths['vcf.gz'])}, BCF {_mb(paths['bcf'])}, .bed {_mb(paths['plink'])}.  "
        f"Output (uint8 codes): {out_mb:.0f} MB.\n"
    )
    base = best["matrix"]["seconds"]
    ref_codes = best["matrix"]["codes"]
    print(
        "| format | method | individuals x markers | s | CPU s | markers/s | vs matrix reader | peak RSS MB "
        "| above imports MB | same matrix |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    for method in methods:
        label, fmt, kind = METHODS[method]
        r = best[method]
        same = "-" if r["codes"] is None or kind == "qc" else ("yes" if r["codes"] == ref_codes else "NO")
        if kind == "qc":
            same = f"QC: {r['codes'].split(':')[0]}"
        print(
            f"| {fmt} | {label} | {n:,} x {m:,} | {r['seconds']:.2f} | {r['cpu']:.2f} | {m / r['seconds']:,.0f} | "
            f"{base / r['seconds']:.2f}x | {r['rss_peak']:.0f} | {r['rss_peak'] - r['rss_imports']:.0f} | {same} |"
        )
    if args.scale > 1:
        scale_table(args, best)


def scale_table(args, best: dict[str, dict]) -> None:
    """Peak RSS above the imports at M and scale x M markers: in memory it should grow by the
    output's growth and no more; with spill_dir it should not grow."""
    n, m, big = args.n, args.m, args.m * args.scale
    paths = write_inputs(n, big, OUT, full=False)
    small = {meth: best.get(meth) or run_worker(meth, write_inputs(n, m, OUT)[METHODS[meth][1]], OUT) for meth in SCALE}
    large = {meth: run_worker(meth, paths[METHODS[meth][1]], OUT) for meth in SCALE}
    print(f"\n### peak RSS above imports: {n:,} x {m:,} vs {n:,} x {big:,} markers\n")
    print(
        f"| method | output {n * m / 1e6:.0f} MB | output {n * big / 1e6:.0f} MB | growth | output growth "
        f"| s at {big:,} |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for meth in SCALE:
        a = small[meth]["rss_peak"] - small[meth]["rss_imports"]
        b = large[meth]["rss_peak"] - large[meth]["rss_imports"]
        print(
            f"| {METHODS[meth][0]} | {a:.0f} MB | {b:.0f} MB | {b - a:+.0f} MB | {n * (big - m) / 1e6:+.0f} MB | "
            f"{large[meth]['seconds']:.1f} |"
        )


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.0f} MB"


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
