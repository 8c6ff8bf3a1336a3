"""What training minimises and validation maximises, for a task and an output head.

Contract: ``Objective(task, head, train_labels, pos_weight, device)``; ``loss(logits, y)`` is a
scalar tensor (BCE with ``pos_weight``, cross-entropy, or squared error on standardised targets,
NaN labels masked: :func:`dnacnn.models.heads.loss`), ``scores(logits)`` the probabilities or
values on the original scale (:func:`dnacnn.models.heads.scores`), and
``metric(y, scores)`` the validation metric named ``metric_name`` (higher is better).
"""

from __future__ import annotations

import numpy as np

from dnacnn.errors import DnacnnError


class Objective:
    """Loss and validation metric for a task and output head.

    Binary heads use BCE with ``pos_weight`` (n_neg / n_pos of the training labels by default);
    the 2-unit softmax head uses cross-entropy with the same class weight; regression targets are
    standardised with the training mean and sd, which the model file records.
    """

    def __init__(self, task: str, head: str, train_labels: np.ndarray, pos_weight: str, device) -> None:
        import torch

        self.task, self.head = task, head
        self.metric_name = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "pearson_r"}[task]
        self.target_mean = self.target_std = None
        self._mean = self._std = None
        self.pos_weight = None
        if task == "regression":
            self.target_mean = np.nanmean(train_labels, axis=0).astype(np.float32)
            self.target_std = np.nanstd(train_labels, axis=0).astype(np.float32)
            self.target_std[self.target_std == 0] = 1.0
            self._mean = torch.as_tensor(self.target_mean, device=device)
            self._std = torch.as_tensor(self.target_std, device=device)
        if task == "binary" and pos_weight != "none":
            if pos_weight == "auto":
                pos = np.nansum(train_labels, axis=0)
                neg = np.sum(np.isfinite(train_labels), axis=0) - pos
                pw = np.where(pos > 0, neg / np.maximum(pos, 1), 1.0).astype(np.float32)
            else:
                try:
                    pw = np.full(train_labels.shape[1], float(pos_weight), np.float32)
                except ValueError:
                    raise DnacnnError(f"--pos-weight must be auto, none or a number, got {pos_weight!r}") from None
            self.pos_weight = torch.as_tensor(pw, device=device)

    def loss(self, logits, y):
        """The training loss of ``logits`` against ``y`` (:func:`dnacnn.models.heads.loss`)."""
        from dnacnn.models.heads import loss

        return loss(logits, y, self.head, self.pos_weight, self._mean, self._std)

    def scores(self, logits):
        """Logits -> probabilities (classification) or values on the original scale (regression)."""
        from dnacnn.models.heads import scores

        return scores(logits, self.head, self.target_mean, self.target_std)

    def metric(self, y: np.ndarray, scores: np.ndarray) -> float:
        """Validation metric (higher is better), macro over tasks."""
        from sklearn.metrics import roc_auc_score

        if self.task == "multiclass":
            ok = np.isfinite(y[:, 0])  # a missing label does not count
            return float((scores[ok].argmax(1) == y[ok, 0]).mean()) if ok.any() else float("nan")
        values = []
        for t in range(y.shape[1]):
            ok = np.isfinite(y[:, t])
            yt, st = y[ok, t], scores[ok, t]
            if self.task == "binary":
                if len(np.unique(yt)) == 2:
                    values.append(roc_auc_score(yt, st))
            elif len(yt) > 2 and np.std(st) > 0 and np.std(yt) > 0:
                values.append(np.corrcoef(yt.astype(np.float64), st.astype(np.float64))[0, 1])
        return float(np.mean(values)) if values else float("nan")
