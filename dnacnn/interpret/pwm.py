"""Position probability matrices: information content, trimming, consensus, logo heights.

Contract: a matrix is a numpy array ``(4, width)`` of A, C, G, T probabilities per column (a
stack of them ``(..., 4, width)`` where noted); every function here is pure numpy, so the MEME
reader and writer, Tomtom matching, logos and the motif tables share one definition of each.
"""

from __future__ import annotations

import numpy as np

from dnacnn.codes import DNA_ALPHABET


def information_content(ppm: np.ndarray) -> np.ndarray:
    """Bits per column against a uniform background, shape ``ppm.shape[:-2] + (width,)``."""
    p = np.clip(ppm, 1e-12, 1.0)
    return 2.0 + (p * np.log2(p)).sum(axis=-2)


def ic_heights(ppm: np.ndarray) -> np.ndarray:
    """Letter heights of an information-content logo, shape ``(width, 4)``: p x bits per column."""
    return (ppm * information_content(ppm)[None, :]).T


def trim(ppm: np.ndarray, min_ic: float) -> tuple[np.ndarray, int]:
    """Drop edge columns below ``min_ic`` bits; returns the core ``(4, w)`` and its start column.
    A matrix with no column above ``min_ic`` is returned whole."""
    ic = information_content(ppm)
    keep = np.flatnonzero(ic >= min_ic)
    if len(keep) == 0:
        return ppm, 0
    return ppm[:, keep[0] : keep[-1] + 1], int(keep[0])


def consensus(ppm: np.ndarray, min_ic: float = 0.5) -> str:
    """Most likely base per column, lowercase below ``min_ic`` bits... ``n`` below 0.25 bits."""
    ic = information_content(ppm)
    bases = np.array(list(DNA_ALPHABET))[ppm.argmax(axis=0)]
    return "".join(b if i >= min_ic else (b.lower() if i >= 0.25 else "n") for b, i in zip(bases, ic))


def pattern_ppm(pattern, pseudocount: float = 1.0) -> np.ndarray:
    """A pattern's core letter probabilities ``(4, w)``, with the pseudocount filters get."""
    counts = pattern.core_ppm * pattern.n_seqlets
    return (counts + pseudocount / 4) / (counts.sum(axis=0, keepdims=True) + pseudocount)
