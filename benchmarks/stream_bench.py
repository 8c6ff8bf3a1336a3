"""Stores bigger than memory (issue 23): training streamed under a memory cap, and BED encoding at scale.

* **train** - ``dnacnn train`` on CPU, 101 bp random sequences: (i) on a store that fits, the
  training split resident vs streamed (``dnacnn.train.batches.PRELOAD_BYTES`` set to 0, as
  ``train_bench.py`` does), for ``tiny`` (one conv layer: little compute, so the data path shows)
  and ``deepbind``; rows/s from the epochs' ``seconds`` in the history, peak RSS from ``wait4``.  (ii) On a store of
  ``--cap-factor`` (3) times a memory cap, inside a cgroup whose memory limit is the cap: one whole
  streamed epoch of the data path alone (``dnacnn.stream``, no model: every row read), and
  ``tiny`` trained on the first ``--max-batches`` batches of each epoch (a whole epoch of 30M rows
  takes too long on a 2-core machine); peak RSS and the cgroup's own peak (anonymous memory plus
  the page cache charged to it).  The cap is a cgroup v1 ``memory.limit_in_bytes`` (or v2
  ``memory.max``) under ``/sys/fs/cgroup`` (needs root); where none can be made the run is
  uncapped and the table says so.  Each run starts with the store evicted from the page cache.
* **encode** - ``dnacnn encode BED --genome FA --length 200`` as a command on 1M, 3M and 10M
  random windows of a synthetic 96 Mb genome: records/s and peak RSS (flat in the record count?).

Inputs go to ``benchmarks/out/stream_bench/`` (gitignored) and are reused.

Run:  python benchmarks/stream_bench.py [--part train,encode] [--cap-mb 1024] [--encode-n 1000000,10000000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_bench import run_command  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "stream_bench"
CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")
CHROM_BASES = 24_000_000  # 4 chromosomes: a 96 Mb genome (60 bases a line)
WINDOW = 200


# --------------------------------------------------------------------------- processes


def run_measured(cmd: list[str], cgroup: Path | None = None, stdout: bool = False) -> tuple[float, float, float, str]:
    """Run ``cmd`` (inside ``cgroup`` when given); returns (wall s, peak RSS MB, CPU s, stdout)."""
    preexec = None
    if cgroup is not None:
        procs = cgroup / "cgroup.procs"

        def preexec() -> None:  # join the cgroup before exec: the whole run is charged to it
            procs.write_text(str(os.getpid()))

    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out if stdout else subprocess.DEVNULL, stderr=err, preexec_fn=preexec)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        out.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({status}):\n{err.read().decode()[-3000:]}")
        return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out.read().decode()


def make_cgroup(name: str, cap_bytes: int) -> Path | None:
    """A memory cgroup limited to ``cap_bytes`` (v1 or v2), or None where none can be made."""
    for root, limit in ((CGROUP_V1, "memory.limit_in_bytes"), (CGROUP_V2, "memory.max")):
        if not (root / "cgroup.procs").exists() or not (root / limit).exists() and root == CGROUP_V1:
            continue
        path = root / name
        try:
            path.mkdir(exist_ok=True)
            (path / limit).write_text(str(cap_bytes))
            if root == CGROUP_V1 and (path / "memory.max_usage_in_bytes").exists():
                (path / "memory.max_usage_in_bytes").write_text("0")  # reset the peak
            return path
        except OSError:
            continue
    return None


def cgroup_peak_mb(path: Path | None) -> float | None:
    for name in ("memory.max_usage_in_bytes", "memory.peak"):
        if path is not None and (path / name).exists():
            return int((path / name).read_text()) / 1024**2
    return None


# --------------------------------------------------------------------------- train


def random_store(n: int, length: int, valid_frac: float) -> Path:
    """A store of ``n`` random sequences with a planted motif in the positives (seed 0)."""
    path = OUT / f"random_{n}x{length}_v{valid_frac}.store"
    if (path / "manifest.json").exists():
        return path
    from dnacnn.split import random_split
    from dnacnn.store import StoreWriter

    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    motif = np.array([2, 0, 1, 3, 2, 2, 0, 1], np.uint8)  # GACTGGAC
    with StoreWriter(path, length, 1) as writer:
        for start in range(0, n, 1_000_000):
            b = min(1_000_000, n - start)
            codes = rng.integers(0, 4, (b, length), dtype=np.uint8)
            y = rng.random(b) < 0.5
            codes[y, 40 : 40 + len(motif)] = motif
            ids = [f"r{i}" for i in range(start, start + b)]
            writer.append(codes, y.astype(np.float32)[:, None], ids)
        split = random_split(np.asarray(writer.labels()), "binary", valid_frac, 0.0, seed=0)
        writer.finish(
            split,
            {
                "encoding": {"kind": "dna", "scheme": "onehot", "channels": 4, "length": length},
                "task": "binary",
                "label_names": ["label"],
                "inputs": [],
                "settings": {"seed": 0, "valid_frac": valid_frac},
            },
        )
    return path


TINY_SPEC = """name: stream-tiny
description: 8 motif detectors of width 12 on one strand, global max pooling (little compute per row).
binary_head: sigmoid
layers:
  - conv1d: {filters: 8, kernel_size: 12, activation: relu}
  - globalmaxpool1d: {}
"""


def model_arg(name: str) -> str:
    """A preset name, or ``tiny``: the spec above, written under benchmarks/out."""
    if name != "tiny":
        return name
    path = OUT / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return str(path)


def cold(store: Path) -> None:
    """Evict the store's files from the page cache: every run starts reading from disk."""
    for name in ("codes.u8", "labels.f32"):
        fd = os.open(store / name, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def train_run(store: Path, model: str, args, streamed: bool, cgroup: Path | None = None, max_batches: int = 0) -> dict:
    """``dnacnn train`` in a fresh process: samples/s of the median epoch after the first, peak RSS.

    ``max_batches``: stop each epoch after this many batches (0: whole epochs)."""
    out = OUT / ("streamed" if streamed else "resident")
    out.mkdir(parents=True, exist_ok=True)
    for p in out.iterdir():
        p.unlink()
    # PRELOAD_BYTES 0 sends the run down the streamed path whatever the store's size
    code = [
        "import itertools, dnacnn.train.batches as b, dnacnn.cli as c",
        f"b.PRELOAD_BYTES = {0 if streamed else 2**62}",
    ]
    if max_batches:
        code += [
            "real = b.stream_batches",
            f"b.stream_batches = lambda *a: itertools.islice(real(*a), {max_batches})",
        ]
    code.append("c.app(prog_name='dnacnn')")
    cmd = [sys.executable, "-c", "\n".join(code), "train", str(store), "-o", str(out / "m.dnacnn")]
    cmd += ["--model", model_arg(model), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    cmd += ["--threads", str(args.threads), "--device", "cpu", "--precision", "fp32", "--patience", "100"]
    cmd += ["--no-progress"]
    cold(store)
    wall, rss, cpu, _ = run_measured(cmd, cgroup)
    seconds = [float(line.split("\t")[-1]) for line in (out / "m.history.tsv").read_text().splitlines()[1:]]
    n = max_batches * args.batch_size if max_batches else split_counts(store)["train"]
    steady = sorted(seconds[1:])[len(seconds[1:]) // 2] if len(seconds) > 1 else seconds[0]
    return {"rows": n, "first": n / seconds[0], "steady": n / steady, "rss": rss, "cgroup": cgroup_peak_mb(cgroup)}


def read_epoch(store: str, batch_size: int, workers: int) -> None:
    """Child process of :func:`read_run`: one streamed epoch of the training split, no model."""
    import torch

    from dnacnn.store import Store
    from dnacnn.stream import BlockReader, BlockShuffle, stream_batches

    s = Store.open(store)
    idx = s.indices("train")
    order = BlockShuffle(idx, batch_size, 0, s.codes.shape[1] + 4 * s.labels.shape[1])
    order.epoch = 1
    reader = BlockReader(s.path, s.codes.shape[1], s.labels.shape[1])
    t0, rows, checksum = time.perf_counter(), 0, 0
    for codes, _ in stream_batches(order, reader, torch.device("cpu"), workers):
        rows += len(codes)
        checksum += int(codes[:, 0].sum())  # touch every batch
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0}))


def read_run(store: Path, args, cgroup: Path | None) -> dict:
    cold(store)
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import stream_bench as b; b.read_epoch(*sys.argv[1:2], "
    code += f"{args.batch_size}, 1)"
    wall, rss, _, out = run_measured([sys.executable, "-c", code, str(store)], cgroup, stdout=True)
    result = json.loads(out)
    return {
        "rows": result["rows"],
        "rate": result["rows"] / result["seconds"],
        "rss": rss,
        "cgroup": cgroup_peak_mb(cgroup),
    }


def data_path(store: Path, batch_size: int, repeats: int = 3) -> list[list[str]]:
    """Rows/s of the two input paths alone, no model, in this process: the resident gather
    (``resident_batches`` over the preloaded split) and ``stream_batches`` (reads included; the
    store evicted from the page cache first), one thread; best of ``repeats`` epochs."""
    import torch

    from dnacnn.store import Store
    from dnacnn.stream import BlockReader, BlockShuffle, stream_batches
    from dnacnn.train.batches import EpochBatches, on_device, preload, resident_batches

    torch.set_num_threads(1)
    s = Store.open(store)
    idx = s.indices("train")
    cold(store)
    t0 = time.perf_counter()
    resident = on_device(preload(s, idx), torch.device("cpu"))
    load = time.perf_counter() - t0
    sampler = EpochBatches(np.arange(len(idx)), batch_size, 0)
    order = BlockShuffle(idx, batch_size, 0, s.codes.shape[1] + 4 * s.labels.shape[1])
    reader = BlockReader(s.path, s.codes.shape[1], s.labels.shape[1])
    best = {"resident": math.inf, "streamed": math.inf}
    for epoch in range(1, repeats + 1):
        sampler.epoch = order.epoch = epoch
        cold(store)
        for name, batches in (
            ("resident", lambda: resident_batches(sampler, resident)),
            ("streamed", lambda: stream_batches(order, reader, torch.device("cpu"), 1)),
        ):
            t0 = time.perf_counter()
            for _batch in batches():
                pass
            best[name] = min(best[name], time.perf_counter() - t0)
    return [
        [f"data path only: {name}", f"{len(idx):,}", f"{len(idx) / sec:,.0f}", f"{sec:.2f}"]
        + ([f"+ {load:.2f} s preload"] if name == "resident" else ["reads included"])
        for name, sec in best.items()
    ]


def split_counts(store: Path) -> dict:
    return json.loads((store / "manifest.json").read_text())["split_counts"]


def store_gb(store: Path) -> float:
    return sum((store / name).stat().st_size for name in ("codes.u8", "labels.f32")) / 1e9


def bench_train(args) -> str:
    cap = args.cap_mb * 1024**2
    small = random_store(args.small_n, args.length, args.valid_frac)
    rows = []
    for model in filter(None, args.models):
        resident = train_run(small, model, args, streamed=False)
        streamed = train_run(small, model, args, streamed=True)
        for name, r in (("resident", resident), ("streamed", streamed)):
            ratio = f"{r['steady'] / resident['steady']:.2f}x"
            rows.append([f"{model}: {name}", f"{store_gb(small):.2f}", f"{r['rows']:,}", f"{r['first']:,.0f}"])
            rows[-1] += [f"{r['steady']:,.0f}", ratio, f"{r['rss']:.0f}", "-"]
    fits = (
        f"Store that fits: {args.small_n:,} random rows of {args.length} bp (1% valid); {args.epochs} epochs, "
        f"batch {args.batch_size}, {args.threads} threads, CPU fp32; rows/s of epoch 1 and of the median later epoch."
    )
    fits += "\n\n" + table(
        data_path(small, args.batch_size),
        ["input path (no model)", "rows/epoch", "rows/s", "s/epoch", "note"],
    )
    fits += "\n\n" + table(
        rows,
        ["run", "store GB", "rows/epoch", "epoch 1 rows/s", "rows/s", "vs resident"]
        + ["peak RSS MB", "cgroup peak MB"],
    )
    if not args.cap_mb:
        return fits
    big = random_store(int(args.cap_factor * cap / (args.length + 4)) + 1, args.length, args.valid_frac)
    cgroup = make_cgroup("dnacnn_stream_bench", cap)
    capped = f"cgroup memory limit {args.cap_mb} MiB" if cgroup else f"NO cap could be set (budget {args.cap_mb} MiB)"
    big_rows = []
    for name, run in (
        ("read one epoch (no model)", lambda: read_run(big, args, cgroup)),
        (
            f"train tiny, first {args.max_batches} batches of each of {args.epochs} epochs",
            lambda: train_run(big, "tiny", args, streamed=True, cgroup=cgroup, max_batches=args.max_batches),
        ),
    ):
        if cgroup is not None:
            reset_peak(cgroup)
        try:
            r = run()
        except RuntimeError as e:  # e.g. killed by the cgroup's OOM killer
            big_rows.append([name, "-", "-", f"failed: {str(e).splitlines()[0][-60:]}", "-"])
            continue
        cg = "-" if r["cgroup"] is None else f"{r['cgroup']:.0f}"
        big_rows.append([name, f"{r['rows']:,}", f"{r.get('rate', r.get('steady')):,.0f}", f"{r['rss']:.0f}", cg])
    if cgroup is not None:
        cgroup.rmdir()
    over = (
        f"Store of {store_gb(big):.2f} GB ({store_gb(big) * 1e9 / cap:.1f}x the cap; {split_counts(big)['train']:,} "
        f"training rows), streamed under a {capped}, the page cache of the store dropped before each run."
    )
    over += "\n\n" + table(big_rows, ["run", "rows/epoch", "rows/s", "peak RSS MB", "cgroup peak MB"])
    return fits + "\n\n" + over


def bench_ratio(args) -> str:
    """Samples/s of training streamed from a store ``cap_factor`` x the memory cap (inside the cap)
    against the resident path on a store that fits, in interleaved rounds (load from other jobs
    hits both alike).  Each streamed epoch trains as many batches as a resident epoch (the first
    ``max_batches`` of its block-shuffled order), and the big store's validation split holds as
    many rows as the small one's, so the two epochs do the same work; rows/s of the median epoch
    after the first."""
    small = random_store(args.small_n, args.length, args.valid_frac)
    cap = args.cap_mb * 1024**2
    n_big = int(args.cap_factor * cap / (args.length + 4)) + 1
    n_valid = split_counts(small)["valid"]
    big = random_store(n_big, args.length, round(n_valid / n_big, 8))
    batches = -(-split_counts(small)["train"] // args.batch_size)
    cgroup = make_cgroup("dnacnn_stream_bench", cap)
    rows, ratios = [], []
    for r in range(1, args.rounds + 1):
        resident = train_run(small, args.models[0], args, streamed=False)
        if cgroup is not None:
            reset_peak(cgroup)
        streamed = train_run(big, args.models[0], args, streamed=True, cgroup=cgroup, max_batches=batches)
        ratios.append(streamed["steady"] / resident["steady"])
        cg = "-" if streamed["cgroup"] is None else f"{streamed['cgroup']:.0f}"
        rows.append(
            [str(r), f"{resident['steady']:,.0f}", f"{streamed['steady']:,.0f}", f"{ratios[-1]:.2f}x"]
            + [f"{resident['rss']:.0f}", f"{streamed['rss']:.0f}", cg]
        )
    if cgroup is not None:
        cgroup.rmdir()
    median = sorted(ratios)[len(ratios) // 2]
    head = (
        f"`{args.models[0]}`, batch {args.batch_size}, {args.threads} thread(s), CPU fp32, {args.epochs} epochs a run. "
        f"Resident: {split_counts(small)['train']:,} training rows ({store_gb(small):.2f} GB store). Streamed: a "
        f"{store_gb(big):.2f} GB store ({store_gb(big) * 1e9 / cap:.1f}x the {args.cap_mb} MiB "
        f"{'cgroup cap' if cgroup else 'budget (NO cap could be set)'}), {batches:,} batches an epoch; "
        f"both validate {n_valid:,} rows an epoch.  **Median streamed/resident: {median:.2f}x**."
    )
    header = ["round", "resident rows/s", "streamed rows/s", "streamed / resident"]
    header += ["resident peak RSS MB", "streamed peak RSS MB", "cgroup peak MB"]
    return head + "\n\n" + table(rows, header)


def reset_peak(cgroup: Path) -> None:
    if (cgroup / "memory.max_usage_in_bytes").exists():
        (cgroup / "memory.max_usage_in_bytes").write_text("0")


# --------------------------------------------------------------------------- encode


def genome_path() -> Path:
    """A synthetic genome: 4 chromosomes of 24 Mb of random bases, 60 a line (seed 0)."""
    path = OUT / "genome.fa"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        for c in range(1, 5):
            f.write(f">chr{c}\n".encode())
            bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, CHROM_BASES)]
            lines = np.full((CHROM_BASES // 60, 61), ord("\n"), np.uint8)
            lines[:, :60] = bases.reshape(-1, 60)
            f.write(lines.tobytes())
    os.replace(tmp, path)
    return path


def bed_path(n: int) -> Path:
    """``n`` distinct random 200 bp windows with a 0/1 label in column 4, sorted by chromosome and start."""
    path = OUT / f"windows_{n}.bed"
    if path.exists():
        return path
    rng = np.random.default_rng(n)
    span = CHROM_BASES - WINDOW
    pos = np.unique(rng.integers(0, 4 * span, n + n // 10 + 100))  # sorted; IDs must be unique
    pos = pos[np.sort(rng.choice(len(pos), n, replace=False))]
    chrom, start = pos // span + 1, pos % span
    label = rng.integers(0, 2, n)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        for i in range(0, n, 1_000_000):
            s = slice(i, i + 1_000_000)
            f.write(
                "".join(
                    f"chr{c}\t{b}\t{b + WINDOW}\t{y}\n"
                    for c, b, y in zip(chrom[s].tolist(), start[s].tolist(), label[s].tolist())
                )
            )
    os.replace(tmp, path)
    return path


SPLITS = {
    "random": [],
    "chrom": ["--split", "chrom", "--valid-chroms", "chr3", "--test-chroms", "chr4"],
}


def bench_encode(args) -> str:
    genome = genome_path()
    rows = []
    for n in args.encode_n:
        bed = bed_path(n)
        store = OUT / f"windows_{n}.store"
        for split, split_args in SPLITS.items():
            shutil.rmtree(store, ignore_errors=True)
            args_ = [str(bed), "--genome", str(genome), "--length", str(WINDOW), "--label-col", "4", *split_args]
            # the command's own VmHWM: a child's ru_maxrss would count this process's pages from before its exec
            wall, _, rss = run_command("encode", [*args_, "-o", str(store), "--no-progress"])
            rows.append(
                [f"{n:,}", split, f"{wall:.1f}", f"{n / wall:,.0f}", f"{n * WINDOW / wall / 1e6:.0f}", f"{rss:.0f}"]
            )
            shutil.rmtree(store, ignore_errors=True)
    note = (
        "`dnacnn encode BED --genome FA --length 200 --label-col 4` as a command (start-up included), with "
        "the default random split and with `--split chrom --valid-chroms chr3 --test-chroms chr4`."
    )
    return note + "\n\n" + table(rows, ["records", "split", "wall s", "records/s", "MB of sequence/s", "peak RSS MB"])


# --------------------------------------------------------------------------- report


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def machine_info() -> str:
    import torch

    load = os.getloadavg()[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{os.cpu_count()} logical cores, {mem:.0f} GiB RAM, load average {load:.1f}; "
        f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", default="train,encode", help="train, encode, ratio (comma-separated)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of --part ratio")
    p.add_argument("--cap-mb", type=int, default=1024, help="memory cap of the streamed run (MiB)")
    p.add_argument("--cap-factor", type=float, default=3.0, help="store size / cap")
    p.add_argument("--length", type=int, default=101)
    p.add_argument("--small-n", type=int, default=400_000, help="records of the store that fits")
    p.add_argument("--models", default="tiny,deepbind", help="models of the resident/streamed comparison")
    p.add_argument("--valid-frac", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-batches", type=int, default=300, help="batches an epoch of the capped training run")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--encode-n", default="1000000,3000000,10000000", help="record counts, comma-separated")
    args = p.parse_args(argv)
    args.encode_n = [int(x) for x in args.encode_n.split(",")]
    args.models = args.models.split(",")
    parts = args.part.split(",")
    print(machine_info() + "\n")
    if "train" in parts:
        print("### train: resident vs streamed under a memory cap\n\n" + bench_train(args) + "\n", flush=True)
    if "ratio" in parts:
        print("### ratio: streamed beyond the cap vs resident, interleaved\n\n" + bench_ratio(args) + "\n", flush=True)
    if "encode" in parts:
        print("### encode: BED windows x 200 bp from a genome\n\n" + bench_encode(args) + "\n", flush=True)


if __name__ == "__main__":
    main()
