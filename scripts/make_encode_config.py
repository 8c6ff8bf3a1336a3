#!/usr/bin/env python3
"""Write a workflow config for many DeepBind-format ENCODE TF ChIP-seq experiments.

Each experiment is a pair ``NAME_AC.seq.gz`` (training positives; negatives are dinucleotide
shuffles drawn by ``dnacnn encode --negatives shuffle``) and ``NAME_B.seq.gz`` (DeepBind's test
file, encoded as an external test store). Every experiment is run with every model given.

Real data, paths as given (relative to the directory snakemake will run in); the config goes
into a working directory of its own (``--configfile`` would extend config/config.yaml, whose
``runs:`` name the bundled datasets)::

    python scripts/make_encode_config.py /data/deepbind-encode -o /scratch/encode/config/config.yaml
    snakemake --directory /scratch/encode --workflow-profile workflow/profiles/slurm

Scale dry run without the data: ``--placeholders 690`` writes 690 empty placeholder pairs
(``WORKDIR/data/*_{AC,B}.seq.gz``) and ``WORKDIR/config/config.yaml``; then::

    snakemake -n --directory WORKDIR --workflow-profile workflow/profiles/slurm
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

MODELS = {
    "deepbind": {"preset": "deepbind"},
    "tfbind": {"preset": "tfbind", "fresh_negatives": True},
    "basset": {"preset": "basset"},
}
# The six development experiments of /work/shared/data/deepbind-encode; the placeholders start
# with their real names (parentheses included) so that the dry run sees real file names.
KNOWN = [
    "REST_GM12878_NRSF_HudsonAlpha",
    "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha",
    "GABPA_GM12878_GABP_HudsonAlpha",
    "MYC_H1-hESC_c-Myc_Stanford",
    "ARID3A_K562_ARID3A_(sc-8821)_Stanford",
    "ZBTB7A_HepG2_ZBTB7A_(SC-34508)_HudsonAlpha",
]


def dataset_name(experiment: str) -> str:
    """A name safe for output paths: 'ARID3A_K562_ARID3A_(sc-8821)_Stanford' -> '..._sc-8821_Stanford'."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_.+-]", "_", experiment)).strip("_")


def find_experiments(directory: Path) -> list[tuple[str, Path, Path]]:
    """(experiment, AC file, B file) for every ``*_AC.seq.gz`` in ``directory`` with its ``_B`` file."""
    found = []
    for ac in sorted(directory.glob("*_AC.seq.gz")):
        experiment = ac.name[: -len("_AC.seq.gz")]
        b = ac.with_name(f"{experiment}_B.seq.gz")
        if not b.is_file():
            raise SystemExit(f"make_encode_config: {ac} has no test file {b.name}; add it or remove {ac.name}")
        found.append((experiment, ac, b))
    if not found:
        raise SystemExit(f"make_encode_config: no *_AC.seq.gz files in {directory}")
    return found


def make_placeholders(directory: Path, n: int) -> None:
    """Create ``n`` empty AC/B pairs named like ENCODE experiments (for a dry run only)."""
    directory.mkdir(parents=True, exist_ok=True)
    names = KNOWN[:n] + [f"TF{i:03d}_Cell{i % 91:02d}_TF{i:03d}_(ab-{i})_Lab{i % 5}" for i in range(len(KNOWN), n)]
    for experiment in names:
        for part in ("AC", "B"):
            (directory / f"{experiment}_{part}.seq.gz").touch()


def make_config(
    experiments: list[tuple[str, Path, Path]], models: list[str], epochs: int | None, gpus_per_train: int
) -> dict:
    datasets, seen = [], set()
    for experiment, ac, b in experiments:
        name = dataset_name(experiment)
        if name in seen:
            raise SystemExit(f"make_encode_config: two experiments map to the dataset name {name!r}; rename one")
        seen.add(name)
        datasets.append(
            {
                "name": name,
                "kind": "tabular",
                "input": str(ac),
                "test_input": str(b),
                "id_col": "EventID",
                "label_col": "Bound",
                "negatives": "shuffle",
                "split": {"valid_frac": 0.1, "test_frac": 0.0},
            }
        )
    model_entries = [{"name": m, **MODELS[m], **({"epochs": epochs} if epochs else {})} for m in models]
    return {"datasets": datasets, "models": model_entries, "gpus_per_train": gpus_per_train}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", type=Path, help="Directory of NAME_AC.seq.gz / NAME_B.seq.gz files.")
    parser.add_argument("-o", "--out", type=Path, help="Config to write [WORKDIR/config/config.yaml].")
    parser.add_argument("--placeholders", type=int, metavar="N", help="Create N empty experiment pairs (dry runs).")
    parser.add_argument("--workdir", type=Path, help="Working directory for --placeholders.")
    parser.add_argument("--models", default=",".join(MODELS), help=f"Comma-separated, from {', '.join(MODELS)}.")
    parser.add_argument("--epochs", type=int, help="Maximum epochs for every model [preset defaults].")
    parser.add_argument("--gpus-per-train", type=int, default=1, help="GPUs per training job [1].")
    args = parser.parse_args(argv)
    if (args.directory is None) == (args.placeholders is None):
        parser.error("give either a DIRECTORY of experiments or --placeholders N with --workdir")
    if args.placeholders is not None and args.workdir is None:
        parser.error("--placeholders needs --workdir (the snakemake --directory of the dry run)")
    if args.directory is not None and args.out is None:
        parser.error("give -o/--out for the config file")
    unknown = sorted(set(args.models.split(",")) - set(MODELS))
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.placeholders is not None:
        make_placeholders(args.workdir / "data", args.placeholders)
        # paths relative to the working directory, as snakemake --directory WORKDIR sees them
        experiments = [
            (e, ac.relative_to(args.workdir), b.relative_to(args.workdir))
            for e, ac, b in find_experiments(args.workdir / "data")
        ]
        out = args.out or args.workdir / "config" / "config.yaml"
    else:
        experiments = find_experiments(args.directory)
        out = args.out
    config = make_config(experiments, args.models.split(","), args.epochs, args.gpus_per_train)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        f.write("# Written by scripts/make_encode_config.py; see docs/scale.md.\n")
        yaml.safe_dump(config, f, sort_keys=False, width=120)
    print(f"wrote {out}: {len(config['datasets'])} experiments x {len(config['models'])} models", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
