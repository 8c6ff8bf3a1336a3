"""Training throughput on the CPU: ``dnacnn train`` beside a plain PyTorch loop and Keras 3 / TF.

One run, one printed markdown table (also written to ``benchmarks/out/train_bench.md``):
training samples/s of the ``keras-1d`` preset at length 200 and ``deepbind`` at length 101
(4-channel DNA one-hot, batch 128, Adam 1e-3, ``--threads`` threads, default 2) measured as

* **dnacnn** - ``dnacnn.train.train`` end to end: a tensor store on disk (random DNA written by
  ``dnacnn.encode.encode``), uint8 codes -> batches -> one-hot expansion -> step, at fp32 and
  bf16 autocast and with the CPU default (``--precision auto``);
* **PyTorch loop** - the same network (``build_model(load_spec(name), 4, L, 1, "binary")``) in a
  minimal loop over pre-expanded float32 tensors in memory: forward, BCEWithLogits, backward,
  Adam step; fp32 and bf16 autocast;
* **Keras-TF** - ``benchmarks/keras_bench.py`` in a separate virtual environment with
  tensorflow-cpu and keras (created at ``benchmarks/out/keras-venv`` if missing; the column is
  skipped with a note when it cannot be made).

Every measurement is a fresh subprocess (so thread settings and caches do not leak), the
configurations are interleaved round by round (order rotated), and the table shows the best of
``--rounds``: the machine is shared, and the best round is the least disturbed one.  Startup is
excluded: samples/s comes from the steady-state epochs (the first is a warm-up), from the
``seconds`` column of dnacnn's history, and from per-epoch timers in the other two.  The table
prints the load average: when it exceeds the cores, PyTorch's OpenMP threads stall at every
parallel region (2 threads measured 5-20x slower than 1) while TensorFlow's pool degrades
gracefully, so compare at ``--threads 1`` on a busy machine.  Without bf16 arithmetic in the CPU
(AVX512-BF16 / AMX) PyTorch runs bf16 convolutions on its slow reference path, so those columns
use an eighth of the rows.

``--profile`` adds where dnacnn's time goes (torch.profiler over two epochs of
``dnacnn.train.train``, grouped into data, expansion, forward, backward and optimizer);
``--zou`` adds the Zou et al. 2019 primer protocol run with the ``dnacnn train`` CLI (published
1500/500 split, ``zou2019`` preset, up to 50 epochs): wall time and test accuracy, fp32 and bf16
over ``--zou-seeds`` seeds.

Run:  .venv/bin/python benchmarks/train_bench.py [--rounds 3] [--profile] [--zou]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
KERAS_VENV = OUT / "keras-venv"
CASES = {"keras-1d": 200, "deepbind": 101}
# rows per epoch: about a second per epoch for each network on two unloaded cores
SAMPLES = {"keras-1d": 6_400, "deepbind": 25_600}
COLUMNS = ("keras", "plain-fp32", "plain-bf16", "dnacnn-fp32", "dnacnn-bf16")
HEADERS = {
    "keras": "Keras-TF",
    "plain-fp32": "PyTorch loop fp32",
    "plain-bf16": "PyTorch loop bf16",
    "dnacnn-fp32": "dnacnn fp32",
    "dnacnn-bf16": "dnacnn bf16",
}


# ------------------------------------------------------------------------------ workers (subprocesses)


def native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX); without it oneDNN's
    bf16 kernels are emulated and several times slower than fp32."""
    import torch

    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def samples(name: str, precision: str) -> int:
    """Rows per epoch; an eighth for emulated bf16 so that column still finishes in minutes."""
    return SAMPLES[name] if precision != "bf16" or native_bf16() else SAMPLES[name] // 8


def make_store(name: str, length: int, n: int) -> Path:
    """A training-only store of ``n`` random DNA sequences with 0/1 labels, written by ``dnacnn encode``."""
    from dnacnn.encode import EncodeOptions, encode

    path = OUT / "train_bench" / f"{name}-{length}-{n}.store"
    if (path / "manifest.json").is_file():
        return path
    rng = np.random.default_rng(0)
    bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (n, length))]
    labels = rng.integers(0, 2, n)
    tsv = path.with_suffix(".tsv")
    tsv.parent.mkdir(parents=True, exist_ok=True)
    with open(tsv, "w") as f:
        f.write("seq\tlabel\n")
        f.writelines(f"{row.tobytes().decode()}\t{label}\n" for row, label in zip(bases, labels))
    opts = EncodeOptions(format="tabular", label_cols=["label"], task="binary", split="train", progress=False)
    encode(tsv, path, opts)
    tsv.unlink()
    return path


def run_dnacnn(
    name: str,
    length: int,
    precision: str,
    epochs: int,
    threads: int | None,
    device: str = "cpu",
    n: int | None = None,
    streamed: bool = False,
    batch_size: int = 128,
) -> dict:
    """``dnacnn.train.train`` on a store on disk; per-epoch seconds from its history and the time
    training returned.  ``streamed``: read the split batch by batch from the memory-mapped store
    (DataLoader workers, pinned memory on CUDA), the path of a split over 2 GiB."""
    import io

    import dnacnn.train.batches as batches
    from dnacnn.train import TrainSettings, train

    n = n or samples(name, precision)
    store = make_store(name, length, n)
    out = OUT / "train_bench" / f"{name}-{precision}-{os.getpid()}.dnacnn"
    opts = TrainSettings(
        model=name,
        optimizer="adam",  # as the other two columns (the keras-1d preset's own default is rmsprop)
        lr=1e-3,
        batch_size=batch_size,
        epochs=epochs,
        precision=precision,
        device=device,
        threads=threads,
        progress=False,
    )
    saved = batches.PRELOAD_BYTES  # a split under it is held in memory; 0 streams every split
    if streamed:
        batches.PRELOAD_BYTES = 0
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            result = train(store, out, opts)
    finally:
        batches.PRELOAD_BYTES = saved
    ended = time.time()
    history = result.history_path.read_text().splitlines()
    seconds = [float(row.split("\t")[-1]) for row in history[1:]]
    import torch

    resolved = json.loads(_model_meta(out))["settings"]["precision"]
    out.unlink()
    result.history_path.unlink()
    return {"epoch_seconds": seconds, "samples": n, "precision": resolved, "torch": torch.__version__, "ended": ended}


def _model_meta(path: Path) -> str:
    from dnacnn.modelfile import read_tensors

    return json.dumps(read_tensors(path)[1])


def run_plain(
    name: str,
    length: int,
    precision: str,
    epochs: int,
    threads: int | None,
    device: str = "cpu",
    n: int | None = None,
    batch_size: int = 128,
    compiled: bool = False,
) -> dict:
    """The same network in a minimal loop over pre-expanded float32 tensors already in memory (on
    ``device``); per-epoch seconds and the time the loop ended.  ``compiled``: the network through
    ``torch.compile(mode="reduce-overhead")`` (CUDA graphs on a GPU); the last partial batch is
    dropped so that every step has one shape."""
    import torch
    import torch.nn.functional as F

    from dnacnn.models import build_model, load_spec

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    n = n or samples(name, precision)
    X = F.one_hot(torch.randint(0, 4, (n, length), device=device), 4).float().transpose(1, 2).contiguous()
    y = torch.randint(0, 2, (n, 1), device=device).float()
    model = build_model(load_spec(name), 4, length, 1, "binary").to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    forward = torch.compile(model, mode="reduce-overhead") if compiled else model
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for i in range(0, n - batch_size + 1 if compiled else n, batch_size):
            if compiled:
                torch.compiler.cudagraph_mark_step_begin()
            with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = forward(X[i : i + batch_size])
            loss = F.binary_cross_entropy_with_logits(logits.float(), y[i : i + batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
    return {"epoch_seconds": seconds, "samples": n, "ended": time.time()}


def worker(argv: list[str]) -> None:
    kind, name, length, precision, epochs, threads = argv
    if kind == "dnacnn":  # as the `dnacnn` CLI does at start, before torch is imported
        from dnacnn.device import reuse_freed_memory

        reuse_freed_memory()
    run = run_dnacnn if kind == "dnacnn" else run_plain
    print(json.dumps(run(name, int(length), precision, int(epochs), int(threads))))


# ------------------------------------------------------------------------------ driver


def keras_python(create: bool) -> Path | None:
    """The Keras venv's interpreter, creating the venv when asked; None (with a note) if unusable."""
    python = KERAS_VENV / "bin" / "python"
    if not python.exists() and create:
        print(f"creating {KERAS_VENV.relative_to(REPO)} (tensorflow-cpu, keras) ...", file=sys.stderr)
        made = subprocess.run([sys.executable, "-m", "venv", str(KERAS_VENV)], capture_output=True, text=True)
        if made.returncode == 0:
            pip = [str(python), "-m", "pip", "install", "-q", "tensorflow-cpu", "keras"]
            made = subprocess.run(pip, capture_output=True, text=True)
        if made.returncode != 0:
            print(f"could not create the Keras venv: {made.stderr.strip()[-300:]}", file=sys.stderr)
    check = [str(python), "-c", "import tensorflow, keras"] if python.exists() else None
    if check is None or subprocess.run(check, capture_output=True).returncode != 0:
        print(
            "Keras-TF column skipped: no usable TensorFlow. Make it with\n"
            f"  python -m venv {KERAS_VENV} && {python} -m pip install tensorflow-cpu keras",
            file=sys.stderr,
        )
        return None
    return python


def measure(column: str, name: str, length: int, args, keras: Path | None) -> float | None:
    """One subprocess measurement -> best steady-state samples/s (None when skipped or failed)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
    if column == "keras":
        if keras is None:
            return None
        cmd = [str(keras), str(HERE / "keras_bench.py"), name, str(length), "--samples", str(SAMPLES[name])]
        cmd += ["--epochs", str(args.epochs), "--threads", str(args.threads)]
    else:
        kind, precision = column.split("-")
        cmd = [sys.executable, __file__, "--worker", kind, name, str(length), precision, str(args.epochs)]
        cmd += [str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        print(f"{column} {name} failed:\n{proc.stderr.strip()[-2000:]}", file=sys.stderr)
        return None
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    steady = result["epoch_seconds"][1:] or result["epoch_seconds"]
    return result["samples"] / min(steady)


def throughput_table(args) -> str:
    keras = keras_python(create=not args.no_keras) if not args.no_keras else None
    best: dict[tuple[str, str], float] = {}
    for r in range(args.rounds):
        for name, length in CASES.items():
            columns = COLUMNS[r % len(COLUMNS) :] + COLUMNS[: r % len(COLUMNS)]  # rotate the order
            for column in columns:
                value = measure(column, name, length, args, keras)
                if value is not None:
                    best[name, column] = max(best.get((name, column), 0.0), value)
                shown = f"{value:,.0f}" if value else "-"
                print(f"round {r + 1}/{args.rounds}  {name:9s} {column:12s} {shown} samples/s", file=sys.stderr)
    import torch

    from dnacnn.device import resolve_precision

    default = resolve_precision("auto", torch.device("cpu"))  # what `dnacnn train` uses here
    header = ["model", "length", *(HEADERS[c] for c in COLUMNS), f"dnacnn default ({default}) / Keras", "target"]
    rows = []
    for name, length in CASES.items():
        cells = [f"{best[name, c]:,.0f}" if (name, c) in best else "-" for c in COLUMNS]
        ratio = "-"
        if (name, "keras") in best and (name, f"dnacnn-{default}") in best:
            ratio = f"{best[name, f'dnacnn-{default}'] / best[name, 'keras']:.2f}x"
        rows.append([f"`{name}`", str(length), *cells, ratio, ">= 1.2x" if name == "keras-1d" else ">= 2x"])
    return "\n".join(
        [
            "## Training samples/s on the CPU (higher is better)",
            "",
            f"Batch 128, Adam 1e-3, {args.threads} threads, best of {args.rounds} interleaved rounds, "
            f"steady-state epochs (first of {args.epochs} dropped); {machine()}."
            + ("" if native_bf16() else " No native bf16 on this CPU: bf16 columns ran an eighth of the rows."),
            "",
            markdown_table(header, rows),
        ]
    )


# ------------------------------------------------------------------------------ profile


PROFILE_GROUPS = (
    # (part, test on the name of a top-level profiler event); the first match wins
    ("optimizer step + zero_grad", lambda n: n.startswith("Optimizer.")),
    ("backward", lambda n: n.startswith("autograd::engine")),
    ("batch gather (in memory)", lambda n: n == "aten::index_select"),
    ("batch read (DataLoader, memmap)", lambda n: "DataLoader" in n),
    ("one-hot expansion", lambda n: n == "aten::eq"),
    ("dtype casts", lambda n: n in ("aten::to", "aten::_to_copy")),
    ("loss", lambda n: n in ("aten::binary_cross_entropy_with_logits", "aten::isfinite", "aten::nan_to_num")),
    ("forward and other ops", lambda n: n.startswith("aten::")),
)


def profile_table(args) -> str:
    """Where ``dnacnn.train.train`` spends its time: torch.profiler over two epochs, per network."""
    import io

    import torch
    from torch.profiler import ProfilerActivity, profile

    from dnacnn.train import TrainSettings, train

    torch.set_num_threads(args.threads)
    lines = ["## Where dnacnn train spends its time (torch.profiler, CPU)", ""]
    for name, length in CASES.items():
        for precision in ("fp32", "bf16"):
            store = make_store(name, length, samples(name, precision) // 4)
            out = OUT / "train_bench" / f"profile-{name}.dnacnn"
            opts = TrainSettings(
                model=name,
                optimizer="adam",
                batch_size=128,
                epochs=2,
                precision=precision,
                device="cpu",
                threads=args.threads,
                progress=False,
            )
            with contextlib.redirect_stderr(io.StringIO()), profile(activities=[ProfilerActivity.CPU]) as prof:
                t0 = time.perf_counter()
                train(store, out, opts)
                wall = time.perf_counter() - t0
            lines += [f"### `{name}` at {length}, {precision}: {wall:.1f} s under the profiler", ""]
            lines += [_profile_summary(prof), ""]
    return "\n".join(lines)


def _profile_summary(prof) -> str:
    """Top-level (depth-0 within the step) self-time grouping plus the top ops by total self time."""
    events = [e for e in prof.events() if e.cpu_parent is None]
    groups: dict[str, float] = {}
    for e in events:
        group = next((g for g, match in PROFILE_GROUPS if match(e.name)), "other")
        groups[group] = groups.get(group, 0.0) + e.cpu_time_total / 1e6
    total = sum(groups.values())
    rows = [[g, f"{s:.2f}", f"{100 * s / total:.0f}%"] for g, s in sorted(groups.items(), key=lambda kv: -kv[1])]
    ops = sorted(prof.key_averages(), key=lambda k: -k.self_cpu_time_total)[:8]
    top = ", ".join(f"{k.key} {k.self_cpu_time_total / 1e6:.2f}s" for k in ops)
    return markdown_table(["part (top-level events)", "seconds", "share"], rows) + f"\n\nTop ops by self time: {top}"


# ------------------------------------------------------------------------------ Zou primer


def zou_table(args) -> str:
    """The primer's published protocol through the CLI: wall time (process start to exit) and accuracy."""
    sys.path.insert(0, str(HERE / "accuracy"))
    from zou import make_store as zou_store  # published split: 1125 fit / 375 valid (Keras' last 25%) / 500 test

    from dnacnn.metrics import compute_metrics
    from dnacnn.predict import predict_store

    work = OUT / "train_bench" / "zou"
    work.mkdir(parents=True, exist_ok=True)
    data = REPO / "tests" / "data"
    store = zou_store(work, data / "zou_sequences.txt", data / "zou_labels.txt")
    dnacnn = Path(sys.executable).with_name("dnacnn")
    rows = []
    runs = [("fp32", seed, patience) for seed in range(args.zou_seeds) for patience in (None, 50)]
    runs += [("bf16", seed, None) for seed in range(args.zou_seeds)]  # emulated bf16 is slow: preset only
    for precision, seed, patience in runs:
        label = "all 50 epochs" if patience else "early stopping (preset)"
        model = work / f"zou-{precision}-{seed}-{patience}.dnacnn"
        cmd = [str(dnacnn), "train", str(store), "-o", str(model), "--model", "zou2019", "--seed", str(seed)]
        cmd += ["--threads", str(args.threads), "--precision", precision, "--no-progress"]
        cmd += ["--patience", str(patience)] if patience else []
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"dnacnn train failed: {proc.stderr.strip()[-500:]}")
        _, y, scores = predict_store(model, store, split="test", device="cpu")
        m = compute_metrics(y, scores, "binary", ["label"])["macro"]
        epochs = len(model.with_name(model.stem + ".history.tsv").read_text().splitlines()) - 1
        rows.append([precision, seed, label, epochs, f"{wall:.1f}", f"{m['accuracy']:.3f}"])
    return "\n".join(
        [
            "## Zou et al. 2019 primer, published protocol, with `dnacnn train` (CLI)",
            "",
            "1500/500 split (`train_test_split(test_size=0.25, random_state=42)`; 375 of the 1500 for "
            "validation as Keras' `validation_split=0.25`), `zou2019` preset (Adam, batch 32, up to 50 "
            f"epochs), {args.threads} threads. Wall time from process start to exit; accuracy on the 500 test "
            "rows at 0.5. Target: accuracy >= 0.98 in under 2 minutes.",
            "",
            markdown_table(["precision", "seed", "stopping", "epochs run", "wall s", "test accuracy"], rows),
        ]
    )


# ------------------------------------------------------------------------------ output


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    return f"{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (0: no throughput table)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per measurement (the first is dropped)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras-TF column")
    parser.add_argument("--profile", action="store_true", help="add a torch.profiler breakdown")
    parser.add_argument("--zou", action="store_true", help="add the Zou primer protocol (wall time, accuracy)")
    parser.add_argument("--zou-seeds", type=int, default=3)
    args = parser.parse_args()
    sections = [throughput_table(args)] if args.rounds > 0 else []
    if args.profile:
        sections.append(profile_table(args))
    if args.zou:
        sections.append(zou_table(args))
    text = "\n\n".join(sections) + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / ".train_bench.md.tmp"
    tmp.write_text(text)
    os.replace(tmp, OUT / "train_bench.md")


if __name__ == "__main__":
    main()
