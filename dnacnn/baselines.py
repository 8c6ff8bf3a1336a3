"""Classical baselines fitted beside every CNN, so a report can say whether the CNN earned its keep.

Contract: each baseline is fitted on the store's ``train`` rows (``valid`` rows only choose a
hyper-parameter, as they only early-stop the CNN) and predicts scores of the same shape and meaning
as the CNN's: probabilities ``(n, tasks)`` for binary, ``(n, K)`` for multiclass, values ``(n, tasks)``
for regression.  Inputs are the store's uint8 code matrices (see :mod:`dnacnn.encoding`); labels
``y`` are ``(n, tasks)`` float with NaN for a missing label (those rows are skipped for that task).

- DNA: :func:`kmer_logistic`, logistic regression (ridge for regression) on k-mer counts of both
  strands, k chosen on the validation rows.
- Genotypes: :func:`ridge` (RR-BLUP: ridge regression on marker dosages, the penalty chosen by
  efficient leave-one-out on the training rows) and :func:`dosage_logistic` for classification.

:func:`fit_baseline` picks the one that fits a store's kind and task; every baseline object has
``name`` (for tables and legends) and ``predict_scores(codes)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import scipy.sparse as sp

from dnacnn.encoding import COMPLEMENT, DNA_N, GENOTYPE_MISSING

# rows per chunk when counting k-mers: bounds the int64 index matrix to ~32 MB whatever n is
_KMER_CHUNK_WINDOWS = 4_000_000


def kmer_counts(codes: np.ndarray, k: int, canonical: bool = False) -> sp.csr_matrix:
    """Count the overlapping k-mers of each sequence.

    The column of a k-mer is its base-4 number with the first base most significant (A=0, C=1, G=2,
    T=3), so ``AAA`` is column 0, ``ACG`` column 6 and ``TTT`` column 63 for k=3 (see
    :func:`kmer_names`).  Windows that hold an N (code 4, or any code above 3) are not counted.

    Parameters
    ----------
    codes : np.ndarray, shape=(n, length), dtype uint8
        DNA codes (:data:`dnacnn.encoding.DNA_LUT`).
    k : int
        k-mer length, 1..12.
    canonical : bool
        Count both strands: each column then holds the count of its k-mer on the forward strand plus
        the count of its reverse complement (i.e. the k-mer's count on the reverse strand), so a k-mer
        and its reverse complement get the same value.  The matrix keeps its 4**k columns so that
        the column of a k-mer does not depend on this option.

    Returns
    -------
    scipy.sparse.csr_matrix, shape=(n, 4**k), dtype float32
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (n, length); got {codes.shape}")
    if not 1 <= k <= 12:
        raise ValueError(f"k must lie in 1..12; got {k}")
    n, length = codes.shape
    n_windows = max(length - k + 1, 0)
    chunk = max(1, _KMER_CHUNK_WINDOWS // max(n_windows, 1))
    blocks = [_count_chunk(codes[i : i + chunk], k, n_windows) for i in range(0, n, chunk)] or [
        sp.csr_matrix((0, 4**k), dtype=np.float32)
    ]
    counts = sp.vstack(blocks, format="csr")
    if canonical:
        counts = (counts + counts[:, reverse_complement_columns(k)]).tocsr()
    return counts


def _count_chunk(codes: np.ndarray, k: int, n_windows: int) -> sp.csr_matrix:
    b = codes.shape[0]
    if n_windows == 0:
        return sp.csr_matrix((b, 4**k), dtype=np.float32)
    codes = codes.astype(np.int64)
    is_n = codes >= DNA_N
    # rolling base-4 number of every window: k vectorised passes instead of a loop over bases
    index = np.zeros((b, n_windows), dtype=np.int64)
    for j in range(k):
        index = index * 4 + np.minimum(codes[:, j : j + n_windows], 3)
    # a window holds an N iff the running count of Ns rises across it
    n_seen = np.concatenate([np.zeros((b, 1), np.int64), np.cumsum(is_n, axis=1)], axis=1)
    valid = n_seen[:, k : k + n_windows] == n_seen[:, :n_windows]
    rows = np.broadcast_to(np.arange(b)[:, None], index.shape)[valid]
    data = np.ones(rows.shape[0], dtype=np.float32)
    # duplicates (a k-mer seen twice in a sequence) are summed by the COO -> CSR conversion
    return sp.coo_matrix((data, (rows, index[valid])), shape=(b, 4**k)).tocsr()


def reverse_complement_columns(k: int) -> np.ndarray:
    """Column of each k-mer's reverse complement, shape ``(4**k,)`` int64 (see :func:`kmer_counts`)."""
    digits = (np.arange(4**k)[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    rc_digits = COMPLEMENT[digits[:, ::-1]].astype(np.int64)
    return rc_digits @ (4 ** np.arange(k - 1, -1, -1))


def kmer_names(k: int) -> list[str]:
    """The k-mer of each column of :func:`kmer_counts`, e.g. ``['AA', 'AC', ..., 'TT']`` for k=2."""
    digits = (np.arange(4**k)[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[digits]
    return [row.tobytes().decode() for row in letters]


def _as_labels(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    if y.shape[0] != n:
        raise ValueError(f"{y.shape[0]} label rows for {n} sequences")
    return y


def _subsample(codes: np.ndarray, y: np.ndarray, max_rows: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_rows`` random rows (in store order, so memory-mapped reads stay sequential)."""
    if max_rows is None or len(codes) <= max_rows:
        return np.asarray(codes), y
    rows = np.sort(np.random.default_rng(seed).choice(len(codes), max_rows, replace=False))
    return np.asarray(codes[rows]), y[rows]


def _internal_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out 20% of the training rows to choose hyper-parameters when no validation rows are given."""
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, n // 5)
    return np.sort(order[cut:]), np.sort(order[:cut])


def _mean_defined(values: list) -> float:
    defined = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(defined)) if defined else -np.inf


def _validation_score(task: str, y: np.ndarray, score: np.ndarray) -> float:
    """Mean over tasks of the headline metric (ROC AUC, or Pearson r for regression) on labelled rows."""
    from dnacnn.metrics import compute_metrics, main_metric

    if task == "multiclass":
        # selection by ROC AUC (smoother than accuracy on small validation sets)
        metrics = compute_metrics(y, score, task, [str(i) for i in range(score.shape[1])])
        return _mean_defined([metrics["macro"]["roc_auc"]])
    metrics = compute_metrics(y, score, task, [str(i) for i in range(y.shape[1])])
    name, _ = main_metric(metrics)
    return _mean_defined([t[name] for t in metrics["tasks"].values()])


@dataclass
class _TaskModels:
    """One fitted sklearn model per task (``None`` where the training labels allow no fit, with a
    constant prediction instead); for multiclass a single model mapped to ``n_classes`` columns;
    ``joint``: a single multi-output regression model for all tasks."""

    task: str
    models: list
    constants: list
    n_classes: int = 0
    joint: bool = False

    def predict(self, features) -> np.ndarray:
        n = features.shape[0]
        if self.joint:
            return np.asarray(self.models[0].predict(features), np.float32).reshape(n, -1)
        if self.task == "multiclass":
            model = self.models[0]
            out = np.tile(np.asarray(self.constants[0], np.float64), (n, 1))
            if model is not None:
                out[:] = 0.0
                out[:, model.classes_.astype(int)] = model.predict_proba(features)
            return out.astype(np.float32)
        cols = []
        for model, constant in zip(self.models, self.constants, strict=True):
            if model is None:
                cols.append(np.full(n, constant))
            elif self.task == "binary":
                cols.append(model.predict_proba(features)[:, 1])
            else:
                cols.append(model.predict(features))
        return np.stack(cols, axis=1).astype(np.float32)


def _fit_task_models(task: str, make_model, features, y: np.ndarray, n_classes: int = 0) -> _TaskModels:
    """Fit ``make_model()`` per task on the labelled rows of ``y`` ``(n, tasks)``."""
    if task == "multiclass":
        keep = ~np.isnan(y[:, 0])
        labels = y[keep, 0].astype(int)
        counts = np.bincount(labels, minlength=n_classes)[:n_classes]
        prior = counts / counts.sum() if counts.sum() else np.full(n_classes, 1.0 / n_classes)
        model = make_model().fit(features[keep], labels) if len(np.unique(labels)) > 1 else None
        return _TaskModels(task, [model], [prior], n_classes)
    models, constants = [], []
    for j in range(y.shape[1]):
        keep = ~np.isnan(y[:, j])
        target = y[keep, j]
        constant = float(target.mean()) if len(target) else (0.5 if task == "binary" else 0.0)
        fittable = len(np.unique(target)) > 1 if task == "binary" else len(target) > 1
        models.append(
            make_model().fit(features[keep], target.astype(int) if task == "binary" else target) if fittable else None
        )
        constants.append(constant)
    return _TaskModels(task, models, constants, n_classes)


@dataclass
class KmerBaseline:
    """k-mer counts -> per-sequence L2 normalisation -> logistic regression (ridge for regression).

    Attributes
    ----------
    k : int
        The k-mer length chosen on the validation rows.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    canonical : bool
        Whether both strands are counted (see :func:`kmer_counts`).
    valid_scores : dict
        k -> validation score (mean ROC AUC over tasks, or Pearson r for regression).
    """

    k: int
    task: str
    canonical: bool
    fitted: _TaskModels = field(repr=False)
    valid_scores: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        kind = "ridge regression" if self.task == "regression" else "logistic regression"
        return f"{self.k}-mer {kind}"

    @property
    def description(self) -> str:
        """How it was fitted, in one sentence for reports."""
        model = "Ridge regression" if self.task == "regression" else "L2-penalised logistic regression"
        strands = " of both strands" if self.canonical else ""
        tried = ", ".join(f"{k}: {v:.3f}" for k, v in self.valid_scores.items())
        chosen = f" (validation score per k: {tried})" if tried else ""
        return (
            f"{model} on the L2-normalised {self.k}-mer counts{strands} of each sequence, fitted on the training "
            f"rows of the training store; k = {self.k} was chosen on its validation rows{chosen}."
        )

    def features(self, codes: np.ndarray) -> sp.csr_matrix:
        from sklearn.preprocessing import normalize

        return normalize(kmer_counts(codes, self.k, canonical=self.canonical))

    def predict_proba(self, codes: np.ndarray) -> np.ndarray:
        """Scores for DNA codes ``(n, length)``: shape ``(n, tasks)`` (binary: P(positive); regression:
        values) or ``(n, K)`` class probabilities (multiclass), float32."""
        return self.fitted.predict(self.features(np.asarray(codes)))

    predict = predict_proba
    predict_scores = predict_proba


def kmer_logistic(
    train_codes: np.ndarray,
    y_train: np.ndarray,
    valid_codes: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    ks: Sequence[int] = (3, 4, 5, 6),
    seed: int = 0,
    *,
    task: str = "binary",
    n_classes: int | None = None,
    canonical: bool = True,
    C: float = 1.0,
    max_rows: int | None = 200_000,
) -> KmerBaseline:
    """Fit the k-mer baseline for DNA sequences, choosing k on the validation rows.

    For each k, counts of both strands (``canonical``) are L2-normalised per sequence (sequences of
    different lengths or N content become comparable) and one L2-penalised logistic regression
    (``C``) is fitted per task; multiclass fits one multinomial model; regression fits a ridge
    regression (``alpha = 1/C``).  The k with the best mean validation ROC AUC (Pearson r for
    regression) is kept, fitted on the training rows only.  A few seconds in all for 10,000 x 101 bp;
    beyond ``max_rows`` training (and validation) rows a random subset of that size is used, which
    keeps a genome-wide set's baseline to minutes and a few GB.

    Parameters
    ----------
    train_codes, valid_codes : np.ndarray, shape=(n, length), dtype uint8
        DNA codes; without validation rows 20% of the training rows (``seed``) choose k.
    y_train, y_valid : np.ndarray, shape=(n, tasks)
        0/1 labels (binary), class ids in one column (multiclass) or values (regression); NaN = missing.
    ks : sequence of int
        Candidate k-mer lengths.
    seed : int
        Seed of the internal split, used only without validation rows.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    n_classes : int, optional
        Number of classes K (multiclass); default the largest class id seen + 1.
    canonical : bool
        Count both strands.
    C : float
        Inverse L2 penalty.
    max_rows : int or None
        Most training (and validation) rows used, drawn at random with ``seed``; None = all.

    Returns
    -------
    KmerBaseline
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    y_train = _as_labels(y_train, len(train_codes))
    train_codes, y_train = _subsample(train_codes, y_train, max_rows, seed)
    if valid_codes is not None:
        valid_codes, y_valid = _subsample(valid_codes, _as_labels(y_valid, len(valid_codes)), max_rows, seed + 1)
    if valid_codes is None or len(valid_codes) == 0:
        fit_rows, valid_rows = _internal_split(len(train_codes), seed)
        valid_codes, y_valid = train_codes[valid_rows], y_train[valid_rows]
        train_codes, y_train = train_codes[fit_rows], y_train[fit_rows]
    y_valid = _as_labels(y_valid, len(valid_codes))
    if task == "multiclass" and n_classes is None:
        n_classes = int(np.nanmax(np.concatenate([y_train[:, 0], y_valid[:, 0]]))) + 1

    def make_model():
        if task == "regression":
            return Ridge(alpha=1.0 / C)
        # multinomial lbfgs crawls near the optimum on k=3 counts; a looser tol changes AUC < 0.001
        return LogisticRegression(C=C, max_iter=1000, tol=1e-3 if task == "multiclass" else 1e-4)

    best = None
    scores = {}
    for k in ks:
        candidate = KmerBaseline(k, task, canonical, fitted=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs convergence chatter on separable data
            candidate.fitted = _fit_task_models(
                task, make_model, candidate.features(train_codes), y_train, n_classes or 0
            )
        scores[k] = _validation_score(task, y_valid, candidate.predict_proba(valid_codes))
        if best is None or scores[k] > scores[best.k]:
            best = candidate
    best.valid_scores = scores
    return best


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
    fitted: _TaskModels = field(repr=False)
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
    y = _as_labels(y_train, len(X))
    # RidgeCV eigendecomposes the n x n Gram matrix: for a few thousand lines BLAS threads gain little
    # and spin-wait badly beside other jobs (3x the CPU time measured with 2 threads on 2 busy cores)
    with threadpool_limits(1 if len(X) <= 3000 else None, user_api="blas"):
        if np.isnan(y).any() or len(X) < 2:
            fitted = _fit_task_models("regression", lambda: RidgeCV(alphas=alphas), X, y)
            penalties = [None if m is None else float(m.alpha_) for m in fitted.models]
        else:
            # all traits observed: one decomposition of X serves every trait (alpha still per trait)
            model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, y)
            fitted = _TaskModels("regression", [model], [None], joint=True)
            penalties = [float(a) for a in np.atleast_1d(model.alpha_)]
    baseline = GenotypeBaseline("regression", means, fitted, penalties=penalties)
    if valid_X is not None and len(valid_X):
        baseline.valid_scores = _task_scores("regression", _as_labels(y_valid, len(valid_X)), baseline.predict(valid_X))
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
    y = _as_labels(y, len(X))
    with threadpool_limits(1 if len(X) <= 3000 else None, user_api="blas"):  # see ridge()
        fitted = _fit_task_models("regression", lambda: RidgeCV(alphas=alphas), X, y)
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

    y_train = _as_labels(y_train, len(train_X))
    if valid_X is None or len(valid_X) == 0:
        fit_rows, valid_rows = _internal_split(len(train_X), seed)
        valid_X, y_valid = train_X[valid_rows], y_train[valid_rows]
        train_X, y_train = train_X[fit_rows], y_train[fit_rows]
    y_valid = _as_labels(y_valid, len(valid_X))
    if task == "multiclass" and n_classes is None:
        n_classes = int(np.nanmax(np.concatenate([y_train[:, 0], y_valid[:, 0]]))) + 1
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
            fitted = _fit_task_models(task, make_model, X, y_train, n_classes or 0)
        candidate = GenotypeBaseline(task, means, fitted, penalties=[float(C)])
        score = _validation_score(task, y_valid, candidate.predict(valid_X))
        if best is None or score > best_score:
            best, best_score = candidate, score
    best.valid_scores = _task_scores(task, y_valid, best.predict(valid_X))
    return best


def _task_scores(task: str, y: np.ndarray, score: np.ndarray) -> list:
    from dnacnn.metrics import compute_metrics, main_metric

    names = [str(i) for i in range(score.shape[1] if task == "multiclass" else y.shape[1])]
    metrics = compute_metrics(y, score, task, names)
    if task == "multiclass":
        return [metrics["macro"]["roc_auc"]]
    name = "roc_auc" if task == "binary" else main_metric(metrics)[0]
    return [t[name] for t in metrics["tasks"].values()]


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
