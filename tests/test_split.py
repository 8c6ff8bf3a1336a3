import dataclasses
from pathlib import Path

import numpy as np
import pytest

from dnacnn import split as splits
from dnacnn.errors import DnacnnError, InputError
from dnacnn.split import chrom_split, random_split, split_from_column

ZOU = Path(__file__).parent / "data" / "zou_labels.txt"


def counts(split: np.ndarray) -> list[int]:
    return np.bincount(split, minlength=3).tolist()


def test_binary_split_is_exact_stratified_and_seeded():
    y = np.loadtxt(ZOU, dtype=np.float32)[:, None]
    assert y.shape == (2000, 1) and y.sum() == 987
    split = random_split(y, "binary", valid_frac=0.1, test_frac=0.25, seed=42)
    assert split.dtype == np.uint8 and counts(split) == [1300, 200, 500]
    assert y[split == 2].sum() in (246, 247)  # 987 * 500 / 2000 = 246.75
    assert y[split == 1].sum() in (98, 99)  # 987 * 200 / 2000 = 98.7
    np.testing.assert_array_equal(split, random_split(y, "binary", valid_frac=0.1, test_frac=0.25, seed=42))
    assert not np.array_equal(split, random_split(y, "binary", valid_frac=0.1, test_frac=0.25, seed=1))


def test_sizes_round_up_like_sklearn_and_zero_fractions_are_empty():
    y = np.zeros((599, 1), np.float32)
    assert counts(random_split(y, "regression")) == [479, 60, 60]
    assert counts(random_split(np.zeros((30, 1)), "regression")) == [24, 3, 3]  # 0.1 * 30 is not 3.0000000000000004
    assert counts(random_split(y, "regression", valid_frac=0.2, test_frac=0)) == [479, 120, 0]
    assert counts(random_split(y, "regression", valid_frac=0, test_frac=0)) == [599, 0, 0]
    assert counts(random_split(np.zeros((0, 1)), "binary")) == [0, 0, 0]


def test_multiclass_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [600, 300, 100]).astype(np.float32)[:, None]
    split = random_split(y, "multiclass", seed=3)
    assert counts(split) == [800, 100, 100]
    for part in (1, 2):
        assert np.bincount(y[split == part, 0].astype(int)).tolist() == [60, 30, 10]


def test_multitask_binary_stratifies_by_label_tuple():
    y = np.zeros((800, 2), np.float32)
    y[:400, 0] = 1
    y[200:600, 1] = 1  # four combos of 200 rows each
    split = random_split(y, "binary")
    test = y[split == 2]
    combos = np.unique(test, axis=0, return_counts=True)[1]
    assert combos.tolist() == [20, 20, 20, 20]


def test_many_label_tuples_fall_back_to_the_first_task():
    y = np.random.default_rng(0).integers(0, 2, size=(1000, 8)).astype(np.float32)  # 256 combos
    y[:, 0] = np.arange(1000) < 200
    split = random_split(y, "binary")
    assert y[split == 2, 0].sum() == 20 and y[split == 1, 0].sum() == 20


def test_missing_labels_and_tiny_classes_do_not_break_stratification():
    y = np.repeat([0, 1, np.nan, 2], [50, 40, 9, 1]).astype(np.float32)[:, None]
    split = random_split(y, "multiclass")
    assert counts(split) == [80, 10, 10]
    assert np.isnan(y[split == 2, 0]).sum() == 1
    tiny = np.array([[0], [1], [2], [3], [4]], np.float32)  # five classes, one row each
    assert counts(random_split(tiny, "multiclass", valid_frac=0.2, test_frac=0.2)) == [3, 1, 1]


def co_test(monkeypatch, chunk: int, y: np.ndarray, seeds: int) -> np.ndarray:
    """How often each pair of rows (the diagonal: each row) lands in the test split over ``seeds``
    seeds, dealt ``chunk`` rows at a time."""
    monkeypatch.setattr(splits, "SPLIT_CHUNK", chunk)
    test = np.array([random_split(y, "binary", valid_frac=0.1, test_frac=0.2, seed=s) == 2 for s in range(seeds)])
    test = test.astype(np.float64)
    return test.T @ test / seeds


@pytest.mark.parametrize("chunk", [7, 1 << 16])
def test_every_assignment_with_the_strata_sizes_is_equally_likely(monkeypatch, chunk):
    """The rows are dealt a chunk at a time (memory flat in the record count), yet the draw is that of
    a permutation of all rows: each row of a class is tested as often, and so is each pair of rows,
    whether they share a chunk or not (a fixed quota per chunk would test pairs in one chunk less)."""
    y = np.repeat([0, 1], [24, 16]).astype(np.float32)[:, None]
    seeds = 4000
    pairs = co_test(monkeypatch, chunk, y, seeds)
    # 8 test rows: class 0 (24 rows) takes 5 (4.8 rounded by largest remainder), class 1 takes 3
    for rows, k, size in ((slice(0, 24), 5, 24), (slice(24, 40), 3, 16)):
        block = pairs[rows, rows]
        assert np.abs(np.diag(block) - k / size).max() < 0.03
        off = ~np.eye(size, dtype=bool)
        same_chunk = (np.arange(size)[:, None] // 7 == np.arange(size)[None, :] // 7) & off
        for kind in (same_chunk, off & ~same_chunk):
            assert abs(block[kind].mean() - k * (k - 1) / (size * (size - 1))) < 0.004


def test_a_split_dealt_in_chunks_keeps_exact_sizes_and_reads_a_memory_map(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 10_001).astype(np.float32)[:, None]
    y[rng.random(len(y)) < 0.01] = np.nan
    want = random_split(y, "multiclass", valid_frac=0.15, test_frac=0.05, seed=5)
    mapped = np.lib.format.open_memmap(tmp_path / "y.npy", "w+", np.float32, y.shape)
    mapped[:] = y
    mapped.flush()
    from_disk = random_split(np.load(tmp_path / "y.npy", mmap_mode="r"), "multiclass", 0.15, 0.05, 5)
    np.testing.assert_array_equal(from_disk, want)
    monkeypatch.setattr(splits, "SPLIT_CHUNK", 333)
    small = random_split(y, "multiclass", valid_frac=0.15, test_frac=0.05, seed=5)
    assert not np.array_equal(small, want)  # the chunk size is part of the draw

    def per_stratum(rows) -> np.ndarray:  # NaN, then classes 0, 1, 2
        return np.array([np.isnan(rows).sum(), *np.bincount(rows[~np.isnan(rows)].astype(int), minlength=3)])

    whole = per_stratum(y[:, 0])
    for split in (want, small):
        assert counts(split) == [7999, 1501, 501]
        for part, size in ((1, 1501), (2, 501)):  # every stratum (NaN too) within one record of its share
            assert np.abs(per_stratum(y[split == part, 0]) - whole * size / len(y)).max() < 1


def test_a_random_split_holds_a_chunk_not_the_records(tmp_path):
    """Issue 23: 4M labels read from a memory map; Python allocations peak at the 1-byte-a-row
    split codes plus a chunk's temporaries, not several bytes a row."""
    import tracemalloc

    n = 4_000_000
    mapped = np.lib.format.open_memmap(tmp_path / "y.npy", "w+", np.float32, (n, 1))
    mapped[:] = (np.arange(n) % 3 == 0)[:, None]
    mapped.flush()
    del mapped
    labels = np.load(tmp_path / "y.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        split = random_split(labels, "binary", seed=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counts(split) == [3_200_000, 400_000, 400_000]
    assert peak < n + (16 << 20), peak / n


def test_regression_bins_stratify_by_quantile():
    y = np.arange(1000, dtype=np.float32)[:, None]
    split = random_split(y, "regression", regression_bins=10, seed=0)
    assert counts(split) == [800, 100, 100]
    deciles = (y[split == 2, 0] // 100).astype(int)
    assert np.bincount(deciles).tolist() == [10] * 10
    plain = random_split(y, "regression", seed=0)
    assert counts(plain) == [800, 100, 100]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"valid_frac": 0.5, "test_frac": 0.5},
            "valid_frac + test_frac = 1 leaves no training data; make their sum < 1",
        ),
        ({"valid_frac": -0.1}, "valid_frac = -0.1 is outside [0, 1); give a fraction such as 0.1"),
        ({"task": "ranking"}, "unknown task 'ranking'; use one of binary, multiclass, regression"),
    ],
)
def test_random_split_errors(kwargs, message):
    args = {"task": "binary", **kwargs}
    with pytest.raises(DnacnnError) as e:
        random_split(np.zeros((100, 1)), **args)
    assert str(e.value) == message


def test_too_few_rows():
    with pytest.raises(DnacnnError) as e:
        random_split(np.zeros((2, 1)), "binary")
    assert (
        str(e.value) == "2 records are too few for 1 validation and 1 test records; add records or lower the fractions"
    )


def test_chrom_split_accepts_coordinate_forms():
    ids = [
        "chr1:100-201",
        "chr8:1000-1101(+)",
        "chr8:5-10(-)",
        "peak7::chr2:1-2",
        "chrUn_gl000220_1000_1101",
        "chr2_5_6",
        "chrX:0-101(.)",
    ]
    split = chrom_split(ids, valid_chroms=["chr2"], test_chroms=["chr8", "chrUn_gl000220"])
    assert split.dtype == np.uint8 and split.tolist() == [0, 2, 2, 1, 2, 1, 0]
    assert chrom_split(ids, [], []).tolist() == [0] * 7


def test_chrom_split_errors():
    with pytest.raises(DnacnnError) as e:
        chrom_split(["chr1:1-10", "seq_00001_peak"], [], ["chr1"])
    assert str(e.value) == (
        "record 2 ('seq_00001_peak'): id carries no coordinates, so its chromosome is unknown; "
        "name records chrom:start-end (e.g. chr8:1000-1101) or use a random split"
    )
    with pytest.raises(DnacnnError) as e:
        chrom_split(["chr1:1-10", "chr2:1-10"], ["chr2"], ["Chr8"])
    assert (
        str(e.value) == "held-out chromosome 'Chr8' matches no record (records are on chr1, chr2); check its spelling"
    )
    with pytest.raises(DnacnnError) as e:
        chrom_split(["chr1:1-10"], ["chr1"], ["chr1"])
    assert str(e.value) == "chromosome chr1 is held out for both validation and test; give it to one only"


def test_split_from_column():
    split = split_from_column(["train", " Train", "VALID", "validation", "Val", "test", "TESTING", "training"])
    assert split.dtype == np.uint8 and split.tolist() == [0, 0, 1, 1, 1, 2, 2, 0]
    assert split_from_column([]).tolist() == []
    with pytest.raises(DnacnnError) as e:
        split_from_column(["train", "holdout"])
    assert str(e.value) == "record 2: unknown split 'holdout'; use train, valid (or validation) or test"
    with pytest.raises(InputError) as e:
        split_from_column(["train", "test", ""], path="peaks.tsv", lines=[2, 3, 4])
    assert str(e.value) == "peaks.tsv:4: unknown split ''; use train, valid (or validation) or test"


# --------------------------------------------------------------------------------------------
# cross-validation folds


def test_kfold_assignment_is_seeded_balanced_and_stratified():
    from dnacnn.split import kfold_assignment

    y = np.r_[np.ones(30), np.zeros(70)].astype(np.float32)
    folds = kfold_assignment(y, "binary", 10, seed=3)
    assert folds.dtype == np.uint8 and sorted(np.unique(folds)) == list(range(1, 11))
    assert (np.bincount(folds)[1:] == 10).all()
    assert all((y[folds == f] == 1).sum() == 3 for f in range(1, 11))  # 30% positives in every fold
    assert (folds == kfold_assignment(y, "binary", 10, seed=3)).all()
    assert not (folds == kfold_assignment(y, "binary", 10, seed=4)).all()
    reg = kfold_assignment(np.random.default_rng(0).normal(size=(25, 1)), "regression", 5)
    assert (np.bincount(reg)[1:] == 5).all()


@pytest.mark.parametrize(
    "k, n, message", [(1, 10, "between 2 and 100"), (101, 200, "between 2 and 100"), (5, 3, "too few for 5 folds")]
)
def test_kfold_assignment_refuses_impossible_fold_counts(k, n, message):
    from dnacnn.split import kfold_assignment

    with pytest.raises(DnacnnError, match=message):
        kfold_assignment(np.zeros(n), "regression", k)


def test_folds_from_values_reads_a_fold_file_like_wheat_sets():
    from dnacnn.split import folds_from_values

    assert folds_from_values(["1", "2", " 3", "2", "1"]).tolist() == [1, 2, 3, 2, 1]
    with pytest.raises(DnacnnError, match=r"sets:4: fold 'x' is not a whole number"):
        folds_from_values(["1", "2", "1", "x"], path="sets")
    with pytest.raises(DnacnnError, match=r"sets:2: fold '1.5'"):
        folds_from_values(["1", "1.5"], path="sets")
    with pytest.raises(DnacnnError, match="fold 2 holds no record"):
        folds_from_values(["1", "3", "1"])
    with pytest.raises(DnacnnError, match="only one fold"):
        folds_from_values(["1", "1"])


def test_fold_split_holds_out_one_fold_and_validates_on_the_rest():
    from dnacnn.split import TEST, TRAIN, VALID, fold_split, kfold_assignment

    y = np.random.default_rng(0).normal(size=(200, 1)).astype(np.float32)
    folds = kfold_assignment(y, "regression", 10, seed=0)
    split = fold_split(folds, 4, y, "regression", valid_frac=0.1, seed=0)
    assert ((split == TEST) == (folds == 4)).all()
    assert (split == VALID).sum() == 18 and (split == TRAIN).sum() == 162
    assert not (fold_split(folds, 4, y, "regression", valid_frac=0.0) == VALID).any()
    with pytest.raises(DnacnnError, match=r"--fold 11: the store has folds 1..10"):
        fold_split(folds, 11, y, "regression")


def test_a_store_with_folds_gives_each_fold_its_split(tmp_path):
    from dnacnn.codes import Encoding
    from dnacnn.store import Store, StoreWriter

    n = 40
    with StoreWriter(tmp_path / "s.store", 8, 1) as writer:
        writer.append(np.zeros((n, 8), np.uint8), np.arange(n, dtype=np.float32)[:, None], [f"r{i}" for i in range(n)])
        folds = np.repeat(np.arange(1, 5, dtype=np.uint8), 10)
        manifest = {"encoding": Encoding("genotype", "dosage", 1, 8).to_dict(), "task": "regression",
                    "label_names": ["y"]}  # fmt: skip
        writer.finish(np.zeros(n, np.uint8), manifest, folds=folds)
    store = Store.open(tmp_path / "s.store")
    assert store.n_folds == 4 and store.folds.tolist() == folds.tolist()
    fold2 = store.for_fold(2, valid_frac=0.1)
    assert fold2.indices("test").tolist() == list(range(10, 20))
    assert fold2.manifest["split_counts"] == {"train": 27, "valid": 3, "test": 10} and fold2.manifest["fold"] == 2
    assert store.indices("test").tolist() == []  # the store itself is unchanged
    with pytest.raises(DnacnnError, match="no folds; encode it with --split folds"):
        dataclasses.replace(store, folds=None).for_fold(1)
