"""Zou et al. 2019 primer: test accuracy on the published 1500/500 split, 5 seeds per model.

Protocol (the primer's notebook, reproduced exactly):
  * split: ``train_test_split(range(2000), test_size=0.25, random_state=42)`` -> 1500 train / 500 test
    (the same permutation the notebook applies to its feature and label arrays);
  * validation: the notebook's ``model.fit(..., validation_split=0.25)`` - Keras takes the *last*
    25% of the 1500 training rows (375) as validation; the first 1125 are fitted;
  * training: each preset's own settings (``zou2019``: Adam 1e-3, batch 32, at most 50 epochs as
    published); dnacnn's loop keeps the weights of the best validation epoch (early stopping with
    the preset's patience) - the published notebook used the validation rows for monitoring only;
  * the 500 test rows are scored once, after training.

Run:  python benchmarks/accuracy/zou.py [--seeds 5] [--models zou2019,tfbind] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import Timer, fmt, machine, markdown_table, mean_range, score_split, shared_data, train_quiet, write_result

PUBLISHED = {"accuracy": 0.980, "note": "Zou et al. 2019, 490/500 test sequences"}


def published_split(n: int = 2000) -> np.ndarray:
    """Split names for the primer's rows: train (1125), valid (375, Keras' last 25%), test (500)."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(n), test_size=0.25, random_state=42)
    split = np.empty(n, dtype=object)
    n_fit = len(train) - int(len(train) * 0.25)  # Keras: split_at = int(n * (1 - validation_split))
    split[train[:n_fit]] = "train"
    split[train[n_fit:]] = "valid"
    split[test] = "test"
    return split


def make_store(work: Path, sequences: Path | None = None, labels_file: Path | None = None) -> Path:
    """The primer's sequences (default: ../shared/data/zou2019-primer) as a store with the
    published split in ``work``."""
    from dnacnn.encode import EncodeOptions, encode

    data = shared_data("zou2019-primer") if sequences is None else None
    seqs = (sequences or data / "sequences.txt").read_text().split()
    labels = (labels_file or data / "labels.txt").read_text().split()
    table = pd.DataFrame(
        {
            "id": [f"seq{i + 1}" for i in range(len(seqs))],
            "seq": seqs,
            "label": labels,
            "split": published_split(len(seqs)),
        }
    )
    tsv = work / "zou_split.tsv"
    table.to_csv(tsv, sep="\t", index=False)
    opts = EncodeOptions(
        format="tabular",
        seq_col="seq",
        id_col="id",
        label_cols=["label"],
        split="column",
        split_col="split",
        task="binary",
        progress=False,
    )
    return encode(tsv, work / "zou.store", opts)


def run(models: list[str], seeds: list[int], threads: int, work: Path) -> str:
    from dnacnn.metrics import compute_metrics

    store = make_store(work)
    rows, detail = [], []
    for model in models:
        accs, aucs, secs, cpus, epochs = [], [], [], [], []
        for seed in seeds:
            cpu0 = time.process_time()
            with Timer() as t:
                out = work / f"{Path(model).stem}-{seed}.dnacnn"  # a spec YAML's path names no file
                result = train_quiet(store, out, model=model, seed=seed, threads=threads)
            y, scores = score_split(result.model_path, store, "test")
            m = compute_metrics(y, scores, "binary", ["label"])["macro"]
            accs.append(m["accuracy"])
            aucs.append(m["roc_auc"])
            secs.append(t.seconds)
            cpus.append(time.process_time() - cpu0)
            epochs.append(result.epochs_run)
            detail.append(
                [
                    model,
                    seed,
                    fmt(m["accuracy"]),
                    fmt(m["roc_auc"], 4),
                    result.best_epoch,
                    result.epochs_run,
                    f"{t.seconds:.1f}",
                    f"{cpus[-1]:.1f}",
                ]
            )
        rows.append(
            [
                f"`{model}`",
                mean_range(accs),
                f"{np.mean(aucs):.4f}",
                f"{np.mean(epochs):.0f}",
                f"{np.mean(secs):.1f} (max {np.max(secs):.1f})",
                f"{np.mean(cpus):.1f}",
            ]
        )
    rows.append(["Zou et al. 2019 (published, Keras)", f"{PUBLISHED['accuracy']:.3f}", "-", "50", "-", "-"])
    text = "\n".join(
        [
            "## Zou et al. 2019 primer: test accuracy (500 held-out sequences)",
            "",
            f"Split: `train_test_split(test_size=0.25, random_state=42)`; 1125 fitted / 375 validation "
            f"(Keras `validation_split=0.25`) / 500 test. Seeds {seeds[0]}-{seeds[-1]}; {threads} CPU thread(s); "
            f"{machine()}. Wall time includes the other jobs sharing this CPU; CPU time is this process's.",
            "",
            markdown_table(
                [
                    "model",
                    "test accuracy, mean (range)",
                    "test ROC AUC, mean",
                    "epochs run, mean",
                    "seconds per run (wall), mean",
                    "seconds per run (CPU), mean",
                ],
                rows,
            ),
            "",
            "<details><summary>per seed</summary>",
            "",
            markdown_table(
                ["model", "seed", "accuracy", "ROC AUC", "best epoch", "epochs run", "seconds (wall)", "seconds (CPU)"],
                detail,
            ),
            "",
            "</details>",
        ]
    )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per model")
    parser.add_argument("--models", default="zou2019,tfbind", help="comma-separated presets or spec YAMLs")
    parser.add_argument("--threads", type=int, default=1, help="1: these small nets gain nothing from more")
    parser.add_argument("--name", default="zou", help="result file name (results/NAME.md)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="dnacnn-zou-") as tmp:
        text = run(args.models.split(","), list(range(args.seeds)), args.threads, Path(tmp))
    write_result(args.name, text)


if __name__ == "__main__":
    main()
