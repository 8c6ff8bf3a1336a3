"""GBLUP, RKHS and kernel averaging (dnacnn.kernels): identities, simulated truths, determinism, input checks."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV

from dnacnn.baselines import ridge
from dnacnn.kernels import (
    GBLUP,
    RKHS,
    KernelAverage,
    genomic_relationship,
    marker_means,
    vanraden_scale,
)
from dnacnn.kernels.mixed_model import Eigen, inner_folds

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside this checkout")


def genotypes(n: int, p: int, seed: int = 0, missing: float = 0.0) -> np.ndarray:
    """0/1/2 codes with allele frequencies 0.05..0.95 (uint8; 3 = missing at rate ``missing``)."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.95, p)
    X = rng.binomial(2, freq, size=(n, p)).astype(np.uint8)
    if missing:
        X[rng.random(X.shape) < missing] = 3
    return X


def additive_trait(X: np.ndarray, h2: float, seed: int = 1, qtl: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    effects = np.zeros(X.shape[1])
    effects[rng.choice(X.shape[1], qtl, replace=False)] = rng.normal(size=qtl)
    g = (X - X.mean(0)) @ effects
    g /= g.std()
    e = rng.normal(scale=np.sqrt((1 - h2) / h2), size=len(g))
    return g, g + e


def pearson(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


# --------------------------------------------------------------------------- GRM


def test_vanraden_grm_matches_the_formula():
    X = genotypes(30, 80, seed=3)
    p = X.mean(0) / 2
    Z = X - 2 * p
    expected = Z @ Z.T / (2 * np.sum(p * (1 - p)))
    np.testing.assert_allclose(genomic_relationship(X), expected, rtol=1e-10, atol=1e-12)
    # chunking over markers changes nothing
    np.testing.assert_allclose(genomic_relationship(X, chunk_markers=7), expected, rtol=1e-10, atol=1e-12)
    # cross relationships: rows of other against rows of X, centred by X's frequencies
    other = genotypes(5, 80, seed=4)
    np.testing.assert_allclose(
        genomic_relationship(X, other), (other - 2 * p) @ Z.T / (2 * np.sum(p * (1 - p))), rtol=1e-10, atol=1e-12
    )


def test_missing_genotypes_take_the_marker_mean():
    X = genotypes(40, 60, seed=5, missing=0.1)
    means = marker_means(X)
    observed = np.where(X == 3, np.nan, X.astype(float))
    np.testing.assert_allclose(means, np.nanmean(observed, axis=0))
    # imputing by hand gives the same matrix; float dosages with NaN are read the same way
    filled = np.where(X == 3, means, X)
    p = means / 2
    expected = (filled - means) @ (filled - means).T / vanraden_scale(means)
    np.testing.assert_allclose(genomic_relationship(X), expected, atol=1e-12)
    np.testing.assert_allclose(genomic_relationship(observed), expected, atol=1e-12)
    assert vanraden_scale(means) == pytest.approx(2 * np.sum(p * (1 - p)))


# --------------------------------------------------------------------------- GBLUP


def test_gblup_equals_ridge_on_centred_markers_with_the_matched_penalty():
    X = genotypes(120, 300, seed=0)
    _, y = additive_trait(X, 0.5)
    model = GBLUP().fit(X[:100], y[:100])
    Xc = X - X[:100].mean(0)
    reference = Ridge(alpha=float(model.ridge_alpha_[0])).fit(Xc[:100], y[:100])
    np.testing.assert_allclose(model.predict(X[100:]), reference.predict(Xc[100:]), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.marker_effects_[:, 0], reference.coef_, rtol=1e-6, atol=1e-10)
    assert model.intercept_[0] == pytest.approx(y[:100].mean())  # centred G: the GLS mean is the mean


def test_gblup_reml_recovers_heritability_and_accuracy_on_an_additive_trait():
    X = genotypes(700, 300, seed=2)
    g, y = additive_trait(X, 0.6, seed=3, qtl=100)
    model = GBLUP().fit(X[:600], y[:600])
    assert 0.45 < model.heritability_[0] < 0.75
    r = pearson(model.predict(X[600:]), g[600:])
    # expected accuracy with 300 independent markers (Daetwyler 2008): sqrt(N h2 / (N h2 + M)) = 0.74
    assert r > 0.65
    # as good as a cross-validated ridge regression, and the REML ratio lies near the CV optimum
    rr = RidgeCV(alphas=np.logspace(0, 5, 40)).fit(X[:600] - X[:600].mean(0), y[:600])
    assert r > pearson(rr.predict(X[600:] - X[:600].mean(0)), g[600:]) - 0.02
    assert 0.2 < model.ridge_alpha_[0] / rr.alpha_ < 5


def test_gblup_selections_agree_and_cv_is_deterministic():
    X = genotypes(200, 300, seed=6)
    _, y = additive_trait(X, 0.5, seed=7)
    fits = {s: GBLUP(select=s).fit(X[:160], y[:160]) for s in ("reml", "cv", "loo")}
    preds = {s: m.predict(X[160:]) for s, m in fits.items()}
    assert min(pearson(preds["reml"], p) for p in preds.values()) > 0.97
    again = GBLUP(select="cv", seed=0).fit(X[:160], y[:160]).predict(X[160:])
    np.testing.assert_array_equal(again, preds["cv"])


def test_loo_formula_matches_brute_force():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(25, 8))
    K = A @ A.T / 8 + 0.1 * np.eye(25)
    y = rng.normal(size=25) + 3
    deltas = np.array([0.05, 0.5, 5.0])
    fast = Eigen.of(K, y).loo_mse(deltas)
    slow = []
    for d in deltas:
        errs = []
        for i in range(25):
            keep = np.arange(25) != i
            mu, alpha = Eigen.of(K[np.ix_(keep, keep)], y[keep]).coefficients(np.array([d]))
            errs.append(y[i] - mu[0] - K[i, keep] @ alpha[:, 0])
        slow.append(np.mean(np.square(errs)))
    np.testing.assert_allclose(fast, slow, rtol=1e-8)


def test_reml_matches_the_direct_restricted_likelihood():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(30, 10))
    K = A @ A.T / 10
    y = rng.normal(size=30)
    eig = Eigen.of(K, y)
    one = np.ones(30)

    def direct(delta):  # profile REML with the intercept as the fixed effect, by dense algebra
        H = K + delta * np.eye(30)
        Hi = np.linalg.inv(H)
        mu = float(one @ Hi @ y) / float(one @ Hi @ one)
        r = y - mu
        s2 = float(r @ Hi @ r) / 29
        return -0.5 * (29 * np.log(s2) + np.linalg.slogdet(H)[1] + np.log(float(one @ Hi @ one)) + 29)

    for d in (0.1, 1.0, 10.0):
        assert eig.reml(d) == pytest.approx(direct(d), rel=1e-9)


# --------------------------------------------------------------------------- RKHS


def epistatic_trait(X: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A trait driven by pairwise interactions of marker pairs only (no additive effect at all)."""
    rng = np.random.default_rng(seed)
    Z = (X - X.mean(0)) / X.std(0)
    pairs = rng.choice(X.shape[1], size=(300, 2))
    g = np.sum(Z[:, pairs[:, 0]] * Z[:, pairs[:, 1]] * rng.normal(size=300), axis=1)
    g /= g.std()
    return g, g + rng.normal(scale=0.5, size=len(g))


def test_rkhs_beats_ridge_on_an_epistatic_trait():
    # few markers, strong interactions: a Gaussian kernel models them, a linear model cannot
    X = genotypes(500, 20, seed=8)
    g, y = epistatic_trait(X, seed=9)
    train, test = slice(0, 400), slice(400, 500)
    rkhs = RKHS(select="loo").fit(X[train], y[train])
    linear = ridge(X[train], y[train][:, None]).predict(X[test])[:, 0]
    r_rkhs, r_ridge = pearson(rkhs.predict(X[test]), g[test]), pearson(linear, g[test])
    assert r_rkhs > 0.7, r_rkhs  # 0.83 measured
    assert r_ridge < 0.2, r_ridge  # no additive signal to find


def test_rkhs_on_an_additive_trait_is_close_to_gblup():
    X = genotypes(400, 500, seed=10)
    g, y = additive_trait(X, 0.5, seed=11)
    r_gblup = pearson(GBLUP().fit(X[:320], y[:320]).predict(X[320:]), g[320:])
    rkhs = RKHS().fit(X[:320], y[:320])
    assert pearson(rkhs.predict(X[320:]), g[320:]) > r_gblup - 0.05
    # an additive trait wants a broad (nearly linear) kernel
    assert rkhs.bandwidth_[0] >= 1.0


def test_rkhs_reproduces_a_hand_computed_kernel_ridge():
    X = genotypes(60, 50, seed=12)
    y = np.random.default_rng(0).normal(size=60)
    model = RKHS(bandwidths=[0.7], penalties=[0.3], select="loo").fit(X[:50], y[:50])
    D = ((X[:, None, :].astype(float) - X[None, :, :]) ** 2).sum(-1)
    scale = D[:50, :50].sum() / (50 * 49)
    K = np.exp(-D / scale / 0.7)
    H = np.linalg.inv(K[:50, :50] + 0.3 * np.eye(50))
    ones = np.ones(50)
    mu = ones @ H @ y[:50] / (ones @ H @ ones)
    expected = mu + K[50:, :50] @ H @ (y[:50] - mu)
    np.testing.assert_allclose(model.predict(X[50:]), expected, rtol=1e-8, atol=1e-10)
    # training rows: fitted values
    np.testing.assert_allclose(model.predict(X[:50]), mu + K[:50, :50] @ H @ (y[:50] - mu), rtol=1e-8, atol=1e-10)


def test_kernel_average_is_the_mean_of_gaussian_kernels():
    X = genotypes(60, 50, seed=13)
    y = np.random.default_rng(1).normal(size=60)
    model = RKHS(bandwidths=[0.3, 3.0], penalties=[0.5], average=True).fit(X[:50], y[:50])
    D = ((X[:, None, :].astype(float) - X[None, :, :]) ** 2).sum(-1)
    D /= D[:50, :50].sum() / (50 * 49)
    K = (np.exp(-D / 0.3) + np.exp(-D / 3.0)) / 2
    H = np.linalg.inv(K[:50, :50] + 0.5 * np.eye(50))
    ones = np.ones(50)
    mu = ones @ H @ y[:50] / (ones @ H @ ones)
    np.testing.assert_allclose(model.predict(X[50:]), mu + K[50:, :50] @ H @ (y[:50] - mu), rtol=1e-8)
    assert np.isnan(model.bandwidth_[0])


@pytest.mark.parametrize("select", ["cv", "loo", "reml"])
def test_rkhs_is_reproducible_and_chunking_changes_nothing(select):
    X = genotypes(150, 90, seed=14, missing=0.05)
    _, y = epistatic_trait(np.where(X == 3, 1, X), seed=15)
    a = RKHS(select=select, seed=3).fit(X[:120], y[:120])
    b = RKHS(select=select, seed=3, chunk_markers=16).fit(X[:120], y[:120])
    np.testing.assert_allclose(a.predict(X[120:]), b.predict(X[120:]), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(
        a.predict(X[120:]), RKHS(select=select, seed=3).fit(X[:120], y[:120]).predict(X[120:])
    )


def test_inner_folds_partition_the_rows():
    folds = inner_folds(23, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(23))
    assert {len(f) for f in folds} <= {4, 5}
    assert all(np.array_equal(a, b) for a, b in zip(folds, inner_folds(23, 5, seed=0), strict=True))


def test_missing_values_and_float_dosages_give_the_same_fit():
    X = genotypes(120, 70, seed=16, missing=0.08)
    _, y = additive_trait(np.where(X == 3, 1, X), 0.6, seed=17, qtl=30)
    floats = np.where(X == 3, np.nan, X.astype(np.float32))
    for make in (lambda: GBLUP(), lambda: RKHS(select="loo")):
        a = make().fit(X[:100], y[:100]).predict(X[100:])
        b = make().fit(floats[:100], y[:100]).predict(floats[100:])
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert np.all(np.isfinite(a))


def test_multitask_labels_with_missing_values():
    X = genotypes(150, 100, seed=18)
    _, y1 = additive_trait(X, 0.5, seed=19, qtl=50)
    _, y2 = epistatic_trait(X, seed=20)
    Y = np.stack([y1, y2], axis=1)
    Y[:20, 0] = np.nan
    for make in (lambda: GBLUP(), lambda: RKHS(select="loo")):
        model = make().fit(X[:120], Y[:120])
        both = model.predict(X[120:])
        assert both.shape == (30, 2)
        # each task is its own fit (the kernel is built from all training genotypes, labelled or not)
        for t in range(2):
            alone = make().fit(X[:120], Y[:120, t]).predict(X[120:])
            assert alone.shape == (30,)
            np.testing.assert_allclose(both[:, t], alone, rtol=1e-9, atol=1e-12)
    # an unlabelled row gets no dual coefficient for that task
    rkhs = RKHS(select="loo").fit(X[:120], Y[:120])
    assert np.all(rkhs.alpha_[:20, 0] == 0) and np.all(rkhs.alpha_[:20, 1] != 0)


# --------------------------------------------------------------------------- input validation


@pytest.mark.parametrize("make", [GBLUP, RKHS])
def test_bad_inputs_raise_clear_errors(make):
    X = genotypes(20, 10)
    y = np.arange(20.0)
    with pytest.raises(ValueError, match="2-D"):
        make().fit(X[0], y)
    with pytest.raises(ValueError, match="rows but X has"):
        make().fit(X, y[:-1])
    with pytest.raises(ValueError, match="0, 1, 2 .* or 3"):
        make().fit(np.full((20, 10), 7, np.uint8), y)
    with pytest.raises(ValueError, match="infinite"):
        make().fit(np.where(X == 0, np.inf, X.astype(float)), y)
    with pytest.raises(ValueError, match="infinite values; use NaN"):
        make().fit(X, np.where(y == 3, np.inf, y))
    with pytest.raises(ValueError, match="at least 3"):
        make().fit(X, np.where(y < 18, np.nan, y))
    with pytest.raises(ValueError, match="not fitted"):
        make().predict(X)
    model = make(select="loo").fit(X, y)
    with pytest.raises(ValueError, match="9 markers; the model was fitted on 10"):
        model.predict(X[:, :9])
    with pytest.raises(ValueError, match="unknown select"):
        make(select="aic")
    with pytest.raises(ValueError, match="n_folds"):
        make(n_folds=1)
    with pytest.raises(ValueError, match="penalties must all be positive"):
        make(penalties=[0.1, -1])
    with pytest.raises(ValueError, match="more than the 20 labelled"):
        make(n_folds=30, select="cv").fit(X, y)
    with pytest.raises(ValueError, match="no marker varies"):
        make().fit(np.ones((20, 10), np.uint8), y)


def test_rkhs_bandwidths_are_checked():
    with pytest.raises(ValueError, match="bandwidths must all be positive"):
        RKHS(bandwidths=[0.0, 1.0])
    with pytest.raises(ValueError, match="non-empty"):
        RKHS(bandwidths=[])


# --------------------------------------------------------------------------- real data


@needs_data
def test_wheat_rkhs_beats_ridge_on_e1_fixed_folds():
    """CIMMYT wheat E1 (Crossa et al. 2010): the Gaussian kernel's known edge over ridge regression,
    on two of BGLR's fixed folds (the full 10-fold benchmark is benchmarks/accuracy/wheat_sets.py)."""
    wheat = DATA / "wheat-bglr"
    X = np.loadtxt(wheat / "wheat.X").astype(np.uint8)
    y = np.loadtxt(wheat / "wheat.Y")[:, 0]
    sets = np.loadtxt(wheat / "wheat.sets").astype(int)
    r_rkhs, r_ridge = [], []
    for fold in (1, 2):
        tr, te = sets != fold, sets == fold
        r_rkhs.append(pearson(RKHS(select="loo").fit(X[tr], y[tr]).predict(X[te]), y[te]))
        r_ridge.append(pearson(GBLUP().fit(X[tr], y[tr]).predict(X[te]), y[te]))
    assert np.mean(r_rkhs) > np.mean(r_ridge) + 0.03, (r_rkhs, r_ridge)


# --------------------------------------------------------------------------- KernelAverage (REML weights)


def test_kernel_average_with_one_kernel_is_the_reml_rkhs():
    X = genotypes(150, 60, seed=21)
    _, y = epistatic_trait(X, seed=22)
    multi = KernelAverage(bandwidths=[0.5], linear=False).fit(X[:120], y[:120])
    single = RKHS(bandwidths=[0.5], select="reml").fit(X[:120], y[:120])
    assert multi.weights_[0] == pytest.approx([1.0])
    assert multi.delta_[0] == pytest.approx(single.delta_[0], rel=1e-3)
    np.testing.assert_allclose(multi.predict(X[120:]), single.predict(X[120:]), rtol=1e-3, atol=1e-4)


def test_kernel_average_reml_weights_follow_the_genetic_architecture():
    X = genotypes(400, 20, seed=23)
    _, epistatic = epistatic_trait(X, seed=24)
    additive = X @ np.random.default_rng(25).normal(size=20)
    additive = (additive - additive.mean()) / additive.std() + np.random.default_rng(26).normal(size=400)
    names = KernelAverage().kernel_names
    assert names == ["gaussian h=0.2", "gaussian h=1", "gaussian h=5", "GRM"]
    w_epi = KernelAverage().fit(X, epistatic).weights_[0]
    w_add = KernelAverage().fit(X, additive).weights_[0]
    # interactions want the local kernels; an additive trait the GRM or the broad Gaussian (nearly linear)
    assert w_epi[:2].sum() > 0.8, w_epi
    assert w_add[2:].sum() > 0.8, w_add
    np.testing.assert_allclose(w_epi.sum(), 1.0)


def test_kernel_average_predicts_with_its_weighted_kernel():
    X = genotypes(80, 40, seed=27, missing=0.05)
    y = np.random.default_rng(2).normal(size=80) + X[:, 0]
    model = KernelAverage(bandwidths=[0.3, 2.0]).fit(X[:60], y[:60])
    filled = np.where(X == 3, marker_means(X[:60]), X)
    Z = filled - marker_means(X[:60])
    D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    D /= D[:60, :60].sum() / (60 * 59)
    G = Z @ Z.T / np.mean(np.diag(Z[:60] @ Z[:60].T))
    w = model.weights_[0]
    K = w[0] * np.exp(-D / 0.3) + w[1] * np.exp(-D / 2.0) + w[2] * G
    H = np.linalg.inv(K[:60, :60] + model.delta_[0] * np.eye(60))
    ones = np.ones(60)
    mu = ones @ H @ y[:60] / (ones @ H @ ones)
    np.testing.assert_allclose(model.predict(X[60:]), mu + K[60:, :60] @ H @ (y[:60] - mu), rtol=1e-7, atol=1e-9)
    # reproducible; marker blocks change round-off only (the REML optimiser may move by ~1e-6)
    same = KernelAverage(bandwidths=[0.3, 2.0]).fit(X[:60], y[:60])
    np.testing.assert_array_equal(same.predict(X[60:]), model.predict(X[60:]))
    again = KernelAverage(bandwidths=[0.3, 2.0], chunk_markers=7).fit(X[:60], y[:60])
    np.testing.assert_allclose(again.predict(X[60:]), model.predict(X[60:]), rtol=1e-4, atol=1e-4)


def test_kernel_average_checks_its_inputs():
    X = genotypes(20, 10)
    with pytest.raises(ValueError, match="bandwidths must all be positive"):
        KernelAverage(bandwidths=[-1])
    with pytest.raises(ValueError, match="not fitted"):
        KernelAverage().predict(X)
    with pytest.raises(ValueError, match="rows but X has"):
        KernelAverage().fit(X, np.arange(19.0))
    with pytest.raises(ValueError, match="no marker varies"):
        KernelAverage().fit(np.zeros((20, 10), np.uint8), np.arange(20.0))
    model = KernelAverage().fit(X, np.arange(20.0))
    with pytest.raises(ValueError, match="markers; the model was fitted on 10"):
        model.predict(X[:, :5])
