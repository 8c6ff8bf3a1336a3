"""Classical baselines fitted beside every CNN, so a report can say whether the CNN earned its keep.

Contract: each baseline is fitted on the store's ``train`` rows (``valid`` rows only choose a
hyper-parameter, as they only early-stop the CNN) and predicts scores of the same shape and meaning
as the CNN's: probabilities ``(n, tasks)`` for binary, ``(n, K)`` for multiclass, values ``(n, tasks)``
for regression.  Inputs are the store's uint8 code matrices (see :mod:`dnacnn.codes`); labels
``y`` are ``(n, tasks)`` float with NaN for a missing label (those rows are skipped for that task).

- DNA: :func:`kmer_logistic`, logistic regression (ridge for regression) on k-mer counts of both
  strands, k chosen on the validation rows.
- Genotypes: :func:`ridge` (RR-BLUP: ridge regression on marker dosages, the penalty chosen by
  efficient leave-one-out on the training rows) and :func:`dosage_logistic` for classification.

:func:`fit_baseline` picks the one that fits a store's kind and task; every baseline object has
``name`` (for tables and legends) and ``predict_scores(codes)``.  Modules:
:mod:`~dnacnn.baselines.kmer`, :mod:`~dnacnn.baselines.dosage` and what they share,
:mod:`~dnacnn.baselines.task_models`; this package re-exports their public names.
"""

from __future__ import annotations

import numpy as np

from dnacnn.baselines.dosage import (
    RIDGE_ALPHAS,
    GenotypeBaseline,
    RidgeBaseline,
    dosage_logistic,
    dosage_matrix,
    marker_dosage_means,
    ridge,
    ridge_coefficients,
)
from dnacnn.baselines.kmer import KmerBaseline, kmer_counts, kmer_logistic, kmer_names, reverse_complement_columns

__all__ = [
    "RIDGE_ALPHAS",
    "GenotypeBaseline",
    "KmerBaseline",
    "RidgeBaseline",
    "dosage_logistic",
    "dosage_matrix",
    "fit_baseline",
    "kmer_counts",
    "kmer_logistic",
    "kmer_names",
    "marker_dosage_means",
    "reverse_complement_columns",
    "ridge",
    "ridge_coefficients",
]


def fit_baseline(
    kind: str,
    task: str,
    train_codes: np.ndarray,
    y_train: np.ndarray,
    valid_codes: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    n_classes: int | None = None,
    seed: int = 0,
) -> KmerBaseline | GenotypeBaseline:
    """The baseline for a store's ``kind`` (``dna`` or ``genotype``) and ``task``: k-mer logistic /
    ridge regression for DNA, RR-BLUP or dosage logistic regression for genotypes.  Arrays as in
    :func:`kmer_logistic`; use ``.name`` and ``.predict_scores(codes)`` on the result."""
    if kind == "dna":
        return kmer_logistic(train_codes, y_train, valid_codes, y_valid, seed=seed, task=task, n_classes=n_classes)
    if kind == "genotype":
        if task == "regression":
            return ridge(train_codes, y_train, valid_codes, y_valid)
        return dosage_logistic(train_codes, y_train, valid_codes, y_valid, seed=seed, task=task, n_classes=n_classes)
    raise ValueError(f"unknown data kind {kind!r}; use dna or genotype")
