import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dnacnn.metrics import compute_metrics, main_metric, metrics_table


def test_binary_auc_of_a_known_ranking():
    # one positive (0.35) ranked below one negative (0.4): 3 of 4 pairs ordered -> AUC 0.75
    m = compute_metrics(np.array([[0], [0], [1], [1]]), np.array([[0.1], [0.4], [0.35], [0.8]]), "binary", ["t"])
    t = m["tasks"]["t"]
    assert t["roc_auc"] == pytest.approx(0.75)
    assert t["pr_auc"] == pytest.approx((1.0 + 2 / 3) / 2)  # precision 1 at recall 0.5, 2/3 at recall 1
    assert (t["n"], t["n_pos"]) == (4, 2)


def test_binary_confusion_counts_at_threshold():
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.6, 0.2, 0.4, 0.9, 0.7, 0.5])
    t = compute_metrics(y, s, "binary", ["t"])["tasks"]["t"]
    # predicted positive: 0.6, 0.9, 0.7, 0.5 (>= 0.5)
    assert t["confusion"] == [[2, 1], [1, 3]]
    assert t["accuracy"] == pytest.approx(5 / 7)
    assert t["precision"] == pytest.approx(3 / 4)
    assert t["recall"] == pytest.approx(3 / 4)
    assert t["f1"] == pytest.approx(3 / 4)
    assert t["balanced_accuracy"] == pytest.approx((2 / 3 + 3 / 4) / 2)
    mcc = (3 * 2 - 1 * 1) / np.sqrt(4 * 4 * 3 * 3)
    assert t["mcc"] == pytest.approx(mcc)
    strict = compute_metrics(y, s, "binary", ["t"], threshold=0.65)["tasks"]["t"]
    assert strict["confusion"] == [[3, 0], [2, 2]]


def test_binary_multitask_skips_missing_labels_and_guards_single_class():
    y = np.array([[0, 1], [1, np.nan], [0, 1], [1, 1]], dtype=float)
    s = np.array([[0.2, 0.9], [0.7, 0.1], [0.3, 0.8], [0.6, 0.4]])
    m = compute_metrics(y, s, "binary", ["a", "b"])
    assert m["tasks"]["a"]["roc_auc"] == 1.0
    b = m["tasks"]["b"]
    assert (b["n"], b["n_pos"]) == (3, 3)  # the NaN row is left out
    assert b["roc_auc"] is None and b["pr_auc"] is None and b["balanced_accuracy"] is None
    assert b["confusion"] == [[0, 0], [1, 2]]
    assert m["macro"]["roc_auc"] == 1.0  # undefined AUCs do not count
    assert m["macro"]["accuracy"] == pytest.approx((1.0 + 2 / 3) / 2)
    json.dumps(m, allow_nan=False)  # JSON-safe: no NaN, no numpy scalars


def test_binary_all_labels_missing_gives_empty_task():
    y = np.array([[1, np.nan], [0, np.nan]])
    m = compute_metrics(y, np.full((2, 2), 0.5), "binary", ["a", "b"])
    assert m["tasks"]["b"]["n"] == 0
    assert m["tasks"]["b"]["accuracy"] is None
    json.dumps(m, allow_nan=False)


def test_multiclass_metrics_match_hand_counts_and_sklearn():
    y = np.array([0, 1, 2, 2, 1])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.6, 0.3, 0.1]])
    m = compute_metrics(y[:, None], p, "multiclass", ["x", "y", "z"])
    macro = m["macro"]
    assert macro["confusion"] == [[1, 0, 0], [1, 1, 0], [0, 1, 1]]
    assert macro["accuracy"] == pytest.approx(3 / 5)
    assert macro["balanced_accuracy"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert macro["roc_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
    assert macro["n"] == 5
    assert m["tasks"]["y"]["n"] == 2
    assert m["tasks"]["x"]["precision"] == pytest.approx(0.5)  # predicted x twice, right once
    assert main_metric(m) == ("accuracy", pytest.approx(0.6))


def test_multiclass_absent_class_and_missing_labels():
    y = np.array([[0], [1], [np.nan], [1]])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.2, 0.5, 0.3]])
    m = compute_metrics(y, p, "multiclass", ["a", "b", "c"])
    assert m["macro"]["n"] == 3
    assert m["tasks"]["c"]["roc_auc"] is None  # class c never occurs
    assert m["macro"]["roc_auc"] == 1.0
    assert m["macro"]["confusion"] == [[1, 0, 0], [0, 2, 0], [0, 0, 0]]


def test_regression_metrics_of_known_vectors():
    m = compute_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 5.0]), "regression", ["t"])
    t = m["tasks"]["t"]
    # centred cross-products sum to 5.5, squares to 5 (y) and 8.75 (p)
    assert t["pearson_r"] == pytest.approx(5.5 / np.sqrt(5 * 8.75))
    assert t["spearman_rho"] == pytest.approx(0.8)
    assert t["r2"] == pytest.approx(1 - 3 / 5)
    assert t["mse"] == pytest.approx(0.75)
    assert t["mae"] == pytest.approx(0.75)
    assert t["n"] == 4
    assert m["macro"]["pearson_r"] == t["pearson_r"]


def test_regression_constant_prediction_has_no_correlation():
    y = np.array([[1.0, 0.5], [2.0, np.nan], [3.0, 1.5]])
    m = compute_metrics(y, np.array([[2.0, 0.0], [2.0, 9.0], [2.0, 1.0]]), "regression", ["flat", "b"])
    assert m["tasks"]["flat"]["pearson_r"] is None
    assert m["tasks"]["flat"]["mse"] == pytest.approx(2 / 3)
    assert m["tasks"]["b"]["n"] == 2
    assert m["tasks"]["b"]["pearson_r"] == pytest.approx(1.0)
    assert m["macro"]["pearson_r"] == pytest.approx(1.0)
    json.dumps(m, allow_nan=False)


def test_metrics_table_has_one_row_per_task_and_macro():
    y = np.array([[0, 1], [1, 0], [1, 1], [0, 0]], dtype=float)
    m = compute_metrics(y, np.array([[0.2, 0.6], [0.9, 0.3], [0.6, 0.7], [0.1, 0.4]]), "binary", ["a", "b"])
    table = metrics_table(m)
    assert table["task"].tolist() == ["a", "b", "macro"]
    assert "confusion" not in table.columns
    assert table.loc[0, "roc_auc"] == 1.0
    assert table.loc[0, "n"] == 4 and table["n"].isna().tolist() == [False, False, True]
    assert table.columns[:3].tolist() == ["task", "roc_auc", "pr_auc"]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown task"):
        compute_metrics(np.zeros(3), np.zeros(3), "ranking", ["t"])
    with pytest.raises(ValueError, match="disagree"):
        compute_metrics(np.zeros((3, 2)), np.zeros((3, 2)), "binary", ["only-one"])
    with pytest.raises(ValueError, match="class ids"):
        compute_metrics(np.array([[0], [3]]), np.full((2, 3), 1 / 3), "multiclass", ["a", "b", "c"])
