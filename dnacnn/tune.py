"""``dnacnn tune``: a seeded, time-boxed Optuna search over a model spec's settings.

Contract: ``tune(store, out_dir, spec, n_trials, timeout_minutes, seed) -> dict``.  Each trial
samples values for the keys of a *search space*, writes the spec with those values as
``out_dir/trials/trial_NNN.yaml``, trains it with :func:`dnacnn.train.train` on the store's
``train`` rows and scores it by the best validation metric of that run (ROC AUC, accuracy or
Pearson r; higher is better), so the store needs ``valid`` rows; ``test`` rows are never read.
At the end ``out_dir`` holds::

    best.yaml      the best trial's spec (no ``search`` block; loads with dnacnn.models.load_spec)
    best.dnacnn    the model trained in that trial
    trials.tsv     one row per trial: number, state, value, seconds, best_epoch, sampled values

The search space is a mapping, either the spec's own ``search:`` block or the ``search`` argument::

    search:
      lr: {low: 1.0e-4, high: 1.0e-2, log: true}   # float range (int range when low/high are ints)
      batch_size: [32, 64, 128]                    # a list: one of these values
      layers.0.conv1d.filters: [64, 128]           # layer 0 (counted from 0), its type, the parameter
      layers.13.dropout.rate: {low: 0.1, high: 0.5}
      strand_merge: [max, mean]                    # a top-level spec key

Keys naming a training setting (a key of a spec's ``train:`` block,
:data:`dnacnn.train.settings.SPEC_KEYS`, such as ``lr`` or ``batch_size``; or ``train.KEY``) go
into the spec's ``train:`` block.
Without any search space :data:`DEFAULT_SEARCH` is used.

Determinism: the sampler is Optuna's TPE seeded with ``seed`` and every trial trains with the same
``seed``, so on one device the same inputs give the same trials.  Time box: no trial starts after
``timeout_minutes``, and a running trial is stopped at the deadline (``max_minutes``, best weights
kept), so a study ends within about one epoch of it.
"""

from __future__ import annotations

import copy
import math
import os
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import write_text_atomic
from dnacnn.io.tsv import write_table
from dnacnn.train.settings import SPEC_KEYS, history_path
from dnacnn.yamlfile import parse_yaml, read_yaml

DEFAULT_SEARCH = {
    "lr": {"low": 1e-4, "high": 1e-2, "log": True},
    "batch_size": [32, 64, 128],
    "weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
}
TRAIN_KEYS = SPEC_KEYS  # the training settings a spec's train: block holds
TOP_LEVEL_KEYS = ("strands", "strand_merge", "binary_head", "additive")


# --------------------------------------------------------------------------- specs and search spaces


def read_raw_spec(spec: str | os.PathLike | dict) -> tuple[dict, str]:
    """A spec as written (preset name, YAML path or dict) -> ``(mapping, source)``, not normalized."""
    if isinstance(spec, dict):
        return copy.deepcopy(spec), str(spec.get("name") or "spec")
    text = str(spec)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or "/" in text or "\\" in text:
        if not path.is_file():
            raise DnacnnError(f"{text}: no such model spec file; give an existing .yaml path or a preset name")
        mapping, source, name = read_yaml(path, "model spec file"), text, path.stem
    else:
        from dnacnn.models.spec import PRESET_DIR, PRESET_PACKAGE, list_presets

        if text not in list_presets():
            raise DnacnnError(
                f"unknown model preset {text!r}; use a preset ({', '.join(list_presets())}) or a path to a .yaml file"
            )
        raw = (resources.files(PRESET_PACKAGE) / PRESET_DIR / f"{text}.yaml").read_text(encoding="utf-8")
        source, name = f"preset:{text}", text
        mapping = parse_yaml(raw, source)
    if not isinstance(mapping, dict):
        raise DnacnnError(f"{source}: a model spec must be a YAML mapping with a 'layers' list")
    mapping.setdefault("name", name)
    return mapping, source


def read_search(path: str | os.PathLike) -> dict:
    """A search space from a YAML file: a bare mapping, or a spec-like file with a ``search:`` block."""
    path = Path(path)
    if not path.is_file():
        raise DnacnnError(f"{path}: no such search-space file; give a YAML mapping such as lr: [0.001, 0.003]")
    data = read_yaml(path, "search-space file")
    if isinstance(data, dict) and isinstance(data.get("search"), dict):
        data = data["search"]
    if not isinstance(data, dict) or not data:
        raise DnacnnError(
            f"{path}: a search space must be a non-empty mapping such as lr: {{low: 1.0e-4, high: 1.0e-2}}"
        )
    return data


def split_search(spec: dict, source: str) -> tuple[dict, dict]:
    """``(spec without its search block, the search block or {})``; the spec part is validated."""
    from dnacnn.models.spec import validate_spec

    spec = dict(spec)
    search = spec.pop("search", None) or {}
    if not isinstance(search, dict):
        raise DnacnnError(
            f"{source}: 'search' must be a mapping such as {{lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}}}"
        )
    validate_spec({**spec, "source": source}, source)
    return spec, search


def check_search(search: dict, spec: dict, source: str) -> dict:
    """Validate a search space against the spec it edits; returns ``{key: Dimension}``."""
    if not search:
        raise DnacnnError(f"{source}: the search space is empty; add e.g. lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}")
    dims = {}
    for key, domain in search.items():
        where = f"{source}: search key {key!r}"
        _resolve_key(str(key), spec, where)  # the key must address an existing spec value
        dims[str(key)] = _dimension(domain, where)
    return dims


class Dimension:
    """One searched value: ``kind`` float | int | categorical, with its range or choices."""

    def __init__(self, kind: str, low=None, high=None, log: bool = False, step=None, choices=None) -> None:
        self.kind, self.low, self.high, self.log, self.step, self.choices = kind, low, high, log, step, choices

    def suggest(self, trial, name: str):
        if self.kind == "categorical":
            return trial.suggest_categorical(name, self.choices)
        if self.kind == "int":
            return trial.suggest_int(name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)


def _dimension(domain: Any, where: str) -> Dimension:
    if isinstance(domain, list):
        if not domain:
            raise DnacnnError(f"{where}: an empty list of choices; give at least one value")
        for value in domain:
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise DnacnnError(f"{where}: choice {value!r} is not a number, string or boolean")
        return Dimension("categorical", choices=list(domain))
    if not isinstance(domain, dict) or not {"low", "high"} <= set(domain):
        raise DnacnnError(f"{where}: give a list of choices or a range {{low: A, high: B}} (optional log, step)")
    unknown = set(domain) - {"low", "high", "log", "step", "type"}
    if unknown:
        raise DnacnnError(f"{where}: unknown range key {sorted(unknown)[0]!r}; use low, high, log, step, type")
    try:
        low, high = float(domain["low"]), float(domain["high"])
    except (TypeError, ValueError):
        raise DnacnnError(
            f"{where}: low and high must be numbers, got {domain['low']!r} and {domain['high']!r}"
        ) from None
    kind = domain.get("type") or ("int" if all(_is_int(domain[k]) for k in ("low", "high")) else "float")
    if kind not in ("int", "float"):
        raise DnacnnError(f"{where}: type must be int or float, got {kind!r}")
    log = bool(domain.get("log", False))
    if not low < high:
        raise DnacnnError(f"{where}: low ({domain['low']}) must be below high ({domain['high']})")
    if log and low <= 0:
        raise DnacnnError(f"{where}: a log range needs low > 0, got {domain['low']}")
    step = domain.get("step")
    if kind == "int":
        return Dimension("int", int(low), int(high), log, int(step) if step else None)
    return Dimension("float", low, high, log, float(step) if step else None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _resolve_key(key: str, spec: dict, where: str) -> tuple[dict, str]:
    """The mapping and key that ``key`` addresses in ``spec`` (creating ``train:`` if needed)."""
    parts = key.split(".")
    if parts[0] == "train" and len(parts) == 2:
        parts = parts[1:]
    if len(parts) == 1 and parts[0] in TRAIN_KEYS:
        train = spec.get("train")
        if train is None:
            train = spec["train"] = {}
        return train, parts[0]
    if len(parts) == 1 and parts[0] in TOP_LEVEL_KEYS:
        return spec, parts[0]
    if parts[0] == "layers" and len(parts) == 4:
        layers = spec.get("layers") or []
        try:
            index = int(parts[1])
            item = layers[index]
        except (ValueError, IndexError):
            raise DnacnnError(
                f"{where}: no layer {parts[1]} (layers are counted from 0; the spec has {len(layers)})"
            ) from None
        if isinstance(item, str):
            item = layers[index] = {item: {}}
        kind = next(iter(item))
        if kind != parts[2]:
            raise DnacnnError(f"{where}: layer {index} is {kind}, not {parts[2]}; write layers.{index}.{kind}.PARAM")
        if item[kind] is None:
            item[kind] = {}
        return item[kind], parts[3]
    raise DnacnnError(
        f"{where}: cannot place it; use a training setting ({', '.join(TRAIN_KEYS)}), "
        f"{', '.join(TOP_LEVEL_KEYS)}, or layers.INDEX.TYPE.PARAM such as layers.0.conv1d.filters"
    )


def apply_params(spec: dict, params: dict, source: str = "spec") -> dict:
    """A copy of ``spec`` with each ``key: value`` of ``params`` set where the key points."""
    out = copy.deepcopy(spec)
    for key, value in params.items():
        target, name = _resolve_key(key, out, f"{source}: search key {key!r}")
        target[name] = value
    return out


# --------------------------------------------------------------------------- the study


def tune(
    store: str | os.PathLike,
    out_dir: str | os.PathLike,
    spec: str | os.PathLike | dict = "tfbind",
    n_trials: int = 20,
    timeout_minutes: float | None = None,
    seed: int = 0,
    *,
    search: dict | None = None,
    epochs: int | None = None,
    threads: int | None = None,
    device: str = "auto",
    progress: bool = False,
) -> dict:
    """Search ``spec``'s settings on ``store``; write best.yaml, best.dnacnn and trials.tsv.

    Parameters
    ----------
    store : path
        A tensor store with ``train`` and ``valid`` rows.
    out_dir : path
        Directory for the outputs (created; an earlier study's files are replaced).
    spec : str, path or dict
        A preset name, a spec YAML (its ``search:`` block is the default space) or a spec dict.
    n_trials : int
        Most trials to run.
    timeout_minutes : float, optional
        Wall-clock budget of the study; ``None`` = no limit.
    seed : int
        Seeds the sampler and every trial's training.
    search : dict, optional
        Search space, replacing the spec's ``search:`` block.
    epochs, threads, device, progress :
        Passed to every trial's :class:`dnacnn.train.TrainSettings` (``epochs`` overrides the spec).

    Returns
    -------
    dict
        ``best_value``, ``metric``, ``best_params``, ``best_trial``, ``n_trials`` (run),
        ``n_complete``, ``seconds`` and the paths ``best_spec``, ``best_model``, ``trials_tsv``.
    """
    import optuna

    started = time.time()
    _check_study(store, n_trials, timeout_minutes)
    raw, source = read_raw_spec(spec)
    base, own_search = split_search(raw, source)
    space = search if search is not None else (own_search or DEFAULT_SEARCH)
    dims = check_search(space, copy.deepcopy(base), source)

    out_dir = Path(out_dir)
    trials_dir = out_dir / "trials"
    trials_dir.mkdir(parents=True, exist_ok=True)
    deadline = started + timeout_minutes * 60 if timeout_minutes else None
    training = {"seed": seed, "epochs": epochs, "threads": threads, "device": device, "progress": progress}
    objective = Trials(store, trials_dir, base, source, dims, training, deadline)

    optuna.logging.set_verbosity(optuna.logging.INFO if progress else optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler, study_name=f"dnacnn-{base.get('name')}")
    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout_minutes * 60 if timeout_minutes else None,
        catch=(),
        gc_after_trial=True,
    )

    return write_results(out_dir, objective.records, list(dims), objective.best, seed, epochs, started)


def _check_study(store, n_trials: int, timeout_minutes: float | None) -> None:
    """The study's own settings, then the store: it must have the validation rows trials are scored on."""
    from dnacnn.store import Store

    if n_trials < 1:
        raise DnacnnError(f"--trials must be at least 1, got {n_trials}")
    if timeout_minutes is not None and timeout_minutes <= 0:
        raise DnacnnError(f"--timeout-minutes must be a positive number, got {timeout_minutes}")
    opened = Store.open(store)
    if len(opened.indices("valid")) == 0:
        raise DnacnnError(
            f"{opened.path}: the store has no validation rows, which tuning scores trials on; "
            "re-encode with --valid-frac > 0 (or a valid split)"
        )


class Trials:
    """The objective Optuna maximizes: each call samples the search space, writes the trial's spec
    to ``trials_dir``, trains it and returns its best validation metric.  ``records`` holds one row
    per trial (for trials.tsv); ``best`` the best trial so far, whose model file alone is kept."""

    def __init__(self, store, trials_dir: Path, base: dict, source: str, dims: dict, training: dict, deadline):
        self.store, self.trials_dir, self.base, self.source, self.dims = store, trials_dir, base, source, dims
        self.training, self.deadline = training, deadline  # seed, epochs, threads, device, progress
        self.records: list[dict] = []
        self.best: dict = {"value": -math.inf, "model": None}

    def __call__(self, trial) -> float:
        import optuna

        params = {key: dim.suggest(trial, key) for key, dim in self.dims.items()}
        trial_spec = apply_params(self.base, params, self.source)
        trial_spec["name"] = f"{self.base.get('name', 'model')}-trial{trial.number}"
        spec_path = self.trials_dir / f"trial_{trial.number:03d}.yaml"
        _write_yaml(spec_path, trial_spec)
        model_path = self.trials_dir / f"trial_{trial.number:03d}.dnacnn"
        t0 = time.time()
        record = {"number": trial.number, "state": "COMPLETE", "value": float("nan"), "seconds": 0.0, "best_epoch": 0}
        record.update(params)
        try:
            result = _train_trial(self.store, model_path, spec_path, deadline=self.deadline, **self.training)
        except DnacnnError as exc:
            # a sampled combination the spec cannot build (e.g. a sequence pooled to nothing)
            record.update(state="FAIL", error=str(exc), seconds=round(time.time() - t0, 2))
            self.records.append(record)
            raise optuna.TrialPruned(str(exc)) from None
        value = float(result.best_metric)
        record.update(value=value, seconds=round(result.seconds, 2), best_epoch=result.best_epoch)
        self.records.append(record)
        trial.set_user_attr("metric", result.metric_name)
        if math.isfinite(value) and value > self.best["value"]:
            if self.best["model"] is not None:
                Path(self.best["model"]).unlink(missing_ok=True)
            self.best.update(
                value=value,
                model=model_path,
                metric=result.metric_name,
                spec=trial_spec,
                number=trial.number,
                params=params,
            )
        else:
            model_path.unlink(missing_ok=True)
        history_path(model_path).unlink(missing_ok=True)
        return value if math.isfinite(value) else -math.inf


def write_results(out_dir: Path, records: list[dict], keys: list[str], best: dict, seed: int, epochs, started) -> dict:
    """trials.tsv, best.yaml and best.dnacnn of a finished study; the summary :func:`tune` returns."""
    trials_tsv = out_dir / "trials.tsv"
    _write_trials(trials_tsv, records, keys)
    if best["model"] is None:
        raise DnacnnError(f"{out_dir}: no trial finished with a finite validation metric; see {trials_tsv}")
    best_spec = out_dir / "best.yaml"
    _write_yaml(
        best_spec,
        {k: v for k, v in best["spec"].items() if k != "source"},
        header=f"# dnacnn tune: trial {best['number']} of {len(records)}, "
        f"validation {best['metric']} {best['value']:.6g}, seed {seed}"
        + (f" (trials ran with epochs={epochs})" if epochs else "")
        + "\n",
    )
    best_model = out_dir / "best.dnacnn"
    os.replace(best["model"], best_model)
    return {
        "best_value": best["value"],
        "metric": best["metric"],
        "best_params": best["params"],
        "best_trial": best["number"],
        "n_trials": len(records),
        "n_complete": sum(r["state"] == "COMPLETE" for r in records),
        "seconds": round(time.time() - started, 2),
        "best_spec": best_spec,
        "best_model": best_model,
        "trials_tsv": trials_tsv,
    }


def _train_trial(
    store, model_path: Path, spec_path: Path, *, seed: int, epochs, threads, device, progress, deadline: float | None
):
    import contextlib
    import io

    from dnacnn.train import TrainSettings, train

    max_minutes = None
    if deadline is not None:
        max_minutes = max((deadline - time.time()) / 60, 1e-3)
    opts = TrainSettings(
        model=str(spec_path),
        epochs=epochs,
        seed=seed,
        threads=threads,
        device=device,
        progress=progress,
        max_minutes=max_minutes,
        history=str(history_path(model_path)),
    )
    quiet = contextlib.nullcontext() if progress else contextlib.redirect_stderr(io.StringIO())
    with quiet:
        return train(store, model_path, opts)


def _write_yaml(path: Path, data: dict, header: str = "") -> None:
    write_text_atomic(path, header + yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=None))


def _plain(value):
    """numpy scalars (from samplers) -> Python, so safe_dump writes plain YAML."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _write_trials(path: Path, records: list[dict], keys: list[str]) -> None:
    import pandas as pd

    columns = ["number", "state", "value", "seconds", "best_epoch", *keys]
    if any("error" in r for r in records):
        columns.append("error")
    write_table(path, pd.DataFrame(records, columns=columns), float_format=None)  # full precision: exact values
