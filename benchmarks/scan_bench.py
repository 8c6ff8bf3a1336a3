"""Genome scan throughput: ``dnacnn scan`` end to end beside a bare PyTorch loop.

A ``deepbind``-preset model with untrained (initial) weights (window 101 bp, both strands inside
the model) scans a synthetic genome of ``--mbp`` Mbp (random bases, seed 0, in chromosomes of at
most 25 Mbp, wrapped at 60 bases, with a 50-kb block of N every 5 Mbp) written once under
``benchmarks/out/scan_bench/``, at stride 20:

* ``dnacnn scan`` as a command in its own process (start-up, FASTA index, reading, encoding, the
  model, bigWig writing): Mbp/s = genome bases / wall seconds, and its peak RSS (the child's own
  VmHWM); target (issue 23): >= 0.8x the bare loop, peak RSS < 1.5 GB;
* the bare loop: the same module over float32 one-hot windows of the same genome already in
  memory (``--loop-windows`` of them, stride 20, so it cannot hold a whole large genome),
  ``torch.inference_mode()``, sigmoid scores into a preallocated array, glibc tuned as the CLI
  tunes it (``dnacnn.device.reuse_freed_memory``); Mbp/s = windows/s x stride.  It runs before and
  after the scan and its best run counts, so load from other jobs does not flatter the ratio.

Run:  python benchmarks/scan_bench.py [--mbp 100] [--threads 1] [--batch-size 1024] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode_bench import REPO, machine_info, table  # noqa: E402
from predict_bench import model_path, run_command  # noqa: E402

OUT = REPO / "benchmarks" / "out" / "scan_bench"
LENGTH, STRIDE = 101, 20
CHROM_MAX = 25_000_000
N_EVERY, N_BLOCK = 5_000_000, 50_000


def genome_path(mbp: float) -> Path:
    """A random genome of ``mbp`` Mbp (seed 0), written once and reused."""
    total = int(mbp * 1_000_000)
    path = OUT / f"genome_{total}.fa"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        for i, start in enumerate(range(0, total, CHROM_MAX)):
            size = min(CHROM_MAX, total - start)
            seq = bases[rng.integers(0, 4, size)]
            for n_start in range(N_EVERY // 2, size - N_BLOCK, N_EVERY):
                seq[n_start : n_start + N_BLOCK] = ord("N")
            f.write(f">chr{i + 1}\n".encode())
            full = size // 60
            lines = np.full((full, 61), ord("\n"), np.uint8)
            lines[:, :60] = seq[: full * 60].reshape(full, 60)
            f.write(lines.tobytes())
            if size % 60:
                f.write(seq[full * 60 :].tobytes() + b"\n")
    tmp.rename(path)
    return path


def bare_loop(model: Path, genome: Path, n_windows: int, batch_size: int) -> float:
    """Seconds of the bare loop over ``n_windows`` pre-encoded windows of the genome's first chromosome."""
    import pyfaidx
    import torch
    from numpy.lib.stride_tricks import sliding_window_view

    from dnacnn.codes import dna_to_codes
    from dnacnn.modelfile import load_model

    fa = pyfaidx.Fasta(str(genome), as_raw=True)
    first = next(iter(fa.keys()))
    codes = dna_to_codes(fa[first][: (n_windows - 1) * STRIDE + LENGTH])
    windows = sliding_window_view(codes, LENGTH)[::STRIDE]
    X = torch.from_numpy(np.ascontiguousarray(np.eye(5, 4, dtype=np.float32)[windows].transpose(0, 2, 1)))
    module = load_model(model, "cpu").module
    scores = np.empty((len(X), 1), np.float32)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(X), batch_size):
            scores[i : i + batch_size] = torch.sigmoid(module(X[i : i + batch_size])).numpy()
    return time.perf_counter() - t0


def run_scan(model: Path, genome: Path, out: Path, batch_size: int, threads: int) -> tuple[float, float, float]:
    """``dnacnn scan`` in a fresh process: (seconds, RSS of the bare interpreter, peak RSS) in MB."""
    args = [str(model), str(genome), "-o", str(out), "--stride", str(STRIDE)]
    args += ["--batch-size", str(batch_size), "--threads", str(threads), "--device", "cpu", "--no-progress"]
    return run_command("scan", args)


def check_track(out: Path, model: Path, genome: Path) -> float:
    """Largest difference between the track and the model on a few windows of the first chromosome."""
    import pyBigWig
    import pyfaidx

    from dnacnn.codes import dna_to_codes
    from dnacnn.predict import Predictor

    fa = pyfaidx.Fasta(str(genome), as_raw=True)
    first = next(iter(fa.keys()))
    starts = np.arange(0, 1000) * STRIDE
    codes = np.stack([dna_to_codes(fa[first][s : s + LENGTH]) for s in starts])
    want = Predictor(model, "cpu")(codes)[:, 0]
    bw = pyBigWig.open(str(out))
    got = np.array([bw.values(first, int(s) + LENGTH // 2, int(s) + LENGTH // 2 + 1)[0] for s in starts])
    return float(np.abs(got - want).max())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mbp", type=float, default=100, help="genome size in Mbp")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads (both methods)")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--loop-windows", type=int, default=200_000, help="windows of the bare loop")
    ap.add_argument("--quick", action="store_true", help="a 5-Mbp genome, 50k loop windows: about 1 min")
    args = ap.parse_args(argv)
    from dnacnn.device import reuse_freed_memory

    reuse_freed_memory()  # as the CLI does before importing torch: the bare loop gets the same allocator
    mbp, loop_n = (5.0, 50_000) if args.quick else (args.mbp, args.loop_windows)
    import torch

    torch.set_num_threads(args.threads)
    model = model_path(LENGTH)
    genome = genome_path(mbp)
    out = OUT / "scan.bw"
    print(f"# scan benchmark: {mbp:g} Mbp genome, deepbind (window {LENGTH}), stride {STRIDE}\n")
    print(machine_info() + "\n")
    loop_s = [bare_loop(model, genome, loop_n, args.batch_size)]
    scan_s, base, peak = run_scan(model, genome, out, args.batch_size, args.threads)
    loop_s.append(bare_loop(model, genome, loop_n, args.batch_size))
    loop_mbps = loop_n * STRIDE / min(loop_s) / 1e6
    scan_mbps = mbp / scan_s
    rows = [
        ["bare PyTorch loop (pre-encoded float32 windows)", f"{loop_n * STRIDE / 1e6:g}", f"{min(loop_s):.2f}",
         f"{loop_mbps:.2f}", f"{loop_n / min(loop_s):,.0f}", "1.00x", "-"],
        ["`dnacnn scan` command (FASTA -> bigWig, with start-up)", f"{mbp:g}", f"{scan_s:.1f}", f"{scan_mbps:.2f}",
         f"{mbp * 1e6 / STRIDE / scan_s:,.0f}", f"{scan_mbps / loop_mbps:.2f}x", f"{peak:,.0f} MB"],
    ]  # fmt: skip
    header = ["method", "Mbp", "seconds", "Mbp/s", "windows/s", "vs bare loop", "peak RSS"]
    print(table(rows, header))
    print(f"\nbare interpreter RSS {base:.0f} MB; bare loop runs {', '.join(f'{s:.2f}' for s in loop_s)} s")
    print(f"largest |track - model| on 1000 windows: {check_track(out, model, genome):.2g}")
    print(f"targets: >= 0.8x the bare loop ({scan_mbps / loop_mbps:.2f}x), peak RSS < 1.5 GB ({peak:,.0f} MB)")


if __name__ == "__main__":
    main()
