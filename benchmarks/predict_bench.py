"""Predict throughput: ``dnacnn predict`` end to end beside a plain PyTorch inference loop.

A ``deepbind``-preset model with untrained (initial) weights scores random 101-bp sequences from
FASTA files under ``benchmarks/out/predict_bench/``.  For each PyTorch thread count, in one run,
interleaved, best-of-R on ``--ratio-n`` sequences (short runs, repeated: they resist load from
other jobs better than long ones):

* plain loop: the same module over float32 one-hot tensors already in memory, same batch size,
  ``torch.inference_mode()``, sigmoid scores into a preallocated array;
* ``dnacnn.predict.predict``: parse + encode + one-hot + forward + TSV, end to end; its ratio to
  the plain loop is the target (>= 0.8x);
* its parts alone: the FASTA parser, and the model on pre-parsed codes (``Predictor``);

then ``dnacnn predict --threads T`` as a command (its own process, with start-up) on N/10 and N
sequences: throughput and peak RSS (target: under 1 GB, flat).

Run:  python benchmarks/predict_bench.py [--n 1000000] [--threads 1,2] [--batch-size 1024] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode_bench import REPO, best_times, fasta_path, machine_info, table  # noqa: E402

OUT = REPO / "benchmarks" / "out" / "predict_bench"
LENGTH = 101


def model_path(length: int = LENGTH) -> Path:
    """A deepbind model file with initial weights (seed 0), built once."""
    import torch

    from dnacnn.codes import dna_encoding
    from dnacnn.modelfile import save_model
    from dnacnn.models import build_model, load_spec

    path = OUT / f"deepbind_{length}.dnacnn"
    if path.exists():
        return path
    torch.manual_seed(0)
    spec = load_spec("deepbind")
    module = build_model(spec, 4, length, 1, "binary")
    meta = {
        "spec": spec,
        "encoding": dna_encoding(length).to_dict(),
        "task": "binary",
        "label_names": ["label"],
        "classes": None,
        "n_outputs": 1,
        "head": module.head_activation,
        "target_mean": None,
        "target_std": None,
        "marker_means": None,
        "settings": {"note": "untrained weights, for benchmarks/predict_bench.py"},
        "torch_version": torch.__version__,
    }
    save_model(path, module, meta)
    return path


def plain_loop(model: Path, X, batch_size: int) -> np.ndarray:
    """The reference: forward passes over float32 one-hot already in memory."""
    import torch

    from dnacnn.modelfile import load_model

    module = load_model(model, "cpu").module
    scores = np.empty((len(X), 1), np.float32)
    with torch.inference_mode():
        for i in range(0, len(X), batch_size):
            scores[i : i + batch_size] = torch.sigmoid(module(X[i : i + batch_size])).numpy()
    return scores


def one_hot_tensor(fasta: Path, n: int):
    import torch

    from dnacnn.codes import dna_encoding, one_hot
    from dnacnn.io.fasta import iter_fasta

    parts, have = [], 0
    for chunk in iter_fasta(fasta):
        parts.append(one_hot(chunk.codes.reshape(len(chunk), -1)[: n - have], dna_encoding(LENGTH)))
        have += len(parts[-1])
        if have >= n:
            break
    return torch.from_numpy(np.concatenate(parts))


def run_predict(model: Path, fasta: Path, out: Path, batch_size: int) -> int:
    from dnacnn.predict import predict

    return predict(model, fasta, out, device="cpu", batch_size=batch_size, progress=False)


def model_only(model: Path, codes: np.ndarray, batch_size: int) -> int:
    from dnacnn.predict import Predictor

    return len(Predictor(model, "cpu", batch_size=batch_size)(codes))


def parse_only(fasta: Path) -> int:
    from dnacnn.io.fasta import iter_fasta

    return sum(len(chunk) for chunk in iter_fasta(fasta))


def run_command(command: str, args: list[str]) -> tuple[float, float, float]:
    """``dnacnn COMMAND ARGS`` in a fresh process: (seconds, RSS of the bare interpreter, peak RSS)
    in MB, read from the process's own VmHWM before and after."""
    code = (
        "import runpy, sys, json, time\n"
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        "t0, base = time.perf_counter(), hwm()\n"
        "sys.argv = ['dnacnn', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('dnacnn', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(json.dumps([time.perf_counter() - t0, base, hwm()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, command, *args], capture_output=True, text=True, cwd=REPO)
    if done.returncode:
        sys.exit(f"dnacnn {command} failed:\n{done.stderr}")
    seconds, base, peak = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, base / 1024, peak / 1024


def run_cli(model: Path, fasta: Path, out: Path, batch_size: int, threads: int) -> tuple[float, float, float]:
    """``dnacnn predict`` in a fresh process (:func:`run_command`)."""
    args = [str(model), str(fasta), "-o", str(out), "--batch-size", str(batch_size), "--threads", str(threads)]
    return run_command("predict", [*args, "--no-progress"])


def check_same_scores(tsv: Path, reference: np.ndarray) -> float:
    """Largest difference between predict's TSV and the plain loop's scores (first rows)."""
    import pandas as pd

    got = pd.read_csv(tsv, sep="\t", nrows=len(reference))["label"].to_numpy()
    return float(np.abs(got - reference[:, 0]).max())


def main(argv=None) -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="sequences (101 bp) of the largest run")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--threads", default="1,2", help="PyTorch thread counts to compare, comma-separated")
    ap.add_argument("--ratio-n", type=int, default=20_000, help="sequences of the interleaved ratio runs")
    ap.add_argument("--repeats", type=int, default=4, help="best of this many interleaved ratio runs")
    ap.add_argument(
        "--quick", action="store_true", help="N = 20k, 5k-sequence ratio runs, 1 thread, one command run: ~30 s"
    )
    args = ap.parse_args(argv)
    n, n_ratio, repeats = (20_000, 5_000, 3) if args.quick else (args.n, args.ratio_n, args.repeats)
    threads = [1] if args.quick else [int(t) for t in args.threads.split(",")]
    bs = args.batch_size
    OUT.mkdir(parents=True, exist_ok=True)
    ratio_fasta = fasta_path(n_ratio, LENGTH, "plain", OUT)
    sizes = [(count, fasta_path(count, LENGTH, "plain", OUT)) for count in (n // 10, n)]
    model = model_path()
    tsv = OUT / "predictions.tsv"
    print(f"# predict benchmark: {LENGTH} bp, deepbind preset (untrained), batch {bs}\n")
    print(machine_info() + "\n")

    X = one_hot_tensor(ratio_fasta, n_ratio)
    codes = np.concatenate([c.codes.reshape(len(c), -1) for c in _chunks(ratio_fasta)])
    rows = []
    for t in threads:
        torch.set_num_threads(t)
        reference = plain_loop(model, X[:1000], bs)
        methods = {
            "plain PyTorch loop (pre-encoded float32)": lambda: plain_loop(model, X, bs),
            "dnacnn predict() end to end (FASTA -> TSV)": lambda: run_predict(model, ratio_fasta, tsv, bs),
            "  its FASTA parser alone": lambda: parse_only(ratio_fasta),
            "  its model on parsed codes (Predictor)": lambda: model_only(model, codes, bs),
        }
        best = best_times(methods, repeats)
        diff = check_same_scores(tsv, reference)
        plain_rate = n_ratio / best[next(iter(best))]
        for name, seconds in best.items():
            rate = n_ratio / seconds
            rows.append([str(t), name, f"{n_ratio:,}", f"{seconds:.2f}", f"{rate:,.0f}", f"{rate / plain_rate:.2f}x"])
        if not args.quick:
            startup, _, _ = run_cli(model, fasta_path(1, LENGTH, "plain", OUT), OUT / "cli.tsv", bs, t)
            rows.append([str(t), "`dnacnn predict` start-up alone (1 sequence)", "1", f"{startup:.2f}", "-", "-"])
        runs = sizes[1:] if args.quick else sizes if t == threads[0] else sizes[:1]  # the 10x run (memory) once
        for count, fasta in runs:
            seconds, _, peak = run_cli(model, fasta, OUT / "cli.tsv", bs, t)
            rate = count / seconds
            name = f"`dnacnn predict` command (with start-up), peak RSS {peak:.0f} MB"
            rows.append([str(t), name, f"{count:,}", f"{seconds:.2f}", f"{rate:,.0f}", f"{rate / plain_rate:.2f}x"])
    print(table(rows, ["threads", "method", "sequences", "seconds", "sequences/s", "vs plain loop"]))
    print(f"\nbest of {repeats} interleaved runs; largest |predict TSV - plain loop| over 1000 scores: {diff:.1e}")
    for p in (tsv, OUT / "cli.tsv"):
        p.unlink(missing_ok=True)


def _chunks(fasta: Path):
    from dnacnn.io.fasta import iter_fasta

    return iter_fasta(fasta)


if __name__ == "__main__":
    main()
