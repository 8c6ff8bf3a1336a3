"""FASTA scale: ``encode()`` of one 100-Mbp record against 1M records of 100 bp (issue 17, item 4).

The same 100 MB of random sequence, written two ways under ``benchmarks/out/fasta_scale_bench/``
(deterministic, reused): one record on one line, and 1,000,000 records of 100 bp (the baseline:
the short-record case the reader was tuned for), each plain and gzipped (level 6).  Each input
is encoded by :func:`dnacnn.encode.encode` (``--label-value 1 --split train``, no ``--length``:
the long record is stored whole) in a fresh process; the best of R interleaved runs is kept.
The FASTA reader alone (``iter_fasta``) is timed the same way.  Reported: MB of sequence per
second of wall and of CPU time (the fairer number on a loaded machine), peak RSS (the child's own
VmHWM) and the ratio of the long record's MB/s to the short records'.  Target: the ratio within
0.5-2x, plain and gzipped (before the fix the reader re-copied the growing record every 1-MB
block: quadratic).  encode() does per-record work the reader does not (the duplicate-ID check,
ids.txt, the split), so end to end the long record runs up to ~2x faster than the short ones.

``--bomb`` adds the issue's gzip bomb: a 1.5-MB .gz holding one record of 1.5 Gbp of ``A``,
encoded with ``--length 1000``: refused once the record passes ``MAX_RECORD_BASES`` (256 Mbp), so
its time and peak RSS are those of reading that much.  ``--mbp`` makes the inputs smaller for a quick run.

Run:  python benchmarks/fasta_scale_bench.py [--repeats 2] [--mbp 100] [--bomb]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode_bench import machine_info, table  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "fasta_scale_bench"
BLOCK = 1 << 20

# run in a fresh process: wall and CPU time of encode() alone, RSS after imports and at peak (kB)
# (``parse`` in the options: the FASTA reader alone, dnacnn.io.fasta.iter_fasta)
CHILD = """
import json, sys, time
from dnacnn.encode import encode
from dnacnn.encode_options import EncodeOptions
from dnacnn.errors import DnacnnError
from dnacnn.io.fasta import iter_fasta
hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])
base = hwm()
opts = json.loads(sys.argv[3])
t0, c0, refused = time.perf_counter(), time.process_time(), None
try:
    if opts.pop('parse', False):
        sum(len(chunk.codes) for chunk in iter_fasta(sys.argv[1]))
    else:
        encode(sys.argv[1], sys.argv[2], EncodeOptions(label_value=1, split='train', progress=False, **opts))
except DnacnnError as e:
    refused = str(e)
print(json.dumps([time.perf_counter() - t0, time.process_time() - c0, base, hwm(), refused]))
"""


# --------------------------------------------------------------------------- inputs


def sequence(bases: int) -> np.ndarray:
    """``bases`` random A/C/G/T (seed 0) as uint8 text."""
    return np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(0).integers(0, 4, bases, dtype=np.uint8)]


def inputs(bases: int, length: int, out: Path = OUT) -> dict[str, Path]:
    """The four inputs, written once: ``long`` / ``short`` (``bases // length`` records of
    ``length``), each also ``.gz``."""
    out.mkdir(parents=True, exist_ok=True)
    n = bases // length
    paths = {
        "long": out / f"long_1x{bases}.fa",
        "short": out / f"short_{n}x{length}.fa",
    }
    if not paths["long"].exists():
        seq = sequence(bases)
        _write(paths["long"], [b">chr_long\n", seq.tobytes(), b"\n"])
        ids = (b">r%d\n" % i for i in range(n))
        rows = seq[: n * length].reshape(n, length)
        _write(paths["short"], (part for i, row in zip(ids, rows) for part in (i, row.tobytes(), b"\n")))
    for name in ("long", "short"):
        gz = paths[name].with_name(paths[name].name + ".gz")
        if not gz.exists():
            tmp = gz.with_name(gz.name + f".tmp-{os.getpid()}")
            with open(paths[name], "rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, BLOCK)
            os.replace(tmp, gz)
        paths[f"{name}.gz"] = gz
    return paths


def gzip_bomb(bases: int, out: Path = OUT) -> Path:
    """A .gz of one record of ``bases`` A's (about 1,000x smaller than what it expands to)."""
    path = out / f"bomb_1x{bases}.fa.gz"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
        with gzip.open(tmp, "wb", compresslevel=9) as f:
            f.write(b">bomb\n")
            block = b"A" * BLOCK
            for _ in range(bases // BLOCK):
                f.write(block)
            f.write(b"A" * (bases % BLOCK) + b"\n")
        os.replace(tmp, path)
    return path


def _write(path: Path, parts) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "wb", buffering=BLOCK) as f:
        for part in parts:
            f.write(part)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- measuring


def encode_once(path: Path, opts: dict | None = None) -> tuple[float, float, float, float, str | None]:
    """``(wall s, CPU s, RSS after imports MB, peak RSS MB, refusal message or None)`` of encode()
    in a fresh process."""
    store = OUT / f"{path.name}.store"
    shutil.rmtree(store, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(store), json.dumps(opts or {})],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(store, ignore_errors=True)
    wall, cpu, base, peak, refused = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, cpu, base / 1024, peak / 1024, refused


def best_of(runs: dict[str, tuple[Path, dict]], repeats: int) -> dict[str, tuple[float, float, float, float]]:
    """Best wall and CPU time (and the largest peak RSS) over ``repeats`` interleaved runs of
    ``name -> (input, options)``."""
    best: dict[str, tuple[float, float, float, float]] = {}
    for _ in range(repeats):
        for name, (path, opts) in runs.items():
            wall, cpu, base, peak, refused = encode_once(path, opts)
            if refused:
                raise SystemExit(f"{name}: {refused}")
            old = best.get(name, (float("inf"), float("inf"), 0.0, 0.0))
            best[name] = (min(old[0], wall), min(old[1], cpu), max(old[2], base), max(old[3], peak))
    return best


# --------------------------------------------------------------------------- report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mbp", type=int, default=100, help="Mbp of sequence in each input")
    ap.add_argument("--length", type=int, default=100, help="bases per short record")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many interleaved runs")
    ap.add_argument(
        "--bomb", action="store_true", help="also the 1.5-MB .gz of a 1.5-Gbp record (refused after 256 Mbp)"
    )
    args = ap.parse_args(argv)
    bases = args.mbp * 1_000_000
    paths = inputs(bases, args.length)
    n = bases // args.length
    print(f"# FASTA scale: encode() of 1 x {args.mbp} Mbp vs {n:,} x {args.length} bp, best of {args.repeats}\n")
    print(machine_info() + "\n")
    runs = {name: (path, {}) for name, path in paths.items()}
    runs |= {f"{name} parse": (path, {"parse": True}) for name, path in paths.items()}
    best = best_of(runs, args.repeats)
    mb = bases / 1e6
    labels = {"long": f"1 record x {args.mbp} Mbp", "short": f"{n:,} records x {args.length} bp"}
    rows = []
    for what in ("", " parse"):
        for name in ("long", "short", "long.gz", "short.gz"):
            wall, cpu, base, peak = best[name + what]
            kind = labels[name.split(".")[0]] + (", .gz" if name.endswith(".gz") else "")
            step = "FASTA reader alone" if what else "encode()"
            rows.append([step, kind, f"{wall:.2f}", f"{mb / wall:.0f}", f"{mb / cpu:.0f}", f"{peak:.0f}"])
    base_rss = max(b[2] for b in best.values())
    header = ["step", "input", "wall s", "MB/s", "MB per CPU-s", "peak RSS (MB)"]
    print(table(rows, header))
    print(f"\nRSS after imports: {base_rss:.0f} MB.\n")
    ratio_rows = []
    for what in ("", " parse"):
        for suffix, kind in (("", "plain"), (".gz", ".gz")):
            long_, short = best["long" + suffix + what], best["short" + suffix + what]
            wall_ratio, cpu_ratio = short[0] / long_[0], short[1] / long_[1]
            ok = "yes" if 0.5 <= wall_ratio <= 2 and 0.5 <= cpu_ratio <= 2 else "NO"
            step = "FASTA reader alone" if what else "encode()"
            ratio_rows.append([step, kind, f"{wall_ratio:.2f}x", f"{cpu_ratio:.2f}x", ok])
    header = ["step", "input", "long / short MB/s (wall)", "long / short MB/s (CPU)", "within 2x"]
    print(table(ratio_rows, header))
    if args.bomb:
        path = gzip_bomb(1500 * BLOCK)
        wall, cpu, base, peak, refused = encode_once(path, {"length": 1000})
        size = path.stat().st_size / 1e6
        gbp = 1500 * BLOCK / 1e9
        print(
            f"\ngzip bomb: {size:.1f} MB .gz -> one record of {gbp:.2f} Gbp, --length 1000: "
            f"{wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:.0f} MB; {refused or 'NOT refused'}"
        )


if __name__ == "__main__":
    main()
