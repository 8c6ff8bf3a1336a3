"""Encode throughput: ``dnacnn.encode.encode`` on a FASTA file beside Biopython baselines.

Writes deterministic FASTA files of N records (200 bp, IDs like ``chr7:10500-10700``) under
``benchmarks/out/encode_bench/`` (unwrapped, wrapped at 60 bases, and gzip), then, in one run and
interleaved so that load from other jobs hits every method alike, times best-of-R:

* naive: ``Bio.SeqIO.parse`` + a per-base Python loop one-hot encoding into a preallocated array;
* Biopython + per-record numpy: the same, one numpy lookup per record;
* Biopython parse only: ``SeqIO.parse`` reading every sequence (the floor of any Biopython path);
* dnacnn's FASTA parser alone (``dnacnn.io.fasta.iter_fasta``);
* ``encode()`` end to end (parse, checks, store writing, split, manifest with the input's sha256),
  also without the sha256 (timed alone beside it), and ``dnacnn encode`` once as a command;

and peak RSS of ``encode()`` in a fresh process for N and 10 N records (flat memory target).
Throughput is MB of sequence (bases) per second.

Run:  python benchmarks/encode_bench.py [--n 100000] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "encode_bench"
LENGTH = 200


# --------------------------------------------------------------------------- inputs


def fasta_path(n: int, length: int, variant: str, out: Path = OUT) -> Path:
    """Deterministic FASTA of ``n`` random records (seed 0), written once and reused.

    ``variant``: ``plain`` (one sequence line per record), ``wrapped`` (60 bases a line) or
    ``gz`` (plain, gzip level 6)."""
    suffix = {"plain": ".fa", "wrapped": ".wrapped.fa", "gz": ".fa.gz"}[variant]
    path = out / f"random_{n}x{length}{suffix}"
    if path.exists():
        return path
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    opener = gzip.open(tmp, "wb", compresslevel=6) if variant == "gz" else open(tmp, "wb", buffering=1 << 20)
    with opener as f:
        for chunk in _records(n, length, wrap=60 if variant == "wrapped" else 0):
            f.write(chunk)
    os.replace(tmp, path)
    return path


def _records(n: int, length: int, wrap: int, chunk: int = 50_000):
    rng = np.random.default_rng(0)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    for start in range(0, n, chunk):
        seqs = bases[rng.integers(0, 4, size=(min(chunk, n - start), length))]
        parts = []
        for i, row in enumerate(seqs, start):
            pos = 10_000 + (i // 22) * 500
            seq = row.tobytes()
            if wrap:
                seq = b"\n".join(seq[j : j + wrap] for j in range(0, length, wrap))
            parts.append(b">chr%d:%d-%d\n%s\n" % (1 + i % 22, pos, pos + length, seq))
        yield b"".join(parts)


# --------------------------------------------------------------------------- methods


def naive_biopython(path: Path, n: int, length: int) -> int:
    """Per-base loop: the way one-hot encoding is often first written."""
    from Bio import SeqIO

    index = {"A": 0, "C": 1, "G": 2, "T": 3}
    X = np.zeros((n, 4, length), dtype=np.uint8)
    with _open_text(path) as handle:
        for i, rec in enumerate(SeqIO.parse(handle, "fasta")):
            for j, base in enumerate(str(rec.seq).upper()):
                k = index.get(base)
                if k is not None:
                    X[i, k, j] = 1
    return int(X.shape[0])


def biopython_numpy(path: Path, n: int, length: int) -> int:
    """Biopython records, one numpy lookup (and one-hot) per record."""
    from Bio import SeqIO

    from dnacnn.codes import DNA_LUT

    eye = np.vstack([np.eye(4, dtype=np.uint8), np.zeros((251, 4), np.uint8)])
    X = np.zeros((n, length, 4), dtype=np.uint8)
    with _open_text(path) as handle:
        for i, rec in enumerate(SeqIO.parse(handle, "fasta")):
            X[i] = eye[DNA_LUT[np.frombuffer(bytes(rec.seq), dtype=np.uint8)]]
    return n


def biopython_parse(path: Path, n: int, length: int) -> int:
    from Bio import SeqIO

    with _open_text(path) as handle:
        return sum(len(str(rec.seq)) > 0 for rec in SeqIO.parse(handle, "fasta"))


def dnacnn_parse(path: Path, n: int, length: int) -> int:
    from dnacnn.io.fasta import iter_fasta

    return sum(len(chunk) for chunk in iter_fasta(path))


def dnacnn_encode(path: Path, n: int, length: int, sha: bool = True) -> int:
    import dnacnn.encode as enc

    store = OUT / f"{path.name}.store"
    with _sha256_disabled(enc, not sha):
        enc.encode(path, store, enc.EncodeOptions(label_value=1, split="train", progress=False))
    with open(store / "manifest.json") as f:
        return json.load(f)["n"]


def sha256_only(path: Path, n: int, length: int) -> int:
    from dnacnn.encode import sha256

    sha256(path)
    return n


def dnacnn_cli(path: Path, n: int, length: int) -> int:
    store = OUT / f"{path.name}.cli.store"
    cmd = [sys.executable, "-m", "dnacnn", "encode", str(path), "-o", str(store)]
    subprocess.run(
        [*cmd, "--label-value", "1", "--split", "train", "--no-progress"], check=True, cwd=REPO, capture_output=True
    )
    return n


@contextmanager
def _sha256_disabled(module, disabled: bool):
    original = module.sha256
    if disabled:
        module.sha256 = lambda path: "not-computed"
    try:
        yield
    finally:
        module.sha256 = original


@contextmanager
def _open_text(path: Path):
    f = gzip.open(path, "rt") if path.suffix == ".gz" else open(path)
    try:
        yield f
    finally:
        f.close()


def best_times(methods: dict, repeats: int) -> dict[str, float]:
    """Best wall time of each method, methods interleaved within every repeat."""
    return {name: wall for name, (wall, _) in best_wall_cpu(methods, repeats).items()}


def best_wall_cpu(methods: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of each method, methods interleaved within every repeat.

    CPU time is this process's and its children's, all threads: on a machine shared with other
    jobs it is much steadier than wall time (waiting for a core is not counted), so MB per
    CPU-second is the fairer comparison there; wall time is what a user waits."""
    best = {name: (float("inf"), float("inf")) for name in methods}
    for _ in range(repeats):
        for name, run in methods.items():
            t0, c0 = time.perf_counter(), _cpu_seconds()
            run()
            wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --------------------------------------------------------------------------- memory


def peak_rss_mb(path: Path) -> tuple[float, float]:
    """(RSS after imports, peak RSS) in MB of ``encode()`` run in a fresh process.

    Read from the child's own VmHWM: ``ru_maxrss`` of a child started by vfork + exec also counts
    the parent's pages, which would hide the child's own peak."""
    store = OUT / f"{path.name}.mem.store"
    code = (
        "import sys, json\n"
        "from dnacnn.encode import encode, EncodeOptions\n"
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "base = hwm()\n"
        "encode(sys.argv[1], sys.argv[2], EncodeOptions(label_value=1, split='train', progress=False))\n"
        "print(json.dumps([base, hwm()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(store)], check=True, capture_output=True, text=True
    )
    shutil.rmtree(store, ignore_errors=True)
    base, peak = json.loads(done.stdout)
    return base / 1024, peak / 1024


# --------------------------------------------------------------------------- report


def machine_info() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import Bio

    from dnacnn import __version__

    versions = f"python {platform.python_version()}, numpy {np.__version__}, biopython {Bio.__version__}"
    torch = _torch_info()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"CPU: {cpu}, {os.cpu_count()} logical cores, load average {load}; {versions}{torch}; dnacnn {__version__}"


def _torch_info() -> str:
    try:
        import torch
    except ImportError:
        return ""
    return f", torch {torch.__version__} ({torch.get_num_threads()} threads)"


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="records (200 bp each)")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many interleaved runs")
    ap.add_argument("--quick", action="store_true", help="20k records, 2 repeats: under 30 s")
    ap.add_argument("--no-naive", action="store_true", help="skip the (slow) per-base loop")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS runs")
    args = ap.parse_args(argv)
    n, repeats = (20_000, 2) if args.quick else (args.n, args.repeats)
    mb = n * LENGTH / 1e6
    paths = {v: fasta_path(n, LENGTH, v) for v in ("plain", "wrapped", "gz")}
    plain = paths["plain"]
    print(f"# encode benchmark: {n:,} x {LENGTH} bp ({mb:.0f} MB of sequence), best of {repeats}\n")
    print(machine_info() + "\n")

    run = lambda f, p, **kw: lambda: f(p, n, LENGTH, **kw)  # noqa: E731
    methods = {}
    if not args.no_naive:
        methods["naive: Biopython + per-base loop"] = run(naive_biopython, plain)
    methods |= {
        "Biopython + per-record numpy": run(biopython_numpy, plain),
        "Biopython parse only": run(biopython_parse, plain),
        "dnacnn parser (iter_fasta)": run(dnacnn_parse, plain),
        "dnacnn parser, wrapped 60": run(dnacnn_parse, paths["wrapped"]),
        "dnacnn parser, .gz": run(dnacnn_parse, paths["gz"]),
        "sha256 of the input alone": run(sha256_only, plain),
        "encode() without sha256": run(dnacnn_encode, plain, sha=False),
        "encode()": run(dnacnn_encode, plain),
        "encode(), wrapped 60": run(dnacnn_encode, paths["wrapped"]),
        "encode(), .gz": run(dnacnn_encode, paths["gz"]),
    }
    dnacnn_encode(plain, n, LENGTH)  # warm the page cache and imports
    best = best_wall_cpu(methods, repeats)
    tiny = fasta_path(1, LENGTH, "plain")
    best |= best_wall_cpu({"`dnacnn encode` command (with start-up)": run(dnacnn_cli, plain)}, 1)
    cli_fixed = best_wall_cpu({"cli": lambda: dnacnn_cli(tiny, 1, LENGTH)}, 1)["cli"]

    ref = best.get("naive: Biopython + per-base loop")
    rows = []
    for name, (wall, cpu) in best.items():
        ratios = f"{ref[0] / wall:.1f}x / {ref[1] / cpu:.1f}x" if ref else "-"
        rows.append([name, f"{wall * 1000:.0f}", f"{mb / wall:.0f}", f"{cpu * 1000:.0f}", f"{mb / cpu:.0f}", ratios])
    rows.append(
        [
            "`dnacnn encode` start-up alone (1 record)",
            f"{cli_fixed[0] * 1000:.0f}",
            "-",
            f"{cli_fixed[1] * 1000:.0f}",
            "-",
            "-",
        ]
    )
    header = ["method", "wall ms", "MB/s", "CPU ms", "MB per CPU-s", "vs naive (wall / CPU)"]
    print(table(rows, header))

    if not args.no_memory:
        big = 10 * n
        print(f"\nPeak RSS of encode() in a fresh process (plain FASTA, {LENGTH} bp):\n")
        mem_rows = []
        for count in (n, big):
            base, peak = peak_rss_mb(fasta_path(count, LENGTH, "plain"))
            mem_rows.append([f"{count:,}", f"{base:.0f}", f"{peak:.0f}"])
        growth = float(mem_rows[1][2]) / float(mem_rows[0][2]) - 1
        print(table(mem_rows, ["records", "RSS after imports (MB)", "peak RSS (MB)"]))
        print(f"\n10x the input raises peak RSS by {growth:+.0%} (target: at most +20%)")
    shutil.rmtree(OUT / f"{plain.name}.store", ignore_errors=True)
    for p in OUT.glob("*.store"):
        shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
