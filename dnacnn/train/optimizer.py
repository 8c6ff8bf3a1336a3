"""The optimizer, its learning-rate schedule and one optimizer step.

Contract: :func:`make_optimizer` builds ``adam``, ``adamw``, ``sgd`` (Nesterov momentum 0.9) or
``rmsprop``; :func:`make_scheduler` halves the learning rate after ``lr_patience`` epochs without
a better validation metric; :func:`optimizer_step` backpropagates a loss and steps, through a
``GradScaler`` when one is given (fp16).
"""

from __future__ import annotations


def make_optimizer(name: str, params, lr: float, weight_decay: float):
    """The optimizer, as one fused kernel per step where this torch has one for it (Adam, AdamW
    and SGD on CPU and CUDA since torch 2.4): the per-parameter loop of ops costs ~20% of a
    step on small networks such as ``deepbind``."""
    import torch

    params = list(params)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    kind, extra = {
        "adam": (torch.optim.Adam, {}),
        "adamw": (torch.optim.AdamW, {}),
        "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    }[name]
    try:
        return kind(params, lr=lr, weight_decay=weight_decay, fused=True, **extra)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this torch or device
        return kind(params, lr=lr, weight_decay=weight_decay, **extra)


def make_scheduler(optimizer, lr_patience: int):
    """Reduce-on-plateau on the validation metric (higher is better): the rate halves."""
    import torch

    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=lr_patience)


def optimizer_step(loss, optimizer, scaler, clip_norm: float | None = None) -> None:
    """Backpropagate ``loss`` and step ``optimizer`` (through ``scaler`` under fp16), the
    gradients' total norm clipped to ``clip_norm`` first when it is given."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        if clip_norm:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], clip_norm)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if clip_norm:
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], clip_norm)
        optimizer.step()
