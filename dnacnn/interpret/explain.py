"""``dnacnn explain``: per-base attributions of a DNA model's predictions, written as TSVs and logos.

Contract: :func:`explain` streams an input file through :func:`~dnacnn.interpret.attributions.attribute`
and writes ``attributions.tsv`` (``id, position, base, score`` and, for ISM, ``delta_A .. delta_T``),
``sequences.tsv`` (prediction and best window per sequence) and logos of the top-scoring
sequences; every file is written atomically, the TSVs by :mod:`dnacnn.io.tsv`.  Scores are those of
:mod:`dnacnn.interpret.attributions` (log-odds scale; :func:`~dnacnn.interpret.attributions.position_scores`).
"""

from __future__ import annotations

import contextlib
import heapq
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnacnn.codes import DNA_ALPHABET
from dnacnn.errors import DnacnnError
from dnacnn.interpret.attributions import (
    ATTRIBUTION_METHODS,
    attribute,
    best_windows,
    check_target,
    position_scores,
)
from dnacnn.interpret.inputs import load_dna_model, read_sequences
from dnacnn.interpret.logos import draw_logo, save_png

SEQUENCE_COLUMNS = ["id", "prediction", "attribution_sum", "window_start", "window_end", "window_score"]


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
    from dnacnn.codes import Expander
    from dnacnn.io.outputs import check_output_folder
    from dnacnn.io.tsv import open_tsv

    if method not in ATTRIBUTION_METHODS:
        raise DnacnnError(f"unknown --method {method!r}; use one of {', '.join(ATTRIBUTION_METHODS)}")
    check_output_folder(out_dir, [model_path, input_path, genome, genome and f"{genome}.fai"])
    dev, loaded = load_dna_model(model_path, device)
    check_target(loaded.meta, target)
    window = window or _first_kernel(loaded.module) or 12
    expand = Expander(loaded.encoding, None, dev)
    out_dir = Path(out_dir)
    top: list = []  # heap of (prediction, order, id, codes, position scores, attributions)
    n = 0
    head = ["id", "position", "base", "score"] + ([f"delta_{b}" for b in DNA_ALPHABET] if method == "ism" else [])
    chunks = read_sequences(input_path, loaded.encoding, fmt, seq_col, id_col, genome, length_policy, model_path)
    with (
        _removed_if_left_empty(out_dir),
        open_tsv(out_dir / "attributions.tsv", head) as att,
        open_tsv(out_dir / "sequences.tsv", SEQUENCE_COLUMNS) as seqs,
    ):
        for ids, codes in chunks:
            for s in range(0, len(ids), batch_size):
                c, batch_ids = np.asarray(codes[s : s + batch_size]), ids[s : s + batch_size]
                pred, attr = _attribute_batch(loaded, expand, dev, c, method, target, batch_size, n_shuffles, seed + n)
                pos = position_scores(attr, c, method)
                _write_attributions(att, batch_ids, c, pos, attr if method == "ism" else None)
                _write_sequences(seqs, batch_ids, pred, pos, window)
                if n_plots > 0:
                    _keep_top(top, n_plots, n, batch_ids, pred, c, pos, attr)
                n += len(c)
        if n == 0:
            raise DnacnnError(f"{input_path}: no sequences to explain")
    logos = None
    if top:
        logos = out_dir / "top_sequences.png"
        draw_attribution_logos(sorted(top, reverse=True), method, logos)
    return ExplainResult(out_dir, out_dir / "attributions.tsv", out_dir / "sequences.tsv", logos, n, method)


@contextlib.contextmanager
def _removed_if_left_empty(folder: Path):
    """Make ``folder`` if it is missing, and remove it again if the block fails and leaves it empty
    (a refused input: the TSV writers remove their own temporary files)."""
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _attribute_batch(loaded, expand, device, codes, method, target, batch_size, n_shuffles, seed):
    """``(predictions (b,) of column target, attributions (b, 4, L))`` of one batch of ``codes``."""
    import torch

    from dnacnn.models.heads import scores

    meta = loaded.meta
    X = expand(torch.as_tensor(codes, device=device))
    with torch.inference_mode():
        logits = loaded.module(X)
    pred = scores(logits, meta.head, meta.target_mean, meta.target_std)
    pred = pred[:, min(target, pred.shape[1] - 1)]
    attr = attribute(
        loaded.module,
        meta.head,
        X,
        method,
        target=target,
        batch_size=batch_size,
        codes=codes,
        n_shuffles=n_shuffles,
        seed=seed,
    )
    return pred, attr


def _write_sequences(tsv, ids, pred, pos, window: int) -> None:
    """``sequences.tsv`` rows: prediction, summed score and best ``window`` (1-based, inclusive)."""
    start, wsum = best_windows(pos, window)
    tsv.write_rows(
        [
            rid,
            f"{pred[k]:.6g}",
            f"{pos[k].sum():.6g}",
            f"{start[k] + 1}",
            f"{start[k] + min(window, pos.shape[1])}",
            f"{wsum[k]:.6g}",
        ]
        for k, rid in enumerate(ids)
    )


def _keep_top(top: list, n_plots: int, n: int, ids, pred, codes, pos, attr) -> None:
    """Keep the ``n_plots`` highest predictions in the heap ``top`` (ties: the earlier sequence)."""
    for k, rid in enumerate(ids):
        item = (float(pred[k]), -(n + k), rid, codes[k], pos[k], attr[k])
        (heapq.heappush if len(top) < n_plots else heapq.heappushpop)(top, item)


def _first_kernel(module) -> int | None:
    from dnacnn.models.layers import Conv1d

    for layer in module.body:
        if isinstance(layer, Conv1d):
            return int(layer.conv.kernel_size[0])
    return None


def _write_attributions(tsv, ids, codes, pos, ism_effects) -> None:
    n, length = codes.shape
    bases = np.array(list(DNA_ALPHABET + "N"))[codes]
    position = np.char.mod("%d", np.arange(1, length + 1))
    score = np.char.mod("%.5g", pos)
    columns = [np.repeat(np.asarray(ids, dtype=object), length), np.tile(position, n), bases.ravel(), score.ravel()]
    if ism_effects is not None:
        columns += [np.char.mod("%.5g", ism_effects[:, b, :]).ravel() for b in range(4)]
    tsv.write_columns(columns)


def draw_attribution_logos(items, method: str, path) -> None:
    """One PNG of attribution logos, a panel per ``(prediction, _, id, codes, pos, attr)`` item.

    The reference base of each position is drawn with height = its position score (below the
    axis when negative); ISM panels also show the substitution effects as a heat map."""
    from matplotlib.figure import Figure

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
            hx.set_yticks(range(4), list(DNA_ALPHABET))
            hx.set_xlabel("position; colour: substitution effect alt - ref (blue: lowers the output)")
    save_png(fig, path)
