"""Store archives read in place (issue 17, item 2): what opening and reading a store costs as a
folder, as a tar read in place (what :meth:`dnacnn.store.Store.open` does), and as a tar
unpacked into a temporary folder first (the design not chosen; what the Galaxy tools did in shell).

For each store: ``open`` = :meth:`Store.open` (locate and vet the files, read and check the
manifest, memory-map, count the IDs and split codes), ``read`` = open plus one pass over every
row of ``codes`` and ``labels`` and the IDs, median of ``--repeat`` runs with the page cache warm;
``pack`` = the time ``encode`` spends packing the finished folder into the tar
(:func:`dnacnn.store_files.write_archive`).  Stores: the bundled Galaxy test stores, the Zou
primer (2,000 x 50 bp), DeepBind REST AC (with shuffled negatives), and synthetic stores of 1M
and 4M records x 101 bp (``--big``) to show how the checks at open scale.

Run:  python benchmarks/store_open_bench.py [--repeat 5] [--big 1000000,4000000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from dnacnn.codes import dna_encoding
from dnacnn.encode import encode
from dnacnn.encode_options import EncodeOptions
from dnacnn.store import Store, StoreWriter
from dnacnn.store_files import write_archive

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def median_time(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_all(path) -> None:
    store = Store.open(path)
    for i in range(0, store.n, 1 << 16):
        np.asarray(store.codes[i : i + (1 << 16)]).sum()
        np.asarray(store.labels[i : i + (1 << 16)]).sum()
    len(store.ids)


def unpack_then(func, archive: Path, scratch: Path):
    def run():
        folder = Path(tempfile.mkdtemp(dir=scratch))
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        inner = next(p.parent for p in folder.rglob("manifest.json"))
        func(inner)
        shutil.rmtree(folder)

    return run


def as_folder_and_archive(folder: Path, work: Path) -> tuple[Path, Path, float]:
    """The store ``folder`` and a tar of it (packed as encode packs it, timed)."""
    copy = work / "packed"
    shutil.copytree(folder, copy)
    archive = work / (folder.name + ".tar")
    start = time.perf_counter()
    write_archive(copy, archive, folder.name)
    pack = time.perf_counter() - start
    shutil.rmtree(copy)
    return folder, archive, pack


def synthetic(path: Path, n: int, length: int = 101) -> Path:
    rng = np.random.default_rng(0)
    with StoreWriter(path, length, 1) as writer:
        for start in range(0, n, 1 << 18):
            b = min(1 << 18, n - start)
            codes = rng.integers(0, 4, (b, length), dtype=np.uint8)
            writer.append(codes, rng.integers(0, 2, (b, 1)).astype(np.float32), [f"r{start + i}" for i in range(b)])
        manifest = {"encoding": dna_encoding(length).to_dict(), "task": "binary", "label_names": ["y"]}
        return writer.finish(np.zeros(n, np.uint8), manifest)


def stores(work: Path, big: list[int]) -> list[tuple[str, Path]]:
    out = []
    for name in ("zou_store.tar", "rest_B_store.tar"):
        out.append((f"galaxy {name}", ROOT / "galaxy" / "test-data" / name))
    zou = SHARED / "zou2019-primer"
    if zou.is_dir():
        opts = EncodeOptions(format="lines", labels=str(zou / "labels.txt"), progress=False)
        out.append(("Zou primer 2,000 x 50", encode(zou / "sequences.txt", work / "zou.store", opts)))
    rest = SHARED / "deepbind-encode" / "REST_GM12878_NRSF_HudsonAlpha_AC.seq.gz"
    if rest.is_file():
        opts = EncodeOptions(label_cols=["Bound"], negatives="shuffle", progress=False)
        out.append(("REST AC + shuffled", encode(rest, work / "rest.store", opts)))
    for n in big:
        out.append((f"synthetic {n:,} x 101", synthetic(work / f"big{n}.store", n)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big", default="1000000,4000000")
    args = parser.parse_args()
    big = [int(x) for x in args.big.split(",") if x]
    with tempfile.TemporaryDirectory(
        dir=ROOT / "benchmarks" / "out" if (ROOT / "benchmarks" / "out").is_dir() else None
    ) as tmp:
        work = Path(tmp)
        print(
            "| store | MB | open: folder | open: tar in place | open: untar + folder "
            "| read: folder | read: tar in place | read: untar + folder | pack tar |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, path in stores(work, big):
            if path.is_file():  # a bundled tar: unpack it to have the folder too
                folder = work / (path.stem + ".d")
                with tarfile.open(path) as tar:
                    tar.extractall(folder, filter="data")
                folder = next(p.parent for p in folder.rglob("manifest.json"))
            else:
                folder = path
            folder, archive, pack = as_folder_and_archive(folder, work)
            mb = archive.stat().st_size / 1e6
            repeat = args.repeat if mb < 100 else max(1, args.repeat // 2)
            row = [
                median_time(lambda f=folder: Store.open(f), repeat),
                median_time(lambda a=archive: Store.open(a), repeat),
                median_time(unpack_then(Store.open, archive, work), repeat),
                median_time(lambda f=folder: read_all(f), repeat),
                median_time(lambda a=archive: read_all(a), repeat),
                median_time(unpack_then(read_all, archive, work), repeat),
            ]
            cells = " | ".join(f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s" for t in [*row, pack])
            print(f"| {label} | {mb:.1f} | {cells} |", flush=True)
            archive.unlink()


if __name__ == "__main__":
    main()
