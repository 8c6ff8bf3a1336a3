"""DeepBind ENCODE benchmark: train on ``*_AC.seq.gz``, test on ``*_B.seq.gz``, beside DeepBind.

Works on ANY directory of ``NAME_AC.seq.gz`` / ``NAME_B.seq.gz`` pairs in DeepBind's format
(gzip TSV ``FoldID EventID seq Bound``).  Per experiment and seed:

  1. encode all of ``_AC`` (positives only) with one dinucleotide-shuffled negative per positive
     (seeded); a random 10% of the positives, with their shuffles, is the validation set for early
     stopping; nothing is held out as test (``--split random --valid-frac 0.1 --test-frac 0``);
  2. train the model with its preset's own training settings (``tfbind``: fresh dinucleotide
     shuffles of the training positives every epoch, see docs/accuracy.md);
  3. only then encode ``_B`` (``--split test``) and score it once: ROC AUC and PR AUC.

With several seeds the table shows their mean and, beside it, the seed ensemble: the mean of the
seeds' predicted probabilities on ``_B`` (what ``dnacnn predict -m A -m B`` and the workflow's
``members: N`` give users).

Published numbers (Alipanahi et al. 2015, README of the data folder) are shown where the experiment
is one of the six of the development set; other experiments show '-'.

Run:  python benchmarks/accuracy/deepbind.py DIR [--seeds 0,1] [--model tfbind] [--threads 2]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, Timer, fmt, machine, markdown_table, score_split, train_quiet, write_result

# ROC AUC on B: DeepBind trained on A only / DeepBind* trained on AC (Alipanahi et al. 2015)
PUBLISHED = {
    "REST_GM12878_NRSF_HudsonAlpha": (0.99921, 0.99934),
    "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha": (0.97344, 0.98674),
    "GABPA_GM12878_GABP_HudsonAlpha": (0.97006, 0.97970),
    "MYC_H1-hESC_c-Myc_Stanford": (0.85509, 0.93007),
    "ARID3A_K562_ARID3A_(sc-8821)_Stanford": (0.80989, 0.88754),
    "ZBTB7A_HepG2_ZBTB7A_(SC-34508)_HudsonAlpha": (0.80072, 0.87414),
}


HISTORIES: Path | None = None  # where training histories are kept (results/NAME-histories/)


def experiments(folder: Path) -> list[str]:
    """Names with both ``NAME_AC.seq.gz`` and ``NAME_B.seq.gz`` in ``folder``, sorted."""
    names = sorted(p.name[: -len("_AC.seq.gz")] for p in folder.glob("*_AC.seq.gz"))
    missing = [n for n in names if not (folder / f"{n}_B.seq.gz").exists()]
    for name in missing:
        print(f"{folder / name}_B.seq.gz: missing, skipping {name}", file=sys.stderr)
    return [n for n in names if n not in missing]


def _tabular(**kwargs):
    from dnacnn.encode import EncodeOptions

    return EncodeOptions(
        format="tabular", seq_col="seq", id_col="EventID", label_cols=["Bound"], task="binary", progress=False, **kwargs
    )


def run_one(
    folder: Path, name: str, seed: int, model: str, threads: int, valid_frac: float, work: Path, options: dict
) -> dict:
    from dnacnn.encode import encode
    from dnacnn.metrics import compute_metrics

    cpu0 = time.process_time()
    with Timer() as t:
        train_store = encode(
            folder / f"{name}_AC.seq.gz",
            work / f"{seed}-AC.store",
            _tabular(negatives="shuffle", split="random", valid_frac=valid_frac, test_frac=0.0, seed=seed),
        )
        result = train_quiet(train_store, work / f"{seed}.dnacnn", model=model, seed=seed, threads=threads, **options)
    if HISTORIES is not None:  # per-epoch validation curves, for choosing epochs / patience
        HISTORIES.mkdir(parents=True, exist_ok=True)
        shutil.copy(result.history_path, HISTORIES / f"{name}.seed{seed}.tsv")
    # the test file is read only now, after training
    test_store = encode(folder / f"{name}_B.seq.gz", work / f"{seed}-B.store", _tabular(split="test"))
    y, scores = score_split(result.model_path, test_store, "test")
    m = compute_metrics(y, scores, "binary", ["Bound"])["macro"]
    n_ac = sum(1 for _ in _rows(folder / f"{name}_AC.seq.gz"))
    return {
        "roc_auc": m["roc_auc"],
        "pr_auc": m["pr_auc"],
        "seconds": t.seconds,
        "cpu": time.process_time() - cpu0,
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "n_ac": n_ac,
        "y": y,
        "scores": scores,
    }


def _flagged(auc: float, deepbind_a: float | None, digits: int = 4) -> str:
    return fmt(auc, digits) + ("" if deepbind_a is None or auc >= deepbind_a else " (below DeepBind)")


def _rows(path: Path):
    import gzip

    with gzip.open(path, "rt") as f:
        next(f)
        yield from f


def run(
    folder: Path, seeds: list[int], model: str, threads: int, valid_frac: float, options: dict, only: str | None
) -> str:
    from dnacnn.metrics import compute_metrics

    names = experiments(folder)
    if only:
        names = [n for n in names if re.search(only, n)]
    if not names:
        sys.exit(f"{folder}: no *_AC.seq.gz / *_B.seq.gz pairs found")
    rows, detail, ours, ensembles, a_only, star = [], [], [], [], [], []
    for name in names:
        runs = []
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix="dnacnn-deepbind-") as tmp:
                r = run_one(folder, name, seed, model, threads, valid_frac, Path(tmp), options)
            runs.append(r)
            detail.append(
                [
                    name,
                    seed,
                    _flagged(r["roc_auc"], PUBLISHED.get(name, (None,))[0], 5),  # 5 digits: REST's margins
                    fmt(r["pr_auc"], 4),
                    r["best_epoch"],
                    r["epochs"],
                    f"{r['seconds'] / 60:.1f}",
                    f"{r['cpu'] / 60:.1f}",
                ]
            )
            print(" ".join(map(str, detail[-1])), file=sys.stderr, flush=True)
        auc = float(np.mean([r["roc_auc"] for r in runs]))
        pub = PUBLISHED.get(name, (None, None))
        ours.append(auc)
        a_only.append(pub[0])
        star.append(pub[1])

        ensemble = []
        if len(runs) > 1:  # the seeds' mean probability, as `dnacnn predict -m A -m B` gives it
            m = compute_metrics(runs[0]["y"], np.mean([r["scores"] for r in runs], axis=0), "binary", ["Bound"])
            ensembles.append(m["macro"]["roc_auc"])
            ensemble = [_flagged(m["macro"]["roc_auc"], pub[0]), fmt(m["macro"]["pr_auc"], 4)]
        rows.append(
            [
                name,
                f"{runs[0]['n_ac']:,}",
                _flagged(auc, pub[0]),
                fmt(float(np.mean([r["pr_auc"] for r in runs])), 4),
                *ensemble,
                fmt(pub[0], 4),
                fmt(pub[1], 4),
                f"{np.mean([r['seconds'] for r in runs]) / 60:.1f}",
                f"{np.mean([r['cpu'] for r in runs]) / 60:.1f}",
            ]
        )
    known = [i for i, s in enumerate(star) if s is not None]
    mean_row = ["**mean**", "", f"**{np.mean(ours):.4f}**", "", "-", "-", "", ""]
    if known:
        mean_row[4] = f"{np.mean([a_only[i] for i in known]):.4f}"
        mean_row[5] = f"{np.mean([star[i] for i in known]):.4f}"
        if len(known) < len(ours):
            mean_row[2] += f" (published ones: {np.mean([ours[i] for i in known]):.4f})"
    ensemble_header = []
    if ensembles:
        mean_row[4:4] = [f"**{np.mean(ensembles):.4f}**", ""]
        ensemble_header = [f"ensemble of {len(seeds)} ROC AUC", "ensemble PR AUC"]
    rows.append(mean_row)
    seed_text = ",".join(map(str, seeds))
    settings = ", ".join(f"{k}={v}" for k, v in options.items()) or "the preset's train block"
    return "\n".join(
        [
            f"## DeepBind ENCODE: ROC AUC on B ({folder.name})",
            "",
            f"Model `{model}` ({settings}); trained on all of AC + dinucleotide-shuffled negatives, "
            f"{valid_frac:.0%} of AC held out for early stopping; tested once on B. Mean over seeds {seed_text}. "
            f"{threads} CPU thread(s); {machine()}. "
            "Minutes are wall-clock (encode + train + test) and process CPU time.",
            "",
            markdown_table(
                [
                    "experiment",
                    "AC rows",
                    "dnacnn ROC AUC",
                    "dnacnn PR AUC",
                    *ensemble_header,
                    "DeepBind (A)",
                    "DeepBind* (AC)",
                    "minutes (wall)",
                    "minutes (CPU)",
                ],
                rows,
            ),
            "",
            "<details><summary>per seed</summary>",
            "",
            markdown_table(
                [
                    "experiment",
                    "seed",
                    "ROC AUC",
                    "PR AUC",
                    "best epoch",
                    "epochs run",
                    "minutes (wall)",
                    "minutes (CPU)",
                ],
                detail,
            ),
            "",
            "</details>",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="directory of NAME_AC.seq.gz / NAME_B.seq.gz pairs")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (encode split, shuffles, training)")
    parser.add_argument("--model", default="tfbind", help="preset name or spec YAML")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--valid-frac", type=float, default=0.1)
    parser.add_argument("--only", help="regular expression: run the experiments whose name matches")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="training option for dnacnn.train.TrainSettings, e.g. fresh_negatives=false",
    )
    parser.add_argument("--name", default="deepbind", help="result file name (results/NAME.md)")
    args = parser.parse_args()
    import torch
    import yaml

    torch.set_num_threads(args.threads)
    options = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    seeds = [int(s) for s in args.seeds.split(",")]
    global HISTORIES
    HISTORIES = RESULTS / f"{args.name}-histories"
    write_result(args.name, run(args.folder, seeds, args.model, args.threads, args.valid_frac, options, args.only))


if __name__ == "__main__":
    main()
