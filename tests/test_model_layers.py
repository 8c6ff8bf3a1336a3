"""Keras layer semantics of dnacnn.models.layers and plan: output lengths, same padding, pooling, flatten,
dense, initialisation, batchnorm and dropout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from model_specs import GMP, seed, spec_of  # noqa: F401  (seed: an autouse fixture)

from dnacnn.models import build_model, summarize, validate_spec
from dnacnn.models.layers import Dropout
from dnacnn.models.plan import keras_length, same_padding


@pytest.mark.parametrize(
    ("length", "window", "strides", "padding", "expected"),
    [
        (101, 19, 1, "valid", 83),
        (101, 19, 1, "same", 101),
        (101, 4, 2, "same", 51),
        (101, 4, 2, "valid", 49),
        (101, 3, 3, "valid", 33),
        (101, 3, 3, "same", 34),
        (5, 6, 1, "valid", 0),
        (5, 6, 1, "same", 5),
    ],
)
def test_keras_lengths(length, window, strides, padding, expected):
    assert keras_length(length, window, strides, padding) == expected


@pytest.mark.parametrize(
    "layer",
    [
        {"conv1d": {"filters": 3, "kernel_size": 4, "padding": "same"}},
        {"conv1d": {"filters": 3, "kernel_size": 4, "strides": 3, "padding": "same"}},
        {"conv1d": {"filters": 3, "kernel_size": 3, "dilation": 2, "padding": "same"}},
        {"conv1d": {"filters": 3, "kernel_size": 3, "dilation": 2, "padding": "valid"}},
        {"conv1d": {"filters": 3, "kernel_size": 5, "strides": 2}},
    ],
)
def test_conv_matches_explicit_keras_padding(layer):
    p = validate_spec(spec_of(layer, GMP))["layers"][0]["conv1d"]
    model = build_model(spec_of(layer, {"flatten": {}}), 2, 11)
    conv = model.body[0].conv
    x = torch.rand(4, 2, 11)
    span = p["dilation"] * (p["kernel_size"] - 1) + 1
    pad = same_padding(11, span, p["strides"]) if p["padding"] == "same" else (0, 0)
    expected = F.conv1d(F.pad(x, pad), conv.weight, conv.bias, p["strides"], 0, p["dilation"])
    assert expected.shape[2] == keras_length(11, span, p["strides"], p["padding"])
    torch.testing.assert_close(model.body[0](x), expected)


@pytest.mark.parametrize(("pool_size", "strides"), [(3, 3), (2, 1), (4, 2), (5, 5)])
def test_same_pooling_ignores_padding(pool_size, strides):
    x = torch.randn(2, 3, 11) - 5  # negative, so zero padding would change the max
    pad = same_padding(11, pool_size, strides)
    params = {"pool_size": pool_size, "strides": strides, "padding": "same"}
    maxpool = build_model(spec_of({"maxpool1d": params}, GMP), 3, 11).body[0]
    avgpool = build_model(spec_of({"avgpool1d": params}, GMP), 3, 11).body[0]
    expected_max = F.max_pool1d(F.pad(x, pad, value=-math.inf), pool_size, strides)
    ones = F.pad(torch.ones(1, 1, 11), pad)
    expected_avg = F.avg_pool1d(F.pad(x, pad), pool_size, strides) / F.avg_pool1d(ones, pool_size, strides)
    torch.testing.assert_close(maxpool(x), expected_max)
    torch.testing.assert_close(avgpool(x), expected_avg)
    assert maxpool(x).shape[2] == keras_length(11, pool_size, strides, "same")


def test_flatten_is_channels_last_like_keras():
    model = build_model(spec_of({"flatten": {}}), 2, 3)
    x = torch.arange(6.0).reshape(1, 2, 3)  # channels (0, 1, 2) and (3, 4, 5)
    assert model.body[0](x).tolist() == [[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]]


def test_dense_on_a_sequence_acts_per_position():
    s = summarize(spec_of({"dense": {"units": 5}}, {"flatten": {}}), 4, 10)
    assert [r.output_shape for r in s.rows] == ["(None, 10, 5)", "(None, 50)", "(None, 1)"]
    assert s.total_params == 4 * 5 + 5 + 50 + 1
    assert build_model(spec_of({"dense": {"units": 5}}, {"flatten": {}}), 4, 10)(torch.rand(2, 4, 10)).shape == (2, 1)


def test_keras_initialisation():
    model = build_model("zou2019", 4, 50)
    conv = model.body[0].conv
    fan_in, fan_out = 4 * 12, 32 * 12
    assert conv.weight.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
    assert conv.bias.abs().sum() == 0
    assert model.body[0].activation.__class__.__name__ == "ReLU"


def test_batchnorm_uses_keras_momentum_and_epsilon():
    spec = {"name": "bn", "layers": [{"conv1d": {"filters": 4, "kernel_size": 3}}, {"batchnorm": {}}, "flatten"]}
    bn = build_model(spec, 4, 101).body[1]
    assert (bn.momentum, bn.eps) == pytest.approx((0.01, 0.001))  # Keras' 0.99 momentum == torch's 0.01
    tuned = build_model("tfbind", 4, 101).body[1]  # the tfbind preset sets Keras momentum 0.9
    assert tuned.momentum == pytest.approx(0.1)


def test_cpu_dropout_keeps_keras_semantics():
    drop = Dropout(0.25)
    x = torch.ones(200, 500)
    torch.manual_seed(0)
    y = drop.train()(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01  # drops a fraction `rate`
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.75))  # and rescales the rest
    torch.manual_seed(0)
    assert torch.equal(drop(x), y)  # seeded: reproducible
    assert torch.equal(drop.eval()(x), x)  # identity at inference
