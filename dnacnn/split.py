"""Train / validation / test assignment of records, as the store's ``split`` codes.

Every function returns an array of shape ``(n,)`` uint8 with 0 = train, 1 = valid, 2 = test
(:data:`dnacnn.store.SPLIT_CODE`).  Three ways to split:

* :func:`random_split` - seeded and exact-sized; stratified by class for classification; dealt a
  chunk of rows at a time, so its memory does not grow with the record count.
* :func:`chrom_split` - hold out whole chromosomes, parsed from ids that carry coordinates, so
  that overlapping or neighbouring windows cannot leak between training and testing.
* :func:`split_from_column` - a table's own split column (``train`` / ``valid`` / ``test``).

Cross-validation keeps a fold id per record instead (1..k, beside the split): :func:`kfold_assignment`
draws seeded folds, :func:`folds_from_values` reads them from a column or a file such as BGLR's
``wheat.sets``, and :func:`fold_split` turns one fold into split codes (that fold = test, a seeded
fraction of the others = valid, the rest = train).

User mistakes (fractions summing to 1 or more, ids without coordinates, a held-out chromosome
that matches nothing, unknown split names) raise a one-line :class:`~dnacnn.errors.DnacnnError`.
"""

from __future__ import annotations

import math
import mmap
import re

import numpy as np
import pandas as pd

from dnacnn.errors import DnacnnError, InputError

TRAIN, VALID, TEST = 0, 1, 2
TASKS = ("binary", "multiclass", "regression")  # what a store's labels are, the one list
SEARCH_CHUNK = 1 << 20  # rows per step of the searches over all rows: their temporaries stay small
SPLIT_CHUNK = 1 << 16  # rows dealt per draw of the random split: part of the draw (another value, other rows)
MAX_LABEL_COMBOS = 32  # multi-task binary: stratify by the label tuple up to this many tuples

# Accepted id forms (the chromosome is group "chrom"; a bedtools getfasta ``-name`` prefix
# ``NAME::`` is ignored): chr8:1000-1101, chr8:1000-1101(+), chr8_1000_1101.
COORDINATE_ID = re.compile(r"^(?:.*::)?(?:(?P<chrom>[^\s:]+):\d+-\d+(?:\([+.-]\))?|(?P<chrom2>\S+)_\d+_\d+)$")
SPLIT_NAMES = {
    "train": TRAIN,
    "training": TRAIN,
    "valid": VALID,
    "validation": VALID,
    "val": VALID,
    "test": TEST,
    "testing": TEST,
}


def random_split(
    labels: np.ndarray,
    task: str,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    regression_bins: int = 0,
) -> np.ndarray:
    """Seeded random split with exact sizes, stratified where the task allows, in memory flat in
    the record count.

    Sizes round up like scikit-learn's: ``n_test = ceil(test_frac * n)`` and
    ``n_valid = ceil(valid_frac * n)`` (both of all ``n`` rows); a fraction of 0 gives an empty
    split.  Each stratum's share of the test rows, then of the validation rows from the rest, is
    its proportion rounded by largest remainders (scikit-learn's approximate mode, ties broken by
    the seed), so every split holds each stratum's proportion to within one record.

    The rows are then dealt :data:`SPLIT_CHUNK` at a time: how many of a chunk's rows of a stratum
    go to each split is drawn from the multivariate hypergeometric distribution of what the
    stratum still owes each split, and those codes are shuffled over the rows.  Every assignment
    with the stratum's sizes is as likely as under a permutation of all rows, while memory is a
    chunk: ``labels`` may be the memory map of a genome-scale store (issue 23).

    Strata: ``binary`` - the first task's label, or the tuple of all labels when there are
    several tasks and at most :data:`MAX_LABEL_COMBOS` distinct tuples; ``multiclass`` - the
    class; ``regression`` - none (plain shuffle), or with ``regression_bins=k > 1`` the first
    task's quantile bin out of ``k``.  Missing labels (NaN) form their own stratum.

    Parameters
    ----------
    labels : np.ndarray, shape=(n, tasks), float32
        Targets; class indices for ``multiclass``.  ``(n, 0)`` splits ``n`` rows unstratified.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    valid_frac, test_frac : float
        Fractions of all rows for validation and test; each >= 0, their sum < 1.
    seed : int
        Same seed and labels, same split.
    regression_bins : int
        Quantile bins to stratify regression targets by; 0 = no stratification.

    Returns
    -------
    np.ndarray, shape=(n,), uint8
        0 train, 1 valid, 2 test.
    """
    if task not in TASKS:
        raise DnacnnError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    for name, frac in (("valid_frac", valid_frac), ("test_frac", test_frac)):
        if not 0 <= frac < 1:
            raise DnacnnError(f"{name} = {frac} is outside [0, 1); give a fraction such as 0.1")
    if valid_frac + test_frac >= 1:
        raise DnacnnError(
            f"valid_frac + test_frac = {valid_frac + test_frac:g} leaves no training data; make their sum < 1"
        )
    labels = labels if _whole_map(labels) else np.asarray(labels, dtype=np.float32)
    if labels.ndim == 1:
        labels = labels[:, None]
    n = len(labels)
    # the tolerance keeps 0.1 * 30 (= 3.0000000000000004 in floating point) at 3
    n_test, n_valid = math.ceil(test_frac * n - 1e-9), math.ceil(valid_frac * n - 1e-9)
    if n and n_test + n_valid >= n:
        raise DnacnnError(
            f"{n} records are too few for {n_valid} validation and {n_test} test records; "
            "add records or lower the fractions"
        )
    split = np.zeros(n, dtype=np.uint8)
    if not n:
        return split
    stratum_of = _stratifier(labels, task, regression_bins)
    sizes = _stratum_sizes(labels, stratum_of)
    rng = np.random.RandomState(seed)
    test = _approximate_mode(sizes, n_test, rng)
    valid = _approximate_mode(sizes - test, n_valid, rng)
    owed = np.stack([sizes - test - valid, valid, test], axis=1)  # (strata, 3): rows each split still takes
    for start in range(0, n, SPLIT_CHUNK):
        strata = stratum_of(_rows(labels, start, start + SPLIT_CHUNK))
        rows = np.argsort(strata, kind="stable")  # the chunk's rows, stratum by stratum
        at = 0
        for stratum, m in enumerate(np.bincount(strata)):
            if m:
                split[start + rows[at : at + m]] = _deal(owed[stratum], int(m), rng)
                at += m
    return split


def _stratum_sizes(labels: np.ndarray, stratum_of) -> np.ndarray:
    """Rows per stratum number, int64, counted a chunk at a time."""
    sizes = np.zeros(0, np.int64)
    for start in range(0, len(labels), SPLIT_CHUNK):
        found = np.bincount(stratum_of(_rows(labels, start, start + SPLIT_CHUNK)))
        sizes = np.pad(sizes, (0, max(0, len(found) - len(sizes))))
        sizes[: len(found)] += found
    return sizes


def _whole_map(labels) -> bool:
    """``labels`` is a float32 (n, tasks) memory map of a whole file (a store's ``labels.f32``)."""
    return (
        isinstance(labels, np.memmap)
        and isinstance(labels.base, mmap.mmap)
        and labels.dtype == np.float32
        and labels.ndim == 2
        and labels.flags.c_contiguous
    )


def _rows(labels: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``labels[start:stop]``; from a whole-file memory map by a plain read, so that its pages do
    not stay mapped: they would count in the process's memory, 4 B a row and task."""
    if not _whole_map(labels):
        return labels[start:stop]
    stop, width = min(stop, len(labels)), labels.shape[1]
    offset = labels.offset + start * width * labels.itemsize
    return np.fromfile(labels.filename, np.float32, max(0, stop - start) * width, offset=offset).reshape(-1, width)


def _deal(owed: np.ndarray, m: int, rng: np.random.RandomState) -> np.ndarray:
    """``m`` split codes drawn without replacement from ``owed`` = (train, valid, test) codes left
    (updated in place), in random order."""
    train = _hypergeometric(int(owed[TRAIN]), int(owed[VALID] + owed[TEST]), m, rng)
    valid = _hypergeometric(int(owed[VALID]), int(owed[TEST]), m - train, rng)
    taken = np.array([train, valid, m - train - valid])
    owed -= taken
    codes = np.repeat(np.array([TRAIN, VALID, TEST], np.uint8), taken)
    rng.shuffle(codes)
    return codes


def _hypergeometric(good: int, bad: int, m: int, rng: np.random.RandomState) -> int:
    """How many of ``m`` draws without replacement from ``good + bad`` items are good."""
    if m == 0 or good == 0:
        return 0
    return m if bad == 0 else int(rng.hypergeometric(good, bad, m))


def _stratifier(labels: np.ndarray, task: str, regression_bins: int):
    """A function from a chunk of ``labels`` to each row's stratum number (int64, 0 up), learnt from
    all rows a chunk at a time."""
    if labels.shape[1] == 0 or (task == "regression" and regression_bins <= 1):
        return lambda chunk: np.zeros(len(chunk), np.int64)
    if task == "regression":
        y = labels[:, 0]
        known = y[~np.isnan(y)]  # the quantiles need every finite target: 4 B a row, opt-in
        edges = np.quantile(known, np.linspace(0, 1, regression_bins + 1)[1:-1]) if len(known) else np.zeros(0)
        del known
        missing = len(edges) + 1  # NaN: a stratum of its own
        return lambda chunk: np.where(
            np.isnan(chunk[:, 0]), missing, np.searchsorted(edges, chunk[:, 0], side="right")
        ).astype(np.int64)

    def clean(chunk):  # NaN compares unequal to itself; give it a value no real label has so it groups
        return np.where(np.isnan(chunk), np.float32(-np.inf), chunk)

    if task == "binary" and labels.shape[1] > 1:
        combos: set[tuple] = set()
        for start in range(0, len(labels), SEARCH_CHUNK):
            combos.update(map(tuple, np.unique(clean(_rows(labels, start, start + SEARCH_CHUNK)), axis=0).tolist()))
            if len(combos) > MAX_LABEL_COMBOS:
                break
        if len(combos) <= MAX_LABEL_COMBOS:
            number = {combo: i for i, combo in enumerate(sorted(combos))}

            def by_tuple(chunk):
                found, inverse = np.unique(clean(chunk), axis=0, return_inverse=True)
                return np.array([number[tuple(row)] for row in found.tolist()], np.int64)[inverse.ravel()]

            return by_tuple
    values = np.zeros(0, np.float32)
    for start in range(0, len(labels), SEARCH_CHUNK):
        values = np.union1d(values, clean(_rows(labels, start, start + SEARCH_CHUNK)[:, 0]))
    return lambda chunk: np.searchsorted(values, clean(chunk[:, 0])).astype(np.int64)


def _approximate_mode(counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn's ``_approximate_mode``: per-stratum draws summing to ``n_draws``, in proportion
    to ``counts``, the leftover draws going to the largest remainders (ties broken by ``rng``);
    a stratum of 0 rows takes none."""
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = np.where(counts > 0, continuous - floored, -1.0)  # an empty stratum takes nothing
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add = min(len(tied), need)
            floored[rng.choice(tied, size=add, replace=False)] += 1
            need -= add
            if need == 0:
                break
    return floored.astype(int)


def chrom_split(ids: list[str], valid_chroms: list[str], test_chroms: list[str]) -> np.ndarray:
    """Hold out whole chromosomes, named in record ids.

    Accepted ids: ``chr8:1000-1101``, ``chr8:1000-1101(+)`` (strand ``+``, ``-`` or ``.``),
    ``chr8_1000_1101``, each optionally prefixed by ``NAME::`` as ``bedtools getfasta -name``
    writes; the chromosome is everything before the coordinates, matched exactly.

    Parameters
    ----------
    ids : list[str], length n
        Record ids.
    valid_chroms, test_chroms : list[str]
        Chromosomes whose records go to validation / test; all others train.

    Returns
    -------
    np.ndarray, shape=(n,), uint8
        0 train, 1 valid, 2 test.
    """
    splitter = ChromSplit(valid_chroms, test_chroms)
    split = splitter.codes(ids)
    splitter.check()
    return split


class ChromSplit:
    """:func:`chrom_split` a batch of ids at a time, as records stream in (memory flat in the
    record count): :meth:`codes` per batch, in store order, then :meth:`check` once."""

    def __init__(self, valid_chroms: list[str], test_chroms: list[str]) -> None:
        both = sorted(set(valid_chroms) & set(test_chroms))
        if both:
            raise DnacnnError(f"chromosome {both[0]} is held out for both validation and test; give it to one only")
        self.valid, self.test = list(valid_chroms), list(test_chroms)
        self.present: set[str] = set()
        self.n = 0

    def codes(self, ids: list[str]) -> np.ndarray:
        """The split code of each id: 0 train, 1 valid, 2 test."""
        found = pd.Series(list(ids), dtype=object).str.extract(COORDINATE_ID)
        chroms = found["chrom"].fillna(found["chrom2"])
        if chroms.isna().any():
            i = int(np.flatnonzero(chroms.isna().to_numpy())[0])
            raise DnacnnError(
                f"record {self.n + i + 1} ({ids[i]!r}): id carries no coordinates, so its chromosome is unknown; "
                "name records chrom:start-end (e.g. chr8:1000-1101) or use a random split"
            )
        self.n += len(ids)
        self.present.update(chroms.unique())
        split = np.zeros(len(chroms), dtype=np.uint8)
        split[chroms.isin(self.valid).to_numpy()] = VALID
        split[chroms.isin(self.test).to_numpy()] = TEST
        return split

    def check(self) -> None:
        """Every held-out chromosome matched a record (a misspelt one would hold out nothing)."""
        for chrom in [*self.valid, *self.test]:
            if chrom not in self.present:
                known = ", ".join(sorted(self.present)[:8]) + (", ..." if len(self.present) > 8 else "")
                raise DnacnnError(
                    f"held-out chromosome {chrom!r} matches no record (records are on {known}); check its spelling"
                )


def split_from_column(values: list[str], path: str | None = None, lines: list[int] | None = None) -> np.ndarray:
    """Split codes from a column of names: train/training, valid/validation/val, test/testing.

    Matching ignores case and surrounding spaces.

    Parameters
    ----------
    values : list[str], length n
        The column's values.
    path : str, optional
        The file the column comes from, to name it in errors.
    lines : list[int], optional
        1-based line number of each value, for errors (default: the record number).

    Returns
    -------
    np.ndarray, shape=(n,), uint8
        0 train, 1 valid, 2 test.
    """
    codes = pd.Series(list(values), dtype=object).astype(str).str.strip().str.lower().map(SPLIT_NAMES)
    bad = codes.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problem = f"unknown split {values[i]!r}"
        fix = "use train, valid (or validation) or test"
        if path is None:
            raise DnacnnError(f"record {i + 1}: {problem}; {fix}")
        where = f"{lines[i]}" if lines is not None else f"record {i + 1}"
        raise InputError(path, where, problem, fix)
    return codes.to_numpy(dtype=np.uint8)


MAX_FOLDS = 100


def kfold_assignment(labels: np.ndarray, task: str, k: int, seed: int = 0) -> np.ndarray:
    """Seeded k-fold assignment: fold ids ``1..k`` ``(n,)`` uint8, stratified by class for
    classification (as :func:`random_split`), a plain shuffle for regression."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if not 2 <= k <= MAX_FOLDS:
        raise DnacnnError(f"--folds {k}: give between 2 and {MAX_FOLDS} folds (10 is usual)")
    labels = np.asarray(labels, dtype=np.float32)
    labels = labels[:, None] if labels.ndim == 1 else labels
    n = len(labels)
    if n < k:
        raise DnacnnError(f"{n} records are too few for {k} folds; use --folds {max(2, n)} or fewer")
    folds = np.zeros(n, dtype=np.uint8)
    strata = _stratifier(labels, task, 0)(labels) if task != "regression" else None
    if strata is not None and np.bincount(strata).min(initial=k) >= k:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(n), strata)
    else:  # regression, or a class with fewer than k records: a plain shuffle
        splitter = KFold(k, shuffle=True, random_state=seed).split(np.zeros(n))
    for fold, (_, test) in enumerate(splitter, start=1):
        folds[test] = fold
    return folds


def folds_from_values(values, path: str | None = None, lines: list[int] | None = None) -> np.ndarray:
    """Fold ids from a column or file of integers 1..k (one per record), as uint8; every fold from
    1 to the largest must hold a record."""
    where = (lambda i: f"{path}:{lines[i] if lines else i + 1}") if path else (lambda i: f"record {i + 1}")
    numbers = pd.to_numeric(pd.Series(list(values), dtype=object).astype(str).str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0) | (numbers < 1) | (numbers > MAX_FOLDS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DnacnnError(f"{where(i)}: fold {values[i]!r} is not a whole number from 1 to {MAX_FOLDS}; fix the fold")
    folds = numbers.to_numpy(dtype=np.uint8)
    empty = sorted(set(range(1, int(folds.max(initial=0)) + 1)) - set(np.unique(folds).tolist()))
    if len(folds) and (empty or folds.max() < 2):
        problem = f"fold {empty[0]} holds no record" if empty else "only one fold"
        raise DnacnnError(f"{path or 'folds'}: {problem}; number the folds 1..k with k >= 2")
    return folds


def fold_split(
    folds: np.ndarray, fold: int, labels: np.ndarray, task: str, valid_frac: float = 0.1, seed: int = 0
) -> np.ndarray:
    """Split codes for one fold of a cross-validation: its records are the test split; a seeded,
    stratified ``valid_frac`` of the other records (for early stopping) is the validation split."""
    folds = np.asarray(folds)
    k = int(folds.max(initial=0))
    if not 1 <= fold <= k:
        raise DnacnnError(f"--fold {fold}: the store has folds 1..{k}; choose one of them")
    split = np.full(len(folds), TEST, dtype=np.uint8)
    rest = np.flatnonzero(folds != fold)
    if valid_frac > 0:
        inner = random_split(np.asarray(labels)[rest], task, valid_frac=valid_frac, test_frac=0, seed=seed)
        split[rest] = inner
    else:
        split[rest] = TRAIN
    return split
