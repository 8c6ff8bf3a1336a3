"""The torch modules a spec's layers become, with Keras semantics on channels-first tensors.

Contract: each module maps ``(batch, channels, length)`` (or ``(batch, units)`` after flatten)
as the Keras layer of the same name does, padding, pooling edges, flatten order and dense-on-a-
sequence included, so weights ported from Keras line up; :data:`ACTIVATION_MODULES` maps an
activation name to its module.  Forward passes hold no data-dependent Python control flow, so
they run eagerly, under DDP, in ``torch.onnx.export`` and under bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


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
