"""``dnacnn train``: fit a CNN from a layer spec on a tensor store and write a model file.

Contract: ``train(store_path, out_path, TrainSettings) -> TrainResult`` (:mod:`dnacnn.train.loop`).
The package is one module per job: :mod:`~dnacnn.train.settings` (every training setting, once),
:mod:`~dnacnn.train.batches` (which rows an epoch reads), :mod:`~dnacnn.train.augment`,
:mod:`~dnacnn.train.objective` (loss and validation metric), :mod:`~dnacnn.train.optimizer`,
:mod:`~dnacnn.train.averaging` (weight average, batch-norm refresh), :mod:`~dnacnn.train.additive`,
:mod:`~dnacnn.train.checkpoint`, :mod:`~dnacnn.train.distributed`, :mod:`~dnacnn.train.console`
(banner, epoch lines, history), :mod:`~dnacnn.train.epoch` and :mod:`~dnacnn.train.loop`.  The
names below are loaded on first use, so that ``dnacnn --help`` and the settings module (which the
CLI reads to build its options) import neither numpy nor torch.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "train": "loop",
    "TrainSettings": "settings",
    "SPEC_KEYS": "settings",
    "SPEC_DEFAULTS": "settings",
    "resolve_settings": "settings",
    "TrainResult": "state",
    "LoopState": "state",
    "EpochBatches": "batches",
    "fresh_negative_codes": "batches",
    "has_shuffled_negatives": "batches",
    "mutate_codes": "augment",
    "shift_codes": "augment",
    "Objective": "objective",
    "make_optimizer": "optimizer",
    "WeightAverage": "averaging",
    "refresh_batchnorm": "averaging",
    "has_batchnorm": "averaging",
}
_DEVICE = ("resolve_device", "resolve_precision", "cpu_has_bf16")  # now in dnacnn.device
__all__ = [*_HOMES, *_DEVICE]


def __getattr__(name: str):
    if name in _DEVICE:
        return getattr(importlib.import_module("dnacnn.device"), name)
    if name not in _HOMES:
        raise AttributeError(f"module 'dnacnn.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dnacnn.train.{_HOMES[name]}"), name)
