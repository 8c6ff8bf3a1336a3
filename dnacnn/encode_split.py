"""Which split (train/valid/test) and which cross-validation fold each row of a new store is in.

Contract: :func:`make_split` returns one split code per stored row (``--split random``,
``chrom``, ``column``, ``train``, ``test`` or ``folds``) and :func:`make_folds` fold ids ``1..k``
per row for ``--split folds`` (None otherwise).  Rows of one group (a positive and the negatives
made from it) always share a split and a fold, so no shuffle of a test sequence is trained on.
Both are deterministic given ``--seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnacnn.encode_options import EncodeOptions
from dnacnn.errors import InputError
from dnacnn.store import SPLIT_CODE


class SplitRows:
    """What the split needs of each stored row, kept as rows stream in (in store order): the
    group id where negatives are made from positives (they share their positive's split;
    otherwise every row is its own group and nothing is kept, 4 B a row), ``--split column``
    values, and ``--split chrom`` codes (1 B a row, parsed from each batch's ids)."""

    def __init__(self, opts: EncodeOptions) -> None:
        from dnacnn.split import ChromSplit

        self.groups: list[np.ndarray] | None = [] if opts.negatives in ("shuffle", "genome") else None
        self.values: list[str] = []
        self.chroms = ChromSplit(opts.valid_chroms, opts.test_chroms) if opts.split == "chrom" else None
        self.chrom_codes = bytearray()  # grows in place: no list of arrays joined at the end
        self.shuffled = opts.negatives == "shuffle"

    def add(self, ids: list[str], group_ids: np.ndarray, split_values: list[str] | None) -> None:
        if self.groups is not None:
            self.groups.append(np.asarray(group_ids, dtype=np.int32))  # fewer than 2**31 records
        if split_values is not None:
            self.values.extend(split_values)
        if self.chroms is not None:  # a shuffled negative sits on its positive's chromosome
            base = [i.rsplit("_shuf", 1)[0] for i in ids] if self.shuffled else ids
            self.chrom_codes += self.chroms.codes(base).tobytes()


def make_split(opts: EncodeOptions, labels, task, rows: SplitRows | None) -> np.ndarray:
    """The split code of each stored row; ``rows`` is None where every row is its own group and
    the split is neither ``column`` nor ``chrom`` (genotype stores).  Rows of one group (a
    positive and its negatives) always share a split."""
    from dnacnn import split as splits

    n = len(labels)
    if opts.split in ("train", "test", "folds"):  # folds: each fold's split is made when it is used
        return np.full(n, SPLIT_CODE["test" if opts.split == "test" else "train"], dtype=np.uint8)
    if opts.split == "column":
        return splits.split_from_column(rows.values)
    if opts.split == "chrom":
        rows.chroms.check()
        return np.frombuffer(rows.chrom_codes, dtype=np.uint8)
    groups, n_groups = _flat(rows.groups if rows else None, n)
    if n_groups == n:  # no negatives made here: stratify on the labels
        return splits.random_split(labels, task, opts.valid_frac, opts.test_frac, opts.seed)
    # negatives follow their positive, so split the positives' groups (labels of no task: no strata)
    group_split = splits.random_split(
        np.zeros((n_groups, 0), np.float32), "regression", opts.valid_frac, opts.test_frac, opts.seed
    )
    return group_split[groups]


def make_folds(opts: EncodeOptions, labels, task, rows: SplitRows | None) -> np.ndarray | None:
    """Fold ids 1..k per stored row for ``--split folds`` (None otherwise); a positive and its
    negatives share a fold, as they share a split."""
    from dnacnn import split as splits

    if opts.split != "folds":
        return None
    n = len(labels)
    groups, n_groups = _flat(rows.groups if rows else None, n)
    if opts.fold_file:
        lines = Path(opts.fold_file).read_text().split()
        if len(lines) != n_groups:
            raise InputError(
                opts.fold_file, None, f"{len(lines)} fold ids for {n_groups} records", "give one fold id per record"
            )
        folds = splits.folds_from_values(lines, opts.fold_file)
        return folds if groups is None else folds[groups]
    if n_groups == n:
        return splits.kfold_assignment(labels, task, opts.folds, opts.seed)
    return splits.kfold_assignment(np.zeros(n_groups), "regression", opts.folds, opts.seed)[groups]


def _flat(groups: list[np.ndarray] | None, n: int) -> tuple[np.ndarray | None, int]:
    """The per-append group ids as one array (None: every row its own group) and the group count."""
    if groups is None:
        return None, n
    groups = np.concatenate(groups) if n else np.zeros(0, np.int32)
    return groups, int(groups.max()) + 1 if n else 0
