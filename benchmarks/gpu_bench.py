"""GPU training throughput and utilisation: ``dnacnn train --device cuda`` on a store of 1M sequences.

The GPU point of the training issue: samples/s and GPU utilisation for ``keras-1d`` (length 200)
and ``deepbind`` (length 101), and whether the input pipeline keeps the GPU busy (>= 80%
utilisation on deepbind with 1M sequences).  One run prints one markdown table (also written to
``benchmarks/out/gpu_bench.md``) with, per model:

* **dnacnn resident** - ``dnacnn.train.train`` as users get it: the training split (uint8 codes,
  under 2 GiB) is read once and batched on the GPU, one-hot expanded per batch, mixed precision
  (``--precision auto``: bf16 where the GPU has it);
* **dnacnn streamed** - the same with the split streamed from the store in shuffled blocks
  (``dnacnn.stream``: 16 MiB sequential reads by 4 threads, a window of 8 blocks on the GPU at a
  time), the path of a split over 2 GiB (results before 2026-12-04: DataLoader workers instead);
* **dnacnn fp32** - resident, without autocast;
* **PyTorch loop** - the same network over one-hot float tensors already on the GPU, bf16
  autocast: the ceiling for this model on this GPU.

samples/s is the median over the epochs after the first (a warm-up), from dnacnn's history (its
``seconds`` include the validation pass, so it is a lower bound) or per-epoch timers.  GPU
utilisation is ``nvidia-smi`` sampled every 100 ms in the background, averaged over the same
epochs.  Without CUDA the script says so and exits 0; ``--device cpu --n 20000`` runs every path
on the CPU as a smoke test of the script (no utilisation column).

* **PyTorch loop, torch.compile + CUDA graphs** (``--runs compiled``) - that loop with the
  network compiled in ``reduce-overhead`` mode: what launch overhead costs at small batches.

``--runs resident@1024,plain@128`` picks paths and batch sizes (batch 128 by default).

Run:  python benchmarks/gpu_bench.py [--n 1000000] [--epochs 3] [--models deepbind,keras-1d] [--runs ...]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_bench import OUT, machine, markdown_table, run_dnacnn, run_plain  # noqa: E402

LENGTHS = {"keras-1d": 200, "deepbind": 101}
BATCH = 128
TARGET_UTILISATION = 80.0


class GpuSampler:
    """``nvidia-smi`` utilisation (percent of time a kernel ran) sampled every 100 ms, timestamped."""

    def __init__(self, enabled: bool) -> None:
        self.samples: list[tuple[float, float]] = []
        self.proc = None
        if enabled and shutil.which("nvidia-smi"):
            cmd = [
                "nvidia-smi",
                "--query-gpu=utilization.gpu",
                "--format=csv,noheader,nounits",
                "-lms",
                "100",
                "-i",
                "0",
            ]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.samples.append((time.time(), float(line.strip())))

    def mean(self, start: float, end: float) -> float | None:
        window = [u for t, u in self.samples if start <= t <= end]
        return statistics.fmean(window) if window else None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()


def row(sampler: GpuSampler, name: str, column: str, precision: str, batch: int, result: dict) -> list:
    n, ended = result["samples"], result["ended"]
    steady = result["epoch_seconds"][1:] or result["epoch_seconds"]
    rate = n / statistics.median(steady)
    utilisation = sampler.mean(ended - sum(steady), ended)
    util = "-" if utilisation is None else f"{utilisation:.0f}%"
    print(
        f"{name} {column} ({precision}, batch {batch}): {rate:,.0f} samples/s, GPU {util}", file=sys.stderr, flush=True
    )
    return [name, LENGTHS[name], f"{n:,}", column, precision, batch, f"{rate:,.0f}", util]


# --runs names: dnacnn paths (precision, streamed) and the plain loop's variants (compiled)
DNACNN_PATHS = {"resident": ("auto", False), "streamed": ("auto", True), "fp32": ("fp32", False)}
PLAIN_PATHS = {"plain": False, "compiled": True}
COLUMNS = {
    "resident": "dnacnn resident",
    "streamed": "dnacnn streamed",
    "fp32": "dnacnn fp32",
    "plain": "PyTorch loop",
    "compiled": "PyTorch loop, torch.compile + CUDA graphs",
}


def parse_runs(text: str) -> list[tuple[str, int]]:
    """``resident@128,plain@128`` -> [("resident", 128), ("plain", 128)]; a bare name means batch 128."""
    runs = []
    for item in text.split(","):
        path, _, batch = item.strip().partition("@")
        if path not in COLUMNS:
            raise SystemExit(f"gpu_bench: unknown run {path!r} in --runs; use {', '.join(COLUMNS)}")
        runs.append((path, int(batch or BATCH)))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="sequences in each model's store")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (the first is a warm-up)")
    parser.add_argument("--models", default="deepbind,keras-1d")
    parser.add_argument(
        "--runs",
        default="resident,streamed,fp32,plain",
        help=f"comma-separated PATH[@BATCH], PATH one of {', '.join(COLUMNS)} (batch {BATCH} by default)",
    )
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a smoke run of this script")
    args = parser.parse_args()
    runs = parse_runs(args.runs)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_bench: no CUDA device here; nothing to measure (use --device cpu --n 20000 for a smoke run)")
        return
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "none"
    sampler = GpuSampler(enabled=args.device == "cuda")
    rows = []
    plain = "bf16" if args.device == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    try:
        for name in args.models.split(","):
            length = LENGTHS[name]
            for path, batch in runs:
                if path in DNACNN_PATHS:
                    precision, streamed = DNACNN_PATHS[path]
                    result = run_dnacnn(
                        name, length, precision, args.epochs, None, args.device, args.n, streamed, batch
                    )
                    rows.append(row(sampler, name, COLUMNS[path], result["precision"], batch, result))
                else:
                    compiled = PLAIN_PATHS[path]
                    result = run_plain(name, length, plain, args.epochs, None, args.device, args.n, batch, compiled)
                    rows.append(row(sampler, name, COLUMNS[path], plain, batch, result))
    finally:
        sampler.close()
    text = "\n".join(
        [
            f"## GPU training throughput (Adam, {args.epochs} epochs, first dropped)",
            "",
            f"GPU: {gpu}; host: {machine()}. "
            f"Target: >= {TARGET_UTILISATION:.0f}% GPU utilisation on deepbind with 1M sequences.",
            "",
            markdown_table(
                ["model", "L", "sequences", "path", "precision", "batch", "samples/s", "GPU utilisation"], rows
            ),
        ]
    )
    print(text)
    (OUT / "gpu_bench.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
