"""Spec -> ``torch.nn.Module``: a 1D CNN with Keras layer semantics, returning logits.

Contract: :func:`build_model` turns a spec (see :mod:`dnacnn.models.spec`) into a
:class:`DnacnnModel` mapping ``X`` shape ``(batch, channels, length)`` to logits shape
``(batch, n_out)`` with no final activation; ``model.head_activation`` says how to turn logits
into probabilities and :func:`logits_to_prob` does it.  Output lengths, padding, flatten order,
initialisation and parameter counts follow Keras, so a published Keras network has the same
shapes and parameter count here.  Tensors stay channels-first ``(batch, channels, length)``
inside the body; shapes are *reported* channels-last ``(length, channels)`` as Keras prints them.

:func:`plan_model` does the shape inference and Keras parameter arithmetic without building
anything; :mod:`dnacnn.models.summary` prints it.  Each layer type has one builder in
``LAYER_BUILDERS`` (name -> function), chosen by the spec's string.

Forward passes contain no data-dependent Python control flow (every branch is fixed when the
model is built), so models run in eager mode, under DDP, in ``torch.onnx.export`` and under
bf16 autocast.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dnacnn.errors import DnacnnError
from dnacnn.models.spec import layer_items, load_spec, validate_spec

TASKS = ("binary", "multiclass", "regression")
HEAD_ACTIVATIONS = ("sigmoid", "softmax", "softmax2", "linear")

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


# ---------------------------------------------------------------------------------------------
# modules


class Exp(nn.Module):
    """Elementwise ``exp`` (Keras ``exponential``), used by motif-scanning first layers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


ACTIVATION_MODULES: dict[str, Callable[[], nn.Module]] = {
    "none": nn.Identity,
    "relu": nn.ReLU,
    "gelu": nn.GELU,  # exact erf form, the Keras default (approximate=False)
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
    "exp": Exp,
}


def make_activation(name: str) -> nn.Module:
    """Activation module by canonical name (see ``dnacnn.models.spec.ACTIVATIONS``)."""
    return ACTIVATION_MODULES[name]()


class Conv1d(nn.Module):
    """Keras ``Conv1D``: ``(b, c_in, L)`` -> ``(b, filters, L_out)``.

    Keras ``same`` padding ``(left, right)`` puts the odd position on the right, which
    ``nn.Conv1d(padding=...)`` cannot express.  Padding both sides by ``left + strides`` and
    dropping the first output gives exactly Keras' windows with no explicit pad op (a ``Pad``
    node would keep ONNX export from reaching opset 17) and no copy of the input.
    """

    def __init__(self, in_channels: int, p: dict, pad: tuple[int, int], out_length: int) -> None:
        super().__init__()
        left, right = pad
        self.trim = left != right
        self.out_length = out_length
        self.conv = nn.Conv1d(
            in_channels,
            p["filters"],
            p["kernel_size"],
            stride=p["strides"],
            padding=left + p["strides"] if self.trim else left,
            dilation=p["dilation"],
            bias=p["use_bias"],
        )
        self.activation = make_activation(p["activation"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        # the same convolution as a (1 x k) 2-D one on a channels-last (NHWC) view: oneDNN's
        # native layout on the CPU and the tensor-core layout on GPUs, so no reorder per call
        # (benchmarks/train_bench.py); the weights stay nn.Conv1d's, so model files are unchanged
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        weight = c.weight.unsqueeze(2)
        x = F.conv2d(x, weight, c.bias, (1, c.stride[0]), (0, c.padding[0]), (1, c.dilation[0])).squeeze(2)
        if self.trim:  # fixed at build time, not data-dependent
            x = x[:, :, 1 : 1 + self.out_length]
        return self.activation(x)


class Pool1d(nn.Module):
    """Keras ``MaxPooling1D`` / ``AveragePooling1D``: ``(b, c, L)`` -> ``(b, c, L_out)``.

    Keras ``same`` pooling ignores padded positions.  Here the edge positions are repeated
    instead (one ``index_select``, no ``Pad`` op, any dtype): a window reaching into the padding
    always contains the edge, so its max is unchanged; average pooling zeroes the repeats with
    ``mask`` and divides by the number of real positions per window (``scale``).
    """

    def __init__(self, mode: str, p: dict, pad: tuple[int, int], length: int) -> None:
        super().__init__()
        left, right = pad
        self.mode, self.padded = mode, left + right > 0
        self.pool_size, self.strides = p["pool_size"], p["strides"]
        if not self.padded:
            return
        index = torch.cat([torch.zeros(left, dtype=torch.long), torch.arange(length), torch.full((right,), length - 1)])
        self.register_buffer("index", index, persistent=False)
        if mode == "avg":
            mask = torch.ones(left + length + right)
            mask[:left] = 0.0
            mask[left + length :] = 0.0
            real = F.avg_pool1d(mask[None, None], self.pool_size, self.strides)[0, 0]
            self.register_buffer("mask", mask, persistent=False)
            self.register_buffer("scale", 1.0 / real, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # every branch depends on build-time settings only, never on data
        if self.padded:
            x = x.index_select(2, self.index)
        if self.mode == "max":
            return F.max_pool1d(x, self.pool_size, self.strides)
        if not self.padded:
            return F.avg_pool1d(x, self.pool_size, self.strides)
        x = F.avg_pool1d(x * self.mask.to(x.dtype), self.pool_size, self.strides)
        return x * self.scale.to(x.dtype)


class GlobalPool1d(nn.Module):
    """Keras ``GlobalMaxPooling1D`` / ``GlobalAveragePooling1D``: ``(b, c, L)`` -> ``(b, c)``."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the fastest forms on the channels-last strides Conv1d leaves (benchmarks/train_bench.py):
        # adaptive max pooling is ~6x faster than amax forward + backward; sum / length rather
        # than mean, which is slower and whose ONNX ReduceMean of opset 18 does not convert to 17
        if self.mode == "max":
            return F.adaptive_max_pool1d(x, 1).squeeze(2)
        return x.sum(dim=2) / x.shape[2]


class Flatten(nn.Module):
    """Keras ``Flatten`` of a channels-last tensor: ``(b, c, L)`` -> ``(b, L * c)``, position
    major, so weights ported from Keras line up."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).flatten(1)


# Dense layers up to this many weights stay fp32 under CPU autocast: for such small products
# oneDNN's bf16 path costs more in casts and reorders than it saves (deepbind: +12% samples/s)
SMALL_DENSE_WEIGHTS = 1 << 16


def _cpu_autocast_enabled() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


class Dense(nn.Module):
    """Keras ``Dense``: ``(b, in)`` -> ``(b, units)``; on a sequence ``(b, c, L)`` it acts on the
    channel axis at every position, as Keras does on its last axis, giving ``(b, units, L)``."""

    def __init__(self, in_features: int, p: dict, pointwise: bool) -> None:
        super().__init__()
        self.pointwise = pointwise
        self.linear = nn.Linear(in_features, p["units"], bias=p["use_bias"])
        self.activation = make_activation(p["activation"])
        self.small = in_features * p["units"] <= SMALL_DENSE_WEIGHTS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pointwise:
            x = x.transpose(1, 2)
        if self.small and x.device.type == "cpu" and _cpu_autocast_enabled():
            with torch.autocast("cpu", enabled=False):
                x = self.linear(x.float())
        else:
            x = self.linear(x)
        x = self.activation(x)
        return x.transpose(1, 2) if self.pointwise else x


class Dropout(nn.Dropout):
    """Keras ``Dropout``.  On the CPU the keep mask is drawn with ``torch.rand`` in fp32:
    ``bernoulli_`` there is ~3x slower on the bf16 activations of autocast (a few % of a small
    network's step); elsewhere, and for ``rate`` 1, ``nn.Dropout`` as it is."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.device.type != "cpu" or not 0 < self.p < 1:
            return super().forward(x)
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))


class Additive(nn.Module):
    """``additive: ridge``: a frozen linear map of the flattened input ``(b, channels * length)`` ->
    ``(b, n_out)``, added to the network's logits.  ``dnacnn.train`` sets it to a ridge regression
    fitted on the training rows before the first epoch (RR-BLUP on genotypes), so the layers learn
    only what the additive model leaves (the DeepGBLUP idea, Lee et al. 2023).  ``weight`` and
    ``bias`` are buffers: saved with the model, never trained.  It runs in fp32 under autocast:
    ridge effects are small numbers summed over thousands of markers."""

    def __init__(self, in_features: int, n_out: int) -> None:
        super().__init__()
        self.register_buffer("weight", torch.zeros(n_out, in_features))
        self.register_buffer("bias", torch.zeros(n_out))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        with torch.autocast(X.device.type, enabled=False):
            return F.linear(X.flatten(1).float(), self.weight, self.bias)


class DnacnnModel(nn.Module):
    """``body`` (one module per spec layer, in order) then ``head`` (a linear output layer).

    ``forward(X)``: ``X`` shape ``(batch, channels, length)`` -> logits ``(batch, n_out)``.
    With ``strands: both`` the body and head score ``X`` and its reverse complement
    ``X.flip(1, 2)`` in one batch and the two logits are merged (max or mean), so the output is
    identical for a sequence and its reverse complement.

    Attributes
    ----------
    head_activation : str
        ``sigmoid`` | ``softmax`` | ``softmax2`` | ``linear``; see :func:`logits_to_prob`.
    config : dict
        ``spec, channels, length, n_outputs, task``: ``build_model(**model.config)`` rebuilds it.
    """

    def __init__(self, plan: ModelPlan) -> None:
        super().__init__()
        self.body = nn.Sequential(*(layer.make() for layer in plan.layers))
        self.head = plan.head.make()
        self.additive = plan.additive.make() if plan.additive is not None else None
        self.head_activation = plan.head_activation
        self.both_strands = plan.spec["strands"] == "both"
        self.strand_merge = plan.spec["strand_merge"]
        self.config = {
            "spec": plan.spec,
            "channels": plan.channels,
            "length": plan.length,
            "n_outputs": plan.n_outputs,
            "task": plan.task,
        }

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.additive is not None:  # single strand only (plan_model checks)
            return self.head(self.body(X)) + self.additive(X)
        if not self.both_strands:
            return self.head(self.body(X))
        # one pass over [X; reverse complement] keeps BatchNorm statistics over both strands
        logits = self.head(self.body(torch.cat([X, X.flip(1, 2)], dim=0)))
        pair = logits.unflatten(0, (2, -1))  # (2, batch, n_out)
        return pair.amax(dim=0) if self.strand_merge == "max" else (pair[0] + pair[1]) / 2


# ---------------------------------------------------------------------------------------------
# shape inference and Keras parameter counts, one builder per layer type


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


# ---------------------------------------------------------------------------------------------
# public API


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


def build_model(spec: dict | str, channels: int, length: int, n_outputs: int = 1, task: str = "binary") -> DnacnnModel:
    """Build the network a spec describes, with Keras initialisation.

    Parameters
    ----------
    spec : dict or str
        From :func:`dnacnn.models.spec.load_spec` (or any spec dict; it is validated), or a
        preset name / YAML path.
    channels, length : int
        Input ``X`` shape ``(batch, channels, length)``.
    n_outputs : int
        Label columns (binary, regression) or classes (multiclass).
    task : str
        ``binary`` (sigmoid + BCE), ``multiclass`` (softmax + CE) or ``regression`` (MSE).

    Returns
    -------
    DnacnnModel
        ``X`` ``(batch, channels, length)`` float -> logits ``(batch, n_out)`` where ``n_out`` is
        ``n_outputs``, or 2 for a binary task with ``binary_head: softmax``.
    """
    model = DnacnnModel(plan_model(spec, channels, length, n_outputs, task))
    model.apply(keras_init)
    if model.additive is not None:
        # start as the additive model alone (train fits it): the layers' contribution grows from zero
        nn.init.zeros_(model.head.linear.weight)
    return model


def keras_init(module: nn.Module) -> None:
    """Keras defaults: Glorot-uniform kernels, zero biases (torch's default init differs)."""
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def logits_to_prob(logits: torch.Tensor, head_activation: str | DnacnnModel) -> torch.Tensor:
    """Turn logits into what the task predicts.

    Parameters
    ----------
    logits : torch.Tensor, shape=(n, n_out)
    head_activation : str or DnacnnModel
        ``model.head_activation`` or the model itself (also wrapped in DDP).

    Returns
    -------
    torch.Tensor
        ``sigmoid``: per-column probabilities ``(n, n_out)``; ``softmax``: class probabilities
        ``(n, n_classes)``; ``softmax2``: probability of class 1, ``(n, 1)``; ``linear``: the
        logits unchanged (regression predictions).
    """
    if isinstance(head_activation, nn.Module):
        # DistributedDataParallel keeps the DnacnnModel in .module
        name = getattr(head_activation, "module", head_activation).head_activation
    else:
        name = head_activation
    if name == "sigmoid":
        return torch.sigmoid(logits)
    if name == "softmax":
        return torch.softmax(logits, dim=1)
    if name == "softmax2":
        return torch.softmax(logits, dim=1)[:, 1:]
    if name == "linear":
        return logits
    raise ValueError(f"unknown head activation {name!r}; expected one of {', '.join(HEAD_ACTIVATIONS)}")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, non_trainable)`` as Keras counts them: parameters, plus BatchNorm running
    mean and variance and the frozen ``additive`` weights as non-trainable (``num_batches_tracked``
    has no Keras counterpart)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            frozen += m.running_mean.numel() + m.running_var.numel()
        elif isinstance(m, Additive):
            frozen += m.weight.numel() + m.bias.numel()
    return trainable, frozen
