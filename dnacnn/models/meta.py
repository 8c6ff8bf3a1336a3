"""What a model file says about its model, read once into a typed :class:`ModelMeta`.

Contract: :meth:`ModelMeta.from_dict` reads the JSON metadata of a model file (the dict that
``dnacnn train`` writes beside the tensors, :mod:`dnacnn.modelfile`) into named fields; code reads
``meta.task``, ``meta.encoding.length`` or ``meta.seed``, never string keys.  The file format does
not change: the fields are the dict's keys, and keys a file lacks (older files, hand-made test
models) take the defaults below.  Output columns (:attr:`ModelMeta.task_names`) and training
provenance (:attr:`ModelMeta.seed`, :attr:`ModelMeta.epochs`) are answered here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from dnacnn.codes import Encoding


@dataclass(frozen=True)
class ModelMeta:
    """A model file's metadata.

    Attributes
    ----------
    spec : dict
        The validated layer spec (:func:`dnacnn.models.spec.load_spec`).
    encoding : Encoding
        The input the model reads: ``X`` shape ``(n, encoding.channels, encoding.length)``.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    n_outputs : int
        Label columns (binary, regression) or classes (multiclass).
    head : str
        How to read the logits (:mod:`dnacnn.models.heads`).
    label_names, classes : list
        Task names; class names of a multiclass model (None: the classes are numbered).
    target_mean, target_std : list of float or None
        Regression targets' scale (the network predicts standardised values).
    marker_means : list of float or None
        Genotype dosage models: each marker's mean, filled in for missing calls.
    settings : dict
        The training settings as run (:data:`dnacnn.train.settings.RECORDED_KEYS`, device, ...).
    metric_name, best_epoch, best_val_metric, history, seconds
        How training went: the validation metric, its best epoch and value, one row per epoch,
        and the training time.
    store : dict
        The training store: ``path``, ``inputs`` (with checksums), ``split_counts``, ``fold``.
    format, format_version, dnacnn_version, torch_version
        Who wrote the file.
    """

    spec: dict
    encoding: Encoding
    task: str
    n_outputs: int
    head: str | None = None
    label_names: list = field(default_factory=list)
    classes: list | None = None
    target_mean: list | None = None
    target_std: list | None = None
    marker_means: list | None = None
    settings: dict = field(default_factory=dict)
    metric_name: str | None = None
    best_epoch: int | None = None
    best_val_metric: float | None = None
    history: list = field(default_factory=list)
    store: dict = field(default_factory=dict)
    seconds: float | None = None
    format: str | None = None
    format_version: int = 0
    dnacnn_version: str | None = None
    torch_version: str | None = None

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> ModelMeta:
        """The metadata dict of a model file as a :class:`ModelMeta` (``KeyError`` without the
        ``spec``, ``encoding``, ``task`` or ``n_outputs`` that every model file has)."""
        known = {name: meta[name] for name in _OPTIONAL if meta.get(name) is not None}
        return cls(
            spec=meta["spec"],
            encoding=Encoding.from_dict(meta["encoding"]),
            task=meta["task"],
            n_outputs=meta["n_outputs"],
            **known,
        )

    @property
    def name(self) -> str:
        """The spec's name (``model`` when it has none)."""
        return self.spec.get("name", "model")

    @property
    def task_names(self) -> list:
        """One name per output column: the classes (as text; numbered when unnamed) of a multiclass
        model, else the label names."""
        if self.task == "multiclass":
            return [str(c) for c in (self.classes or range(self.n_outputs))]
        return list(self.label_names)

    @property
    def seed(self) -> int | None:
        """The training seed."""
        return self.settings.get("seed")

    @property
    def epochs(self) -> int | None:
        """The maximum number of training epochs."""
        return self.settings.get("epochs")

    @property
    def training_device(self) -> str | None:
        return self.settings.get("device")

    @property
    def fresh_negatives(self) -> bool | None:
        """Whether training drew new shuffled negatives each epoch."""
        return self.settings.get("fresh_negatives")

    @property
    def trained_on(self) -> str | None:
        """The training store's path, as training saw it."""
        return self.store.get("path")

    @property
    def training_inputs(self) -> list[dict] | None:
        """The training store's input files: ``path`` and ``sha256`` each."""
        return self.store.get("inputs")

    @property
    def split_counts(self) -> dict | None:
        """Rows per split of the training store."""
        return self.store.get("split_counts")

    @property
    def fold(self) -> int | None:
        """The fold of the training store the model was trained for (None: no folds)."""
        return self.store.get("fold")


_OPTIONAL = tuple(f.name for f in fields(ModelMeta) if f.name not in ("spec", "encoding", "task", "n_outputs"))
