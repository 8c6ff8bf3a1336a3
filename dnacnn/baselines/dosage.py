"""The genotype baselines: RR-BLUP (ridge on marker dosages) and dosage logistic regression.

Contract: genotype codes ``(n, markers)`` (0/1/2 with 3 = missing, or float dosages with NaN =
missing) become a float dosage matrix with missing values set to the training marker means
(:func:`dosage_matrix`); :func:`ridge` (penalty by leave-one-out) and :func:`dosage_logistic`
(``C`` on the validation rows) return a :class:`GenotypeBaseline` whose ``predict_scores(codes)``
has the CNN's output shape and meaning; :func:`ridge_coefficients` gives the ridge fit itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from dnacnn.baselines.task_models import (
    TaskModels,
    as_labels,
    fit_task_models,
    task_scores,
    validation_score,
    with_validation,
)
from dnacnn.codes import GENOTYPE_MISSING


def dosage_matrix(codes: np.ndarray, marker_means: np.ndarray | None = None) -> np.ndarray:
    """Genotype codes ``(n, markers)`` (0/1/2, 3 = missing; or floats with NaN = missing) as a float32
    dosage matrix with each missing value replaced by its marker's mean ``marker_means`` ``(markers,)``
    (default: the mean of the observed values in ``codes``)."""
    X = np.asarray(codes)
    missing = np.isnan(X) if X.dtype.kind == "f" else X == GENOTYPE_MISSING
    X = X.astype(np.float32)
    if marker_means is None:
        marker_means = marker_dosage_means(codes)
    if missing.any():
        X[missing] = np.broadcast_to(np.asarray(marker_means, np.float32), X.shape)[missing]
    return X


def marker_dosage_means(codes: np.ndarray) -> np.ndarray:
    """Mean observed dosage per marker, shape ``(markers,)`` float32 (0 for a marker never observed)."""
    X = np.asarray(codes)
    missing = np.isnan(X) if X.dtype.kind == "f" else X == GENOTYPE_MISSING
    observed = np.where(missing, 0.0, X.astype(np.float64))
    count = (~missing).sum(axis=0)
    return (observed.sum(axis=0) / np.maximum(count, 1)).astype(np.float32)


@dataclass
class GenotypeBaseline:
    """A linear model on marker dosages (missing values imputed with the training marker means).

    Attributes
    ----------
    task : str
        ``regression`` (ridge), ``binary`` or ``multiclass`` (L2 logistic regression).
    marker_means : np.ndarray, shape=(markers,)
        Training-row mean dosage per marker, used for imputation.
    penalties : list of float
        Chosen ridge ``alpha`` per task (regression) or logistic ``C`` (classification).
    valid_scores : list of float or None
        Validation Pearson r (regression) or ROC AUC per task when validation rows were given.
    """

    task: str
    marker_means: np.ndarray = field(repr=False)
    fitted: TaskModels = field(repr=False)
    penalties: list = field(default_factory=list)
    valid_scores: list | None = None

    @property
    def name(self) -> str:
        return "RR-BLUP (ridge)" if self.task == "regression" else "logistic regression on dosages"

    @property
    def description(self) -> str:
        """How it was fitted, in one sentence for reports."""
        penalties = ", ".join(f"{p:.3g}" for p in self.penalties if p is not None)
        if self.task == "regression":
            how = "Ridge regression on marker dosages (RR-BLUP), the penalty chosen by leave-one-out"
        else:
            how = "L2-penalised logistic regression on marker dosages, the penalty chosen on validation rows"
        return (
            f"{how}{f' ({penalties})' if penalties else ''}, fitted on the training rows of the training store; "
            "missing genotypes are set to the training rows' marker means."
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for genotype codes ``(n, markers)``: ``(n, tasks)`` values (regression), P(positive)
        per task (binary) or ``(n, K)`` class probabilities (multiclass), float32."""
        return self.fitted.predict(dosage_matrix(X, self.marker_means))

    predict_proba = predict
    predict_scores = predict


RidgeBaseline = GenotypeBaseline


# log-spaced ridge penalties: 1279 DArT markers choose ~300, dense SNP panels choose more
RIDGE_ALPHAS = tuple(np.logspace(-2, 6, 33))


def ridge(
    train_X: np.ndarray,
    y_train: np.ndarray,
    valid_X: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    alphas: Sequence[float] = RIDGE_ALPHAS,
) -> GenotypeBaseline:
    """RR-BLUP: ridge regression of each trait on marker dosages.

    The penalty is chosen per task by sklearn ``RidgeCV``'s efficient leave-one-out over ``alphas`` on
    the training rows (more stable than a small validation split); validation rows, when given, are
    only scored (``valid_scores``, Pearson r).  Missing genotypes are imputed with the training means.

    Parameters
    ----------
    train_X, valid_X : np.ndarray, shape=(n, markers)
        Genotype codes 0/1/2 with 3 = missing (uint8), or dosages with NaN = missing.
    y_train, y_valid : np.ndarray, shape=(n, tasks)
        Trait values; NaN = missing (skipped for that trait).
    alphas : sequence of float
        Candidate ridge penalties.

    Returns
    -------
    GenotypeBaseline
    """
    from sklearn.linear_model import RidgeCV
    from threadpoolctl import threadpool_limits

    means = marker_dosage_means(train_X)
    X = dosage_matrix(train_X, means).astype(np.float64)
    y = as_labels(y_train, len(X))
    # RidgeCV eigendecomposes the n x n Gram matrix: for a few thousand lines BLAS threads gain little
    # and spin-wait badly beside other jobs (3x the CPU time measured with 2 threads on 2 busy cores)
    with threadpool_limits(1 if len(X) <= 3000 else None, user_api="blas"):
        if np.isnan(y).any() or len(X) < 2:
            fitted = fit_task_models("regression", lambda: RidgeCV(alphas=alphas), X, y)
            penalties = [None if m is None else float(m.alpha_) for m in fitted.models]
        else:
            # all traits observed: one decomposition of X serves every trait (alpha still per trait)
            model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, y)
            fitted = TaskModels("regression", [model], [None], joint=True)
            penalties = [float(a) for a in np.atleast_1d(model.alpha_)]
    baseline = GenotypeBaseline("regression", means, fitted, penalties=penalties)
    if valid_X is not None and len(valid_X):
        baseline.valid_scores = task_scores("regression", as_labels(y_valid, len(valid_X)), baseline.predict(valid_X))
    return baseline


def ridge_coefficients(
    X: np.ndarray, y: np.ndarray, alphas: Sequence[float] = RIDGE_ALPHAS
) -> tuple[np.ndarray, np.ndarray, list]:
    """Ridge regression of each column of ``y`` ``(n, tasks)`` on features ``X`` ``(n, features)``,
    the penalty chosen per task by efficient leave-one-out over ``alphas`` (rows with a NaN label are
    left out for that task).  Returns ``coef (tasks, features)``, ``intercept (tasks,)`` (float32)
    and the chosen penalties (``None`` for a task with fewer than 2 labelled rows: a constant)."""
    from sklearn.linear_model import RidgeCV
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, np.float64)
    y = as_labels(y, len(X))
    with threadpool_limits(1 if len(X) <= 3000 else None, user_api="blas"):  # see ridge()
        fitted = fit_task_models("regression", lambda: RidgeCV(alphas=alphas), X, y)
    coef = np.zeros((y.shape[1], X.shape[1]), np.float32)
    intercept = np.asarray(fitted.constants, np.float32)
    penalties: list = []
    for t, model in enumerate(fitted.models):
        if model is not None:
            coef[t], intercept[t] = model.coef_, model.intercept_
        penalties.append(None if model is None else float(model.alpha_))
    return coef, intercept, penalties


def dosage_logistic(
    train_X: np.ndarray,
    y_train: np.ndarray,
    valid_X: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    Cs: Sequence[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0),
    seed: int = 0,
    *,
    task: str = "binary",
    n_classes: int | None = None,
) -> GenotypeBaseline:
    """L2 logistic regression of binary or multiclass traits on marker dosages, ``C`` chosen on the
    validation rows (20% of the training rows without them).  Shapes as in :func:`ridge`."""
    from sklearn.linear_model import LogisticRegression

    y_train = as_labels(y_train, len(train_X))
    train_X, y_train, valid_X, y_valid, n_classes = with_validation(
        train_X, y_train, valid_X, y_valid, seed, task, n_classes
    )
    means = marker_dosage_means(train_X)
    X = dosage_matrix(train_X, means)
    # liblinear's coordinate descent is ~20x faster than lbfgs on dense (n < markers) binary problems;
    # multiclass needs lbfgs for a multinomial model
    options = {"solver": "liblinear"} if task == "binary" else {"tol": 1e-3}
    best, best_score = None, -np.inf
    for C in Cs:
        make_model = partial(LogisticRegression, C=C, max_iter=2000, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = fit_task_models(task, make_model, X, y_train, n_classes or 0)
        candidate = GenotypeBaseline(task, means, fitted, penalties=[float(C)])
        score = validation_score(task, y_valid, candidate.predict(valid_X))
        if best is None or score > best_score:
            best, best_score = candidate, score
    best.valid_scores = task_scores(task, y_valid, best.predict(valid_X))
    return best
