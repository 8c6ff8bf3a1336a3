"""Config validation and input functions shared by the rules.

The rules call only the ``dnacnn`` command line; this file turns the validated config into the
command-line arguments of each job. Every argument a job gets goes through its ``params``, so
Snakemake's params rerun trigger reruns exactly the jobs whose settings changed.
"""

import os
import shlex

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


# --------------------------------------------------------------------------- config checks


def config_error(where, message):
    """Stop at once with one line naming the config entry and what to do."""
    raise WorkflowError(f"invalid config: {where}: {message}")


def config_location(path, node, where=""):
    """Render a JSON path such as ['split', 'test_frac'] as 'where -> split -> test_frac'."""
    parts = [where] if where else []
    for key in path:
        if isinstance(key, int):
            name = node[key].get("name") if isinstance(node[key], dict) else None
            parts[-1] += f"[{key}]" + (f" (name: {name})" if name else "")
        else:
            parts.append(str(key))
        node = node[key]
    return " -> ".join(parts) or "top level"


def validated(data, schema, where=""):
    """Validate ``data`` against ``schema`` (filling in defaults); one line on failure."""
    try:
        validate(data, schema)
    except WorkflowError as e:
        cause = next((a for a in e.args if hasattr(a, "absolute_path")), None)
        if cause is None:
            raise
        config_error(config_location(cause.absolute_path, data, where), cause.message)
    return data


validated(config, "../schemas/config.schema.yaml")
for i, entry in enumerate(config["datasets"]):
    validated(entry, "../schemas/dataset.schema.yaml", f"datasets[{i}]" + (f" (name: {entry.get('name')})" if entry.get("name") else ""))
for i, entry in enumerate(config["models"]):
    validated(entry, "../schemas/model.schema.yaml", f"models[{i}]" + (f" (name: {entry.get('name')})" if entry.get("name") else ""))


def check_unique(kind):
    seen = set()
    for i, entry in enumerate(config[kind]):
        if entry["name"] in seen:
            config_error(f"{kind}[{i}] -> name", f"{entry['name']!r} is used twice; give each entry its own name")
        seen.add(entry["name"])
    return {entry["name"]: entry for entry in config[kind]}


def check_file(where, path):
    if not os.path.isfile(path):
        config_error(where, f"no such file {path!r} (paths are relative to the working directory {os.getcwd()})")


DATASET_FILES = ("input", "test_input", "labels", "test_labels", "genome", "phenotypes", "test_phenotypes")


def check_dataset(d):
    where = f"datasets (name: {d['name']})"
    for key in DATASET_FILES:
        if d[key] and not (key.endswith("labels") and d[key] == "header"):
            check_file(f"{where} -> {key}", d[key])
    if d["negatives"] not in ("", "shuffle"):
        check_file(f"{where} -> negatives", d["negatives"])
    if d["kind"] == "bed" and not d["genome"]:
        config_error(where, "kind bed needs a genome FASTA (genome: path/to/genome.fa)")
    if d["kind"] == "genotype" and not d["phenotypes"]:
        config_error(where, "kind genotype needs a phenotype table (phenotypes: path)")
    if d["test_input"] and d["split"]["test_frac"] > 0 and d["split"]["method"] == "random":
        config_error(f"{where} -> split -> test_frac", "set it to 0 when a test_input is given (it is never used)")


def check_model(m):
    where = f"models (name: {m['name']})"
    if bool(m["preset"]) == bool(m["spec"]):
        config_error(where, "give exactly one of preset (e.g. preset: tfbind) or spec (a layer-spec YAML file)")
    if m["spec"]:
        check_file(f"{where} -> spec", m["spec"])


DATASETS = check_unique("datasets")
MODELS = check_unique("models")
for dataset in DATASETS.values():
    check_dataset(dataset)
for model in MODELS.values():
    check_model(model)
for dataset, models in config["runs"].items():
    if dataset not in DATASETS:
        config_error(f"runs -> {dataset}", f"no dataset named {dataset!r}; datasets are {', '.join(DATASETS)}")
    for model in models:
        if model not in MODELS:
            config_error(f"runs -> {dataset}", f"no model named {model!r}; models are {', '.join(MODELS)}")

RUNS = [(d, m) for d in DATASETS for m in config["runs"].get(d, list(MODELS))]


# --------------------------------------------------------------------------- command-line arguments


def cli_args(options):
    """Turn {flag: value} into a quoted argument string; None, '' and False are left out."""
    args = []
    for flag, value in options.items():
        if value is None or value == "" or value is False:
            continue
        args.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(args)


def switch(flag, value):
    """A --x/--no-x option: None leaves the default, True gives --x, False --no-x."""
    return {} if value is None else {(flag if value else flag.replace("--", "--no-", 1)): True}


def encode_options(d, test):
    """Options shared by the training and the external-test encodings of dataset ``d``."""
    return {
        "--format": d["kind"],
        "--labels": (d["test_labels"] or d["labels"]) if test else d["labels"],
        "--label-col": d["label_col"],
        "--label-value": d["label_value"],
        "--seq-col": d["seq_col"] if d["kind"] == "tabular" else None,
        "--id-col": d["id_col"],
        "--genome": d["genome"],
        "--length": d["length"],
        "--phenotypes": (d["test_phenotypes"] or d["phenotypes"]) if test else d["phenotypes"],
        "--traits": d["traits"],
        "--genotype-encoding": d["genotype_encoding"] if d["kind"] == "genotype" else None,
        "--task": d["task"],
    }


def encode_args(wildcards):
    d = DATASETS[wildcards.dataset]
    split = d["split"]
    options = encode_options(d, test=False) | {
        "--negatives": d["negatives"],
        "--negatives-per-positive": d["negatives_per_positive"] if d["negatives"] else None,
        "--split": split["method"],
        "--valid-frac": split["valid_frac"],
        "--test-frac": split["test_frac"],
        "--valid-chroms": split["valid_chroms"],
        "--test-chroms": split["test_chroms"],
        "--split-col": split["column"],
        "--seed": split["seed"],
    }
    return " ".join(filter(None, [cli_args(options), d["extra"]]))


def encode_test_args(wildcards):
    d = DATASETS[wildcards.dataset]
    return " ".join(filter(None, [cli_args(encode_options(d, test=True) | {"--split": "test"}), d["extra"]]))


def encode_inputs(wildcards):
    """The files an encoding reads, so that a changed input reruns it."""
    d = DATASETS[wildcards.dataset]
    files = {"input": d["input"]}
    for key in ("labels", "genome", "phenotypes"):
        if d[key] and d[key] != "header":
            files[key] = d[key]
    if d["negatives"] not in ("", "shuffle"):
        files["negatives"] = d["negatives"]
    return files


def encode_test_inputs(wildcards):
    d = DATASETS[wildcards.dataset]
    files = {"input": d["test_input"]}
    for key in ("labels", "phenotypes", "genome"):
        path = d[f"test_{key}"] if key != "genome" and d[f"test_{key}"] else d[key]
        if path and path != "header":
            files[key] = path
    return files


def train_inputs(wildcards):
    m = MODELS[wildcards.model]
    files = {"store": f"results/{wildcards.dataset}/store"}
    if m["spec"]:
        files["spec"] = m["spec"]
    return files


def train_args(wildcards):
    m = MODELS[wildcards.model]
    options = {
        "--model": m["preset"] or m["spec"],
        "--epochs": m["epochs"],
        "--batch-size": m["batch_size"],
        "--lr": m["lr"],
        "--weight-decay": m["weight_decay"],
        "--optimizer": m["optimizer"],
        "--patience": m["patience"],
        **switch("--rc-augment", m["rc_augment"]),
        **switch("--fresh-negatives", m["fresh_negatives"]),
        "--seed": m["seed"],
        "--max-minutes": m["max_minutes"],
        "--device": config["device"],
        "--precision": config["precision"],
    }
    return " ".join(filter(None, [cli_args(options), m["extra"]]))


def train_launcher(wildcards):
    """One process per job, or one per GPU under torchrun (DistributedDataParallel)."""
    n = config["gpus_per_train"]
    return f"torchrun --standalone --nproc-per-node {n} -m dnacnn" if n > 1 else "dnacnn"


def evaluate_inputs(wildcards):
    """The model, the store it is scored on and the training store the baseline is fitted on."""
    test_store = "test_store" if DATASETS[wildcards.dataset]["test_input"] else "store"
    return {
        "model": f"results/{wildcards.dataset}/{wildcards.model}/model.dnacnn",
        "store": f"results/{wildcards.dataset}/{test_store}",
        "train_store": f"results/{wildcards.dataset}/store",
    }


def evaluate_args(wildcards):
    options = {"--device": config["device"], "--no-baseline": not config["evaluate"]["baseline"]}
    return " ".join(filter(None, [cli_args(options), config["evaluate"]["extra"]]))


def evaluations():
    return [f"results/{d}/{m}/eval/metrics.json" for d, m in RUNS]


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.+-]*",
    model="[A-Za-z0-9][A-Za-z0-9_.+-]*",
