"""Per-base attributions of a DNA model: ISM, gradient x input and DeepLIFT.

Contract: :func:`attribute` maps one-hot ``X`` shape ``(n, 4, L)`` to attributions of the same
shape on the model's *log-odds scale* (:func:`model_output`: the logit of a sigmoid task, the
class-1 minus class-0 logit of a 2-unit softmax, the log-odds of one class of a multiclass model,
the raw output of a regression; :mod:`dnacnn.models.heads`).  Three methods:

``ism``
    In-silico saturation mutagenesis.  ``A[i, b, p]`` = output with base ``b`` at position ``p``
    minus the output of the unchanged sequence (0 at the reference base and at N positions,
    which are not mutated).  All ``3 L`` single-base mutants of a batch of sequences are built
    as codes in one vectorised step and scored in a few large forward passes.
``gradxinput``
    Gradient times input: the reference base's channel holds ``d output / d X`` there.
``deeplift``
    DeepLIFT (captum, rescale rule) against ``n_shuffles`` dinucleotide-shuffled copies of each
    sequence, averaged (the DeepSHAP recipe); each position's total contribution is put on its
    reference base, so attributions sum to ``output(X) - mean output(shuffles)``.

The per-position score (:func:`position_scores`) is ``-mean`` of the three substitution effects
for ISM (how much the reference base matters) and the reference base's attribution otherwise;
positive means the base supports the prediction.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from dnacnn.errors import DnacnnError

if TYPE_CHECKING:
    from dnacnn.models.meta import ModelMeta

ATTRIBUTION_METHODS = ("ism", "gradxinput", "deeplift")
MAX_MUTANTS = 8192  # rows of one ISM forward pass: 3 * L * sequences per pass


def model_output(module, head: str, target: int = 0) -> Callable:
    """A function ``X (n, 4, L) -> (n,)`` giving the model's output on the log-odds scale
    (:func:`dnacnn.models.heads.column_log_odds`).

    Parameters
    ----------
    module : torch.nn.Module
        ``LoadedModel.module``: ``X`` -> logits ``(n, outputs)``.
    head : str
        ``ModelMeta.head``: ``sigmoid``, ``softmax2``, ``softmax`` or ``linear``.
    target : int
        Output column (task, or class of a multiclass model); a ``softmax2`` head has one.
    """
    from dnacnn.models.heads import column_log_odds

    log_odds = column_log_odds(head, target)

    def output(X):
        return log_odds(module(X))

    return output


def n_targets(meta: ModelMeta) -> int:
    """How many output columns :func:`model_output` can explain."""
    from dnacnn.models.heads import n_columns

    return n_columns(meta.head, meta.n_outputs)


def check_target(meta: ModelMeta, target: int) -> None:
    n = n_targets(meta)
    if not 0 <= target < n:
        raise DnacnnError(f"--target {target} is out of range: the model has {n} output(s), numbered 0..{n - 1}")


def attribute(
    module,
    head: str,
    X,
    method: str = "ism",
    *,
    target: int = 0,
    batch_size: int = 128,
    codes: np.ndarray | None = None,
    n_shuffles: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """Attributions of ``X`` on the log-odds scale (see the module docstring).

    Parameters
    ----------
    module : torch.nn.Module
        The model in eval mode, on the device of ``X``.
    head : str
        ``ModelMeta.head``.
    X : torch.Tensor, shape=(n, 4, length)
        One-hot DNA (N = all zeros).
    method : str
        ``ism``, ``gradxinput`` or ``deeplift``.
    target : int
        Output column to explain.
    batch_size : int
        Sequences per pass (gradient methods); ISM packs up to :data:`MAX_MUTANTS` mutants a pass.
    codes : np.ndarray, shape=(n, length), optional
        The codes of ``X`` (saves recomputing them for ISM and the shuffles).
    n_shuffles : int
        Dinucleotide-shuffled references per sequence (``deeplift``).
    seed : int
        Seed of the shuffles.

    Returns
    -------
    np.ndarray, shape=(n, 4, length), float32
    """
    if method not in ATTRIBUTION_METHODS:
        raise DnacnnError(f"unknown --method {method!r}; use one of {', '.join(ATTRIBUTION_METHODS)}")
    if codes is None:
        codes = codes_from_one_hot(X)
    fn = model_output(module, head, target)
    if method == "ism":
        return ism(fn, codes, X.device)
    if method == "gradxinput":
        return gradient_x_input(fn, X, batch_size)
    return deeplift(fn, X, codes, n_shuffles, seed, batch_size)


def codes_from_one_hot(X) -> np.ndarray:
    """One-hot ``(n, 4, L)`` -> codes ``(n, L)`` uint8 (all-zero columns -> N = 4)."""
    Xn = X.detach().cpu().numpy()
    return np.where(Xn.max(axis=1) > 0, Xn.argmax(axis=1), 4).astype(np.uint8)


def ism(fn: Callable, codes: np.ndarray, device=None, max_mutants: int = MAX_MUTANTS) -> np.ndarray:
    """Saturation mutagenesis: ``(n, 4, L)`` effects ``f(mutant) - f(reference)``.

    Parameters
    ----------
    fn : callable
        ``X (m, 4, L) -> (m,)``, e.g. :func:`model_output`.
    codes : np.ndarray, shape=(n, L), uint8
        DNA codes; N positions are not mutated (their effects are 0).
    """
    import torch

    n, length = codes.shape
    out = np.zeros((n, 4, length), np.float32)
    per_pass = max(1, max_mutants // (3 * length))
    table = torch.cat([torch.eye(4), torch.zeros(1, 4)]).to(device)
    with torch.inference_mode():
        for s in range(0, n, per_pass):
            c = torch.as_tensor(np.asarray(codes[s : s + per_pass]), device=device).long()
            b = len(c)
            alt = (c[:, :, None] + 1 + torch.arange(3, device=device)) % 4  # (b, L, 3); N -> C, G, T
            mutants = c[:, None, None, :].expand(b, length, 3, length).clone()
            # position p of mutant (p, j) takes alt[:, p, j]: the diagonal over the two L axes
            torch.diagonal(mutants, dim1=1, dim2=3).copy_(alt.permute(0, 2, 1))
            X = table[mutants.reshape(-1, length)].transpose(1, 2)
            ref = fn(table[c].transpose(1, 2)).float()
            effect = fn(X).float().reshape(b, length, 3) - ref[:, None, None]
            effect = torch.where((c == 4)[:, :, None], torch.zeros_like(effect), effect)
            block = torch.zeros(b, 4, length, device=effect.device)
            block.scatter_(1, alt.permute(0, 2, 1), effect.permute(0, 2, 1))
            out[s : s + b] = block.cpu().numpy()
    return out


def gradient_x_input(fn: Callable, X, batch_size: int = 128) -> np.ndarray:
    """``X * d fn(X) / d X``, shape ``(n, 4, L)``: only the reference bases are non-zero."""
    import torch

    outs = []
    for s in range(0, len(X), batch_size):
        x = X[s : s + batch_size].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(fn(x).sum(), x)
        outs.append((grad * x).detach().cpu().numpy())
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros(tuple(X.shape), np.float32)


def deeplift(
    fn: Callable, X, codes: np.ndarray, n_shuffles: int = 10, seed: int = 0, batch_size: int = 128
) -> np.ndarray:
    """DeepLIFT (captum) against dinucleotide shuffles, each position's sum put on its base."""
    import torch

    try:
        from captum.attr import DeepLift
    except ImportError:
        raise DnacnnError("--method deeplift needs captum: pip install 'captum>=0.7'") from None
    from dnacnn.shuffle import dinucleotide_shuffle_batch

    explainer = DeepLift(_Scalar(fn))
    rng = np.random.default_rng(seed)
    table = torch.cat([torch.eye(4), torch.zeros(1, 4)]).to(X.device)
    outs = []
    for s in range(0, len(X), batch_size):
        x = X[s : s + batch_size].detach()
        refs = dinucleotide_shuffle_batch(np.asarray(codes[s : s + batch_size]), rng, times=n_shuffles)
        refs = table[torch.as_tensor(refs, device=X.device).long()].transpose(1, 2)
        refs = refs.reshape(len(x), n_shuffles, 4, -1)
        total = torch.zeros_like(x)
        for k in range(n_shuffles):
            with torch.enable_grad(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
                a = explainer.attribute(x.clone().requires_grad_(True), baselines=refs[:, k].contiguous(), target=0)
            total += a.detach()
        outs.append((x * (total / n_shuffles).sum(1, keepdim=True)).cpu().numpy())
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros(tuple(X.shape), np.float32)


def _scalar_class():
    from torch import nn

    class Scalar(nn.Module):
        """``fn`` as a module with one output column (captum attributes modules)."""

        def __init__(self, fn) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, X):
            return self.fn(X)[:, None]

    return Scalar


def _Scalar(fn):  # noqa: N802 - a class built on first use keeps torch out of module import
    return _scalar_class()(fn)


def position_scores(attr: np.ndarray, codes: np.ndarray, method: str) -> np.ndarray:
    """One score per position ``(n, L)``: ``-mean`` substitution effect (ISM), else the
    reference base's attribution.  N positions score 0."""
    if method == "ism":
        return -attr.sum(axis=1) / 3.0
    return attr.sum(axis=1)


def best_windows(scores: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Start (0-based) and summed score of the highest-scoring ``width``-bp window of each row."""
    n, length = scores.shape
    width = min(width, length)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(scores, axis=1, dtype=np.float64)], axis=1)
    sums = csum[:, width:] - csum[:, :-width]
    start = sums.argmax(axis=1)
    return start, sums[np.arange(n), start]
