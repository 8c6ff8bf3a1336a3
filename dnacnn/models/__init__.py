"""Model specs, presets, network building and Keras-style summaries.

Contract: a model is described by a YAML spec (a shipped preset such as ``zou2019`` or a user
file); :func:`load_spec` validates it, :func:`build_model` turns it into a module mapping
``X`` shape ``(batch, channels, length)`` to logits ``(batch, n_out)``, :func:`logits_to_prob`
turns logits into predictions, and :func:`summarize` prints the Keras-style table with Keras
parameter counts.  Modules: :mod:`~dnacnn.models.spec` (presets, validation; no torch),
:mod:`~dnacnn.models.plan` (shape inference, parameter counts), :mod:`~dnacnn.models.layers`
(the torch modules), :mod:`~dnacnn.models.build` (the network), :mod:`~dnacnn.models.heads`
(what the logits mean: probabilities, scores, log-odds, loss), :mod:`~dnacnn.models.meta` (a
model file's metadata, :class:`~dnacnn.models.meta.ModelMeta`; no torch) and
:mod:`~dnacnn.models.summary`.

The torch-backed names are imported on first use so that ``dnacnn.models.spec`` (presets,
validation) can be used without importing torch, keeping ``dnacnn --help`` and spec checks
instant.
"""

from __future__ import annotations

from typing import Any

from dnacnn.models.spec import list_presets, load_spec, validate_spec

__all__ = [
    "DnacnnModel",
    "Summary",
    "build_model",
    "count_parameters",
    "list_presets",
    "load_spec",
    "logits_to_prob",
    "plan_model",
    "summarize",
    "validate_spec",
]
_SUMMARY_NAMES = ("Summary", "summarize")
_BUILD_NAMES = ("DnacnnModel", "build_model", "count_parameters", "logits_to_prob", "plan_model")


def __getattr__(name: str) -> Any:
    """The torch-backed names, imported when first asked for."""
    if name in _SUMMARY_NAMES:
        from dnacnn.models import summary

        return getattr(summary, name)
    if name in _BUILD_NAMES:
        from dnacnn.models import build

        return getattr(build, name)
    raise AttributeError(f"module 'dnacnn.models' has no attribute {name!r}")
