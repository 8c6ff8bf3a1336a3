"""What a model file says about its model, read once into a typed :class:`ModelMeta`.

Contract: :meth:`ModelMeta.from_dict` reads the JSON metadata of a model file (the dict that
``dnacnn train`` writes beside the tensors, :mod:`dnacnn.modelfile`) into named fields; code reads
``meta.task``, ``meta.encoding.length`` or ``meta.seed``, never string keys.  The file format does
not change: the fields are the dict's keys, and keys a file lacks (older files, hand-made test
models) take the defaults below.  A file may come from a stranger, so every field is type-checked (and
the sizes that must agree: marker means per marker, target scales per output) before anything
reads it; a malformed one is a ``ValueError`` naming the field.  Output columns
(:attr:`ModelMeta.task_names`) and training provenance (:attr:`ModelMeta.seed`,
:attr:`ModelMeta.epochs`) are answered here, once.
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
        """The metadata dict of a model file as a :class:`ModelMeta`.

        Every field is type-checked (a file may come from a stranger): ``ValueError`` names the
        first field that is missing (``spec``, ``encoding``, ``task`` and ``n_outputs`` every
        model file has) or of the wrong type or size; sizes against the network are checked by
        :func:`dnacnn.models.plan.plan_model`."""
        if not isinstance(meta, dict):
            raise ValueError("the metadata is not a JSON object")
        for name in _REQUIRED:
            if name not in meta:
                raise ValueError(f"no {name!r}")
        encoding = _encoding(meta["encoding"])
        for name, kind in _KINDS.items():
            value = meta.get(name)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool) and kind is not bool):
                raise ValueError(f"{name!r} is {type(value).__name__}, not {_KIND_NAMES[kind]}")
        if meta["n_outputs"] < 1:
            raise ValueError(f"'n_outputs' is {meta['n_outputs']}, not a positive integer")
        for name, size, what in (
            ("marker_means", encoding.length, "markers"),
            ("target_mean", meta["n_outputs"], "outputs"),
            ("target_std", meta["n_outputs"], "outputs"),
        ):
            if meta.get(name) is not None and len(meta[name]) != size:
                raise ValueError(f"{name!r} holds {len(meta[name])} values for {size} {what}")
        _check_names(meta)
        known = {name: meta[name] for name in _OPTIONAL if meta.get(name) is not None}
        return cls(spec=meta["spec"], encoding=encoding, task=meta["task"], n_outputs=meta["n_outputs"], **known)

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


_REQUIRED = ("spec", "encoding", "task", "n_outputs")
_OPTIONAL = tuple(f.name for f in fields(ModelMeta) if f.name not in _REQUIRED)
_NUMBER = (int, float)
# the JSON type of each field (None is always allowed for the optional ones)
_KINDS: dict[str, type | tuple] = {
    "spec": dict,
    "task": str,
    "n_outputs": int,
    "head": str,
    "label_names": list,
    "classes": list,
    "target_mean": list,
    "target_std": list,
    "marker_means": list,
    "settings": dict,
    "metric_name": str,
    "best_epoch": int,
    "best_val_metric": _NUMBER,
    "history": list,
    "store": dict,
    "seconds": _NUMBER,
    "format": str,
    "format_version": int,
    "dnacnn_version": str,
    "torch_version": str,
}
_KIND_NAMES = {dict: "an object", list: "a list", str: "text", int: "an integer", _NUMBER: "a number"}
_ENCODINGS = {("dna", "onehot"): 4, ("genotype", "onehot"): 3, ("genotype", "dosage"): 1}


def _check_names(meta: dict) -> None:
    """``ValueError`` for a label or class name holding a tab or a line break: it names a column of
    every table written from the model and would break that table's rows or columns."""
    from dnacnn.ids import describe, shown
    from dnacnn.io.tsv import BREAKS

    for key in ("label_names", "classes"):
        for k, name in enumerate(meta.get(key) or []):
            bad = next((c for c in str(name) if c in BREAKS), None)
            if bad is not None:
                raise ValueError(f"{key!r} name {k + 1} '{shown(str(name))}' holds {describe(bad)}")


def _encoding(value: Any) -> Encoding:
    """The ``encoding`` field, checked: a known kind and scheme, their channel count, a positive length."""
    if not isinstance(value, dict):
        raise ValueError("'encoding' is not an object")
    kind, scheme, channels, length = (value.get(k) for k in ("kind", "scheme", "channels", "length"))
    if not (isinstance(kind, str) and isinstance(scheme, str)) or (kind, scheme) not in _ENCODINGS:
        raise ValueError(f"unknown encoding {kind!r}/{scheme!r}"[:120])
    if channels != _ENCODINGS[kind, scheme] or isinstance(channels, bool):
        raise ValueError(f"{kind} {scheme} input has {_ENCODINGS[kind, scheme]} channels, not {channels!r}"[:120])
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"'encoding' length {length!r} is not a positive integer"[:120])
    return Encoding(kind, scheme, channels, length)
