"""The frozen ``additive: ridge`` path of a spec, fitted before the network trains.

Contract: :func:`fit_additive` sets the model's additive layer to a ridge regression of the
standardised training targets on the flattened training inputs (the whole training split as one
matrix, at most :data:`ADDITIVE_MAX_VALUES` values) and returns the penalty chosen per task.
"""

from __future__ import annotations

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.store import Store
from dnacnn.train.batches import preload
from dnacnn.train.objective import Objective

ADDITIVE_MAX_VALUES = 250_000_000  # rows x features of the ridge fit of `additive: ridge` (2 GB of float64)


def fit_additive(model, store: Store, train_idx: np.ndarray, objective: Objective) -> list:
    """Set the frozen ``additive: ridge`` path to a ridge regression of the standardised training
    targets on the flattened training inputs; returns the chosen penalties per task."""
    import torch

    from dnacnn.baselines import ridge_coefficients
    from dnacnn.codes import one_hot

    features = model.additive.weight.shape[1]
    if len(train_idx) * features > ADDITIVE_MAX_VALUES:
        raise DnacnnError(
            f"{store.path}: additive: ridge needs the training rows as one {len(train_idx):,} x {features:,} "
            "matrix, too large for memory; drop additive from the spec or encode with --genotype-encoding dosage"
        )
    codes, labels = preload(store, train_idx)
    X = one_hot(codes, store.encoding, store.marker_means).reshape(len(codes), -1)
    coef, intercept, alphas = ridge_coefficients(X, (labels - objective.target_mean) / objective.target_std)
    model.additive.weight.copy_(torch.from_numpy(coef))
    model.additive.bias.copy_(torch.from_numpy(intercept))
    return alphas
