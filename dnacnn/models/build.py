"""Spec -> ``torch.nn.Module``: a 1D CNN with Keras layer semantics, returning logits.

Contract: :func:`build_model` turns a spec (see :mod:`dnacnn.models.spec`) into a
:class:`DnacnnModel` mapping ``X`` shape ``(batch, channels, length)`` to logits shape
``(batch, n_out)`` with no final activation; ``model.head_activation`` names its head, whose
meaning (probabilities, scores, log-odds, loss) :mod:`dnacnn.models.heads` holds.  Output
lengths, padding, flatten order, initialisation and parameter counts follow Keras, so a
published Keras network has the same shapes and parameter count here.  Tensors stay
channels-first ``(batch, channels, length)`` inside the body; shapes are *reported*
channels-last ``(length, channels)`` as Keras prints them.

:func:`~dnacnn.models.plan.plan_model` does the shape inference and Keras parameter arithmetic
without building anything (:mod:`dnacnn.models.plan`); :mod:`dnacnn.models.summary` prints it.
Each layer type has one builder in ``LAYER_BUILDERS`` (name -> function), chosen by the spec's
string, and one module in :mod:`dnacnn.models.layers`.

Forward passes contain no data-dependent Python control flow (every branch is fixed when the
model is built), so models run in eager mode, under DDP, in ``torch.onnx.export`` and under
bf16 autocast.
"""

from __future__ import annotations

import torch
from torch import nn

from dnacnn.models.heads import probabilities
from dnacnn.models.layers import ACTIVATION_MODULES, Additive, Conv1d, Dropout
from dnacnn.models.plan import (
    LAYER_BUILDERS,
    ModelPlan,
    keras_length,
    keras_shape,
    plan_model,
    same_padding,
)

# names that lived here before layers.py and plan.py split off, still importable from here
__all__ = [
    "ACTIVATION_MODULES",
    "LAYER_BUILDERS",
    "Conv1d",
    "DnacnnModel",
    "Dropout",
    "build_model",
    "count_parameters",
    "keras_init",
    "keras_length",
    "keras_shape",
    "logits_to_prob",
    "plan_model",
    "same_padding",
]


class DnacnnModel(nn.Module):
    """``body`` (one module per spec layer, in order) then ``head`` (a linear output layer).

    ``forward(X)``: ``X`` shape ``(batch, channels, length)`` -> logits ``(batch, n_out)``.
    With ``strands: both`` the body and head score ``X`` and its reverse complement
    ``X.flip(1, 2)`` in one batch and the two logits are merged (max or mean), so the output is
    identical for a sequence and its reverse complement.

    Attributes
    ----------
    head_activation : str
        ``sigmoid`` | ``softmax`` | ``softmax2`` | ``linear``; see :func:`logits_to_prob`.
    config : dict
        ``spec, channels, length, n_outputs, task``: ``build_model(**model.config)`` rebuilds it.
    """

    def __init__(self, plan: ModelPlan) -> None:
        super().__init__()
        self.body = nn.Sequential(*(layer.make() for layer in plan.layers))
        self.head = plan.head.make()
        self.additive = plan.additive.make() if plan.additive is not None else None
        self.head_activation = plan.head_activation
        self.both_strands = plan.spec["strands"] == "both"
        self.strand_merge = plan.spec["strand_merge"]
        self.config = {
            "spec": plan.spec,
            "channels": plan.channels,
            "length": plan.length,
            "n_outputs": plan.n_outputs,
            "task": plan.task,
        }

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.additive is not None:  # single strand only (plan_model checks)
            return self.head(self.body(X)) + self.additive(X)
        if not self.both_strands:
            return self.head(self.body(X))
        # one pass over [X; reverse complement] keeps BatchNorm statistics over both strands
        logits = self.head(self.body(torch.cat([X, X.flip(1, 2)], dim=0)))
        pair = logits.unflatten(0, (2, -1))  # (2, batch, n_out)
        return pair.amax(dim=0) if self.strand_merge == "max" else (pair[0] + pair[1]) / 2


def build_model(spec: dict | str, channels: int, length: int, n_outputs: int = 1, task: str = "binary") -> DnacnnModel:
    """Build the network a spec describes, with Keras initialisation.

    Parameters
    ----------
    spec : dict or str
        From :func:`dnacnn.models.spec.load_spec` (or any spec dict; it is validated), or a
        preset name / YAML path.
    channels, length : int
        Input ``X`` shape ``(batch, channels, length)``.
    n_outputs : int
        Label columns (binary, regression) or classes (multiclass).
    task : str
        ``binary`` (sigmoid + BCE), ``multiclass`` (softmax + CE) or ``regression`` (MSE).

    Returns
    -------
    DnacnnModel
        ``X`` ``(batch, channels, length)`` float -> logits ``(batch, n_out)`` where ``n_out`` is
        ``n_outputs``, or 2 for a binary task with ``binary_head: softmax``.
    """
    model = DnacnnModel(plan_model(spec, channels, length, n_outputs, task))
    model.apply(keras_init)
    if model.additive is not None:
        # start as the additive model alone (train fits it): the layers' contribution grows from zero
        nn.init.zeros_(model.head.linear.weight)
    return model


def keras_init(module: nn.Module) -> None:
    """Keras defaults: Glorot-uniform kernels, zero biases (torch's default init differs)."""
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def logits_to_prob(logits: torch.Tensor, head_activation: str | DnacnnModel) -> torch.Tensor:
    """Turn logits into what the task predicts (:func:`dnacnn.models.heads.probabilities`).

    Parameters
    ----------
    logits : torch.Tensor, shape=(n, n_out)
    head_activation : str or DnacnnModel
        ``model.head_activation`` or the model itself (also wrapped in DDP).

    Returns
    -------
    torch.Tensor
        ``sigmoid``: per-column probabilities ``(n, n_out)``; ``softmax``: class probabilities
        ``(n, n_classes)``; ``softmax2``: probability of class 1, ``(n, 1)``; ``linear``: the
        logits unchanged (regression predictions).
    """
    if isinstance(head_activation, nn.Module):
        # DistributedDataParallel keeps the DnacnnModel in .module
        head_activation = getattr(head_activation, "module", head_activation).head_activation
    return probabilities(logits, head_activation)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, non_trainable)`` as Keras counts them: parameters, plus BatchNorm running
    mean and variance and the frozen ``additive`` weights as non-trainable (``num_batches_tracked``
    has no Keras counterpart)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            frozen += m.running_mean.numel() + m.running_var.numel()
        elif isinstance(m, Additive):
            frozen += m.weight.numel() + m.bias.numel()
    return trainable, frozen
