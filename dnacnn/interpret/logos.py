"""Sequence logos drawn with matplotlib (no pyplot): letter stacks, motif, CWM and alignment figures.

Contract: :func:`draw_logo` draws ``heights (length, 4)`` on an axis, positive letters stacked
up and negative ones down; :func:`logo_figure`, :func:`cwm_figure` and :func:`alignment_figure`
build whole figures (an information-content logo, a TF-MoDISco contribution logo, a motif over
its database match); :func:`draw_filter_logos` and :func:`draw_match_alignments` write a motifs
folder's PNGs, and :func:`save_png` writes any figure atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dnacnn.codes import DNA_ALPHABET
from dnacnn.interpret.pwm import ic_heights
from dnacnn.io.outputs import output_file

if TYPE_CHECKING:
    from dnacnn.interpret.tomtom import MotifDatabase


MAX_LOGOS = 100  # logos drawn per run (the most influential filters); ~0.2 s each


LOGO_COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}
_GLYPHS: dict = {}


def _glyph(letter: str):
    """The outline of ``letter`` scaled to the unit square (built once per process)."""
    if letter not in _GLYPHS:
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextPath
        from matplotlib.transforms import Affine2D

        path = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
        box = path.get_extents()
        unit = Affine2D().translate(-box.x0, -box.y0).scale(1 / box.width, 1 / box.height)
        _GLYPHS[letter] = unit.transform_path(path)
    return _GLYPHS[letter]


def draw_logo(ax, heights: np.ndarray, letters: str = DNA_ALPHABET, width: float = 0.9) -> None:
    """Draw a sequence logo on ``ax``: ``heights`` shape ``(length, 4)``, one stack per position,
    the tallest letter on top; negative heights stack downwards from 0.

    Letter outlines are built once and placed by affine transforms, one compound path per
    colour, so a logo of hundreds of positions draws in milliseconds (logomaker re-renders the
    font outline of every letter, about 25 ms each).
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath
    from matplotlib.transforms import Affine2D

    heights = np.asarray(heights, dtype=np.float64)
    pieces: dict[str, list] = {b: [] for b in letters}
    for i, row in enumerate(heights):
        up, down = 0.0, 0.0
        for k in np.argsort(np.abs(row)):  # smallest next to the axis
            h = row[k]
            if abs(h) < 1e-9:
                continue
            bottom = up if h > 0 else down - abs(h)
            place = Affine2D().scale(width, abs(h)).translate(i - width / 2, bottom)
            pieces[letters[k]].append(place.transform_path(_glyph(letters[k])))
            if h > 0:
                up += h
            else:
                down -= abs(h)
    for letter, paths in pieces.items():
        if paths:
            color = LOGO_COLORS.get(letter, "#5b6575")
            # add_artist, not add_patch: the limits are set below, and add_patch walks every curve
            ax.add_artist(PathPatch(MplPath.make_compound_path(*paths), facecolor=color, edgecolor="none"))
    low, high = (
        min(0.0, float(np.minimum(heights, 0).sum(axis=1).min(initial=0))),
        float(np.maximum(heights, 0).sum(axis=1).max(initial=0)),
    )
    ax.set_xlim(-0.5, len(heights) - 0.5)
    ax.set_ylim(low - 0.02 * (high - low or 1), high + 0.02 * (high - low or 1))
    ax.grid(False)


def logo_figure(ppm: np.ndarray, title: str = "", width_per_column: float = 0.28, height: float = 1.6):
    """An information-content logo of one ``(4, w)`` matrix as a matplotlib Figure (no pyplot)."""
    from matplotlib.figure import Figure

    heights = ic_heights(ppm)
    width = max(2.4, ppm.shape[1] * width_per_column)
    fig = Figure(figsize=(width, height), dpi=100)
    # fixed margins: constrained layout costs more than drawing the logo
    ax = fig.add_axes((0.45 / width, 0.22, 1 - 0.55 / width, 0.62 if title else 0.72))
    draw_logo(ax, heights)
    ax.set_ylim(0, 2)
    ax.set_yticks([0, 1, 2])
    ax.set_ylabel("bits", fontsize=8)
    ax.set_xticks(range(ppm.shape[1]), [str(i + 1) for i in range(ppm.shape[1])], fontsize=6)
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=8, loc="left")
    return fig


def cwm_figure(pattern, flank: int = 2, width_per_column: float = 0.28, height: float = 1.6):
    """A contribution logo of a TF-MoDISco pattern: its CWM (mean contribution of each base) over the
    core columns and ``flank`` columns either side, the core shaded."""
    from matplotlib.figure import Figure

    start, stop = max(0, pattern.start - flank), min(pattern.cwm.shape[1], pattern.stop + flank)
    cwm = pattern.cwm[:, start:stop]
    width = max(2.4, cwm.shape[1] * width_per_column)
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.55 / width, 0.22, 1 - 0.65 / width, 0.62))
    ax.axvspan(pattern.start - start - 0.5, pattern.stop - start - 0.5, color="#f1f4f8", zorder=0)
    draw_logo(ax, cwm.T)
    ax.axhline(0, color="#9aa3af", lw=0.5)
    ax.set_ylabel("contribution", fontsize=7)
    ax.set_xticks(range(cwm.shape[1]), [str(i + start + 1) for i in range(cwm.shape[1])], fontsize=6)
    ax.tick_params(axis="y", labelsize=6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{pattern.name}  ({pattern.n_seqlets:,} seqlets)", fontsize=8, loc="left")
    return fig


def draw_filter_logos(ppm: np.ndarray, table: pd.DataFrame, folder, limit: int = MAX_LOGOS) -> list[Path]:
    """One PNG per filter that fired, ``folder/filter_<index>.png``, titled with its best match
    when that match is calibrated; the first ``limit`` filters of ``table`` (by influence) only."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for row in table.itertuples(index=False):
        if row.n_sites == 0:
            continue
        if len(paths) == limit:
            break
        f = int(row.filter.split("_")[1])
        title = f"{row.filter}  ({row.n_sites:,} sites)"
        if getattr(row, "matched", False):
            title += f"  ~ {row.best_name} (q={row.best_q_value:.2g})"
        path = folder / f"{row.filter}.png"
        save_png(logo_figure(ppm[f], title), path)
        paths.append(path)
    return paths


def alignment_figure(query: np.ndarray, target: np.ndarray, offset: int, strand: str, labels=("query", "target")):
    """Two information-content logos, the query above the target, columns aligned as Tomtom
    aligned them: ``offset`` = target column under the query's first column, on the target's
    reverse complement when ``strand`` is ``-``."""
    from matplotlib.figure import Figure

    if strand == "-":
        target = target[::-1, ::-1]
    start, stop = min(0, offset), max(target.shape[1], offset + query.shape[1])
    width = stop - start
    margin = max(0.9, 0.08 * max(len(label) for label in labels) + 0.2)  # inches for the row labels
    fig_width = max(3.0, width * 0.3 + margin + 0.3)
    fig = Figure(figsize=(fig_width, 2.6), dpi=100)
    for row, (ppm, at, label) in enumerate(((query, offset, labels[0]), (target, 0, labels[1]))):
        heights = np.zeros((width, 4))
        cols = np.arange(ppm.shape[1]) + at - start
        heights[cols] = ic_heights(ppm)
        ax = fig.add_axes((margin / fig_width, 0.56 - 0.46 * row, 1 - (margin + 0.2) / fig_width, 0.36))
        draw_logo(ax, heights)
        ax.set_ylim(0, 2)
        ax.set_yticks([0, 2])
        ax.tick_params(labelsize=7)
        ax.set_xticks([])
        ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
        ax.spines[["top", "right", "bottom"]].set_visible(False)
    return fig


def draw_match_alignments(
    cores: dict, table: pd.DataFrame, db: MotifDatabase, folder, limit: int = MAX_LOGOS, key: str = "filter"
):
    """``folder/<name>_match.png``: each matched motif (a filter's trimmed motif, or a pattern's
    core; ``key`` names the table's name column) aligned on its best database match (the first
    ``limit`` rows of ``table`` only)."""
    folder = Path(folder)
    paths = []
    for row in table.head(limit).itertuples(index=False):
        name = getattr(row, key)
        if not getattr(row, "matched", False) or name not in cores:
            continue
        target = db.ppms[db.ids.index(row.best_id)]
        fig = alignment_figure(cores[name], target, int(row.best_offset), row.best_strand, (name, f"{row.best_name}"))
        path = folder / f"{name}_match.png"
        save_png(fig, path)
        paths.append(path)
    return paths


def save_png(fig, path) -> None:
    """Write ``fig`` to ``path`` as PNG atomically (temp file + rename)."""
    with output_file(path) as tmp:
        fig.savefig(tmp, format="png")
