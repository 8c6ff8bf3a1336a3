"""The DNA baseline: k-mer counts of both strands -> L2-normalised -> logistic (or ridge) regression.

Contract: :func:`kmer_counts` counts overlapping k-mers of DNA codes ``(n, length)`` into a
sparse ``(n, 4**k)`` matrix (column = the k-mer's base-4 number, :func:`kmer_names`) in bounded
memory; :func:`kmer_logistic` fits the baseline, k chosen on the validation rows, and returns a
:class:`KmerBaseline` whose ``predict_scores(codes)`` has the CNN's output shape and meaning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from dnacnn.baselines.task_models import (
    TaskModels,
    as_labels,
    fit_task_models,
    subsample,
    validation_score,
    with_validation,
)
from dnacnn.codes import COMPLEMENT, DNA_N

# rows per chunk when counting k-mers: bounds the int64 index matrix to ~32 MB whatever n is
_KMER_CHUNK_WINDOWS = 4_000_000


def kmer_counts(codes: np.ndarray, k: int, canonical: bool = False) -> sp.csr_matrix:
    """Count the overlapping k-mers of each sequence.

    The column of a k-mer is its base-4 number with the first base most significant (A=0, C=1, G=2,
    T=3), so ``AAA`` is column 0, ``ACG`` column 6 and ``TTT`` column 63 for k=3 (see
    :func:`kmer_names`).  Windows that hold an N (code 4, or any code above 3) are not counted.

    Parameters
    ----------
    codes : np.ndarray, shape=(n, length), dtype uint8
        DNA codes (:data:`dnacnn.codes.DNA_LUT`).
    k : int
        k-mer length, 1..12.
    canonical : bool
        Count both strands: each column then holds the count of its k-mer on the forward strand plus
        the count of its reverse complement (i.e. the k-mer's count on the reverse strand), so a k-mer
        and its reverse complement get the same value.  The matrix keeps its 4**k columns so that
        the column of a k-mer does not depend on this option.

    Returns
    -------
    scipy.sparse.csr_matrix, shape=(n, 4**k), dtype float32
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (n, length); got {codes.shape}")
    if not 1 <= k <= 12:
        raise ValueError(f"k must lie in 1..12; got {k}")
    n, length = codes.shape
    n_windows = max(length - k + 1, 0)
    chunk = max(1, _KMER_CHUNK_WINDOWS // max(n_windows, 1))
    blocks = [_count_chunk(codes[i : i + chunk], k, n_windows) for i in range(0, n, chunk)] or [
        sp.csr_matrix((0, 4**k), dtype=np.float32)
    ]
    counts = sp.vstack(blocks, format="csr")
    if canonical:
        counts = (counts + counts[:, reverse_complement_columns(k)]).tocsr()
    return counts


def _count_chunk(codes: np.ndarray, k: int, n_windows: int) -> sp.csr_matrix:
    b = codes.shape[0]
    if n_windows == 0:
        return sp.csr_matrix((b, 4**k), dtype=np.float32)
    codes = codes.astype(np.int64)
    is_n = codes >= DNA_N
    # rolling base-4 number of every window: k vectorised passes instead of a loop over bases
    index = np.zeros((b, n_windows), dtype=np.int64)
    for j in range(k):
        index = index * 4 + np.minimum(codes[:, j : j + n_windows], 3)
    # a window holds an N iff the running count of Ns rises across it
    n_seen = np.concatenate([np.zeros((b, 1), np.int64), np.cumsum(is_n, axis=1)], axis=1)
    valid = n_seen[:, k : k + n_windows] == n_seen[:, :n_windows]
    rows = np.broadcast_to(np.arange(b)[:, None], index.shape)[valid]
    data = np.ones(rows.shape[0], dtype=np.float32)
    # duplicates (a k-mer seen twice in a sequence) are summed by the COO -> CSR conversion
    return sp.coo_matrix((data, (rows, index[valid])), shape=(b, 4**k)).tocsr()


def reverse_complement_columns(k: int) -> np.ndarray:
    """Column of each k-mer's reverse complement, shape ``(4**k,)`` int64 (see :func:`kmer_counts`)."""
    digits = (np.arange(4**k)[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    rc_digits = COMPLEMENT[digits[:, ::-1]].astype(np.int64)
    return rc_digits @ (4 ** np.arange(k - 1, -1, -1))


def kmer_names(k: int) -> list[str]:
    """The k-mer of each column of :func:`kmer_counts`, e.g. ``['AA', 'AC', ..., 'TT']`` for k=2."""
    digits = (np.arange(4**k)[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[digits]
    return [row.tobytes().decode() for row in letters]


@dataclass
class KmerBaseline:
    """k-mer counts -> per-sequence L2 normalisation -> logistic regression (ridge for regression).

    Attributes
    ----------
    k : int
        The k-mer length chosen on the validation rows.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    canonical : bool
        Whether both strands are counted (see :func:`kmer_counts`).
    valid_scores : dict
        k -> validation score (mean ROC AUC over tasks, or Pearson r for regression).
    """

    k: int
    task: str
    canonical: bool
    fitted: TaskModels = field(repr=False)
    valid_scores: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        kind = "ridge regression" if self.task == "regression" else "logistic regression"
        return f"{self.k}-mer {kind}"

    @property
    def description(self) -> str:
        """How it was fitted, in one sentence for reports."""
        model = "Ridge regression" if self.task == "regression" else "L2-penalised logistic regression"
        strands = " of both strands" if self.canonical else ""
        tried = ", ".join(f"{k}: {v:.3f}" for k, v in self.valid_scores.items())
        chosen = f" (validation score per k: {tried})" if tried else ""
        return (
            f"{model} on the L2-normalised {self.k}-mer counts{strands} of each sequence, fitted on the training "
            f"rows of the training store; k = {self.k} was chosen on its validation rows{chosen}."
        )

    def features(self, codes: np.ndarray) -> sp.csr_matrix:
        from sklearn.preprocessing import normalize

        return normalize(kmer_counts(codes, self.k, canonical=self.canonical))

    def predict_proba(self, codes: np.ndarray) -> np.ndarray:
        """Scores for DNA codes ``(n, length)``: shape ``(n, tasks)`` (binary: P(positive); regression:
        values) or ``(n, K)`` class probabilities (multiclass), float32."""
        return self.fitted.predict(self.features(np.asarray(codes)))

    predict = predict_proba
    predict_scores = predict_proba


def kmer_logistic(
    train_codes: np.ndarray,
    y_train: np.ndarray,
    valid_codes: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    ks: Sequence[int] = (3, 4, 5, 6),
    seed: int = 0,
    *,
    task: str = "binary",
    n_classes: int | None = None,
    canonical: bool = True,
    C: float = 1.0,
    max_rows: int | None = 200_000,
) -> KmerBaseline:
    """Fit the k-mer baseline for DNA sequences, choosing k on the validation rows.

    For each k, counts of both strands (``canonical``) are L2-normalised per sequence (sequences of
    different lengths or N content become comparable) and one L2-penalised logistic regression
    (``C``) is fitted per task; multiclass fits one multinomial model; regression fits a ridge
    regression (``alpha = 1/C``).  The k with the best mean validation ROC AUC (Pearson r for
    regression) is kept, fitted on the training rows only.  A few seconds in all for 10,000 x 101 bp;
    beyond ``max_rows`` training (and validation) rows a random subset of that size is used, which
    keeps a genome-wide set's baseline to minutes and a few GB.

    Parameters
    ----------
    train_codes, valid_codes : np.ndarray, shape=(n, length), dtype uint8
        DNA codes; without validation rows 20% of the training rows (``seed``) choose k.
    y_train, y_valid : np.ndarray, shape=(n, tasks)
        0/1 labels (binary), class ids in one column (multiclass) or values (regression); NaN = missing.
    ks : sequence of int
        Candidate k-mer lengths.
    seed : int
        Seed of the internal split, used only without validation rows.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    n_classes : int, optional
        Number of classes K (multiclass); default the largest class id seen + 1.
    canonical : bool
        Count both strands.
    C : float
        Inverse L2 penalty.
    max_rows : int or None
        Most training (and validation) rows used, drawn at random with ``seed``; None = all.

    Returns
    -------
    KmerBaseline
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    y_train = as_labels(y_train, len(train_codes))
    train_codes, y_train = subsample(train_codes, y_train, max_rows, seed)
    if valid_codes is not None:
        valid_codes, y_valid = subsample(valid_codes, as_labels(y_valid, len(valid_codes)), max_rows, seed + 1)
    train_codes, y_train, valid_codes, y_valid, n_classes = with_validation(
        train_codes, y_train, valid_codes, y_valid, seed, task, n_classes
    )

    def make_model():
        if task == "regression":
            return Ridge(alpha=1.0 / C)
        # multinomial lbfgs crawls near the optimum on k=3 counts; a looser tol changes AUC < 0.001
        return LogisticRegression(C=C, max_iter=1000, tol=1e-3 if task == "multiclass" else 1e-4)

    best = None
    scores = {}
    for k in ks:
        candidate = KmerBaseline(k, task, canonical, fitted=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs convergence chatter on separable data
            candidate.fitted = fit_task_models(
                task, make_model, candidate.features(train_codes), y_train, n_classes or 0
            )
        scores[k] = validation_score(task, y_valid, candidate.predict_proba(valid_codes))
        if best is None or scores[k] > scores[best.k]:
            best = candidate
    best.valid_scores = scores
    return best
