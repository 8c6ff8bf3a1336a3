"""Config validation and input functions shared by the rules.

The rules call only the ``dnacnn`` command line; this file turns the validated config into the
command-line arguments of each job. Every argument a job gets goes through its ``params``, so
Snakemake's params rerun trigger reruns exactly the jobs whose settings changed.
"""

import math
import os
import shlex

import jsonschema
import yaml

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


# --------------------------------------------------------------------------- config checks
# Each check yields problems as one line naming the config entry and what to do; the first one
# stops the workflow before any job is planned.


def config_location(path, node, where):
    """Render a JSON path such as ['split', 'test_frac'] as 'where -> split -> test_frac'."""
    parts = [where] if where else []
    for key in path:
        if isinstance(key, int) and parts:
            name = node[key].get("name") if isinstance(node[key], dict) else None
            parts[-1] += f"[{key}]" + (f" (name: {name})" if name else "")
        else:
            parts.append(str(key))
        node = node[key]
    return " -> ".join(parts) or "top level"


def non_finite(node, path=()):
    """The JSON paths of the NaN and infinite numbers in ``node`` (a schema's bounds let NaN pass)."""
    if isinstance(node, float) and not math.isfinite(node):
        yield list(path)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from non_finite(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from non_finite(value, (*path, i))


def schema_problems(data, schema, where=""):
    """Validate ``data`` against ``schema``, filling in the defaults it declares."""
    for path in non_finite(data):
        yield f"{config_location(path, data, where)}: is not a finite number; give a number such as 0.1"
        return
    try:
        validate(data, schema)
    except WorkflowError as e:
        cause = e.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        yield f"{config_location(cause.absolute_path, data, where)}: {cause.message}"


def file_problems(where, path):
    if not os.path.isfile(path):
        yield f"{where}: no such file {path!r} (paths are relative to the working directory {os.getcwd()})"


def unique_problems(kind):
    seen = set()
    for i, entry in enumerate(config[kind]):
        if entry["name"] in seen:
            yield f"{kind}[{i}] -> name: {entry['name']!r} is used twice; give each entry its own name"
        seen.add(entry["name"])


DATASET_FILES = ("input", "test_input", "labels", "test_labels", "genome", "phenotypes", "test_phenotypes")


def dataset_problems(d):
    where = f"datasets (name: {d['name']})"
    for key in DATASET_FILES:
        if d[key] and not (key.endswith("labels") and d[key] == "header"):
            yield from file_problems(f"{where} -> {key}", d[key])
    if d["negatives"] not in ("", "shuffle", "genome"):
        yield from file_problems(f"{where} -> negatives", d["negatives"])
    for i, track in enumerate(d["targets"]):
        yield from file_problems(f"{where} -> targets[{i}]", track)
    if (d["negatives"] == "genome" or d["targets"]) and d["format"] != "bed":
        yield f"{where}: negatives 'genome' and targets need format bed (peaks + genome)"
    if d["format"] == "bed" and not d["genome"]:
        yield f"{where}: format bed needs a genome FASTA (genome: path/to/genome.fa)"
    if d["format"] == "genotype" and not d["phenotypes"]:
        yield f"{where}: format genotype needs a phenotype table (phenotypes: path)"
    if d["test_input"] and d["split"]["method"] == "random" and d["split"]["test_frac"] > 0:
        yield f"{where} -> split -> test_frac: set it to 0 when a test_input is given (the test split would be unused)"
    if d["split"]["method"] == "train" and not d["test_input"]:
        yield f"{where} -> split -> method: 'train' leaves no test data; give a test_input or another method"
    if d["split"]["fold_file"]:
        yield from file_problems(f"{where} -> split -> fold_file", d["split"]["fold_file"])
        yield from fold_file_problems(f"{where} -> split -> fold_file", d["split"]["fold_file"])
        if d["split"]["method"] != "folds":
            yield f"{where} -> split -> fold_file: set method: folds to use it"
    if d["split"]["method"] == "folds" and d["test_input"]:
        yield f"{where} -> split -> method: folds scores every record once; drop test_input"


def model_problems(m):
    where = f"models (name: {m['name']})"
    if bool(m["preset"]) == bool(m["spec"]):
        yield f"{where}: give exactly one of preset (e.g. preset: tfbind) or spec (a layer-spec YAML file)"
    if m["spec"]:
        yield from file_problems(f"{where} -> spec", m["spec"])


def run_problems():
    datasets = [d["name"] for d in config["datasets"]]
    models = [m["name"] for m in config["models"]]
    for dataset, names in config["runs"].items():
        if dataset not in datasets:
            yield f"runs -> {dataset}: no dataset named {dataset!r}; datasets are {', '.join(datasets)}"
        for name in names:
            if name not in models:
                yield f"runs -> {dataset}: no model named {name!r}; models are {', '.join(models)}"


def search_space(path, block_only=False):
    """The search-space mapping of a YAML file ({} when it has none or does not parse; dnacnn says why)."""
    try:
        if os.path.getsize(path) > 256 << 10:  # dnacnn's own YAML limit: it refuses the file with one line
            return {}
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError):
        return {}
    if isinstance(data, dict) and isinstance(data.get("search"), dict):
        return data["search"]
    return {} if block_only or not isinstance(data, dict) else data


def tune_problems():
    search = config["tune"]["search"]
    if config["tune"]["enabled"] and search:
        yield from file_problems("tune -> search", search)
        if os.path.isfile(search) and not search_space(search):
            yield f"tune -> search: {search} is not a YAML mapping such as lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}"


def extra_problems():
    """``extra:`` strings that cannot be split into words (an unclosed quote)."""
    entries = [(f"datasets (name: {d['name']})", d) for d in config["datasets"]]
    entries += [(f"models (name: {m['name']})", m) for m in config["models"]]
    entries += [(key, config[key]) for key in ("evaluate", "scan") if isinstance(config.get(key), dict)]
    for where, entry in entries:
        try:
            shlex.split(entry.get("extra") or "")
        except ValueError as e:
            yield f"{where} -> extra: {e} in {entry['extra']!r}; quote each option value on its own"


def fold_file_problems(where, path):
    """A fold file holds fold ids 1, 2, ... (dnacnn encode names the record; here the first bad word)."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        for word in f.read(MAX_CONFIG_VALUES).split():
            if not (word.isdigit() and int(word) >= 1):
                yield f"{where}: {word[:40]!r} in {path} is not a fold id; give one integer >= 1 per record"
                return


MAX_CONFIG_VALUES = 1_000_000


def size_problems(data):
    """A config with more than MAX_CONFIG_VALUES values once YAML aliases are expanded (an alias
    bomb), counted without expanding it: validating or printing it would not end."""
    stack, seen = [data], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_CONFIG_VALUES:
            yield (
                f"the config holds over {MAX_CONFIG_VALUES:,} values once its YAML aliases (*name) are "
                "expanded; write the values out or use fewer aliases"
            )
            return
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def config_problems():
    problem = next(size_problems(config), None)
    if problem:  # nothing else may walk or print a bomb
        yield problem
        return
    yield from schema_problems(config, "../schemas/config.schema.yaml")
    for kind, schema in (("datasets", "../schemas/dataset.schema.yaml"), ("models", "../schemas/model.schema.yaml")):
        for i, entry in enumerate(config[kind]):
            name = entry.get("name")
            where = f"{kind}[{i}]" + (f" (name: {name})" if name else "")
            if kind == "datasets" and "kind" in entry:  # the key's name before 0.2
                yield f"{where} -> kind: this key is now called format (what dnacnn encode --format takes); rename it"
                continue
            yield from schema_problems(entry, schema, where)
        yield from unique_problems(kind)
    for d in config["datasets"]:
        yield from dataset_problems(d)
    for m in config["models"]:
        yield from model_problems(m)
    yield from run_problems()
    yield from tune_problems()
    yield from extra_problems()


problem = next(config_problems(), None)
if problem:
    raise WorkflowError(f"invalid config: {problem}")
DATASETS = {d["name"]: d for d in config["datasets"]}
MODELS = {m["name"]: m for m in config["models"]}
RUNS = [(d, m) for d in DATASETS for m in config["runs"].get(d, list(MODELS))]


def fold_count(dataset):
    """Folds of a cross-validated dataset (split method folds), else 0: from its fold file's
    largest id, or split -> folds."""
    split = DATASETS[dataset]["split"]
    if split["method"] != "folds":
        return 0
    if split["fold_file"]:
        with open(split["fold_file"], encoding="utf-8") as f:
            return max(int(v) for v in f.read().split())
    return split["folds"]


# --------------------------------------------------------------------------- command-line arguments


def cli_args(options):
    """Turn {flag: value} into a quoted argument string; None, '' and False are left out."""
    args = []
    for flag, value in options.items():
        if value is None or value == "" or value is False:
            continue
        args.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(args)


def extra_args(text):
    """A config's ``extra:`` string as quoted arguments: split as a shell would split words, then
    each word quoted, so that ``;``, ``|``, ``$(...)`` and redirections reach dnacnn as text and a
    config from a collaborator can never run a command."""
    return " ".join(shlex.quote(word) for word in shlex.split(text or ""))


def switch(flag, value):
    """A --x/--no-x option: None leaves the default, True gives --x, False --no-x."""
    return {} if value is None else {(flag if value else flag.replace("--", "--no-", 1)): True}


def encode_options(d, test):
    """Options shared by the training and the external-test encodings of dataset ``d``."""
    return {
        "--format": d["format"],
        "--labels": (d["test_labels"] or d["labels"]) if test else d["labels"],
        "--label-col": d["label_col"],
        "--label-value": d["label_value"],
        "--seq-col": d["seq_col"] if d["format"] == "tabular" else None,
        "--id-col": d["id_col"],
        "--genome": d["genome"],
        "--length": d["length"],
        "--phenotypes": (d["test_phenotypes"] or d["phenotypes"]) if test else d["phenotypes"],
        "--traits": d["traits"],
        "--genotype-encoding": d["genotype_encoding"] if d["format"] == "genotype" else None,
        "--task": d["task"],
        "--targets": ",".join(d["targets"]),
        "--target-stat": d["target_stat"] if d["targets"] else None,
        "--target-log1p": d["target_log1p"],
    }


def encode_args(wildcards):
    d = DATASETS[wildcards.dataset]
    split = d["split"]
    options = encode_options(d, test=False) | {
        "--negatives": d["negatives"],
        "--negatives-per-positive": d["negatives_per_positive"] if d["negatives"] else None,
        "--negative-flank": d["negative_flank"] if d["negatives"] == "genome" else None,
        "--split": split["method"],
        "--valid-frac": split["valid_frac"],
        "--test-frac": split["test_frac"],
        "--valid-chroms": split["valid_chroms"],
        "--test-chroms": split["test_chroms"],
        "--split-col": split["column"],
        "--folds": split["folds"] if split["method"] == "folds" and not split["fold_file"] else None,
        "--fold-file": split["fold_file"],
        "--seed": split["seed"],
    }
    return " ".join(filter(None, [cli_args(options), extra_args(d["extra"])]))


def encode_test_args(wildcards):
    d = DATASETS[wildcards.dataset]
    test_options = encode_options(d, test=True) | {"--split": "test"}
    return " ".join(filter(None, [cli_args(test_options), extra_args(d["extra"])]))


def existing(files):
    """Drop unused entries (empty, or labels taken from FASTA headers) from {name: path}."""
    return {name: path for name, path in files.items() if path and path != "header"}


def encode_inputs(wildcards):
    """The files an encoding reads, so that a changed file reruns it."""
    d = DATASETS[wildcards.dataset]
    negatives = "" if d["negatives"] in ("shuffle", "genome") else d["negatives"]
    return existing(
        {
            "input": d["input"],
            "labels": d["labels"],
            "genome": d["genome"],
            "phenotypes": d["phenotypes"],
            "negatives": negatives,
            "fold_file": d["split"]["fold_file"],
            "targets": d["targets"],
        }
    )


def encode_test_inputs(wildcards):
    d = DATASETS[wildcards.dataset]
    return existing(
        {
            "input": d["test_input"],
            "labels": d["test_labels"] or d["labels"],
            "genome": d["genome"],
            "phenotypes": d["test_phenotypes"] or d["phenotypes"],
            "targets": d["targets"],
        }
    )


# --------------------------------------------------------------------------- tuning (tune: enabled)
# The training settings of a model entry (dnacnn.train.TrainSettings: the spec's train: keys with an option).
# begin train settings: written by scripts/gen_train_settings.py from dnacnn/train/settings.py; do not edit
TRAIN_SETTINGS = {  # a model entry's training settings: its dnacnn train option (--x/--no-x: a switch)
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "weight_decay": "--weight-decay",
    "optimizer": "--optimizer",
    "patience": "--patience",
    "rc_augment": "--rc-augment/--no-rc-augment",
    "fresh_negatives": "--fresh-negatives/--no-fresh-negatives",
    "shuffles_per_positive": "--shuffles-per-positive",
    "ema": "--ema",
    "mutation_rate": "--mutation-rate",
    "max_shift": "--max-shift",
    "clip_norm": "--clip-norm",
}
# dnacnn.tune.DEFAULT_SEARCH: what a study varies when neither tune.search nor the spec names a space
DEFAULT_SEARCH_KEYS = ("lr", "batch_size", "weight_decay")
# end train settings


def tuned_settings(m):
    """The model entry's training settings that its study searches: they come from best.yaml.

    The space is tune.search, else the spec file's search: block, else DEFAULT_SEARCH_KEYS (the
    presets have no search: block), as in dnacnn tune.
    """
    space = {}
    if config["tune"]["search"]:
        space = search_space(config["tune"]["search"])
    elif m["spec"]:
        space = search_space(m["spec"], block_only=True)
    keys = {str(k).removeprefix("train.") for k in space} if space else set(DEFAULT_SEARCH_KEYS)
    return keys & set(TRAIN_SETTINGS)


def tune_dir(wildcards):
    return f"results/{wildcards.dataset}/{model_member(wildcards.model)[0]}/tune"


def tune_inputs(wildcards):
    """The store, the model's spec file and the search-space file, so that a change reruns the study."""
    m = MODELS[wildcards.model]
    return existing(
        {
            "store": f"results/{wildcards.dataset}/store",
            "spec": m["spec"],
            "search": config["tune"]["search"],
        }
    )


def tune_args(wildcards):
    """Trials run with tune.epochs, else the model entry's epochs (unless the study searches epochs)."""
    m, t = MODELS[wildcards.model], config["tune"]
    epochs = t["epochs"] or (None if "epochs" in tuned_settings(m) else m["epochs"])
    options = {
        "--model": m["preset"] or m["spec"],
        "--search": t["search"],
        "--trials": t["trials"],
        "--timeout-minutes": t["timeout_minutes"],
        "--seed": t["seed"],
        "--epochs": epochs,
        "--device": config["device"],
    }
    return cli_args(options)


def tune_runtime(wildcards):
    """Minutes for a study: its time box plus a margin for the last epoch, start-up and the final save."""
    minutes = config["tune"]["timeout_minutes"]
    return 240 if minutes is None else int(minutes) + 30


# --------------------------------------------------------------------------- training
# A model entry with members: N > 1 is a seed ensemble: N train jobs, member k (1..N) trained with
# seed + k - 1. Member 1 is the plain results/{dataset}/{model}/model.dnacnn (so members: 1 is the
# single model of old, and the motifs / explain rules read it); member k > 1 is
# results/{dataset}/{model}/member{k}/model.dnacnn, whose train job sees the model wildcard
# "{model}/member{k}" (the train rule's own wildcard constraint allows it).
def model_member(model):
    """'snp-cnn' -> ('snp-cnn', 1); 'snp-cnn/member3' -> ('snp-cnn', 3); 'snp-cnn/fold2' -> ('snp-cnn', 1)."""
    name, _, member = model.partition("/")
    return name, int(member.removeprefix("member") or 1) if not member.startswith("fold") else 1


def model_fold(model):
    """'snp-cnn/fold2' -> 2; None for a model trained without folds."""
    _, _, part = model.partition("/")
    return int(part.removeprefix("fold")) if part.startswith("fold") else None


def member_models(dataset, model):
    """The model files of every member of a model entry on a dataset, member 1 first."""
    member = lambda k: model if k == 1 else f"{model}/member{k}"
    return [f"results/{dataset}/{member(k)}/model.dnacnn" for k in range(1, MODELS[model]["members"] + 1)]


def train_inputs(wildcards):
    m = MODELS[model_member(wildcards.model)[0]]
    files = {"store": f"results/{wildcards.dataset}/store"}
    if config["tune"]["enabled"]:
        files["spec"] = f"{tune_dir(wildcards)}/best.yaml"
    elif m["spec"]:
        files["spec"] = m["spec"]
    return files


def train_args(wildcards):
    """With tune enabled: the tuned best.yaml as the spec, and no override of the settings it searched.
    Ensemble member k trains with the entry's seed + k - 1."""
    name, member = model_member(wildcards.model)
    m = MODELS[name]
    spec, settings = m["preset"] or m["spec"], {key: m[key] for key in TRAIN_SETTINGS}
    if config["tune"]["enabled"]:
        spec = f"{tune_dir(wildcards)}/best.yaml"
        settings.update(dict.fromkeys(tuned_settings(m)))
    options = {"--model": spec}
    for key, option in TRAIN_SETTINGS.items():
        if "/" in option:  # a --x/--no-x switch
            options |= switch(option.split("/")[0], settings[key])
        else:
            options[option] = settings[key]
    options |= {
        "--seed": m["seed"] + member - 1,
        "--fold": model_fold(wildcards.model),
        "--max-minutes": m["max_minutes"],
        "--device": config["device"],
        "--precision": config["precision"],
    }
    return " ".join(filter(None, [cli_args(options), extra_args(m["extra"])]))


def train_launcher(wildcards):
    """One process per job, or one per GPU under torchrun (DistributedDataParallel)."""
    n = config["gpus_per_train"]
    return f"torchrun --standalone --nproc-per-node {n} -m dnacnn" if n > 1 else "dnacnn"


def train_threads(wildcards, threads):
    """CPU threads per training process: the job's threads shared among its torchrun processes."""
    return max(1, threads // max(1, config["gpus_per_train"]))


def evaluate_inputs(wildcards):
    """The model (an ensemble's first member, the others as members), the store it is scored on and
    the training store the baseline is fitted on."""
    test_store = "test_store" if DATASETS[wildcards.dataset]["test_input"] else "store"
    first, *others = member_models(wildcards.dataset, wildcards.model)
    files = {
        "model": first,
        "store": f"results/{wildcards.dataset}/{test_store}",
        "train_store": f"results/{wildcards.dataset}/store",
    }
    if others:
        files["members"] = others
    return files


def evaluate_title(wildcards):
    n = MODELS[wildcards.model]["members"]
    return f"{wildcards.model} on {wildcards.dataset}" + (f" (ensemble of {n} seeds)" if n > 1 else "")


def evaluate_args(wildcards):
    """An ensemble's members after the first are given with --model (the first is the rule's MODEL)."""
    _, *others = member_models(wildcards.dataset, wildcards.model)
    options = {"--device": config["device"], "--no-baseline": not config["evaluate"]["baseline"]}
    members = " ".join(f"--model {shlex.quote(path)}" for path in others)
    return " ".join(filter(None, [members, cli_args(options), extra_args(config["evaluate"]["extra"])]))


def evaluations():
    """The evaluation of every run without folds (the summary table's rows)."""
    return [f"results/{d}/{m}/eval/metrics.json" for d, m in RUNS if not fold_count(d)]


def cross_validations():
    """The cross-validation summary of every run on a dataset with folds."""
    return [f"results/{d}/{m}/cv/cv.tsv" for d, m in RUNS if fold_count(d)]


def fold_evaluations(wildcards):
    """One evaluation per fold of a cross-validated run."""
    k = fold_count(wildcards.dataset)
    return [f"results/{wildcards.dataset}/{wildcards.model}/fold{f}/eval/metrics.json" for f in range(1, k + 1)]


def interpretations():
    """Motif and attribution outputs of every DNA run when `interpret: true`."""
    if not config["interpret"]:
        return []
    dna = [(d, m) for d, m in RUNS if DATASETS[d]["format"] != "genotype"]
    return [f"results/{d}/{m}/{kind}" for d, m in dna for kind in ("motifs/motifs.html", "explain/attributions.tsv")]


# --------------------------------------------------------------------------- genome scans (scan: enabled)


def scan_problems():
    s = config["scan"]
    if s["enabled"] and s["regions"]:
        yield from file_problems("scan -> regions", s["regions"])


problem = next(scan_problems(), None)
if problem:
    raise WorkflowError(f"invalid config: {problem}")


def scans():
    """The scan folder of every run on a dataset with a genome (not cross-validated) when scan is enabled."""
    if not config["scan"]["enabled"]:
        return []
    return [f"results/{d}/{m}/scan" for d, m in RUNS if DATASETS[d]["genome"] and not fold_count(d)]


def scan_inputs(wildcards):
    """The model (an ensemble's first member), the genome and the regions, so that a change reruns the scan."""
    return existing(
        {
            "model": f"results/{wildcards.dataset}/{wildcards.model}/model.dnacnn",
            "genome": DATASETS[wildcards.dataset]["genome"],
            "regions": config["scan"]["regions"],
        }
    )


def scan_args(wildcards):
    s = config["scan"]
    options = {
        "--regions": s["regions"],
        "--chroms": s["chroms"],
        "--stride": s["stride"],
        "--max-n": s["max_n"],
        "--bedgraph": s["bedgraph"],
        "--rc-average": s["rc_average"],
        "--device": config["device"],
    }
    return " ".join(filter(None, [cli_args(options), extra_args(s["extra"])]))


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.+-]*",
    model="[A-Za-z0-9][A-Za-z0-9_.+-]*",
