"""What a model's logits mean: the one place that turns them into scores, log-odds and a loss.

Contract: a model's *head* (``model.head_activation``, ``ModelMeta.head``) is one of :data:`HEADS`,
fixed by the task when the model is built (:func:`dnacnn.models.plan.head_for`): ``sigmoid``
(binary: one unit per label column), ``softmax2`` (binary with ``binary_head: softmax``: two units
for one column), ``softmax`` (multiclass: one unit per class) or ``linear`` (regression: one unit
per target, trained on standardised targets).  For logits shape ``(n, units)``:
the *probability* (:func:`probabilities`) is the sigmoid per column, P(class 1) ``(n, 1)`` of
``softmax2``, the softmax over classes, or the logits themselves for ``linear``; the *score*
(:func:`scores`, what ``dnacnn predict`` writes) is the probability, or for ``linear`` the value
back on the training targets' scale (``logit * std + mean``, :func:`values`); the *log-odds*
(:func:`log_odds`, the scale of attributions and variant effects) is the logit (``sigmoid``; the
raw output of ``linear``), ``logit1 - logit0`` (``softmax2``), or ``logit_c - logsumexp(other
logits)`` of class ``c`` (``softmax``); the *loss* (:func:`loss`) is BCE with ``pos_weight``,
cross-entropy (class 1 weighted by ``pos_weight`` for ``softmax2``), or the squared error on
standardised targets, NaN labels masked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from dnacnn.errors import DnacnnError

HEADS = ("sigmoid", "softmax", "softmax2", "linear")
PROBABILITY_HEADS = ("sigmoid", "softmax", "softmax2")


def n_columns(head: str, n_outputs: int) -> int:
    """Columns of a model's probabilities and log-odds: one for ``softmax2``, else ``n_outputs``."""
    return 1 if head == "softmax2" else int(n_outputs)


def probabilities(logits: torch.Tensor, head: str) -> torch.Tensor:
    """Logits ``(n, units)`` -> probabilities ``(n, columns)`` (``linear``: the logits unchanged).

    Raises
    ------
    ValueError
        ``head`` is not one of :data:`HEADS`.
    """
    if head == "sigmoid":
        return torch.sigmoid(logits)
    if head == "softmax":
        return torch.softmax(logits, dim=1)
    if head == "softmax2":
        return torch.softmax(logits, dim=1)[:, 1:2]
    if head == "linear":
        return logits
    raise ValueError(f"unknown head activation {head!r}; expected one of {', '.join(HEADS)}")


def values(logits: torch.Tensor, target_mean: torch.Tensor, target_std: torch.Tensor) -> torch.Tensor:
    """Regression outputs (standardised) -> values on the training targets' scale."""
    return logits * target_std + target_mean


def scores(logits: torch.Tensor, head: str, target_mean=None, target_std=None) -> np.ndarray:
    """Logits ``(n, units)`` -> the scores ``dnacnn predict`` writes, float32 numpy ``(n, columns)``:
    probabilities, or (any other head) the outputs, de-standardised when ``target_mean`` is given."""
    logits = logits.float()
    if head in PROBABILITY_HEADS:
        out = probabilities(logits, head)
    else:
        out = logits
        if target_mean is not None:
            device = out.device
            std = torch.as_tensor(np.asarray(target_std), device=device)
            out = values(out, torch.as_tensor(np.asarray(target_mean), device=device), std)
    return out.detach().cpu().numpy().astype(np.float32)


def class_log_odds(logits: torch.Tensor, c: int) -> torch.Tensor:
    """Log-odds ``(n,)`` of class ``c`` against the others: ``logit_c - logsumexp(other logits)``."""
    others = torch.cat([logits[:, :c], logits[:, c + 1 :]], dim=1)
    return logits[:, c] - torch.logsumexp(others, dim=1)


def log_odds(logits: torch.Tensor, head: str) -> torch.Tensor:
    """Log-odds per column ``(n, columns)`` (``linear``, or any head but the softmaxes: the logits)."""
    if head == "softmax2":
        return logits[:, 1:2] - logits[:, 0:1]
    if head == "softmax":
        return torch.stack([class_log_odds(logits, c) for c in range(logits.shape[1])], dim=1)
    return logits


def column_log_odds(head: str, column: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function logits ``(n, units)`` -> log-odds ``(n,)`` of output ``column`` (a task, or a
    class of a multiclass model; a ``softmax2`` head has one column).

    Raises
    ------
    DnacnnError
        ``head`` is not one of :data:`HEADS`.
    """
    if head not in HEADS:
        raise DnacnnError(f"unknown model head {head!r}")
    if head == "softmax2":
        return lambda logits: logits[:, 1] - logits[:, 0]
    if head == "softmax":
        return lambda logits: class_log_odds(logits, column)
    return lambda logits: logits[:, column]


def loss(logits: torch.Tensor, y: torch.Tensor, head: str, pos_weight=None, target_mean=None, target_std=None):
    """The training loss, a scalar tensor, of logits ``(n, units)`` against labels ``y (n, tasks)``.

    ``pos_weight`` ``(tasks,)`` weighs the positives (``sigmoid``) or class 1 (``softmax2``);
    ``target_mean`` and ``target_std`` ``(tasks,)`` standardise regression targets.  NaN labels
    (missing) do not count, whatever the head."""
    import torch.nn.functional as F

    logits = logits.float()
    if head in ("softmax", "softmax2"):
        weight = None
        if head == "softmax2" and pos_weight is not None:
            weight = torch.stack([torch.ones_like(pos_weight[0]), pos_weight[0]])
        known = torch.isfinite(y[:, 0])
        # a NaN label is cross_entropy's ignore_index (-100); a batch of them only is a zero loss
        target = torch.where(known, y[:, 0], -100).long()
        return torch.where(known.any(), F.cross_entropy(logits, target, weight=weight), logits.sum() * 0)
    mask = torch.isfinite(y)
    y = torch.nan_to_num(y)
    if head == "linear":
        err = (logits - (y - target_mean) / target_std) ** 2
        return (err * mask).sum() / mask.sum().clamp(min=1)
    losses = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
    return (losses * mask).sum() / mask.sum().clamp(min=1)
