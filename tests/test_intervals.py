import numpy as np
import pytest
from sklearn import metrics as skm

from dnacnn.intervals import _resample_counts, _SortedScores, fisher_z_interval, headline_intervals
from dnacnn.metrics import HEADLINE_METRICS, compute_metrics


def binary_data(n=400, seed=0, ties=True):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    s = rng.random(n) * 0.6 + 0.35 * y
    b = rng.random(n) * 0.8 + 0.15 * y
    return y, (np.round(s, 2) if ties else s), (np.round(b, 2) if ties else b)


@pytest.mark.parametrize("ties", [True, False])
def test_weighted_areas_equal_sklearn_with_sample_weights(ties):
    y, s, _ = binary_data(ties=ties)
    w = _resample_counts(np.random.default_rng(3), len(y), 4)
    roc, ap = _SortedScores(y, s).areas(w)
    for i in range(4):
        assert roc[i] == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w[i]), abs=1e-12)
        assert ap[i] == pytest.approx(skm.average_precision_score(y, s, sample_weight=w[i]), abs=1e-12)


def test_resamples_are_bootstrap_counts():
    w = _resample_counts(np.random.default_rng(0), 50, 7)
    assert w.shape == (7, 50) and (w.sum(axis=1) == 50).all() and (w >= 0).all()


@pytest.mark.parametrize("task", ["binary", "regression", "multiclass"])
def test_intervals_hold_the_point_estimate_and_are_reproducible(task):
    rng = np.random.default_rng(1)
    if task == "binary":
        y, s, b = binary_data()
        names = ["t"]
    elif task == "regression":
        y = rng.normal(size=150)
        s, b = 0.7 * y + rng.normal(size=150), 0.3 * y + rng.normal(size=150)
        names = ["t"]
    else:
        y = rng.integers(0, 3, 300).astype(float)[:, None]
        s, b = rng.dirichlet([1, 1, 1], 300), rng.dirichlet([1, 1, 1], 300)
        s[np.arange(300), y[:, 0].astype(int)] += 0.6
        names = ["a", "b", "c"]
    out = headline_intervals(y, s, task, b, n_boot=300, seed=4)
    assert out == headline_intervals(y, s, task, b, n_boot=300, seed=4)
    point, base = compute_metrics(y, s, task, names)["macro"], compute_metrics(y, b, task, names)["macro"]
    for m in HEADLINE_METRICS[task]:
        ci = out["cnn"][m]
        assert ci["low"] <= point[m] <= ci["high"], m
        diff = out["difference"][m]
        assert diff["estimate"] == pytest.approx(point[m] - base[m])
        assert diff["low"] <= diff["estimate"] <= diff["high"]
    main = HEADLINE_METRICS[task][0]
    # the model was built to be clearly better than the baseline on the main metric
    assert out["difference"][main]["low"] > 0 and out["difference"][main]["p_value"] < 0.05


def test_no_difference_gives_a_large_p_value():
    y, s, _ = binary_data(n=600, seed=2)
    noise = np.random.default_rng(9).normal(0, 1e-3, len(s))
    out = headline_intervals(y, s, "binary", s + noise, n_boot=400)
    assert out["difference"]["roc_auc"]["p_value"] > 0.2
    assert out["difference"]["roc_auc"]["low"] < 0 < out["difference"]["roc_auc"]["high"] or (
        abs(out["difference"]["roc_auc"]["estimate"]) < 1e-3
    )


def test_interval_width_shrinks_with_n():
    wide = headline_intervals(*binary_data(n=100)[:2], "binary", n_boot=300)["cnn"]["roc_auc"]
    narrow = headline_intervals(*binary_data(n=3000)[:2], "binary", n_boot=300)["cnn"]["roc_auc"]
    assert narrow["high"] - narrow["low"] < (wide["high"] - wide["low"]) / 2


def test_pearson_r_uses_fisher_z():
    rng = np.random.default_rng(0)
    y = rng.normal(size=120)
    p = 0.6 * y + rng.normal(size=120)
    r = float(np.corrcoef(y, p)[0, 1])
    ci = headline_intervals(y, p, "regression")["cnn"]["pearson_r"]
    assert ci["method"] == "fisher-z"
    low, high = fisher_z_interval(r, 120)
    assert (ci["low"], ci["high"]) == pytest.approx((low, high), abs=1e-12)
    # by hand: r = 0.5, n = 103 -> z = 0.5493 +- 1.96 / 10 -> tanh(0.3533), tanh(0.7453)
    assert fisher_z_interval(0.5, 103) == pytest.approx((0.3393, 0.6324), abs=1e-4)
    assert fisher_z_interval(0.5, 3) is None


def test_undefined_metrics_have_no_interval():
    y = np.zeros(50)
    out = headline_intervals(y, np.linspace(0, 1, 50), "binary", np.linspace(1, 0, 50), n_boot=50)
    assert out["cnn"]["roc_auc"] is None and out["difference"]["roc_auc"] is None


def test_missing_labels_are_left_out_per_task():
    y, s, b = binary_data(n=300)
    y2 = np.c_[y, y]
    y2[:100, 1] = np.nan
    out = headline_intervals(y2, np.c_[s, s], "binary", np.c_[b, b], n_boot=100)
    macro = compute_metrics(y2, np.c_[s, s], "binary", ["a", "b"])["macro"]["roc_auc"]
    assert out["cnn"]["roc_auc"]["low"] <= macro <= out["cnn"]["roc_auc"]["high"]
