"""Training throughput under load: ``dnacnn train`` with its default ``--threads auto`` beside
``--threads 1`` and ``--threads 2``, with 0, 2 and 4 competing busy processes (issue 17, item 6).

What is measured: training samples/s of ``dnacnn.train.train`` on a store of random 101-bp DNA
(training split only, so every epoch runs; ``deepbind`` by default: its small operations meet at
OpenMP's barrier most often per sample, the case where waiting matters most; ``--model tfbind``,
the preset of the issue's report, is 40x slower per sample), ``--epochs 3``, as the rows of an
epoch over the best of epochs 2-3 from the run's history (the first is a warm-up).  The runs of a
load level share one worker process started as the CLI starts (``quiet_openmp`` before torch is
imported, so OpenMP waits passively), so start-up costs once per level; each run sets its threads
as ``dnacnn train --threads X`` does.  ``--spin`` adds ``2-spin``: ``--threads 2`` in a worker with
GNU OpenMP's default spin-waiting (``GOMP_SPINCOUNT=300000``, so dnacnn leaves
``OMP_WAIT_POLICY`` alone), the behaviour before issue 17 (``2-s3000`` in ``--configs``: 3,000
spins).

The competing load of a level is ``k`` plain CPU-bound Python loops started by this script and
stopped after the level.  Within a level the configurations are interleaved round by round (order
rotated).  The machine is shared with other jobs, so the table compares runs of the same round
(seconds apart, so they meet about the same load): the ratios are medians over rounds of the
per-round ratio; it also shows the load other jobs made, as the 1-minute load average and the
run queue (runnable tasks of other processes, this script's loops included) at the start of
each run.  ``--probe`` adds a direct check
that passive waiting takes effect: the CPU time OpenMP's worker thread burns while the main thread
sleeps between parallel operations, as the CLI sets it and spinning.  ``--paired SECONDS`` is
the measurement behind ``auto``'s rule instead: the preset's network in a plain loop that
alternates 1 and 2 threads every few steps, so both meet the same load; the median ratio of 2
threads over 1 is shown by the run queue sampled before each pair (how many other tasks were
runnable), with ``--loads`` busy loops running.

Targets (issue 17): the default >= 0.9x of ``--threads 1`` under load (k = 2, 4) and >= 0.9x of
``--threads 2`` idle (k = 0).

Run:  .venv/bin/python benchmarks/threads_bench.py [--rounds 4] [--loads 0,2,4] [--spin] [--probe]
      .venv/bin/python benchmarks/threads_bench.py --paired 25 --loads 0,1,2 [--model tfbind]
      (5 minutes on 2 cores at load 2-4, 10 at load 8; --quick: one round, half the rows)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "threads_bench"
LENGTH = 101
BUSY = "x = 1\nwhile True:\n    x = (x * 1103515245 + 12345) & 0xFFFFFFFF\n"
SPIN_ENV = {"GOMP_SPINCOUNT": "300000"}  # libgomp's default spin before sleeping (no OMP_WAIT_POLICY)
CLEAN = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
NAMES = {"auto": "auto (default)", "2-spin": "--threads 2, spinning (before)"}


def make_store(model: str, rows: int) -> Path:
    """A training-only store of ``rows`` random DNA sequences with 0/1 labels (``dnacnn encode``)."""
    import numpy as np

    from dnacnn.encode import EncodeOptions, encode

    path = OUT / f"{model}-{rows}.store"
    if (path / "manifest.json").is_file():
        return path
    rng = np.random.default_rng(0)
    bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (rows, LENGTH))]
    tsv = OUT / f"{model}-{rows}.tsv"
    tsv.parent.mkdir(parents=True, exist_ok=True)
    with open(tsv, "w") as f:
        f.write("seq\tlabel\n")
        f.writelines(f"{row.tobytes().decode()}\t{label}\n" for row, label in zip(bases, rng.integers(0, 2, rows)))
    opts = EncodeOptions(format="tabular", label_cols=["label"], task="binary", split="train", progress=False)
    encode(tsv, path, opts)
    tsv.unlink()
    return path


def run_queue() -> int:
    """Runnable tasks of other processes now (the kernel's running count less this reader)."""
    return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# ------------------------------------------------------------------------------ worker (subprocess)


def worker(model: str, store: str, epochs: int) -> None:
    """Start as the CLI does, then train once per line of stdin (a ``--threads`` value) and
    answer one JSON line each."""
    from dnacnn.device import quiet_openmp, reuse_freed_memory

    reuse_freed_memory()
    quiet_openmp()
    import torch

    from dnacnn.train import TrainSettings, train

    out = OUT / f"m-{os.getpid()}.dnacnn"
    for line in sys.stdin:
        config = line.strip()
        before = {"load": load_average(), "queue": run_queue()}
        threads = config.split("-")[0]
        opts = TrainSettings(model=model, epochs=epochs, threads=threads, device="cpu", progress=False)
        log = io.StringIO()
        with contextlib.redirect_stderr(log):
            result = train(store, out, opts)
        m = re.search(r"x ([\d,]+) batches of (\d+)", log.getvalue())
        rows = int(m[1].replace(",", "")) * int(m[2])
        seconds = [float(row.split("\t")[-1]) for row in result.history_path.read_text().splitlines()[1:]]
        out.unlink()
        result.history_path.unlink()
        sps = rows / min(seconds[1:] or seconds)
        print(json.dumps({**before, "threads": torch.get_num_threads(), "sps": sps}), flush=True)


class Worker:
    """A worker process for one load level and wait policy (``wait``: a ``GOMP_SPINCOUNT``, or
    None for the CLI's passive waiting)."""

    def __init__(self, args, store: Path, wait: str | None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CLEAN} | ({"GOMP_SPINCOUNT": wait} if wait else {})
        cmd = [sys.executable, __file__, "--worker", args.model, str(store), str(args.epochs)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)

    def run(self, config: str) -> dict:
        self.proc.stdin.write(config + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the worker failed on {config}")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def wait_of(config: str) -> str | None:
    """A configuration's ``GOMP_SPINCOUNT``: ``2-spin`` -> 300000 (libgomp's default), ``2-s3000``
    -> 3000; None (passive, as the CLI sets it) otherwise."""
    tail = config.partition("-")[2]
    return SPIN_ENV["GOMP_SPINCOUNT"] if tail == "spin" else tail[1:] if tail.startswith("s") else None


# ------------------------------------------------------------------------------ probe


def probe(spin: bool) -> float:
    """Milliseconds of CPU OpenMP's worker thread burns per second that the main thread sleeps
    between parallel operations (a fresh process, started as the CLI starts)."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN} | (SPIN_ENV if spin else {})
    proc = subprocess.run([sys.executable, __file__, "--probe-worker"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"probe failed:\n{proc.stderr[-2000:]}")
    return float(proc.stdout.strip())


def probe_worker() -> None:
    import threading

    from dnacnn.device import quiet_openmp

    quiet_openmp()
    import torch

    torch.set_num_threads(2)
    x = torch.ones(1 << 20)
    x.exp()  # starts OpenMP's team
    main = threading.get_native_id()
    burnt = slept = 0.0
    for _ in range(40):
        x.exp()
        t0, c0 = time.perf_counter(), others_cpu(main)
        time.sleep(0.01)
        slept += time.perf_counter() - t0
        burnt += others_cpu(main) - c0
    print(f"{1000 * burnt / slept:.1f}")


def others_cpu(main: int) -> float:
    """Seconds on a CPU of this process's threads other than ``main`` (``/proc/self/task/*/schedstat``)."""
    tasks = [t for t in Path("/proc/self/task").iterdir() if int(t.name) != main]
    return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9


# ------------------------------------------------------------------------------ paired (the design of auto)


def paired_worker(model_name: str, seconds: float) -> None:
    """The preset's network in a plain training loop (random one-hot batches of 64, Adam) that
    alternates 1 and 2 threads every few steps for ``seconds``; prints the median ratio of 2
    threads' samples/s over 1's, overall and by the run queue (other processes' runnable tasks)
    sampled before each pair."""
    from dnacnn.device import quiet_openmp

    quiet_openmp()
    import torch
    import torch.nn.functional as F

    from dnacnn.models import build_model, load_spec

    torch.manual_seed(0)
    n, batch = 2048, 64
    X = F.one_hot(torch.randint(0, 4, (n, LENGTH)), 4).float().transpose(1, 2).contiguous()
    y = torch.randint(0, 2, (n, 1)).float()
    model = build_model(load_spec(model_name), 4, LENGTH, 1, "binary")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = 2 if model_name == "tfbind" else 8  # about 0.1-0.3 s a chunk

    def chunk(threads: int, start: int) -> float:
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        for i in range(start, start + steps):
            s = (i * batch) % (n - batch)
            loss = F.binary_cross_entropy_with_logits(model(X[s : s + batch]), y[s : s + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return steps * batch / (time.perf_counter() - t0)

    chunk(1, 0), chunk(2, 0)  # warm-up
    ratios: dict[int, list[float]] = {}
    ended, i = time.time() + seconds, 0
    while time.time() < ended:
        queue = round(statistics.mean(run_queue() for _ in range(5)))
        order = (1, 2) if i % 2 == 0 else (2, 1)  # alternate which goes first
        rate = {t: chunk(t, i * steps) for t in order}
        ratios.setdefault(min(queue, 4), []).append(rate[2] / rate[1])
        i += 1
    every = [r for rs in ratios.values() for r in rs]
    print(
        json.dumps(
            {"all": [len(every), statistics.median(every)]}
            | {str(q): [len(rs), statistics.median(rs)] for q, rs in sorted(ratios.items())}
        )
    )


def alternate(args, loads: list[int]) -> str:
    """2 threads over 1, alternated in one process, with ``k`` busy loops: by the run queue."""
    lines = [
        f"{args.model}: samples/s of 2 threads over 1, alternated every few steps in one process "
        f"({args.paired:.0f} s per level; median ratio, pairs in brackets)",
        "",
        "| busy processes | all pairs | run queue 0 | 1 | 2 | 3 | 4+ |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    for k in loads:
        procs = busy(k)
        try:
            time.sleep(0.5)
            cmd = [sys.executable, __file__, "--paired-worker", args.model, str(args.paired)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        finally:
            stop(procs)
        if done.returncode != 0:
            raise SystemExit(f"paired worker failed:\n{done.stderr[-2000:]}")
        got = json.loads(done.stdout)
        cells = [f"{got[q][1]:.2f}x ({got[q][0]})" if q in got else "-" for q in ("all", "0", "1", "2", "3", "4")]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


# ------------------------------------------------------------------------------ driver


def busy(k: int) -> list[subprocess.Popen]:
    """``k`` CPU-bound Python loops (stopped by :func:`stop`), each in a session of its own as
    another user's job is: where the kernel groups tasks by session (autogroup) each is a group."""
    return [subprocess.Popen([sys.executable, "-c", BUSY], start_new_session=True) for _ in range(k)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def measure_level(k: int, args, store: Path, configs: list[str], rounds: int) -> dict:
    """Every configuration ``rounds`` times, interleaved, with ``k`` busy loops running."""
    procs = busy(k)
    workers = {wait: Worker(args, store, wait) for wait in dict.fromkeys(map(wait_of, configs))}
    try:
        results: dict = {c: [] for c in configs}
        for r in range(rounds):
            for c in configs[r % len(configs) :] + configs[: r % len(configs)]:
                res = workers[wait_of(c)].run(c)
                results[c].append(res)
                print(f"k={k} round {r + 1} {c}: {json.dumps(res)}", file=sys.stderr, flush=True)
        return results
    finally:
        for w in workers.values():
            w.close()
        stop(procs)


def paired(results: dict, k: int, a: str, b: str) -> float | None:
    """The median over rounds of ``a``'s samples/s over ``b``'s in the same round: the runs of a
    round are seconds apart, so they meet about the same load from other jobs."""
    runs = results[k]
    if a not in runs or b not in runs:
        return None
    return statistics.median(x["sps"] / y["sps"] for x, y in zip(runs[a], runs[b]))


def table(results: dict, loads: list[int], configs: list[str]) -> str:
    lines = [
        "| busy processes | threads | used | samples/s (median) | samples/s (best) | vs --threads 1 | vs --threads 2 "
        "| load average | run queue |",
        "|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for k in loads:
        for c in configs:
            runs = results[k][c]
            used = ",".join(map(str, sorted({r["threads"] for r in runs})))
            sps = [r["sps"] for r in runs]
            ratio = {t: paired(results, k, c, t) for t in ("1", "2")}
            shown = {t: f"{v:.2f}x" if v is not None else "-" for t, v in ratio.items()}
            loadavg = f"{min(r['load'] for r in runs):.1f}-{max(r['load'] for r in runs):.1f}"
            queue = f"{min(r['queue'] for r in runs)}-{max(r['queue'] for r in runs)}"
            name = NAMES.get(c, f"--threads {c.replace('-s', ', GOMP_SPINCOUNT=')}")
            lines.append(
                f"| {k} | {name} | {used} | {statistics.median(sps):,.0f} | {max(sps):,.0f} | {shown['1']} "
                f"| {shown['2']} | {loadavg} | {queue} |"
            )
    return "\n".join(lines)


def verdict(results: dict, loads: list[int]) -> list[str]:
    """The targets, on the median paired ratios."""
    out = []
    for k in loads:
        against = "2" if k == 0 else "1"
        ratio = paired(results, k, "auto", against)
        if ratio is not None:
            ok = "meets" if ratio >= 0.9 else "MISSES"
            out.append(f"- {k} busy: auto / --threads {against} = {ratio:.2f}x ({ok} the >= 0.9x target)")
        others = [c for c in results[k] if c != "auto"]
        if ratio is not None and others:
            worst = min(others, key=lambda c: paired(results, k, "auto", c))
            name = NAMES.get(worst, f"--threads {worst}")
            out.append(f"  auto / the best other choice ({name}) = {paired(results, k, 'auto', worst):.2f}x")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="deepbind")
    parser.add_argument("--rows", type=int, default=None, help="store rows [tfbind 1024, others 16384]")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--loads", default="0,2,4", help="competing busy processes per level")
    parser.add_argument("--configs", default="auto,1,2", help="--threads values (2-s3000: GOMP_SPINCOUNT=3000)")
    parser.add_argument("--spin", action="store_true", help="add --threads 2 with OpenMP spin-waiting (before)")
    parser.add_argument("--probe", action="store_true", help="measure the worker thread's CPU while idle")
    parser.add_argument("--quick", action="store_true", help="one round, half the rows")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "threads_bench.md")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--paired", type=float, default=0, help="seconds per level: 2 threads over 1, alternated")
    parser.add_argument("--probe-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--paired-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.worker:
        return worker(args.worker[0], args.worker[1], int(args.worker[2]))
    if args.probe_worker:
        return probe_worker()
    if args.paired_worker:
        return paired_worker(args.paired_worker[0], float(args.paired_worker[1]))
    rows = args.rows or (1024 if args.model == "tfbind" else 16384) // (2 if args.quick else 1)
    rounds = 1 if args.quick else args.rounds
    loads = [int(k) for k in args.loads.split(",")]
    if args.paired:
        text = alternate(args, loads)
        print(text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        return
    configs = args.configs.split(",") + (["2-spin"] if args.spin else [])
    store = make_store(args.model, rows)
    started = time.time()
    results = {k: measure_level(k, args, store, configs, rounds) for k in loads}
    import torch

    head = (
        f"{os.cpu_count()} logical cores ({platform.machine()}); python {platform.python_version()}, torch "
        f"{torch.__version__}; {args.model}, {rows} rows x {LENGTH} bp, {rounds} round(s), best of epochs "
        f"2-{args.epochs}; {time.strftime('%Y-%m-%d %H:%M')}, {(time.time() - started) / 60:.1f} min"
    )
    text = "\n".join([head, "", table(results, loads, configs), "", *verdict(results, loads)])
    if args.probe:
        passive, spin = probe(False), probe(True)
        text += (
            f"\n\nOpenMP's worker thread, while the main thread sleeps between operations: {passive:.1f} ms of CPU "
            f"per second as the CLI sets it (OMP_WAIT_POLICY=PASSIVE), {spin:.1f} ms spinning (GOMP_SPINCOUNT=300000)"
        )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
