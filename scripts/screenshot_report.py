"""Render example dnacnn reports from synthetic-but-realistic data and screenshot them with headless Chromium.

Usage::

    python scripts/screenshot_report.py                      # docs/report-screenshot.png
    python scripts/screenshot_report.py --all --keep out/    # every task type, HTML kept in out/

Needs ``chromium`` (Debian: ``apt-get install -y chromium``) and Pillow.  The data are simulated:
CNN and baseline scores are labels plus noise tuned to typical ENCODE ChIP-seq / wheat numbers, so
the page looks like a real run without training anything.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dnacnn.metrics import compute_metrics  # noqa: E402
from dnacnn.report import ReportContext, summary_row, write_report, write_summary  # noqa: E402

MODEL_SUMMARY = """\
Layer (type)                  Output shape        Param #
==========================================================
conv1 (Conv1d)                (-1, 128, 101)        9,344
bn1 (BatchNorm1d)             (-1, 128, 101)          256
relu1 (ReLU)                  (-1, 128, 101)            0
pool1 (MaxPool1d)             (-1, 128, 25)             0
conv2 (Conv1d)                (-1, 64, 25)         41,024
bn2 (BatchNorm1d)             (-1, 64, 25)            128
relu2 (ReLU)                  (-1, 64, 25)              0
conv3 (Conv1d)                (-1, 64, 25)         12,352
global_max (AdaptiveMaxPool1d)(-1, 64, 1)               0
dropout (Dropout)             (-1, 64)                  0
dense (Linear)                {shape:<20}{dense:>7}
==========================================================
Total params: {total}
Trainable params: {total}
Input: (4, 101) one-hot DNA, both strands (reverse-complement averaged)"""


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def history(rng: np.random.Generator, epochs: int, metric_end: float) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    loss = 0.25 + 0.45 * np.exp(-e / 5) + rng.normal(0, 0.006, epochs)
    val_loss = 0.31 + 0.38 * np.exp(-e / 4) + 0.0025 * np.maximum(e - 14, 0) + rng.normal(0, 0.008, epochs)
    val_metric = metric_end - 0.22 * np.exp(-e / 3.5) - 0.0006 * np.maximum(e - 16, 0) + rng.normal(0, 0.003, epochs)
    lr = 1e-3 * 0.5 ** np.floor(np.maximum(e - 10, 0) / 6)
    return pd.DataFrame(
        {
            "epoch": e,
            "loss": loss,
            "val_loss": val_loss,
            "val_metric": val_metric,
            "lr": lr,
            "seconds": rng.normal(3.1, 0.2, epochs),
        }
    )


def provenance(name: str, seed: int) -> dict:
    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    return {
        "command": f"dnacnn train results/{name}.store --preset basset-small --out results/{name}.model",
        "inputs": [
            {"path": f"data/{name}.fa.gz", "sha256": sha(name + "fa"), "records": 12_184},
            {"path": f"data/{name}.labels.tsv", "sha256": sha(name + "tsv"), "records": 12_184},
        ],
        "settings": {
            "preset": "basset-small",
            "epochs": 30,
            "batch_size": 128,
            "lr": 0.001,
            "patience": 8,
            "reverse_complement": True,
            "split": "random 80/10/10",
        },
        "versions": {
            "dnacnn": "0.1.0",
            "torch": "2.3.1",
            "numpy": "1.26.4",
            "scikit-learn": "1.5.0",
            "python": "3.11.7",
        },
        "seed": seed,
        "device": "cpu (2 threads)",
        "duration": "1 min 34 s",
        "host": "node017",
    }


def binary_context(n_tasks: int = 1, seed: int = 0) -> ReportContext:
    rng = np.random.default_rng(seed)
    n = 1218
    names = ["CTCF_K562"] if n_tasks == 1 else [f"TF{i + 1}" for i in range(n_tasks)]
    prevalence = rng.uniform(0.15, 0.5, n_tasks) if n_tasks > 1 else np.array([0.5])
    y = (rng.random((n, n_tasks)) < prevalence).astype(float)
    strength = rng.uniform(1.1, 1.6, n_tasks)
    cnn = sigmoid(strength * (2 * y - 1) + rng.normal(0, 1.1, (n, n_tasks)) - 0.2)
    base = sigmoid(0.75 * strength * (2 * y - 1) + rng.normal(0, 1.0, (n, n_tasks)) - 0.1)
    if n_tasks > 1:
        y[rng.random((n, n_tasks)) < 0.03] = np.nan  # a few missing labels, as in real multi-task sets
    m = compute_metrics(y, cnn, "binary", names)
    b = compute_metrics(y, base, "binary", names)
    balance = {
        t: {
            "n_pos": int(np.nansum(y[:, j])),
            "n_neg": int(np.nansum(1 - y[:, j])),
            "frac_pos": float(np.nanmean(y[:, j])),
        }
        for j, t in enumerate(names)
    }
    dense = 64 * n_tasks + n_tasks
    return ReportContext(
        title="CTCF in K562 \u2014 ENCODE ChIP-seq peaks vs shuffled" if n_tasks == 1 else "Multi-task TF binding",
        task="binary",
        label_names=names,
        metrics=m,
        y_true=y,
        y_score=cnn,
        dataset={
            "name": "ENCODE CTCF K562 (HudsonAlpha)" if n_tasks == 1 else "simulated multi-task panel",
            "kind": "DNA",
            "length": "101 bp",
            "n": {"train": 9747, "valid": 1219, "test": n},
            "balance": balance,
            "negatives": "dinucleotide-shuffled positives",
        },
        model_summary_text=MODEL_SUMMARY.format(
            shape=f"(-1, {n_tasks})", dense=f"{dense:,}", total=f"{63_104 + dense:,}"
        ),
        history=history(rng, 30, 0.955),
        baseline_metrics=b,
        baseline_name="6-mer logistic regression",
        baseline_score=base,
        provenance=provenance("ctcf_k562", seed),
        best_epoch=22,
    )


def multiclass_context(seed: int = 0) -> ReportContext:
    rng = np.random.default_rng(seed)
    classes = ["promoter", "enhancer", "insulator", "background"]
    n, k = 900, len(classes)
    y = rng.choice(k, n, p=[0.2, 0.3, 0.15, 0.35])
    logits = rng.normal(0, 1.0, (n, k))
    logits[np.arange(n), y] += rng.uniform(0.8, 3.2, n)
    cnn = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    logits_b = rng.normal(0, 1.0, (n, k))
    logits_b[np.arange(n), y] += rng.uniform(0.2, 2.4, n)
    base = np.exp(logits_b) / np.exp(logits_b).sum(1, keepdims=True)
    yt = y[:, None].astype(float)
    return ReportContext(
        title="Regulatory element classes",
        task="multiclass",
        label_names=classes,
        metrics=compute_metrics(yt, cnn, "multiclass", classes),
        y_true=yt,
        y_score=cnn,
        dataset={"name": "simulated regulatory elements", "n": {"train": 7200, "valid": 900, "test": n}},
        model_summary_text=MODEL_SUMMARY.format(shape=f"(-1, {k})", dense="260", total="63,364"),
        history=history(rng, 25, 0.78),
        baseline_metrics=compute_metrics(yt, base, "multiclass", classes),
        baseline_name="5-mer logistic regression",
        baseline_score=base,
        provenance=provenance("elements", seed),
    )


def regression_context(seed: int = 0) -> ReportContext:
    rng = np.random.default_rng(seed)
    names = ["E1", "E2", "E3", "E4"]
    n = 60
    y = rng.normal(0, 1, (n, 4))
    cnn = 0.4 * y + rng.normal(0, 0.62, (n, 4))
    base = 0.3 * y + rng.normal(0, 0.42, (n, 4))
    return ReportContext(
        title="Wheat grain yield \u2014 genomic prediction",
        task="regression",
        label_names=names,
        metrics=compute_metrics(y, cnn, "regression", names),
        y_true=y,
        y_score=cnn,
        dataset={
            "name": "CIMMYT wheat (BGLR)",
            "kind": "genotype",
            "markers": 1279,
            "n": {"train": 479, "valid": 60, "test": n},
        },
        model_summary_text="Dense genotype CNN: 1 x 1279 dosage -> Conv1d(16, 5) -> ... (21,457 params)",
        history=history(rng, 40, 0.5),
        baseline_metrics=compute_metrics(y, base, "regression", names),
        baseline_name="RR-BLUP (ridge)",
        baseline_score=base,
        provenance=provenance("wheat", seed),
    )


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    sys.exit("chromium not found; install it (Debian: apt-get install -y chromium)")


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 9000) -> None:
    profile = tempfile.mkdtemp(prefix="dnacnn-chromium-")
    try:
        subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def crop(png: Path, out: Path, max_height: int, max_kb: int = 480) -> None:
    """Cut the page at the last gap between sections above ``max_height`` and quantise the PNG until it is
    under ``max_kb``."""
    from PIL import Image

    img = Image.open(png).convert("RGB")
    a = np.asarray(img).astype(np.int16)
    background = a[-1, -1]
    blank = (np.abs(a - background).sum(axis=2) == 0).all(axis=1)  # rows of page background only
    limit = min(max_height, img.height)
    gaps = [y for y in range(16, limit) if blank[y - 16 : y].all() and not blank[y]]  # row after a >=16 px gap
    bottom = gaps[-1] - 4 if gaps else limit
    img = img.crop((0, 0, img.width, bottom))
    for colors in (256, 128, 64):
        img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
        if out.stat().st_size <= max_kb * 1024:
            return
    scale = 0.8
    img.resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS).quantize(64).save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/report-screenshot.png"))
    parser.add_argument("--max-height", type=int, default=3000, help="crop the screenshot to this many pixels")
    parser.add_argument("--all", action="store_true", help="also render multi-task, multiclass, regression, summary")
    parser.add_argument("--keep", type=Path, help="folder to keep the HTML and full-page PNGs in")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="dnacnn-report-"))
    work.mkdir(parents=True, exist_ok=True)
    contexts = {"binary": binary_context()}
    if args.all:
        contexts.update(
            multitask=binary_context(6, seed=1), multiclass=multiclass_context(), regression=regression_context()
        )
    rows = []
    for name, ctx in contexts.items():
        html = work / f"{name}.html"
        write_report(html, ctx)
        screenshot(html, work / f"{name}.png")
        rows.append(
            summary_row(
                ctx.dataset["name"],
                "basset-small",
                ctx.metrics,
                ctx.baseline_metrics,
                ctx.baseline_name,
                report=html.name,
                seconds=94.2,
            )
        )
        print(f"{html} ({html.stat().st_size / 1024:.0f} KB) -> {work / f'{name}.png'}")
    if args.all:
        write_summary(work / "summary.html", pd.DataFrame(rows))
        screenshot(work / "summary.html", work / "summary.png", height=2400)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    crop(work / "binary.png", args.out, args.max_height)
    print(f"{args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
