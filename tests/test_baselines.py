"""k-mer and genotype baselines (dnacnn.baselines): counts, fits on real data, missing labels, row caps."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, train_test_split

from dnacnn.baselines import (
    dosage_logistic,
    dosage_matrix,
    fit_baseline,
    kmer,
    kmer_counts,
    kmer_logistic,
    kmer_names,
    reverse_complement_columns,
    ridge,
)
from dnacnn.codes import DNA_LUT
from dnacnn.metrics import compute_metrics

# the team's real datasets beside the checkout (as the shared_data fixture in conftest.py)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside this checkout")


def encode(seqs: list[str]) -> np.ndarray:
    return np.stack([DNA_LUT[np.frombuffer(s.encode(), np.uint8)] for s in seqs])


def naive_counts(seq: str, k: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i in range(len(seq) - k + 1):
        kmer = seq[i : i + k]
        if "N" not in kmer:
            counts[kmer] = counts.get(kmer, 0) + 1
    return counts


def as_dict(row, k: int) -> dict[str, int]:
    names = kmer_names(k)
    return {names[j]: int(v) for j, v in zip(row.indices, row.data, strict=True)}


def test_kmer_counts_skip_windows_with_n_and_fold_strands():
    codes = encode(["ACGTNACG"])
    counts = kmer_counts(codes, 3)
    assert counts.shape == (1, 64)
    assert as_dict(counts, 3) == {"ACG": 2, "CGT": 1}  # GTN, TNA, NAC hold the N
    # ACG and CGT are each other's reverse complement: both get 2 + 1
    assert as_dict(kmer_counts(codes, 3, canonical=True), 3) == {"ACG": 3, "CGT": 3}


def test_kmer_counts_match_a_naive_count():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.24, 0.04], size=37)) for _ in range(20)]
    for k in (1, 2, 4):
        counts = kmer_counts(encode(seqs), k)
        for i, seq in enumerate(seqs):
            assert as_dict(counts[i], k) == naive_counts(seq, k)


def test_kmer_counts_are_the_same_in_chunks(monkeypatch):
    codes = np.random.default_rng(1).integers(0, 5, (50, 30)).astype(np.uint8)
    whole = kmer_counts(codes, 3)
    monkeypatch.setattr(kmer, "_KMER_CHUNK_WINDOWS", 60)  # 2 rows per chunk
    assert (kmer_counts(codes, 3) != whole).nnz == 0


def test_kmer_columns_and_reverse_complements():
    assert kmer_names(2)[:5] == ["AA", "AC", "AG", "AT", "CA"]
    rc = reverse_complement_columns(3)
    names = kmer_names(3)
    assert names[rc[names.index("AAC")]] == "GTT"
    assert (rc[rc] == np.arange(64)).all()
    assert kmer_counts(np.zeros((2, 0), np.uint8), 3).shape == (2, 64)


@needs_data
def test_kmer_logistic_finds_the_zou2019_motif():
    """Every positive of Zou et al. 2019 holds CGACCGAACTCC: k-mers separate them almost perfectly."""
    seqs = (DATA / "zou2019-primer" / "sequences.txt").read_text().split()
    y = np.loadtxt(DATA / "zou2019-primer" / "labels.txt")[:, None]
    X = encode(seqs)
    train, test = train_test_split(np.arange(len(X)), test_size=0.25, random_state=42)  # the published split
    fit, valid = train[:1200], train[1200:]
    model = kmer_logistic(X[fit], y[fit], X[valid], y[valid])
    auc = compute_metrics(y[test], model.predict_proba(X[test]), "binary", ["bound"])["macro"]["roc_auc"]
    assert auc >= 0.99  # measured 1.000 (k = 5; validation AUC 0.950 for k = 3, 1.000 for k >= 5)
    assert model.k >= 4 and model.valid_scores[3] < model.valid_scores[model.k]
    assert model.name == f"{model.k}-mer logistic regression"


@needs_data
def test_kmer_logistic_on_deepbind_rest():
    """REST ChIP-seq peaks vs their dinucleotide shuffles (DeepBind's test file, split 600/200/200)."""
    table = pd.read_csv(DATA / "deepbind-encode" / "REST_GM12878_NRSF_HudsonAlpha_B.seq.gz", sep="\t")
    X, y = encode(list(table["seq"])), table["Bound"].to_numpy(float)[:, None]
    order = np.random.default_rng(0).permutation(len(X))
    fit, valid, test = order[:600], order[600:800], order[800:]
    model = kmer_logistic(X[fit], y[fit], X[valid], y[valid])
    auc = compute_metrics(y[test], model.predict_proba(X[test]), "binary", ["REST"])["macro"]["roc_auc"]
    assert auc >= 0.96  # measured 0.980 with k = 6 (DeepBind, trained on 500 peaks: 0.999)


def test_kmer_logistic_multitask_multiclass_and_missing_labels():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, (400, 40)).astype(np.uint8)
    y = np.zeros((400, 2))
    y[::2, 0] = 1
    X[::2, 10:18] = encode(["GGGATTCC"])[0]
    y[:, 1] = rng.integers(0, 2, 400)  # a task with no signal
    y[::7, 1] = np.nan
    model = kmer_logistic(X[:300], y[:300], X[300:], y[300:], ks=(3, 4))
    p = model.predict_proba(X[300:])
    assert p.shape == (100, 2) and p.dtype == np.float32
    assert compute_metrics(y[300:], p, "binary", ["a", "b"])["tasks"]["a"]["roc_auc"] > 0.9
    classes = np.where(y[:, 0] == 1, 2, rng.integers(0, 2, 400)).astype(float)[:, None]  # 2 = has the motif
    mc = kmer_logistic(X[:300], classes[:300], None, None, ks=(4,), task="multiclass", n_classes=4)
    probs = mc.predict_proba(X[300:])
    assert probs.shape == (100, 4)  # class 3 never seen: probability 0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs[:, 3] == 0).all()


def test_single_class_training_task_predicts_its_prevalence():
    X = np.random.default_rng(0).integers(0, 4, (60, 20)).astype(np.uint8)
    y = np.column_stack([np.arange(60) % 2, np.ones(60)]).astype(float)
    model = kmer_logistic(X[:40], y[:40], X[40:], y[40:], ks=(2,))
    assert (model.predict_proba(X[40:])[:, 1] == 1.0).all()


def test_dosage_matrix_imputes_training_means():
    codes = np.array([[0, 2, 3], [2, 3, 1], [1, 1, 1]], np.uint8)
    X = dosage_matrix(codes)
    np.testing.assert_allclose(X, [[0, 2, 1], [2, 1.5, 1], [1, 1, 1]])
    np.testing.assert_allclose(dosage_matrix(codes, np.array([9, 9, 9])), [[0, 2, 9], [2, 9, 1], [1, 1, 1]])


@pytest.fixture(scope="module")
def wheat():
    """CIMMYT wheat: 599 lines x 1279 DArT markers (0/1), 4 standardised yields."""
    X = np.loadtxt(DATA / "wheat-bglr" / "wheat.X").astype(np.uint8)
    Y = np.loadtxt(DATA / "wheat-bglr" / "wheat.Y")
    return X, Y


@needs_data
@pytest.mark.slow  # ten ridge fits: ~6 s
def test_ridge_reproduces_the_wheat_reference(wheat):
    """RR-BLUP, 10-fold CV as in the data README (reference RidgeCV r: 0.511 / 0.518 / 0.404 / 0.471)."""
    X, Y = wheat
    r = []
    for train, test in KFold(10, shuffle=True, random_state=0).split(X):
        pred = ridge(X[train], Y[train]).predict(X[test])
        r.append([np.corrcoef(pred[:, j], Y[test, j])[0, 1] for j in range(4)])
    # measured 0.512 / 0.518 / 0.400 / 0.467
    np.testing.assert_allclose(np.mean(r, axis=0), [0.511, 0.518, 0.404, 0.471], atol=0.02)


@needs_data
def test_ridge_with_missing_traits_and_genotypes(wheat):
    X, Y = wheat
    X = X.copy()
    X[::5, ::3] = 3  # missing genotypes
    Y = Y[:, :2].copy()
    Y[::4, 1] = np.nan
    # wheat lines are stored in an order that carries structure: split at random
    order = np.random.default_rng(0).permutation(len(X))
    train, valid, test = order[:420], order[420:480], order[480:]
    model = ridge(X[train], Y[train], X[valid], Y[valid])
    assert model.name == "RR-BLUP (ridge)" and len(model.penalties) == 2 and len(model.valid_scores) == 2
    r = compute_metrics(Y[test], model.predict(X[test]), "regression", ["E1", "E2"])["macro"]["pearson_r"]
    assert r > 0.33  # measured 0.41 (0.43 without the missing values)


@needs_data
def test_fit_baseline_picks_by_kind_and_task(wheat):
    X, Y = wheat
    high = (Y[:, :1] > np.median(Y[:, 0])).astype(float)
    order = np.random.default_rng(0).permutation(len(X))
    train, valid, test = order[:479], order[479:539], order[539:]
    model = fit_baseline("genotype", "binary", X[train], high[train], X[valid], high[valid])
    assert model.name == "logistic regression on dosages"
    auc = compute_metrics(high[test], model.predict_scores(X[test]), "binary", ["E1"])["macro"]["roc_auc"]
    assert auc > 0.62  # measured 0.69 (0.65-0.73 over other seeds of the split)
    assert isinstance(dosage_logistic(X[:100], high[:100], Cs=(0.01,)).penalties[0], float)
    with pytest.raises(ValueError, match="unknown data kind"):
        fit_baseline("protein", "binary", X, high)


def test_kmer_logistic_caps_the_rows_it_fits_on(monkeypatch):
    seen = []
    fit = kmer.fit_task_models
    monkeypatch.setattr(kmer, "fit_task_models", lambda *a, **kw: seen.append(a[2].shape) or fit(*a, **kw))
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, (300, 30)).astype(np.uint8)
    y = rng.integers(0, 2, (300, 1)).astype(float)
    model = kmer_logistic(X[:250], y[:250], X[250:], y[250:], ks=(2,), max_rows=40)
    assert seen == [(40, 16)]
    assert model.predict_proba(X[:5]).shape == (5, 1)
