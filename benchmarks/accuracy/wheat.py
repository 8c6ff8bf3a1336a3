"""Wheat (BGLR, Crossa et al. 2010): 10-fold CV Pearson r of the CNN beside ridge regression.

Protocol, per environment E1..E4 (one trait at a time):
  * folds: BGLR's fixed 10 folds, ``wheat.sets`` (one fold id per line, as in the genomic-prediction
    literature; ``--kfold`` gives the earlier ``KFold(10, shuffle=True, random_state=0)`` instead);
  * per fold, the 539 training lines and the 60 test lines are written as genotype / phenotype
    tables and encoded by ``dnacnn.encode.encode`` (training store: a random 10% inner validation
    split for early stopping, seeded per ensemble member; test store: ``split="test"``);
  * the CNN (``snp-cnn`` unless ``--model``) is trained by ``dnacnn.train.train`` once per ensemble
    member (``--members``, seeds 0..M-1, each with its own inner validation split) and the
    members' test predictions are averaged;
  * ridge regression (RR-BLUP, ``dnacnn.baselines.ridge``: RidgeCV leave-one-out over a log grid of
    penalties) is fitted on all 539 training lines of the same fold;
  * the metric is the Pearson r between predicted and observed on each test fold, averaged over
    the 10 folds (as Crossa et al. average over partitions).

Run:  python benchmarks/accuracy/wheat.py [--jobs 2] [--members 5] [--scheme onehot] [--model snp-cnn]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import numpy as np
from common import fmt, machine, markdown_table, score_split, shared_data, train_quiet, write_result

ENVS = ["E1", "E2", "E3", "E4"]
# Crossa et al. 2010, Table 3, marker-only models: BLUP, Bayesian LASSO, RKHS
CROSSA = {
    "BLUP": (0.480, 0.488, 0.355, 0.464),
    "Bayesian LASSO": (0.518, 0.493, 0.403, 0.457),
    "RKHS": (0.601, 0.494, 0.445, 0.524),
}


def load() -> tuple[np.ndarray, np.ndarray]:
    data = shared_data("wheat-bglr")
    X = np.loadtxt(data / "wheat.X", dtype=np.int8)
    Y = np.loadtxt(data / "wheat.Y", dtype=np.float64)
    return X, Y


def folds(n: int, kfold: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, test rows) of each fold: BGLR's ``wheat.sets``, or a seeded KFold."""
    if kfold:
        from sklearn.model_selection import KFold

        return list(KFold(10, shuffle=True, random_state=0).split(np.arange(n)))
    sets = np.loadtxt(shared_data("wheat-bglr") / "wheat.sets", dtype=int)
    if len(sets) != n:
        raise SystemExit(f"wheat.sets has {len(sets)} fold ids for {n} lines")
    return [(np.flatnonzero(sets != k), np.flatnonzero(sets == k)) for k in range(1, 11)]


def write_tables(X: np.ndarray, Y: np.ndarray, rows: np.ndarray, prefix: Path) -> tuple[Path, Path]:
    """Genotype and phenotype tables with ids and headers for the lines ``rows``."""
    ids = np.array([f"line{i + 1}" for i in rows])[:, None]
    geno, pheno = Path(f"{prefix}.X.tsv"), Path(f"{prefix}.Y.tsv")
    markers = "\t".join(f"m{j + 1}" for j in range(X.shape[1]))
    np.savetxt(
        geno, np.hstack([ids, X[rows].astype(str)]), fmt="%s", delimiter="\t", header="id\t" + markers, comments=""
    )
    np.savetxt(
        pheno,
        np.hstack([ids, Y[rows].astype(str)]),
        fmt="%s",
        delimiter="\t",
        header="id\t" + "\t".join(ENVS),
        comments="",
    )
    return geno, pheno


def encode_fold(
    geno: Path, pheno: Path, env: str, out: Path, scheme: str, split: str, seed: int, valid_frac: float
) -> Path:
    from dnacnn.encode import EncodeOptions, encode

    opts = EncodeOptions(
        format="genotype",
        phenotypes=str(pheno),
        traits=[env],
        genotype_scheme=scheme,
        task="regression",
        split=split,
        valid_frac=valid_frac,
        test_frac=0.0,
        seed=seed,
        progress=False,
    )
    return encode(geno, out, opts)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def run_env(env: int, *, X, Y, splits, args, work: Path, options: dict) -> dict:
    from dnacnn.baselines import ridge

    cnn, single, base, epochs = [], [], [], []
    for k, (train_rows, test_rows) in enumerate(splits):
        if k not in args.fold_list:
            continue
        geno_tr, pheno_tr = work / f"fold{k}.train.X.tsv", work / f"fold{k}.train.Y.tsv"
        geno_te, pheno_te = work / f"fold{k}.test.X.tsv", work / f"fold{k}.test.Y.tsv"
        y_test = Y[test_rows, env]
        test_store = encode_fold(
            geno_te, pheno_te, ENVS[env], work / f"e{env}-f{k}-test.store", args.scheme, "test", 0, args.valid_frac
        )
        preds = []
        for seed in range(args.members):
            store = encode_fold(
                geno_tr,
                pheno_tr,
                ENVS[env],
                work / f"e{env}-f{k}-s{seed}.store",
                args.scheme,
                "random",
                seed,
                args.valid_frac,
            )
            result = train_quiet(
                store,
                work / f"e{env}-f{k}-s{seed}.dnacnn",
                model=args.model,
                seed=seed,
                threads=args.threads,
                **options,
            )
            y, scores = score_split(result.model_path, test_store, "test")
            assert np.allclose(y[:, 0], y_test, atol=1e-5)
            preds.append(scores[:, 0])
            single.append(pearson(scores[:, 0], y_test))
            epochs.append(result.best_epoch)
        cnn.append(pearson(np.mean(preds, axis=0), y_test))
        rr = ridge(X[train_rows].astype(np.uint8), Y[train_rows, env][:, None])
        base.append(pearson(rr.predict(X[test_rows].astype(np.uint8))[:, 0], y_test))
        print(
            f"{ENVS[env]} fold {k}: cnn {cnn[-1]:.3f} (single {np.mean(single[-args.members :]):.3f}) "
            f"ridge {base[-1]:.3f}",
            file=sys.stderr,
            flush=True,
        )
    return {"cnn": cnn, "single": single, "ridge": base, "best_epoch": float(np.mean(epochs))}


def run(args, options: dict) -> str:
    X, Y = load()
    splits = folds(len(X), args.kfold)
    rows, wins = [], 0
    started = time.perf_counter()
    cpu0 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="dnacnn-wheat-") as tmp:
        work = Path(tmp)
        for k, (train_rows, test_rows) in enumerate(splits):
            if k in args.fold_list:
                write_tables(X, Y, train_rows, work / f"fold{k}.train")
                write_tables(X, Y, test_rows, work / f"fold{k}.test")
        # environments are independent: --jobs N runs N of them at once in worker processes
        with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else nullcontext() as pool:
            run_all = pool.map if pool else map
            results = list(
                run_all(partial(run_env, X=X, Y=Y, splits=splits, args=args, work=work, options=options), args.env_list)
            )
        for env, r in zip(args.env_list, results):
            cnn, ridge_r = float(np.mean(r["cnn"])), float(np.mean(r["ridge"]))
            wins += cnn >= ridge_r
            rows.append(
                [
                    ENVS[env],
                    f"**{cnn:.3f}** ± {np.std(r['cnn']) / np.sqrt(len(r['cnn'])):.3f}",
                    fmt(float(np.mean(r["single"]))),
                    f"{ridge_r:.3f}",
                    f"{cnn - ridge_r:+.3f}",
                    f"{np.mean(np.array(r['cnn']) > np.array(r['ridge'])) * len(r['cnn']):.0f}/{len(r['cnn'])}",
                    *(f"{CROSSA[m][env]:.3f}" for m in CROSSA),
                    f"{r['best_epoch']:.0f}",
                ]
            )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    minutes = (time.perf_counter() - started) / 60
    cpu = (time.process_time() - cpu0 + children.ru_utime + children.ru_stime) / 60
    settings = ", ".join(f"{k}={v}" for k, v in options.items()) or "the preset's train block"
    return "\n".join(
        [
            "## Wheat (599 lines x 1279 DArT markers): Pearson r, 10-fold CV",
            "",
            f"CNN `{args.model}` ({settings}), `{args.scheme}` input, ensemble of {args.members} seed(s) "
            f"(each with its own {args.valid_frac:.0%} inner validation split for early stopping); "
            "ridge = RR-BLUP (RidgeCV, leave-one-out penalty) on the same folds. "
            f"{'`KFold(10, shuffle=True, random_state=0)`' if args.kfold else 'BGLR `wheat.sets`'} folds "
            f"{','.join(map(str, args.fold_list))}; r is the mean over folds (± its standard error). "
            f"{args.threads} CPU thread(s) x {args.jobs} job(s); {minutes:.1f} min wall, "
            f"{cpu:.1f} min CPU in all; {machine()}.",
            "",
            markdown_table(
                [
                    "env",
                    "CNN r (ensemble)",
                    "CNN r (single seed, mean)",
                    "ridge r",
                    "CNN - ridge",
                    "folds CNN > ridge",
                    "Crossa BLUP",
                    "Crossa B. LASSO",
                    "Crossa RKHS",
                    "best epoch, mean",
                ],
                rows,
            ),
            "",
            f"CNN >= ridge in {wins} of {len(rows)} environments.",
        ]
    )


def _int_list(text: str, top: int) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return [i for i in out if 0 <= i < top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="snp-cnn", help="preset name or spec YAML")
    parser.add_argument("--scheme", default="onehot", choices=["onehot", "dosage"], help="genotype input encoding")
    parser.add_argument("--members", type=int, default=10, help="ensemble size (seeds 0..M-1)")
    parser.add_argument("--valid-frac", type=float, default=0.1, help="inner validation fraction per member")
    parser.add_argument("--envs", default="1,2,3,4", help="environments, e.g. 1,3")
    parser.add_argument("--folds", default="0-9", help="folds to run, e.g. 0-4 (quick looks); all for results")
    parser.add_argument("--kfold", action="store_true", help="KFold(10, random_state=0) instead of wheat.sets")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per training")
    parser.add_argument("--jobs", type=int, default=1, help="environments run at once (worker processes)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="training option for dnacnn.train.TrainSettings, e.g. weight_decay=0.01",
    )
    parser.add_argument("--name", default="wheat", help="result file name (results/NAME.md)")
    args = parser.parse_args()
    import torch
    import yaml

    torch.set_num_threads(args.threads)
    args.env_list = [e - 1 for e in _int_list(args.envs, 5) if e >= 1]
    args.fold_list = _int_list(args.folds, 10)
    options = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    write_result(args.name, run(args, options))


if __name__ == "__main__":
    main()
