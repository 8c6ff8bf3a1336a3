"""Model specs, presets, network building and Keras-style summaries.

Contract: a model is described by a YAML spec (a shipped preset such as ``zou2019`` or a user
file); :func:`load_spec` validates it, :func:`build_model` turns it into a module mapping
``X`` shape ``(batch, channels, length)`` to logits ``(batch, n_out)``, :func:`logits_to_prob`
turns logits into predictions, and :func:`summarize` prints the Keras-style table with Keras
parameter counts.

Names are imported lazily so that ``dnacnn.models.spec`` (presets, validation) can be used
without importing torch, keeping ``dnacnn --help`` and spec checks instant.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DnacnnModel": "build",
    "build_model": "build",
    "count_parameters": "build",
    "logits_to_prob": "build",
    "plan_model": "build",
    "list_presets": "spec",
    "load_spec": "spec",
    "validate_spec": "spec",
    "Summary": "summary",
    "summarize": "summary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dnacnn.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dnacnn.models.{_EXPORTS[name]}"), name)
