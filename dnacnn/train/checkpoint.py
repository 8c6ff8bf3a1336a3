"""Epoch checkpoints (safetensors, no pickle) and the finished run a checkpoint may hold.

Contract: :func:`save_checkpoint` writes ``OUT.ckpt`` atomically after every epoch (model,
optimizer, scheduler, torch RNG state, weight average, best weights, loop state and the run's
recorded settings); :func:`load_checkpoint` restores all of it when the checkpoint was made with
the same :data:`~dnacnn.train.settings.RESUME_KEYS` on the same store (the sha256 of its
manifest, ``store_digest`` of the recorded settings), else raises one clear error;
:func:`finished_run` recognises a checkpoint that is already the finished model of exactly this
run (``--resume`` after a kill during the wrap-up); :func:`link_or_copy` makes one file the other
atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import output_file
from dnacnn.modelfile import MODEL_FORMAT
from dnacnn.models.meta import ModelMeta
from dnacnn.store import Store
from dnacnn.train.averaging import WeightAverage
from dnacnn.train.settings import RECORDED_KEYS, RESUME_KEYS, builtin_default
from dnacnn.train.state import LoopState, TrainResult


def save_checkpoint(
    path: Path, model, optimizer, scheduler, state: LoopState, record: dict, average: WeightAverage | None
) -> None:
    import torch

    from dnacnn.modelfile import save_tensors

    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    if average is not None:
        tensors.update({f"ema.{i}": v for i, v in enumerate(average.shadow)})
    if state.best_weights is not None:
        tensors.update({f"best.{k}": v for k, v in state.best_weights.items()})
    opt_state = optimizer.state_dict()
    scalars = {}
    for pid, pstate in opt_state["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars[f"{pid}.{key}"] = value
    meta = {
        "format": "dnacnn-checkpoint",
        "loop": {k: v for k, v in asdict(state).items() if k != "best_weights"},
        "param_groups": opt_state["param_groups"],
        "optim_scalars": scalars,
        "scheduler": scheduler.state_dict(),
        "settings": record,
        "torch_rng": torch.get_rng_state().tolist(),
        "ema_steps": average.steps if average is not None else 0,
    }
    save_tensors(path, tensors, meta)


def checkpoint_meta(path: Path, strict: bool) -> dict | None:
    """The metadata of ``OUT.ckpt`` (its tensors unread), None when there is none.  ``strict``
    (``--resume``): an unreadable file is one clear error; otherwise it is None too, since a run
    without ``--resume`` replaces whatever is there."""
    from dnacnn.modelfile import read_tensors

    if not path.exists():
        return None
    try:
        return read_tensors(path, "checkpoint", with_tensors=False)[1]
    except DnacnnError:
        if strict:
            raise
        return None


def finished_run(
    meta: dict, path: Path, spec: dict, record: dict, store: Store, out_path: Path, history_path: Path
) -> tuple[list, TrainResult] | None:
    """``(history rows, result)`` of the finished run that ``path`` (metadata ``meta``) holds when
    it is a model of exactly this spec, these settings (:data:`RECORDED_KEYS`) and this store
    (written after the store); None for an epoch checkpoint or a stale one."""
    if meta.get("format") != MODEL_FORMAT:
        return None
    model = ModelMeta.from_dict(meta)

    def chosen(values):  # not the device or what the data gave (additive_alpha): a retry may differ
        return as_json({k: values.get(k, builtin_default(k)) for k in RECORDED_KEYS})

    same = (
        as_json(model.spec) == as_json(spec)
        and chosen(model.settings) == chosen(record)
        and model.trained_on == str(store.path)
        and model.training_inputs == store.manifest.get("inputs")
        and model.split_counts == store.manifest.get("split_counts")
        and model.fold == store.manifest.get("fold")
        and store.modified <= path.stat().st_mtime
    )
    if not same:
        return None
    history = model.history
    result = TrainResult(
        out_path,
        history_path,
        model.best_epoch,
        model.best_val_metric,
        model.metric_name,
        history[-1]["epoch"] if history else 0,
        0.0 if model.seconds is None else model.seconds,
        model.training_device or "cpu",
    )
    return history, result


def as_json(value):
    """``value`` as JSON gives it back (tuples as lists, numpy as Python): what a model file holds."""
    import numpy as np

    def default(obj):
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    return json.loads(json.dumps(value, default=default))


def link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` the same file as ``src`` atomically: a hard link, or a copy where the file
    system has none."""
    import shutil

    with output_file(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
            shutil.copymode(src, tmp)


def check_resumable(path: Path, meta: dict, record: dict) -> None:
    """One clear error unless the epoch checkpoint ``path`` (metadata ``meta``) was made on the
    run's store (``store_digest``) with its :data:`~dnacnn.train.settings.RESUME_KEYS`."""
    if meta.get("format") != "dnacnn-checkpoint":
        raise DnacnnError(f"{path}: not a dnacnn checkpoint; delete it to start afresh")
    made_on = meta["settings"].get("store_digest")  # older checkpoints do not say
    if made_on is not None and record.get("store_digest") is not None and made_on != record["store_digest"]:
        raise DnacnnError(
            f"{path}: checkpoint was made on another store (or this store before it was encoded again); "
            "resume with the store it was made on, or delete the checkpoint to start afresh"
        )
    # older checkpoints lack the newer settings: they were made with the built-in default
    changed = [k for k in RESUME_KEYS if meta["settings"].get(k, builtin_default(k)) != record.get(k)]
    if changed:
        raise DnacnnError(
            f"{path}: checkpoint was made with different {', '.join(changed)}; "
            "resume with the same settings or delete the checkpoint"
        )


def load_checkpoint(path: Path, model, optimizer, scheduler, record: dict, average: WeightAverage | None) -> LoopState:
    """Restore model, optimizer, scheduler, torch RNG and average from the epoch checkpoint at
    ``path``; its settings must match the run's :data:`RESUME_KEYS`."""
    import torch

    from dnacnn.modelfile import read_tensors

    tensors, meta = read_tensors(path, "checkpoint")
    check_resumable(path, meta, record)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    opt_state: dict = {"state": {}, "param_groups": meta["param_groups"]}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = value
    for key, value in meta["optim_scalars"].items():
        pid, name = key.split(".", 1)
        opt_state["state"].setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict(opt_state)
    scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
    if average is not None:
        average.steps = meta["ema_steps"]
        for i, a in enumerate(average.shadow):
            a.copy_(tensors[f"ema.{i}"])
    loop = meta["loop"]
    return LoopState(
        loop["epoch"], loop["best_metric"], loop["best_epoch"], loop["bad_epochs"], loop["history"], best or None
    )
