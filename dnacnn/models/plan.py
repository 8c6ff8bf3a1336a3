"""Shape inference and Keras parameter counts of a spec, without building the network.

Contract: :func:`plan_model` validates a spec against an input ``(channels, length)`` and a task
and returns a :class:`ModelPlan`: every layer's Keras output shape ``(length, channels)`` or
``(units,)``, its trainable and non-trainable parameter counts, and a ``make`` that instantiates
its module (:mod:`dnacnn.models.layers`); each layer type has one builder in
:data:`LAYER_BUILDERS`.  A spec that cannot be built (a window longer than its input, a head on
a sequence) is a one-line :class:`~dnacnn.errors.DnacnnError` naming the layer, and so is one
that is too big to build: more than :data:`MAX_PARAMETERS` parameters, or more than
:data:`MAX_ACTIVATION_BYTES` of float32 activations for one input sample (every layer's output,
padded inputs included; twice that with ``strands: both``).  Both limits lie far above any real
model and are checked before anything is allocated; torch is imported only when a ``make`` is
called.  :func:`head_for` gives the output units and head activation of a task.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dnacnn.errors import DnacnnError
from dnacnn.models.spec import layer_items, load_spec, validate_spec
from dnacnn.split import TASKS

if TYPE_CHECKING:
    from torch import nn

# What a spec may ask for: far above any real model (the largest published genomics CNNs hold
# a few hundred million parameters and well under 1 GiB of activations per sample), far below
# what a forged model file or a typo (units: 10000000000000) would make torch try to allocate.
MAX_PARAMETERS = 2_000_000_000
MAX_ACTIVATION_BYTES = 16 << 30  # float32 outputs of every layer for one sample

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
    padded: int = 0  # elements of the padded input a windowed layer reads, beside its output


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
    padded = (in_shape[0] + 2 * (max(pad) + p["strides"])) * c_in if any(pad) else 0

    def make() -> nn.Module:
        from dnacnn.models.layers import Conv1d

        return Conv1d(c_in, p, pad, out)

    return LayerPlan("conv1d", p, (out, p["filters"]), n, 0, make, padded)


def _pool(mode: str) -> Callable[[dict, Shape, str], LayerPlan]:
    def builder(p: dict, in_shape: Shape, where: str) -> LayerPlan:
        kind = f"{mode}pool1d"
        _needs_sequence(kind, in_shape, where)
        out, pad = _windowed(p, in_shape, where, p["pool_size"], f"pool_size {p['pool_size']}")
        length = in_shape[0]
        padded = (length + sum(pad)) * (in_shape[1] + 1) if any(pad) else 0  # + the index / mask

        def make() -> nn.Module:
            from dnacnn.models.layers import Pool1d

            return Pool1d(mode, p, pad, length)

        return LayerPlan(kind, p, (out, in_shape[1]), 0, 0, make, padded)

    return builder


def _global_pool(mode: str) -> Callable[[dict, Shape, str], LayerPlan]:
    def builder(p: dict, in_shape: Shape, where: str) -> LayerPlan:
        kind = f"global{mode}pool1d"
        _needs_sequence(kind, in_shape, where)

        def make() -> nn.Module:
            from dnacnn.models.layers import GlobalPool1d

            return GlobalPool1d(mode)

        return LayerPlan(kind, p, (in_shape[1],), 0, 0, make)

    return builder


def _flatten(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    def make() -> nn.Module:
        from torch import nn

        from dnacnn.models.layers import Flatten

        return Flatten() if len(in_shape) == 2 else nn.Identity()  # flattening a vector: a no-op, as in Keras

    return LayerPlan("flatten", p, (math.prod(in_shape),), 0, 0, make)


def _dense(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    c_in = in_shape[-1]
    out_shape = (*in_shape[:-1], p["units"])
    n = c_in * p["units"] + (p["units"] if p["use_bias"] else 0)

    def make() -> nn.Module:
        from dnacnn.models.layers import Dense

        return Dense(c_in, p, pointwise=len(in_shape) == 2)

    return LayerPlan("dense", p, out_shape, n, 0, make)


def _dropout(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    def make() -> nn.Module:
        from dnacnn.models.layers import Dropout

        return Dropout(p["rate"])

    return LayerPlan("dropout", p, in_shape, 0, 0, make)


def _batchnorm(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    c = in_shape[-1]

    def make() -> nn.Module:
        from torch import nn

        # Keras momentum weighs the old running statistic; torch momentum weighs the new one
        return nn.BatchNorm1d(c, eps=p["epsilon"], momentum=1.0 - p["momentum"])

    # gamma, beta trainable; moving mean and variance counted by Keras as non-trainable
    return LayerPlan("batchnorm", p, in_shape, 2 * c, 2 * c, make)


def _activation(p: dict, in_shape: Shape, where: str) -> LayerPlan:
    def make() -> nn.Module:
        from dnacnn.models.layers import make_activation

        return make_activation(p["name"])

    return LayerPlan("activation", p, in_shape, 0, 0, make)


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
    budget = _Budget(2 if spec["strands"] == "both" else 1)
    shape: Shape = (length, channels)
    budget.activations(length * channels, f"{source}: the input {_shape(shape)}")
    layers = []
    for index, (kind, params) in enumerate(layer_items(spec), start=1):
        where = f"{source}: layer {index} ({kind})"
        layers.append(LAYER_BUILDERS[kind](params, shape, where))
        budget.add(layers[-1], where)
        shape = layers[-1].out_shape
    if len(shape) != 1:
        raise DnacnnError(
            f"{source}: the layers end with output {keras_shape(shape)} but the output head needs (None, units); "
            "end them with flatten, globalmaxpool1d or globalavgpool1d"
        )
    units, head_activation = head_for(spec, n_outputs, task)
    head_params = {"units": units, "activation": "none", "use_bias": True}
    head = _dense(head_params, shape, f"{source}: output head")
    budget.add(head, f"{source}: output head")
    additive = None
    if spec["additive"] == "ridge" and task == "regression":  # classification trains without it
        if spec["strands"] == "both":
            raise DnacnnError(f"{source}: additive: ridge reads one strand; use strands: single with it")
        features = channels * length

        def make() -> nn.Module:
            from dnacnn.models.layers import Additive

            return Additive(features, units)

        additive = LayerPlan("additive", {}, (units,), 0, features * units + units, make)
        budget.add(additive, f"{source}: additive: ridge")
    return ModelPlan(spec, channels, length, n_outputs, task, layers, head, head_activation, additive)


class _Budget:
    """The parameters and activation bytes of the layers planned so far; one past a limit is
    refused, naming the layer that crossed it."""

    def __init__(self, strands: int) -> None:
        self.strands = strands
        self.parameters = 0
        self.bytes = 0

    def add(self, layer: LayerPlan, where: str) -> None:
        own = layer.trainable + layer.non_trainable
        self.parameters += own
        if self.parameters > MAX_PARAMETERS:
            raise DnacnnError(
                f"{where}: {_count(own)} parameters bring the model to {_count(self.parameters)}, over the limit "
                f"of {MAX_PARAMETERS:,}; use fewer filters or units, or pool before flatten and dense"
            )
        self.activations(math.prod(layer.out_shape) + layer.padded, f"{where}: output {_shape(layer.out_shape)}")

    def activations(self, elements: int, what: str) -> None:
        """Add ``elements`` float32 values per sample (each strand) held by ``what``."""
        self.bytes += 4 * elements * self.strands
        if self.bytes > MAX_ACTIVATION_BYTES:
            raise DnacnnError(
                f"{what} brings the activations of one sample to {_size(self.bytes)}, over the limit of "
                f"{_size(MAX_ACTIVATION_BYTES)}; use shorter inputs, fewer filters or pool earlier"
            )


def _count(n: int) -> str:
    """An integer as text, short even when a forged spec makes it thousands of digits long."""
    return f"{n:,}" if n < 10**15 else f"about 10^{int((n.bit_length() - 1) * math.log10(2))}"


def _shape(shape: Shape) -> str:
    return "(" + ", ".join(["None", *(_count(s).replace(",", "") for s in shape)]) + ")"


def _size(n: int) -> str:
    """Bytes in binary units (``149 TiB``)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024:
            return f"{n} {unit}"
        n //= 1024
    return f"{_count(n)} EiB"
