"""``dnacnn predict``: score new sequences or genotypes with a trained model, streaming.

Input is read chunk by chunk by :func:`dnacnn.io.sequences.read_sequences` (the readers of
``dnacnn encode``); each chunk is encoded,
predicted in batches and written before the next is read, so memory stays flat for any number
of records.  Output is a TSV (:mod:`dnacnn.io.tsv`): ``id`` then one column per task
(probabilities for classification, values for regression, one column per class for multiclass).

Inputs must match the model: the same alphabet and length, unless ``length_policy="fit"``
centre-crops / N-pads them to the model's length.

Several model files (e.g. the same architecture trained with different seeds) predict as one
:class:`Ensemble`: the mean of the members' scores, on the probability scale for classification
and on the de-standardised value scale for regression.  :func:`load_predictor` gives a
:class:`Predictor` for one file and an :class:`Ensemble` for several; ``predict``,
``predict_store`` and ``dnacnn.evaluate`` all take one path or a list of paths.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import check_output_file
from dnacnn.io.tsv import open_tsv

CHUNK_RECORDS = 65_536


class Predictor:
    """A loaded model that maps codes ``(b, length)`` uint8 to scores ``(b, columns)``."""

    def __init__(
        self, model_path: str | os.PathLike, device: str = "auto", rc_average: bool = False, batch_size: int = 1024
    ) -> None:
        import torch

        from dnacnn.codes import Expander
        from dnacnn.device import resolve_device, reuse_freed_memory
        from dnacnn.modelfile import load_model

        self.path = model_path
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            reuse_freed_memory()
        self.loaded = load_model(model_path, self.device)
        self.meta = self.loaded.meta
        self.encoding = self.meta.encoding
        if rc_average and self.encoding.kind != "dna":
            raise DnacnnError("--rc-average works on DNA models only; this model reads genotypes")
        means = self.meta.marker_means
        self.expand = Expander(self.encoding, None if means is None else np.asarray(means, np.float32), self.device)
        self.rc_average = rc_average
        self.batch_size = batch_size
        self._torch = torch

    @property
    def columns(self) -> list[str]:
        """The score columns: ``p_<class>`` per class of a multiclass model, else the label names."""
        names = self.meta.task_names
        return [f"p_{c}" for c in names] if self.meta.task == "multiclass" else names

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        torch = self._torch
        outs = []
        with torch.inference_mode():
            for i in range(0, len(codes), self.batch_size):
                X = self.expand(torch.from_numpy(np.array(codes[i : i + self.batch_size])).to(self.device))
                logits = self.loaded.module(X)
                scores = self._scores(logits)
                if self.rc_average:
                    scores = (scores + self._scores(self.loaded.module(X.flip(1, 2)))) / 2
                outs.append(scores)
        if not outs:
            return np.zeros((0, len(self.columns)), np.float32)
        return np.concatenate(outs)

    def _scores(self, logits) -> np.ndarray:
        from dnacnn.models.heads import scores

        m = self.meta
        return scores(logits, m.head, m.target_mean, m.target_std)


class Ensemble:
    """Several models as one predictor (the interface of :class:`Predictor`): the mean of the
    members' scores, i.e. of their probabilities (classification) or of their values on the
    training targets' scale (regression).  ``rc_average`` applies to every member.

    The members must read the same input (kind, scheme, channels, length) and predict the same
    task and labels (classes); the first one that does not is named in a one-line error.
    ``meta``, ``encoding`` and ``columns`` are the first member's.
    """

    def __init__(
        self,
        model_paths: Sequence[str | os.PathLike],
        device: str = "auto",
        rc_average: bool = False,
        batch_size: int = 1024,
    ) -> None:
        paths = list(model_paths)
        if not paths:
            raise DnacnnError("no model files given; give at least one")
        self.members: list[Predictor] = []
        for path in paths:
            member = Predictor(path, device, rc_average, batch_size)
            if self.members:
                _check_member(self.members[0], member)
            self.members.append(member)
        first = self.members[0]
        self.paths = paths
        self.device, self.meta, self.encoding = first.device, first.meta, first.encoding
        self.rc_average, self.batch_size = rc_average, batch_size

    @property
    def columns(self) -> list[str]:
        return self.members[0].columns

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        total = None
        for member in self.members:
            scores = member(codes)
            if total is None:
                total = scores
            else:
                total += scores
        total /= len(self.members)
        return total


def _check_member(first: Predictor, member: Predictor) -> None:
    """One line naming ``member``'s file and the first thing in which it differs from ``first``."""
    a, b = first.encoding, member.encoding
    ta, tb = first.meta.task, member.meta.task
    if (a.kind, a.scheme, a.channels, a.length) != (b.kind, b.scheme, b.channels, b.length):
        problem = (
            f"reads {b.kind}/{b.scheme} x {b.length} ({b.channels} channels) but {first.path} reads "
            f"{a.kind}/{a.scheme} x {a.length} ({a.channels} channels)"
        )
    elif ta != tb:
        problem = f"is a {tb} model but {first.path} is a {ta} model"
    elif member.columns != first.columns:
        what = "classes" if ta == "multiclass" else "labels"
        problem = (
            f"predicts {what} {', '.join(map(str, member.columns))} but {first.path} predicts "
            f"{', '.join(map(str, first.columns))}"
        )
    else:
        return
    raise DnacnnError(
        f"{member.path}: {problem}; an ensemble's models must share input, task and labels "
        "(train them on the same store)"
    )


def model_paths(model_path) -> list:
    """One model path or a sequence of them, as a list."""
    if isinstance(model_path, (str, os.PathLike)):
        return [model_path]
    return list(model_path)


def load_predictor(
    model_path, device: str = "auto", rc_average: bool = False, batch_size: int = 1024
) -> Predictor | Ensemble:
    """A :class:`Predictor` for one model file, an :class:`Ensemble` for several."""
    paths = model_paths(model_path)
    if len(paths) == 1:
        return Predictor(paths[0], device, rc_average, batch_size)
    return Ensemble(paths, device, rc_average, batch_size)


def predict_store(model_path, store_path, split: str = "test", device: str = "auto", rc_average: bool = False):
    """Scores for one split of a store: ``(ids, y_true (n, tasks), scores (n, columns))``.
    ``model_path`` is one model file or a list of them (an ensemble)."""
    from dnacnn.store import Store

    store = Store.open(store_path)
    predictor = load_predictor(model_path, device, rc_average)
    check_store_matches(predictor, store)
    idx = store.indices(split)
    scores = (
        predictor(np.asarray(store.codes[idx]))
        if len(idx)
        else predictor(np.zeros((0, store.codes.shape[1]), np.uint8))
    )
    ids = store.ids
    return [ids[i] for i in idx], np.asarray(store.labels[idx]), scores


def check_store_matches(predictor: Predictor | Ensemble, store) -> None:
    """A one-line error unless ``store`` holds the input (kind, scheme, length) the model reads."""
    want, have = predictor.encoding, store.encoding
    if (want.kind, want.scheme, want.length) != (have.kind, have.scheme, have.length):
        raise DnacnnError(
            f"{store.path}: store holds {have.kind}/{have.scheme} x {have.length} but the model expects "
            f"{want.kind}/{want.scheme} x {want.length}; re-encode with matching settings"
        )


def predict(
    model_path,
    input_path,
    out_path,
    *,
    fmt: str = "auto",
    seq_col: str = "seq",
    id_col: str | None = None,
    genome: str | None = None,
    length_policy: str = "strict",
    rc_average: bool = False,
    device: str = "auto",
    batch_size: int = 1024,
    progress: bool = True,
) -> int:
    """Stream ``input_path`` through the model and write a TSV to ``out_path`` (``-`` = stdout).
    Returns the number of records written.  ``model_path`` is one model file or a list of them,
    whose mean score is written (an :class:`Ensemble`).

    The input is read and encoded in a background thread while the model scores the previous
    chunk.  PyTorch's CPU threads are the caller's (``dnacnn predict --threads``): on a machine
    shared with other jobs, fewer threads than cores can be several times faster."""
    from contextlib import closing

    from tqdm import tqdm

    from dnacnn.device import reuse_freed_memory
    from dnacnn.io.fasta import read_ahead
    from dnacnn.io.sequences import check_length_policy, read_sequences

    check_length_policy(length_policy)
    check_output_file(out_path, [*model_paths(model_path), input_path, genome, genome and f"{genome}.fai"])
    reuse_freed_memory()  # before the reader thread and the model allocate
    predictor = load_predictor(model_path, device, rc_average, batch_size)
    paths = model_paths(model_path)
    trained = f"{paths[0]} was" if len(paths) == 1 else f"the {len(paths)} models were"
    coded = read_sequences(input_path, predictor.encoding, fmt, seq_col, id_col, genome, length_policy, trained)
    n = 0
    bar = tqdm(desc="predict", unit=" rec", unit_scale=True, disable=None if progress else True, leave=False)
    with open_tsv(out_path, ["id", *predictor.columns]) as out, closing(read_ahead(coded)) as chunks:
        for ids, codes in chunks:
            out.write_scores(ids, predictor(codes))
            n += len(ids)
            bar.update(len(ids))
    bar.close()
    return n
