"""The Snakemake workflow: lint, dry runs (local and SLURM), reruns, a real .test run, bad configs.

Snakemake runs as a subprocess (``python -m snakemake``) in a temporary copy of ``.test/`` so the
repository's own ``results/`` is never touched. Dry runs are parsed from ``--printshellcmds``
output: one block per job, ``rule NAME:`` then ``resources: k=v, ...`` and the shell command.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "Snakefile"
DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"
SLURM_PROFILE = ROOT / "workflow" / "profiles" / "slurm"
EXPECTED_RUNS = {("zou", "zou2019"), ("rest", "tiny"), ("wheat", "snp-cnn")}

# the rules call the dnacnn command: find the one installed beside this Python first
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV
    )


def snakemake(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir``."""
    return run(["--snakefile", str(SNAKEFILE), "--directory", str(workdir), *args], workdir, timeout)


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def dry_run_jobs(text: str) -> list[dict]:
    """One dict per job of a ``-n -p`` listing: rule, resources, shell command."""
    jobs = []
    for line in text.splitlines():
        line = line.strip()
        if m := re.fullmatch(r"(?:local)?rule (\w+):", line):
            jobs.append({"rule": m.group(1), "resources": {}, "shell": None})
        elif jobs and line.startswith("resources:"):
            pairs = (item.split("=", 1) for item in line[len("resources:") :].split(", "))
            jobs[-1]["resources"] = {k.strip(): v for k, v in pairs}
        elif jobs and line.startswith("Shell command:"):
            jobs[-1]["shell"] = line[len("Shell command:") :].strip()
    return jobs


def train_shell(command: str, log: str) -> str:
    """The train rule's shell command around ``command``: a header line per attempt, the output to
    LOG.log (emptied by Snakemake before each attempt) and appended to LOG.attempts.log."""
    header = "echo \"# $(date '+%F %T') on $(hostname)${SLURM_JOB_ID:+, SLURM job $SLURM_JOB_ID}\""
    return f"{{ {header}; {command}; }} 2>&1 | tee -a {log}.attempts.log > {log}.log"


def job_counts(text: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    counts, table = {}, text.split("Job stats:", 1)[-1]
    for line in table.splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh copy of .test/ (config + tiny data)."""
    target = tmp_path / "wd"
    shutil.copytree(ROOT / ".test", target, ignore=shutil.ignore_patterns("results", ".snakemake"))
    return target


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """The .test workflow run for real, end to end, once for the module."""
    target = tmp_path_factory.mktemp("run") / "wd"
    shutil.copytree(ROOT / ".test", target, ignore=shutil.ignore_patterns("results", ".snakemake"))
    result = snakemake(target, "--cores", "2", "--workflow-profile", str(DEFAULT_PROFILE))
    assert result.returncode == 0, output(result)[-5000:]
    return target


def write_config(workdir: Path, edit) -> None:
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


# --------------------------------------------------------------------------- static checks


def test_lint_is_clean(workdir):
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, output(result)
    assert "Congratulations, your workflow is in a good condition!" in output(result)
    assert "Lints for" not in output(result)


def test_lint_of_the_default_config_is_clean():
    result = run(["--lint"], ROOT)
    assert result.returncode == 0, output(result)
    assert "Lints for" not in output(result)


def test_default_config_dry_run():
    result = run(["-n", "--forceall", "-p"], ROOT)
    assert result.returncode == 0, output(result)
    assert job_counts(output(result)) == {
        "encode": 3,
        "encode_test": 1,
        "train": 4,
        "evaluate": 4,
        "aggregate": 1,
        "all": 1,
        "total": 14,
    }
    for job in dry_run_jobs(output(result)):
        if job["rule"] == "train":
            assert job["resources"]["gpu"] == "1"
            assert " dnacnn train " in job["shell"] and " --resume " in job["shell"]
        else:
            assert "gpu" not in job["resources"], job


# --------------------------------------------------------------------------- dry runs


def test_default_profile_dry_run_plans_every_run(workdir):
    result = snakemake(workdir, "-n", "-p", "--workflow-profile", str(DEFAULT_PROFILE))
    assert result.returncode == 0, output(result)
    assert job_counts(output(result)) == {
        "encode": 3,
        "encode_test": 1,
        "train": 3,
        "evaluate": 3,
        "aggregate": 1,
        "all": 1,
        "total": 12,
    }
    shells = {job["shell"] for job in dry_run_jobs(output(result)) if job["rule"] == "train"}
    assert (
        train_shell(
            "dnacnn train results/rest/store -o results/rest/tiny/model.dnacnn --history results/rest/tiny/history.tsv"
            " --model config/models/tiny.yaml --epochs 2 --seed 0 --device cpu --precision auto --threads 1 --resume"
            " --no-progress",
            "results/logs/train/rest/tiny",
        )
        in shells
    )


def test_slurm_dry_run_asks_a_gpu_for_training_only(workdir):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    write_config(workdir, lambda c: c.update(gpus_per_train=1, gpu_model="a100", device="auto"))
    result = snakemake(workdir, "-n", "-p", "--workflow-profile", str(SLURM_PROFILE))
    assert result.returncode == 0, output(result)
    jobs = dry_run_jobs(output(result))
    assert {job["rule"] for job in jobs} == {"encode", "encode_test", "train", "evaluate", "aggregate", "all"}
    for job in jobs:
        if job["rule"] == "train":
            assert job["resources"]["gpu"] == "1" and job["resources"]["gpu_model"] == "a100"
            assert job["resources"]["slurm_partition"] == "gpu"
        else:
            assert "gpu" not in job["resources"] and "gpu_model" not in job["resources"], job
            assert "slurm_partition" not in job["resources"], job  # the cluster's default partition
    # one sbatch job per step: a failed group job would hide sbatch's message
    assert "Group job" not in output(result)


def test_slurm_profile_matches_its_documentation():
    """No job groups by default (a failed group job hides sbatch's message), no placeholder
    account, and the sizes docs/workflow.md gives are the profile's."""
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    assert "groups" not in profile and "group-components" not in profile
    assert "slurm_account" not in profile["default-resources"]
    docs = (ROOT / "docs" / "workflow.md").read_text()
    section = " ".join(docs[docs.index("## On a SLURM cluster") : docs.index("## Many GPUs")].split())
    train = profile["set-resources"]["train"]
    assert f"{train['mem_mb']:,} MB and {train['runtime'] // 60} hours for training jobs" in section
    assert f"`set-threads: train: {profile['set-threads']['train']}`" in section
    assert f"{profile['default-resources']['runtime']} minutes for every job" in section
    assert f"{profile['default-resources']['mem_mb']:,} MB where a rule does not say" in section
    assert 'pip install -e ".[slurm]"' in section and "slurm-status-command" in section


def test_gpus_per_train_above_one_launches_torchrun(workdir):
    write_config(workdir, lambda c: c.update(gpus_per_train=4, device="auto"))
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    trains = [job for job in dry_run_jobs(output(result)) if job["rule"] == "train"]
    assert len(trains) == 3
    for job in trains:
        assert job["resources"]["gpu"] == "4"
        assert "; torchrun --standalone --nproc-per-node 4 -m dnacnn train " in job["shell"]


def test_members_trains_a_seed_ensemble_and_evaluates_it_as_one(workdir):
    write_config(workdir, lambda c: c["models"][2].update(members=3))  # snp-cnn on wheat
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    counts = job_counts(output(result))
    assert counts["train"] == 5 and counts["evaluate"] == 3 and counts["total"] == 14
    jobs = dry_run_jobs(output(result))
    trains = [job["shell"] for job in jobs if job["rule"] == "train" and "results/wheat/" in job["shell"]]
    assert len(trains) == 3
    for member, path, seed in ((1, "", 0), (2, "/member2", 1), (3, "/member3", 2)):
        log = "snp-cnn" + (path or "")
        assert (
            train_shell(
                f"dnacnn train results/wheat/store -o results/wheat/snp-cnn{path}/model.dnacnn"
                f" --history results/wheat/snp-cnn{path}/history.tsv --model snp-cnn --epochs 2 --batch-size 16"
                f" --seed {seed} --device cpu --precision auto --threads 1 --resume --no-progress",
                f"results/logs/train/wheat/{log}",
            )
            in trains
        ), member
    (evaluate,) = [job["shell"] for job in jobs if job["rule"] == "evaluate" and "results/wheat/" in job["shell"]]
    assert evaluate.startswith(
        "dnacnn evaluate results/wheat/snp-cnn/model.dnacnn results/wheat/store -o results/wheat/snp-cnn/eval"
        " --train-store results/wheat/store --title 'snp-cnn on wheat (ensemble of 3 seeds)'"
        " --model results/wheat/snp-cnn/member2/model.dnacnn --model results/wheat/snp-cnn/member3/model.dnacnn"
    )
    # the other models are single models, exactly as without the key
    (tiny,) = [job["shell"] for job in jobs if job["rule"] == "evaluate" and "results/rest/" in job["shell"]]
    assert "--model" not in tiny and "ensemble" not in tiny


def _tune_on(c):
    c["tune"] = {"enabled": True, "trials": 3, "timeout_minutes": 5, "epochs": 1}


def test_tune_enabled_dry_run_plans_a_study_before_each_training(workdir):
    write_config(workdir, _tune_on)
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    counts = job_counts(output(result))
    assert counts["tune"] == counts["train"] == 3 and counts["total"] == 15
    jobs = dry_run_jobs(output(result))
    tunes = {job["shell"] for job in jobs if job["rule"] == "tune"}
    assert (
        "dnacnn tune results/rest/store -o results/rest/tiny/tune --model config/models/tiny.yaml --trials 3"
        " --timeout-minutes 5 --seed 0 --epochs 1 --device cpu --threads 1 --no-progress"
        " > results/logs/tune/rest/tiny.log 2>&1"
    ) in tunes
    trains = {job["shell"] for job in jobs if job["rule"] == "train"}
    # training uses the tuned spec; the model entry's batch_size (16) would override the tuned one
    # (batch_size is in the default search space), so it is left out; epochs still applies
    assert (
        train_shell(
            "dnacnn train results/wheat/store -o results/wheat/snp-cnn/model.dnacnn"
            " --history results/wheat/snp-cnn/history.tsv --model results/wheat/snp-cnn/tune/best.yaml --epochs 2"
            " --seed 0 --device cpu --precision auto --threads 1 --resume --no-progress",
            "results/logs/train/wheat/snp-cnn",
        )
        in trains
    )


def test_tune_search_file_decides_which_settings_come_from_the_study(workdir):
    (workdir / "config" / "space.yaml").write_text("epochs: [1, 2]\nlayers.0.conv1d.filters: [4, 8]\n")
    write_config(workdir, lambda c: c.update(tune={"enabled": True, "search": "config/space.yaml"}))
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    jobs = dry_run_jobs(output(result))
    (tune,) = [job["shell"] for job in jobs if job["rule"] == "tune" and "results/wheat/" in job["shell"]]
    # the study searches epochs, so the model entry's epochs (2) caps neither its trials nor the training
    assert " --search config/space.yaml --trials 20 --timeout-minutes 30 --seed 0 --device cpu " in tune
    (train,) = [job["shell"] for job in jobs if job["rule"] == "train" and "results/wheat/" in job["shell"]]
    assert "--model results/wheat/snp-cnn/tune/best.yaml --batch-size 16 --seed 0 " in train
    assert "--epochs" not in train


def test_tune_default_search_keys_match_dnacnn():
    pytest.importorskip("optuna")
    from dnacnn.tune import DEFAULT_SEARCH

    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    keys = re.search(r"^DEFAULT_SEARCH_KEYS = (\(.*\))$", common, re.MULTILINE).group(1)
    assert ast.literal_eval(keys) == tuple(DEFAULT_SEARCH)


# --------------------------------------------------------------------------- real run and reruns


@pytest.mark.slow
def test_end_to_end_run_writes_reports_and_summary(finished_run):
    results = finished_run / "results"
    with open(results / "summary.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert {(row["dataset"], row["model"]) for row in rows} == EXPECTED_RUNS
    assert (results / "summary.html").stat().st_size > 0
    for dataset, model in EXPECTED_RUNS:
        run = results / dataset / model
        assert (run / "model.dnacnn").is_file() and (run / "history.tsv").is_file()
        # train --resume leaves the finished model as its checkpoint (a hard link: no extra space)
        assert (run / "model.dnacnn.ckpt").read_bytes() == (run / "model.dnacnn").read_bytes()
        for name in ("metrics.json", "metrics.tsv", "predictions.tsv", "report.html"):
            assert (run / "eval" / name).stat().st_size > 0, name
        assert (results / "benchmarks" / "train" / dataset / f"{model}.tsv").is_file()
        assert (results / "logs" / "train" / dataset / f"{model}.log").is_file()
    # the DeepBind-style dataset is scored on its external test file (300 rows), the others on
    # the test split of their own store (zou: 25% of 600)
    assert len((results / "rest" / "tiny" / "eval" / "predictions.tsv").read_text().splitlines()) == 1 + 300
    assert len((results / "zou" / "zou2019" / "eval" / "predictions.tsv").read_text().splitlines()) == 1 + 150


@pytest.mark.slow
def test_finished_run_has_nothing_to_do(finished_run):
    result = snakemake(finished_run, "-n")
    assert result.returncode == 0, output(result)
    assert "Nothing to be done" in output(result)


@pytest.mark.slow
def test_changing_one_model_reruns_only_its_jobs(finished_run, tmp_path):
    config = tmp_path / "changed.yaml"
    data = yaml.safe_load((finished_run / "config" / "config.yaml").read_text())
    next(m for m in data["models"] if m["name"] == "zou2019")["epochs"] = 4
    config.write_text(yaml.safe_dump(data))
    result = snakemake(finished_run, "-n", "-p", "--configfile", str(config))
    assert result.returncode == 0, output(result)
    assert job_counts(output(result)) == {"train": 1, "evaluate": 1, "aggregate": 1, "all": 1, "total": 4}
    (train,) = [job for job in dry_run_jobs(output(result)) if job["rule"] == "train"]
    assert "results/zou/zou2019/model.dnacnn" in train["shell"] and "--epochs 4" in train["shell"]
    assert "Params have changed since last execution" in output(result)


@pytest.mark.slow
def test_changing_a_spec_file_reruns_its_models(finished_run):
    spec = finished_run / "config" / "models" / "tiny.yaml"
    original = spec.read_text()
    try:
        spec.write_text(original.replace("filters: 8", "filters: 6"))
        result = snakemake(finished_run, "-n")
        assert result.returncode == 0, output(result)
        assert job_counts(output(result)) == {"train": 1, "evaluate": 1, "aggregate": 1, "all": 1, "total": 4}
    finally:
        spec.write_text(original)


# --------------------------------------------------------------------------- bad configs


def _unknown_key(c):
    c["models"][0]["epoch"] = 3


def _wrong_type(c):
    c["models"][0]["epochs"] = "ten"


def _missing_file(c):
    c["datasets"][2]["phenotypes"] = "data/nope.Y"


def _unknown_run(c):
    c["runs"]["rest"] = ["big"]


def _preset_and_spec(c):
    c["models"][1]["preset"] = "tfbind"


def _no_members(c):
    c["models"][2]["members"] = 0


def _tune_no_trials(c):
    c["tune"] = {"enabled": True, "trials": 0}


def _tune_missing_search(c):
    c["tune"] = {"enabled": True, "search": "config/nope.yaml"}


def _genome_negatives_without_peaks(c):
    c["datasets"][1]["negatives"] = "genome"


def _missing_track(c):
    c["datasets"][1]["targets"] = ["data/nope.bw"]


def _nan_fraction(c):  # found by an independent hostile corpus: NaN passes a schema's bounds
    c["datasets"][1]["split"] = {"method": "random", "test_frac": float("nan")}


def _old_kind_key(c):
    c["datasets"][1]["kind"] = c["datasets"][1].pop("format")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _unknown_key,
            "invalid config: models[0] (name: zou2019): Additional properties are not allowed ('epoch' was unexpected)",
        ),
        (_wrong_type, "invalid config: models[0] (name: zou2019) -> epochs: 'ten' is not of type 'integer', 'null'"),
        (_missing_file, "invalid config: datasets (name: wheat) -> phenotypes: no such file 'data/nope.Y'"),
        (_unknown_run, "invalid config: runs -> rest: no model named 'big'; models are zou2019, tiny, snp-cnn"),
        (_preset_and_spec, "invalid config: models (name: tiny): give exactly one of preset"),
        (_no_members, "invalid config: models[2] (name: snp-cnn) -> members: 0 is less than the minimum of 1"),
        (_tune_no_trials, "invalid config: tune -> trials: 0 is less than the minimum of 1"),
        (_tune_missing_search, "invalid config: tune -> search: no such file 'config/nope.yaml'"),
        (
            _genome_negatives_without_peaks,
            "invalid config: datasets (name: rest): negatives 'genome' and targets need format bed (peaks + genome)",
        ),
        (_missing_track, "invalid config: datasets (name: rest) -> targets[0]: no such file 'data/nope.bw'"),
        (_nan_fraction, "-> split -> test_frac: is not a finite number; give a number such as 0.1"),
        (
            _old_kind_key,
            "invalid config: datasets[1] (name: rest) -> kind: this key is now called format "
            "(what dnacnn encode --format takes); rename it",
        ),
    ],
)
def test_bad_config_fails_at_once_with_one_clear_line(workdir, edit, message):
    write_config(workdir, edit)
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    text = output(result)
    assert text.count("invalid config:") == 1, text
    assert message in text, text
    assert "Traceback" not in text and "Failed validating" not in text, text


def _one_clear_line(workdir, message):
    result = snakemake(workdir, "-n", timeout=60)
    assert result.returncode != 0
    text = output(result)
    assert text.count("invalid config:") == 1, text
    assert message in text, text
    assert "Traceback" not in text, text


def test_a_config_alias_bomb_is_refused_without_expanding_it(workdir):
    # nine levels of nine aliases: 387M values once expanded; the check counts to 1M and stops
    bomb = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    path = workdir / "config" / "config.yaml"
    path.write_text(path.read_text() + "junk0: &l0 [x]\n" + bomb)
    _one_clear_line(workdir, "invalid config: the config holds over 1,000,000 values once its YAML aliases")


def test_a_fold_file_word_that_is_no_fold_id_is_named(workdir):
    (workdir / "folds.txt").write_text("1\n2\nthree\n")

    def edit(c):
        c["datasets"][0]["split"] = {"method": "folds", "fold_file": "folds.txt"}

    write_config(workdir, edit)
    _one_clear_line(workdir, "split -> fold_file: 'three' in folds.txt is not a fold id")


def _wheat_folds(c, folds=3, only_wheat=False):
    wheat = next(d for d in c["datasets"] if d["name"] == "wheat")
    wheat["split"] = {"method": "folds", "folds": folds}
    if only_wheat:
        c["runs"] = {"wheat": ["snp-cnn"]}
        c["datasets"] = [wheat]


def test_folds_fan_out_one_training_per_fold_and_summarize_them(workdir):
    write_config(workdir, _wheat_folds)
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    counts = job_counts(output(result))
    assert counts["evaluate_fold"] == 3 and counts["cross_validation"] == 1
    assert counts["train"] == 5 and counts["evaluate"] == 2  # zou and rest as before
    jobs = dry_run_jobs(output(result))
    (encode,) = [job["shell"] for job in jobs if job["rule"] == "encode" and "wheat" in job["shell"]]
    assert "--split folds" in encode and "--folds 3" in encode
    trains = sorted(job["shell"] for job in jobs if job["rule"] == "train" and "results/wheat/" in job["shell"])
    assert [t.split(" -o ")[1].split()[0] for t in trains] == [
        f"results/wheat/snp-cnn/fold{k}/model.dnacnn" for k in (1, 2, 3)
    ]
    assert all(f"--fold {k}" in t for k, t in zip((1, 2, 3), trains, strict=True))
    (summary,) = [job["shell"] for job in jobs if job["rule"] == "cross_validation"]
    assert summary.startswith("dnacnn cv-summary results/wheat/snp-cnn/fold1/eval results/wheat/snp-cnn/fold2/eval")


@pytest.mark.slow
def test_folds_run_for_real_and_write_the_cv_page(workdir):
    write_config(workdir, lambda c: _wheat_folds(c, folds=2, only_wheat=True))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, output(result)[-4000:]
    table = (workdir / "results" / "wheat" / "snp-cnn" / "cv" / "cv.tsv").read_text().splitlines()
    assert table[0].split("\t") == ["fold", "n", "CNN", "RR-BLUP (ridge)", "GBLUP", "RKHS", "RKHS (kernel average)"]
    assert [row.split("\t")[0] for row in table[1:]] == ["1", "2", "mean", "sd", "pooled"]
    assert not (workdir / "results" / "summary.tsv").exists()  # no run without folds: no summary table


def test_a_fold_file_must_exist_and_go_with_method_folds(workdir):
    write_config(workdir, lambda c: c["datasets"][2].update(split={"fold_file": "sets.txt"}))
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    assert "datasets (name: wheat) -> split -> fold_file: no such file 'sets.txt'" in output(result)


def _peaks_dataset(workdir: Path, targets: bool) -> None:
    """A tiny peaks + genome dataset in ``workdir``: 2 chromosomes, 20 peaks, one bigWig track."""
    rng = np.random.default_rng(0)
    data = workdir / "data"
    with open(data / "genome.fa", "w") as fa, open(data / "peaks.bed", "w") as bed:
        for c in (1, 2):
            fa.write(f">chr{c}\n" + "".join(rng.choice(list("ACGT"), 20_000)) + "\n")
            for s in range(2_000, 18_000, 1_600):
                bed.write(f"chr{c}\t{s}\t{s + 200}\n")
    entry = {"name": "peaks", "format": "bed", "input": "data/peaks.bed", "genome": "data/genome.fa", "length": 100}
    entry["negatives"] = "genome"
    entry["negatives_per_positive"] = 2
    if targets:
        import pyBigWig

        bw = pyBigWig.open(str(data / "signal.bw"), "w")
        bw.addHeader([("chr1", 20_000), ("chr2", 20_000)])
        bw.addEntries(["chr1", "chr2"], [0, 0], ends=[20_000, 20_000], values=[1.0, 2.0])
        bw.close()
        entry |= {"targets": ["data/signal.bw"], "target_stat": "max"}
    else:
        entry["label_value"] = 1
    write_config(workdir, lambda c: (c["datasets"].append(entry), c["runs"].update(peaks=["tiny"])))


@pytest.mark.parametrize("targets", [False, True], ids=["labels", "bigwig-targets"])
def test_a_peaks_dataset_encodes_with_genome_negatives_and_targets(workdir, targets):
    pytest.importorskip("pyBigWig")
    _peaks_dataset(workdir, targets)
    result = snakemake(workdir, "--cores", "1", "results/peaks/store")
    assert result.returncode == 0, output(result)[-3000:]
    manifest = json.loads((workdir / "results" / "peaks" / "store" / "manifest.json").read_text())
    assert manifest["negatives"]["method"] == "genome" and manifest["negatives"]["negatives"] == 40
    assert manifest["task"] == ("regression" if targets else "binary")
    assert manifest["label_names"] == (["signal"] if targets else ["label"])


def test_a_configs_extra_string_is_arguments_never_shell(workdir):
    """``extra:`` is split into words and each word quoted: a collaborator's config cannot run a
    command (issue 17), and an unclosed quote is one clear line."""
    hostile = "--lr 0.01; touch pwned $(touch pwned2) | tee pwned3"
    write_config(workdir, lambda c: c["models"][0].update(extra=hostile))
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    (train,) = [j["shell"] for j in dry_run_jobs(output(result)) if j["rule"] == "train" and "zou2019" in j["shell"]]
    assert "--lr '0.01;' touch pwned '$(touch' 'pwned2)' '|' tee pwned3" in train
    write_config(workdir, lambda c: c["models"][0].update(extra="--lr '0.01"))
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    assert "invalid config: models (name: zou2019) -> extra: No closing quotation" in output(result)
    assert not list(workdir.glob("pwned*"))


def test_train_settings_blocks_are_generated_from_the_settings_module():
    """common.smk's TRAIN_SETTINGS, the model schema, the Galaxy train tool and config/README.md
    hold the training settings as scripts/gen_train_settings.py writes them from TrainSettings."""
    done = subprocess.run(
        [sys.executable, "scripts/gen_train_settings.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    from dnacnn.train.settings import FIELDS

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "model.schema.yaml").read_text())["properties"]
    workflow = [name for name, f in FIELDS.items() if f.metadata.get("workflow")]
    assert [k for k in schema if k in FIELDS] == [*workflow, "seed", "max_minutes"]
    assert schema["seed"]["default"] == FIELDS["seed"].default
    assert schema["max_minutes"]["exclusiveMinimum"] == FIELDS["max_minutes"].metadata["above"]
    assert schema["epochs"]["minimum"] == 1 and schema["optimizer"]["enum"][:-1] == ["adam", "adamw", "sgd", "rmsprop"]
