"""``dnacnn explain``: per-base attributions of a trained DNA model.

Contract: :func:`attribute` maps one-hot ``X`` shape ``(n, 4, L)`` to attributions of the same
shape on the model's *log-odds scale* (:func:`model_output`: the logit of a sigmoid task, the
class-1 minus class-0 logit of a 2-unit softmax, the log-odds of one class of a multiclass model,
the raw output of a regression).  Three methods:

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
positive means the base supports the prediction.  :func:`explain` streams an input file, writes
``attributions.tsv`` (``id, position, base, score`` and, for ISM, ``delta_A .. delta_T``),
``sequences.tsv`` (prediction and best window per sequence) and logos of the top-scoring
sequences; every file is written atomically.
"""

from __future__ import annotations

import heapq
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnacnn.errors import DnacnnError

METHODS = ("ism", "gradxinput", "deeplift")
BASES = "ACGT"
MAX_MUTANTS = 8192  # rows of one ISM forward pass: 3 * L * sequences per pass


# --------------------------------------------------------------------------- model helpers


def model_output(module, head: str, target: int = 0) -> Callable:
    """A function ``X (n, 4, L) -> (n,)`` giving the model's output on the log-odds scale.

    Parameters
    ----------
    module : torch.nn.Module
        ``LoadedModel.module``: ``X`` -> logits ``(n, outputs)``.
    head : str
        ``meta["head"]``: ``sigmoid``, ``softmax2``, ``softmax`` or ``linear``.
    target : int
        Output column (task, or class of a multiclass model); a ``softmax2`` head has one.
    """
    import torch

    def sigmoid(X):
        return module(X)[:, target]

    def softmax2(X):
        logits = module(X)
        return logits[:, 1] - logits[:, 0]

    def softmax(X):
        logits = module(X)
        others = torch.cat([logits[:, :target], logits[:, target + 1 :]], dim=1)
        return logits[:, target] - torch.logsumexp(others, dim=1)

    functions = {"sigmoid": sigmoid, "softmax2": softmax2, "softmax": softmax, "linear": sigmoid}
    if head not in functions:
        raise DnacnnError(f"unknown model head {head!r}")
    return functions[head]


def n_targets(meta: dict) -> int:
    """How many output columns :func:`model_output` can explain."""
    return 1 if meta["head"] == "softmax2" else int(meta["n_outputs"])


def check_target(meta: dict, target: int) -> None:
    n = n_targets(meta)
    if not 0 <= target < n:
        raise DnacnnError(f"--target {target} is out of range: the model has {n} output(s), numbered 0..{n - 1}")


def check_dna_model(loaded, path) -> None:
    if loaded.encoding.kind != "dna":
        raise DnacnnError(f"{path}: interpretation needs a DNA model; this one reads genotypes")


def read_sequences(
    path,
    encoding,
    *,
    fmt: str = "auto",
    seq_col: str = "seq",
    id_col: str | None = None,
    genome: str | None = None,
    length_policy: str = "strict",
    model_path="model",
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Chunks ``(ids, codes (b, L) uint8)`` of a DNA input file, fitted to the model's length.

    Uses the readers of ``dnacnn predict`` (FASTA, tabular, one-per-line, BED + genome)."""
    from dnacnn.io import check_readable, detect_format
    from dnacnn.predict import _coded_chunks

    if length_policy not in ("strict", "fit"):
        raise DnacnnError(f"unknown --length-policy {length_policy!r}; use strict or fit")
    check_readable(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "genotype":
        raise DnacnnError(f"{path}: genotype input cannot be interpreted; give DNA sequences")
    yield from _coded_chunks(path, fmt, encoding, seq_col, id_col, genome, length_policy, f"{model_path} was")


# --------------------------------------------------------------------------- attribution methods


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
        ``meta["head"]``.
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
    if method not in METHODS:
        raise DnacnnError(f"unknown --method {method!r}; use one of {', '.join(METHODS)}")
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


# --------------------------------------------------------------------------- the command


@dataclass
class ExplainResult:
    out_dir: Path
    attributions: Path
    sequences: Path
    logos: Path | None
    n: int
    method: str


def explain(
    model_path,
    input_path,
    out_dir,
    method: str = "ism",
    *,
    fmt: str = "auto",
    seq_col: str = "seq",
    id_col: str | None = None,
    genome: str | None = None,
    length_policy: str = "strict",
    target: int = 0,
    n_plots: int = 10,
    window: int | None = None,
    n_shuffles: int = 10,
    batch_size: int = 128,
    device: str = "auto",
    seed: int = 0,
) -> ExplainResult:
    """Attribute every sequence of ``input_path`` and write TSVs and logos to ``out_dir``.

    Parameters
    ----------
    model_path : path
        DNA model from ``dnacnn train``.
    input_path : path
        FASTA, tabular, one-per-line or BED (+ ``genome``) sequences of the model's length
        (``length_policy="fit"`` centre-crops / N-pads them).
    out_dir : path
        Receives ``attributions.tsv``, ``sequences.tsv`` and ``top_sequences.png``.
    method : str
        ``ism``, ``gradxinput`` or ``deeplift``.
    target : int
        Output column (task or class) to explain.
    n_plots : int
        Logos drawn for the sequences with the highest predictions (0 = none).
    window : int, optional
        Width of the best window reported per sequence [the first conv layer's kernel size].
    """
    import torch

    from dnacnn.encoding import Expander
    from dnacnn.io import atomic_text
    from dnacnn.modelfile import load_model
    from dnacnn.predict import scores_from_logits
    from dnacnn.train import resolve_device

    if method not in METHODS:
        raise DnacnnError(f"unknown --method {method!r}; use one of {', '.join(METHODS)}")
    dev = resolve_device(device)
    loaded = load_model(model_path, dev)
    check_dna_model(loaded, model_path)
    meta = loaded.meta
    check_target(meta, target)
    window = window or _first_kernel(loaded.module) or 12
    expand = Expander(loaded.encoding, None, dev)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    top: list = []  # heap of (prediction, order, id, codes, position scores)
    n = 0
    head = ["id", "position", "base", "score"] + ([f"delta_{b}" for b in BASES] if method == "ism" else [])
    with atomic_text(out_dir / "attributions.tsv") as att, atomic_text(out_dir / "sequences.tsv") as seqs:
        att.write("\t".join(head) + "\n")
        seqs.write("id\tprediction\tattribution_sum\twindow_start\twindow_end\twindow_score\n")
        for ids, codes in read_sequences(
            input_path,
            loaded.encoding,
            fmt=fmt,
            seq_col=seq_col,
            id_col=id_col,
            genome=genome,
            length_policy=length_policy,
            model_path=model_path,
        ):
            for s in range(0, len(ids), batch_size):
                c = np.asarray(codes[s : s + batch_size])
                X = expand(torch.as_tensor(c, device=dev))
                with torch.inference_mode():
                    logits = loaded.module(X)
                pred = scores_from_logits(logits, meta["head"], meta.get("target_mean"), meta.get("target_std"))
                pred = pred[:, min(target, pred.shape[1] - 1)]
                attr = attribute(
                    loaded.module,
                    meta["head"],
                    X,
                    method,
                    target=target,
                    batch_size=batch_size,
                    codes=c,
                    n_shuffles=n_shuffles,
                    seed=seed + n,
                )
                pos = position_scores(attr, c, method)
                _write_attributions(att, ids[s : s + batch_size], c, pos, attr if method == "ism" else None)
                start, wsum = best_windows(pos, window)
                for k, rid in enumerate(ids[s : s + batch_size]):
                    seqs.write(
                        f"{rid}\t{pred[k]:.6g}\t{pos[k].sum():.6g}\t{start[k] + 1}\t"
                        f"{start[k] + min(window, pos.shape[1])}\t{wsum[k]:.6g}\n"
                    )
                    item = (float(pred[k]), -(n + k), rid, c[k], pos[k], attr[k])
                    if n_plots > 0:
                        (heapq.heappush if len(top) < n_plots else heapq.heappushpop)(top, item)
                n += len(c)
    if n == 0:
        raise DnacnnError(f"{input_path}: no sequences to explain")
    logos = None
    if top:
        logos = out_dir / "top_sequences.png"
        draw_attribution_logos(sorted(top, reverse=True), method, logos)
    return ExplainResult(out_dir, out_dir / "attributions.tsv", out_dir / "sequences.tsv", logos, n, method)


def _first_kernel(module) -> int | None:
    from dnacnn.models.build import Conv1d

    for layer in module.body:
        if isinstance(layer, Conv1d):
            return int(layer.conv.kernel_size[0])
    return None


def _write_attributions(f, ids, codes, pos, ism_effects) -> None:
    n, length = codes.shape
    bases = np.array(list(BASES + "N"))[codes]
    position = np.char.mod("%d", np.arange(1, length + 1))
    score = np.char.mod("%.5g", pos)
    columns = [np.repeat(np.asarray(ids, dtype=object), length), np.tile(position, n), bases.ravel(), score.ravel()]
    if ism_effects is not None:
        columns += [np.char.mod("%.5g", ism_effects[:, b, :]).ravel() for b in range(4)]
    lines = ["\t".join(row) for row in zip(*columns)]
    f.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- logos


def draw_attribution_logos(items, method: str, path) -> None:
    """One PNG of attribution logos, a panel per ``(prediction, _, id, codes, pos, attr)`` item.

    The reference base of each position is drawn with height = its position score (below the
    axis when negative); ISM panels also show the substitution effects as a heat map."""
    from matplotlib.figure import Figure

    from dnacnn.motifs import draw_logo

    length = len(items[0][3])
    rows = len(items) * (2 if method == "ism" else 1)
    fig = Figure(figsize=(max(6.0, length * 0.12), 1.7 * rows), dpi=100, layout="constrained")
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    for i, (pred, _, rid, codes, pos, attr) in enumerate(items):
        ax = axes[i * (2 if method == "ism" else 1)]
        matrix = np.zeros((length, 4), np.float32)
        known = codes < 4
        matrix[np.flatnonzero(known), codes[known]] = pos[known]
        draw_logo(ax, matrix)
        ax.set_title(f"{rid}   prediction {pred:.3g}", fontsize=9, loc="left")
        ticks = [0, *range(9, length, 10)]  # 1-based labels, as in attributions.tsv
        for a in (ax, axes[i * 2 + 1]) if method == "ism" else (ax,):
            a.set_xticks(ticks, [str(t + 1) for t in ticks])
        ax.set_ylabel("score")
        ax.axhline(0, color="#9aa3af", lw=0.5)
        if method == "ism":
            hx = axes[i * 2 + 1]
            lim = float(np.abs(attr).max()) or 1.0
            hx.imshow(attr, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            hx.set_yticks(range(4), list(BASES))
            hx.set_xlabel("position; colour: substitution effect alt - ref (blue: lowers the output)")
    _save_png(fig, path)


def _save_png(fig, path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
