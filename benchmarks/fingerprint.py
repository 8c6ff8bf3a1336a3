"""Fingerprint of training: same seed, same device -> the same weights and metrics.

Trains the three bundled configurations (Zou 2019 with `zou2019`, DeepBind REST with `deepbind`
and `tfbind` with fresh negatives, CIMMYT wheat with `snp-cnn`) for a few epochs on the CPU with
one thread, evaluates each, and prints one sha256 of the model's tensors and one of its metrics per
run. Run it before and after a refactor that must not change behaviour and compare the tables
(`--json FILE` keeps them; `--compare FILE` prints both and exits 1 on a difference).

    python benchmarks/fingerprint.py --json before.json     # on the old commit
    python benchmarks/fingerprint.py --compare before.json  # on the new one
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

ENCODES = {
    "zou2019": [
        str(DATA / "zou2019/sequences.txt"),
        "--labels",
        str(DATA / "zou2019/labels.txt"),
        "--test-frac",
        "0.25",
        "--seed",
        "42",
    ],
    "REST": [
        str(DATA / "deepbind/REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz"),
        "--id-col",
        "EventID",
        "--label-col",
        "Bound",
        "--negatives",
        "shuffle",
        "--valid-frac",
        "0.1",
        "--test-frac",
        "0",
    ],
    "REST_B": [
        str(DATA / "deepbind/REST_GM12878_NRSF_HudsonAlpha_B.seq.gz"),
        "--id-col",
        "EventID",
        "--label-col",
        "Bound",
        "--split",
        "test",
    ],
    "wheat": [
        str(DATA / "wheat/wheat.X.gz"),
        "--format",
        "genotype",
        "--phenotypes",
        str(DATA / "wheat/wheat.Y"),
        "--traits",
        "1",
        "--valid-frac",
        "0.1",
        "--test-frac",
        "0.2",
    ],
}
RUNS = [  # (dataset, model, extra train options, test store)
    ("zou2019", "zou2019", ["--epochs", "5"], "zou2019"),
    ("REST", "deepbind", ["--epochs", "3"], "REST_B"),
    ("REST", "tfbind", ["--epochs", "1", "--fresh-negatives"], "REST_B"),
    ("wheat", "snp-cnn", ["--epochs", "5"], "wheat"),
]
COMMON = ["--seed", "0", "--device", "cpu", "--threads", "1", "--precision", "fp32"]


def dnacnn(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "dnacnn", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"dnacnn {' '.join(args)} failed:\n{done.stderr}")


def tensor_hash(model: Path) -> str:
    from safetensors.numpy import load_file

    tensors = load_file(str(model))
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].tobytes())
    return digest.hexdigest()[:16]


def metrics_hash(eval_dir: Path, work: Path) -> str:
    """sha256 of metrics.json without its provenance (which echoes every training setting, so a new
    setting adds a key there) and of predictions.tsv, the (temporary) work folder named WORK."""
    metrics = json.loads((eval_dir / "metrics.json").read_text().replace(str(work), "WORK"))
    metrics.pop("provenance")
    digest = hashlib.sha256(json.dumps(metrics, sort_keys=True).encode())
    digest.update((eval_dir / "predictions.tsv").read_bytes())
    return digest.hexdigest()[:16]


def fingerprints(work: Path) -> dict[str, dict[str, str]]:
    for name, args in ENCODES.items():
        dnacnn("encode", *args, "-o", str(work / f"{name}.store"))
    table = {}
    for dataset, model, extra, test in RUNS:
        run = f"{dataset}/{model}"
        out = work / f"{dataset}.{model}.dnacnn"
        dnacnn("train", str(work / f"{dataset}.store"), "--model", model, *extra, *COMMON, "-o", str(out))
        dnacnn(
            "evaluate",
            str(out),
            str(work / f"{test}.store"),
            "--device",
            "cpu",
            "--threads",
            "1",
            "-o",
            str(work / f"{run}.eval"),
        )
        table[run] = {"weights": tensor_hash(out), "metrics": metrics_hash(work / f"{run}.eval", work)}
        print(f"{run:<18} weights {table[run]['weights']}  metrics {table[run]['metrics']}", flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the fingerprints here")
    parser.add_argument("--compare", type=Path, help="compare with fingerprints written by --json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table = fingerprints(Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(table, indent=1) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        print(f"\n| run | weights before | after | metrics before | after | same |\n|{'---|' * 6}")
        same_all = True
        for run, now in table.items():
            then = before.get(run, {})
            same = then == now
            same_all &= same
            print(
                f"| {run} | {then.get('weights')} | {now['weights']} | {then.get('metrics')} | {now['metrics']} "
                f"| {'yes' if same else 'NO'} |"
            )
        sys.exit(0 if same_all else 1)


if __name__ == "__main__":
    main()
