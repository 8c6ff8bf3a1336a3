"""Shape inference and Keras parameter counts of a spec, without building the network.

Contract: :func:`plan_model` validates a spec against an input ``(channels, length)`` and a task
and returns a :class:`ModelPlan`: every layer's Keras output shape ``(length, channels)`` or
``(units,)``, its trainable and non-trainable parameter counts, and a ``make`` that instantiates
its module (:mod:`dnacnn.models.layers`); each layer type has one builder in
:data:`LAYER_BUILDERS`.  A spec that cannot be built (a window longer than its input, a head on
a sequence) is a one-line :class:`~dnacnn.errors.DnacnnError` naming the layer.
:func:`head_for` gives the output units and head activation of a task.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from dnacnn.errors import DnacnnError
from dnacnn.models.layers import Additive, Conv1d, Dense, Dropout, Flatten, GlobalPool1d, Pool1d, make_activation
from dnacnn.models.spec import layer_items, load_spec, validate_spec
from dnacnn.split import TASKS

# Keras-style shape without the batch axis: (length, channels) for a sequence, (units,) after
# flatten / global pooling / dense.
Shape = tuple[int, ...]


@dataclass
class LayerPlan:
    """One layer after shape inference: its Keras output shape and parameter counts
    (``non_trainable`` = BatchNorm moving mean and variance, as Keras counts them), and
    ``make`` to instantiate the module."""

    kind: str
    params: dict
    out_shape: Shape
    trainable: int
    non_trainable: int
    make: Callable[[], nn.Module]


@dataclass
class ModelPlan:
    """The whole network: body ``layers``, the output ``head`` and how to read its logits."""

    spec: dict
    channels: int
    length: int
    n_outputs: int
    task: str
    layers: list[LayerPlan]
    head: LayerPlan
    head_activation: str
    additive: LayerPlan | None = None  # spec ``additive: ridge``: a linear map of the flattened input


def keras_length(length: int, window: int, strides: int, padding: str) -> int:
    """Output length as Keras computes it; ``window`` is the effective (dilated) kernel span.
    ``valid``: ``floor((L - window) / strides) + 1`` (< 1 when the window does not fit);
    ``same``: ``ceil(L / strides)``."""
    if padding == "same":
        return -(-length // strides)
    return (length - window) // strides + 1


def same_padding(length: int, window: int, strides: int) -> tuple[int, int]:
    """Keras/TensorFlow ``same`` padding ``(left, right)``: the odd position goes right."""
    out = keras_length(length, window, strides, "same")
    total = max((out - 1) * strides + window - length, 0)
    return total // 2, total - total // 2


def _needs_sequence(kind: str, in_shape: Shape, where: str) -> None:
    if len(in_shape) != 2:
        raise DnacnnError(
            f"{where}: needs a sequence input (None, length, channels) but gets {keras_shape(in_shape)}; "
            f"move {kind} before flatten, global pooling or dense"
        )


def _windowed(p: dict, in_shape: Shape, where: str, window: int, what: str) -> tuple[int, tuple[int, int]]:
    """Output length and padding of a conv/pool window, or the one-line error when it does not fit."""
    length = in_shape[0]
    out = keras_length(length, window, p["strides"], p["padding"])
    if out < 1:
        raise DnacnnError(
            f"{where}: {what} does not fit the input length {length}; "
            "use padding: same, a smaller window or longer sequences"
        )
    pad = same_padding(length, window, p["strides"]) if p["padding"] == "same" else (0, 0)
    return out, pad


def _conv1d(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    _needs_sequence("conv1d", in_shape, where)
    span = p["dilation"] * (p["kernel_size"] - 1) + 1
    what = f"kernel_size {p['kernel_size']}" + (
        f" with dilation {p['dilation']} (span {span})" if p["dilation"] > 1 else ""
    )
    out, pad = _windowed(p, in_shape, where, span, what)
    c_in = in_shape[1]
    n = p["kernel_size"] * c_in * p["filters"] + (p["filters"] if p["use_bias"] else 0)
    return LayerPlan("conv1d", p, (out, p["filters"]), n, 0, lambda: Conv1d(c_in, p, pad, out))


def _pool(mode: str) -> Callable[[dict, Shape, str], LayerPlan]:
    def builder(p: dict, in_shape: Shape, where: str) -> LayerPlan:
        kind = f"{mode}pool1d"
        _needs_sequence(kind, in_shape, where)
        out, pad = _windowed(p, in_shape, where, p["pool_size"], f"pool_size {p['pool_size']}")
        length = in_shape[0]
        return LayerPlan(kind, p, (out, in_shape[1]), 0, 0, lambda: Pool1d(mode, p, pad, length))

    return builder


def _global_pool(mode: str) -> Callable[[dict, Shape, str], LayerPlan]:
    def builder(p: dict, in_shape: Shape, where: str) -> LayerPlan:
        kind = f"global{mode}pool1d"
        _needs_sequence(kind, in_shape, where)
        return LayerPlan(kind, p, (in_shape[1],), 0, 0, lambda: GlobalPool1d(mode))

    return builder


def _flatten(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    # flattening a vector is a no-op, as in Keras
    make = Flatten if len(in_shape) == 2 else nn.Identity
    return LayerPlan("flatten", p, (math.prod(in_shape),), 0, 0, make)


def _dense(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    c_in = in_shape[-1]
    out_shape = (*in_shape[:-1], p["units"])
    n = c_in * p["units"] + (p["units"] if p["use_bias"] else 0)
    return LayerPlan("dense", p, out_shape, n, 0, lambda: Dense(c_in, p, pointwise=len(in_shape) == 2))


def _dropout(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    return LayerPlan("dropout", p, in_shape, 0, 0, lambda: Dropout(p["rate"]))


def _batchnorm(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    c = in_shape[-1]

    def make() -> nn.Module:
        # Keras momentum weighs the old running statistic; torch momentum weighs the new one
        return nn.BatchNorm1d(c, eps=p["epsilon"], momentum=1.0 - p["momentum"])

    # gamma, beta trainable; moving mean and variance counted by Keras as non-trainable
    return LayerPlan("batchnorm", p, in_shape, 2 * c, 2 * c, make)


def _activation(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    return LayerPlan("activation", p, in_shape, 0, 0, lambda: make_activation(p["name"]))


LAYER_BUILDERS: dict[str, Callable[[dict, Shape, str], LayerPlan]] = {
    "conv1d": _conv1d,
    "maxpool1d": _pool("max"),
    "avgpool1d": _pool("avg"),
    "globalmaxpool1d": _global_pool("max"),
    "globalavgpool1d": _global_pool("avg"),
    "flatten": _flatten,
    "dense": _dense,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "activation": _activation,
}


def keras_shape(shape: Shape) -> str:
    """A shape as Keras prints it, batch axis first: ``(None, 39, 32)`` or ``(None, 16)``."""
    return "(" + ", ".join(["None", *(str(s) for s in shape)]) + ")"


def head_for(spec: dict, n_outputs: int, task: str) -> tuple[int, str]:
    """Output units and ``head_activation`` for a task.

    ``binary``: one sigmoid unit per 0/1 label column, or with ``binary_head: softmax`` two
    softmax units for a single column (``softmax2``); ``multiclass``: one softmax unit per class;
    ``regression``: one linear unit per target column.
    """
    source = spec["source"]
    if task not in TASKS:
        raise DnacnnError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
        raise DnacnnError(f"{source}: the {task} task needs at least one output, got n_outputs={n_outputs!r}")
    if task == "multiclass":
        if n_outputs < 2:
            raise DnacnnError(f"{source}: a multiclass task needs at least 2 classes, got {n_outputs}; use task binary")
        return n_outputs, "softmax"
    if task == "regression":
        return n_outputs, "linear"
    if spec["binary_head"] == "sigmoid":
        return n_outputs, "sigmoid"
    if n_outputs != 1:
        raise DnacnnError(
            f"{source}: binary_head: softmax predicts one label column but the data has {n_outputs}; "
            "use binary_head: sigmoid"
        )
    return 2, "softmax2"


def plan_model(spec: dict | str, channels: int, length: int, n_outputs: int = 1, task: str = "binary") -> ModelPlan:
    """Infer every layer's Keras output shape and parameter counts without building modules.

    Parameters
    ----------
    spec : dict or str
        A spec (validated here, so a raw dict is fine), or a preset name / YAML path.
    channels, length : int
        Input ``X`` shape ``(batch, channels, length)``: 4 for DNA one-hot, 3 or 1 for genotypes.
    n_outputs : int
        Label columns (binary, regression) or classes (multiclass).
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    """
    spec = load_spec(spec) if isinstance(spec, str) else validate_spec(spec)
    source = spec["source"]
    for name, value in (("channels", channels), ("length", length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DnacnnError(f"{source}: input {name} must be a positive integer, got {value!r}")
    if spec["strands"] == "both" and channels != 4:
        raise DnacnnError(
            f"{source}: strands: both needs DNA input (4 channels), got {channels} channels; "
            "use strands: single for genotype data"
        )
    shape: Shape = (length, channels)
    layers = []
    for index, (kind, params) in enumerate(layer_items(spec), start=1):
        layers.append(LAYER_BUILDERS[kind](params, shape, f"{source}: layer {index} ({kind})"))
        shape = layers[-1].out_shape
    if len(shape) != 1:
        raise DnacnnError(
            f"{source}: the layers end with output {keras_shape(shape)} but the output head needs (None, units); "
            "end them with flatten, globalmaxpool1d or globalavgpool1d"
        )
    units, head_activation = head_for(spec, n_outputs, task)
    head_params = {"units": units, "activation": "none", "use_bias": True}
    head = _dense(head_params, shape, f"{source}: output head")
    additive = None
    if spec["additive"] == "ridge" and task == "regression":  # classification trains without it
        if spec["strands"] == "both":
            raise DnacnnError(f"{source}: additive: ridge reads one strand; use strands: single with it")
        features = channels * length
        additive = LayerPlan("additive", {}, (units,), 0, features * units + units, lambda: Additive(features, units))
    return ModelPlan(spec, channels, length, n_outputs, task, layers, head, head_activation, additive)
