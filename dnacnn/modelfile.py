"""The model file: one safetensors file that is safe to load from a stranger.

Weights are safetensors tensors; everything else (the layer spec, input encoding, task, label
names, target scaling, training settings and history, store provenance, dnacnn version) is a
JSON string under the safetensors metadata key ``dnacnn``, read into a
:class:`~dnacnn.models.meta.ModelMeta` (:func:`load_model`, :func:`read_model_meta`).  Loading
never unpickles anything: a file that is not safetensors, or lacks the metadata, is refused with
one line.  A file is checked before anything is allocated: safetensors checks its header
(length, tensor shapes, dtypes and offsets against the file's size), :class:`ModelMeta`
the metadata's fields, :func:`~dnacnn.models.plan.plan_model` the network's size (parameters and
activations under the limits of :mod:`dnacnn.models.plan`), and the tensors' shapes are matched
to the network before they are read.

Training checkpoints use the same container (model, optimiser and best weights as tensors, loop
state as JSON), so ``--resume`` also never unpickles.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dnacnn import __version__
from dnacnn.codes import Encoding
from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import output_file
from dnacnn.models.meta import ModelMeta
from dnacnn.models.spec import one_line, shown

MODEL_FORMAT = "dnacnn-model"
MODEL_FORMAT_VERSION = 1
META_KEY = "dnacnn"


@dataclass
class LoadedModel:
    """A model ready for inference: ``module`` in eval mode plus its metadata."""

    module: object
    meta: ModelMeta

    @property
    def encoding(self) -> Encoding:
        return self.meta.encoding


def save_tensors(path: str | os.PathLike, tensors: dict, meta: dict) -> None:
    """Write ``tensors`` and ``meta`` atomically (temp file + rename)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with output_file(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta, default=_json_default)})
        _end_header_with_brace(tmp)
        os.chmod(tmp, 0o666 & ~_umask())


def _end_header_with_brace(path: Path) -> None:
    """Move safetensors' alignment padding inside its JSON header.

    ``save_file`` pads the header with spaces *after* the closing brace so the tensor data starts
    on an 8-byte boundary; Galaxy's ``safetensors`` sniffer (galaxy-data 26.1) wants the header's
    last byte to be ``}`` and types such a file ``binary``.  The same spaces before the brace are
    JSON whitespace: the header keeps its length, the tensors their offsets, the JSON its value.
    """
    with open(path, "r+b") as f:
        size = int.from_bytes(f.read(8), "little")
        header = f.read(size)
        body = header.rstrip(b" ")
        if len(body) < size and body.endswith(b"}"):
            f.seek(8)
            f.write(body[:-1] + b" " * (size - len(body)) + b"}")


def read_tensors(path: str | os.PathLike, kind: str = "model", with_tensors: bool = True) -> tuple[dict, dict]:
    """Read tensors and metadata from a dnacnn safetensors file, refusing anything else
    (``with_tensors=False``: the metadata only, tensors ``{}``)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise DnacnnError(f"{path}: {kind} file not found; check the path")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
            tensors = {k: f.get_tensor(k) for k in f.keys()} if with_tensors else {}  # noqa: SIM118 (not a dict)
    except Exception as e:  # safetensors raises its own error types for bad headers
        raise DnacnnError(
            f"{path}: not a dnacnn {kind} file ({type(e).__name__}: {str(e)[:80]}); give a file written by dnacnn"
        ) from None
    if raw is None:
        raise DnacnnError(f"{path}: safetensors file without dnacnn metadata; give a file written by 'dnacnn train'")
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError):  # bad JSON, numbers of more than 4300 digits, deep nesting
        raise DnacnnError(f"{path}: corrupt dnacnn metadata; re-train or re-download the {kind}") from None
    if not isinstance(meta, dict):
        raise DnacnnError(f"{path}: corrupt dnacnn metadata (not a JSON object); re-train or re-download the {kind}")
    return tensors, meta


def save_model(path: str | os.PathLike, module, meta: dict) -> None:
    meta = {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, "dnacnn_version": __version__, **meta}
    save_tensors(path, dict(module.state_dict()), meta)


def load_model(path: str | os.PathLike, device=None) -> LoadedModel:
    """Rebuild the network from the file's spec and load its weights (no pickle involved).

    The metadata and the network's size are checked first (:func:`read_model_meta`), then the
    tensors' names, dtypes and shapes against the network, and only then are the tensors read."""
    from dnacnn.models import build_model

    meta = read_model_meta(path)
    enc = meta.encoding
    module = build_model(meta.spec, enc.channels, enc.length, meta.n_outputs, meta.task)
    _check_tensor_shapes(path, module.state_dict())
    tensors, _ = read_tensors(path, "model")
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        raise DnacnnError(f"{path}: weights do not match the model spec ({str(e)[:100]})") from None
    module.eval()
    if device is not None:
        module.to(device)
    return LoadedModel(module, meta)


def read_model_meta(path: str | os.PathLike) -> ModelMeta:
    """The metadata of the model file ``path``, its tensors unread."""
    return model_meta(path, read_tensors(path, "model", with_tensors=False)[1])


def model_meta(path, raw: dict) -> ModelMeta:
    """The metadata dict ``raw`` of the file ``path`` as a :class:`ModelMeta`, refusing a file
    that is not a dnacnn model (a checkpoint, another format), is newer than this dnacnn, has
    malformed metadata, or describes a network over the size limits of :mod:`dnacnn.models.plan`
    (checked by planning it, which allocates nothing)."""
    from dnacnn.models.plan import plan_model

    if raw.get("format") != MODEL_FORMAT:
        raise DnacnnError(
            f"{path}: not a dnacnn model (format {shown(raw.get('format'))}); give a model from 'dnacnn train'"
        )
    version = raw.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise DnacnnError(f"{path}: corrupt model metadata (format_version {shown(version)}); re-train the model")
    if version > MODEL_FORMAT_VERSION:
        raise DnacnnError(f"{path}: model format {version} is newer than this dnacnn; upgrade dnacnn")
    try:
        meta = ModelMeta.from_dict(raw)
    except ValueError as e:
        raise DnacnnError(
            f"{path}: corrupt model metadata ({one_line(e, 160)}); re-train or re-download the model"
        ) from None
    try:
        plan_model(meta.spec, meta.encoding.channels, meta.encoding.length, meta.n_outputs, meta.task)
    except DnacnnError as e:
        raise DnacnnError(f"{path}: {e}") from None
    return meta


def _check_tensor_shapes(path, expected: dict) -> None:
    """The file's tensors are exactly the network's, in names and shapes (read from the
    safetensors header, not the data), so a forged file allocates no more than its network."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        names = set(f.keys())  # noqa: SIM118 (not a dict)
        for name in sorted(set(expected) | names):
            if name not in names or name not in expected:
                problem = "lacks" if name not in names else "has the extra"
                raise DnacnnError(
                    f"{path}: weights do not match the model spec (the file {problem} tensor {shown(name)})"
                )
            shape, want = list(f.get_slice(name).get_shape()), list(expected[name].shape)
            if shape != want:
                raise DnacnnError(
                    f"{path}: weights do not match the model spec (tensor {shown(name)} is {_dims(shape)}, "
                    f"the network's {_dims(want)})"
                )


def _dims(shape) -> str:
    return "x".join(str(int(n)) for n in shape) or "scalar"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
