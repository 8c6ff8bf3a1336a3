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


def make_split(opts: EncodeOptions, labels, task, groups, writer, split_values) -> np.ndarray:
    """``groups``: the group id of each stored row, per append, in store order, or None when every
    row is its own group; rows of one group (a positive and its negatives) always share a split."""
    from dnacnn import split as splits

    n = len(labels)
    if opts.split in ("train", "test", "folds"):  # folds: each fold's split is made when it is used
        return np.full(n, SPLIT_CODE["test" if opts.split == "test" else "train"], dtype=np.uint8)
    if opts.split == "column":
        return splits.split_from_column(split_values)
    if opts.split == "chrom":
        writer.flush()
        ids = (writer.tmp / "ids.txt").read_text().splitlines()
        base_ids = [i.rsplit("_shuf", 1)[0] for i in ids] if opts.negatives == "shuffle" else ids
        return splits.chrom_split(base_ids, opts.valid_chroms, opts.test_chroms)
    groups, n_groups = _flat(groups, n)
    if n_groups == n:  # no negatives made here: stratify on the labels
        return splits.random_split(labels, task, opts.valid_frac, opts.test_frac, opts.seed)
    # negatives follow their positive, so split the positives' groups
    group_split = splits.random_split(
        np.zeros((n_groups, 1), np.float32), "regression", opts.valid_frac, opts.test_frac, opts.seed
    )
    return group_split[groups]


def make_folds(opts: EncodeOptions, labels, task, groups) -> np.ndarray | None:
    """Fold ids 1..k per stored row for ``--split folds`` (None otherwise); a positive and its
    negatives share a fold, as they share a split."""
    from dnacnn import split as splits

    if opts.split != "folds":
        return None
    n = len(labels)
    groups, n_groups = _flat(groups, n)
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
