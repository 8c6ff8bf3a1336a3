"""Tests for dnacnn.models: spec validation, Keras shapes and parameter counts, heads, strands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
import yaml
from model_specs import GMP, seed, spec_of  # noqa: F401  (seed: an autouse fixture)

from dnacnn.errors import DnacnnError
from dnacnn.models import (
    build_model,
    count_parameters,
    list_presets,
    load_spec,
    logits_to_prob,
    plan_model,
    summarize,
    validate_spec,
)
from dnacnn.models.plan import LAYER_BUILDERS
from dnacnn.models.spec import LAYER_PARAMS
from dnacnn.models.summary import KERAS_NAMES

PRESETS = ["basset", "deepbind", "keras-1d", "snp-cnn", "tfbind", "zou2019"]
# the input each preset is meant for: (channels, length, task)
PRESET_INPUTS = {name: (4, 101, "binary") for name in PRESETS} | {"snp-cnn": (3, 1279, "regression")}


def test_list_presets():
    assert list_presets() == PRESETS


def test_registries_cover_the_same_layer_types():
    assert set(LAYER_PARAMS) == set(LAYER_BUILDERS) == set(KERAS_NAMES)


def test_zou2019_summary_matches_keras():
    s = summarize("zou2019", channels=4, length=50)
    assert [(r.name, r.type, r.output_shape, r.params) for r in s.rows] == [
        ("conv1d", "Conv1D", "(None, 39, 32)", 1568),
        ("max_pooling1d", "MaxPooling1D", "(None, 9, 32)", 0),
        ("flatten", "Flatten", "(None, 288)", 0),
        ("dense", "Dense", "(None, 16)", 4624),
        ("dense_1", "Dense", "(None, 2)", 34),
    ]
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (6226, 6226, 0)
    assert s.head_activation == "softmax2"
    assert "Total params: 6,226\nTrainable params: 6,226\nNon-trainable params: 0" in s.text
    assert " conv1d (Conv1D)" in s.text and "(None, 39, 32)" in s.text


def test_keras_1d_summary_matches_keras_docs_example():
    s = summarize("keras-1d", channels=100, length=64)
    assert s.total_params == 105_729
    assert [r.output_shape for r in s.rows] == [
        "(None, 62, 64)",
        "(None, 60, 64)",
        "(None, 20, 64)",
        "(None, 18, 128)",
        "(None, 16, 128)",
        "(None, 128)",
        "(None, 128)",
        "(None, 1)",
    ]
    assert [r.params for r in s.rows] == [19264, 12352, 0, 24704, 49280, 0, 0, 129]


def test_batchnorm_counts_as_keras():
    s = summarize("basset", channels=4, length=101)
    bn = [r.params for r in s.rows if r.type == "BatchNormalization"]
    assert bn == [4 * 300, 4 * 200, 4 * 200]
    assert s.non_trainable_params == 2 * (300 + 200 + 200)
    assert s.total_params == 2_569_301
    assert "Non-trainable params: 1,400" in s.text


@pytest.mark.parametrize("name", PRESETS)
def test_summary_counts_equal_built_model(name):
    channels, length, task = PRESET_INPUTS[name]
    s = summarize(name, channels, length, task=task)
    model = build_model(load_spec(name), channels, length, 1, task)
    assert sum(p.numel() for p in model.parameters()) == s.trainable_params
    assert count_parameters(model) == (s.trainable_params, s.non_trainable_params)


@pytest.mark.parametrize("name", PRESETS)
def test_summary_shapes_equal_tensor_shapes(name):
    channels, length, task = PRESET_INPUTS[name]
    plan = plan_model(name, channels, length, 1, task)
    model = build_model(name, channels, length, 1, task).eval()
    x = torch.rand(2, channels, length)
    for module, layer in zip(model.body, plan.layers, strict=True):
        x = module(x)
        # torch is channels-first (b, c, L); Keras reports (L, c)
        keras = x.shape[1:] if x.ndim == 2 else (x.shape[2], x.shape[1])
        assert tuple(keras) == layer.out_shape, layer.kind


def test_preset_param_counts_at_101bp():
    totals = {
        name: summarize(name, *PRESET_INPUTS[name][:2], task=PRESET_INPUTS[name][2]).total_params for name in PRESETS
    }
    assert totals == {
        "basset": 2_569_301,
        "deepbind": 2_129,
        "keras-1d": 87_297,
        "snp-cnn": 327_393 + 3 * 1279 + 1,  # the frozen additive ridge on the flattened markers
        "tfbind": 66_433,
        "zou2019": 12_882,
    }


@pytest.mark.parametrize(
    ("task", "n_outputs", "binary_head", "n_out", "head"),
    [
        ("binary", 3, "sigmoid", 3, "sigmoid"),
        ("binary", 1, "softmax", 2, "softmax2"),
        ("multiclass", 4, "sigmoid", 4, "softmax"),
        ("regression", 2, "sigmoid", 2, "linear"),
    ],
)
def test_output_shapes_per_task(task, n_outputs, binary_head, n_out, head):
    spec = spec_of({"conv1d": {"filters": 4, "kernel_size": 5}}, GMP, binary_head=binary_head)
    model = build_model(spec, 4, 30, n_outputs, task)
    logits = model(torch.rand(6, 4, 30))
    assert logits.shape == (6, n_out)
    assert model.head_activation == head
    prob = logits_to_prob(logits, model)
    expected = {
        "sigmoid": torch.sigmoid(logits),
        "softmax2": torch.softmax(logits, 1)[:, 1:],
        "softmax": torch.softmax(logits, 1),
        "linear": logits,
    }[head]
    torch.testing.assert_close(prob, expected)
    assert prob.shape == (6, n_outputs if head != "softmax" else n_out)


@pytest.mark.parametrize("name", ["deepbind", "tfbind"])
def test_both_strands_is_reverse_complement_invariant(name):
    model = build_model(name, 4, 101).eval()
    x = F.one_hot(torch.randint(0, 4, (8, 101)), 4).transpose(1, 2).float()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.flip(1, 2)), rtol=0, atol=1e-6)


@pytest.mark.parametrize("merge", ["max", "mean"])
def test_strand_merge(merge):
    spec = spec_of({"conv1d": {"filters": 4, "kernel_size": 5}}, GMP, strands="both", strand_merge=merge)
    model = build_model(spec, 4, 30, 2, "regression").eval()
    single = build_model({**spec, "strands": "single"}, 4, 30, 2, "regression").eval()
    single.load_state_dict(model.state_dict())
    x = torch.rand(3, 4, 30)
    pair = torch.stack([single(x), single(x.flip(1, 2))])
    expected = pair.amax(0) if merge == "max" else pair.mean(0)
    torch.testing.assert_close(model(x), expected)
    # a single-strand model is not invariant, so the test above can fail
    assert not torch.allclose(single(x), single(x.flip(1, 2)))


def test_both_strands_needs_dna():
    with pytest.raises(DnacnnError) as err:
        build_model("deepbind", 3, 1279)
    assert str(err.value) == (
        "preset:deepbind: strands: both needs DNA input (4 channels), got 3 channels; "
        "use strands: single for genotype data"
    )


def test_config_rebuilds_the_model():
    model = build_model("tfbind", 4, 101)
    config = json.loads(json.dumps(model.config))  # a model file stores it as JSON
    rebuilt = build_model(**config)
    rebuilt.load_state_dict(model.state_dict())
    model.eval(), rebuilt.eval()
    x = torch.rand(2, 4, 101)
    torch.testing.assert_close(rebuilt(x), model(x))


def test_validate_spec_is_idempotent():
    spec = load_spec("basset")
    assert validate_spec(spec) == spec
    assert spec["layers"][3] == {"maxpool1d": {"pool_size": 3, "strides": 3, "padding": "same"}}
    assert spec["layers"][0]["conv1d"]["activation"] == "none"
    assert spec["train"]["batch_size"] == 64


def test_user_yaml_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "layers:\n"
        "  - conv1d: {filters: 8, kernel_size: 6, activation: linear, padding: same}\n"
        "  - activation: {name: exponential}\n"
        "  - avgpool1d: {pool_size: 4}\n"
        "  - flatten\n"
        "  - batchnorm: {epsilon: 1e-5}\n"
        "train: {lr: 0.01}\n"
    )
    spec = load_spec(str(path))
    assert (spec["name"], spec["source"], spec["strands"]) == ("mine", str(path), "single")
    assert spec["layers"][1] == {"activation": {"name": "exp"}}
    assert spec["layers"][4] == {"batchnorm": {"momentum": 0.99, "epsilon": 1e-5}}
    s = summarize(spec, 4, 40)
    assert [r.output_shape for r in s.rows][-3:] == ["(None, 80)", "(None, 80)", "(None, 1)"]
    assert s.total_params == (6 * 4 * 8 + 8) + 4 * 80 + 81
    assert build_model(spec, 4, 40)(torch.rand(3, 4, 40)).shape == (3, 1)


def write_spec(tmp_path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


ZOU_LAYERS = "  - conv1d: {filters: 32, kernel_size: 12}\n  - maxpool1d: {pool_size: 4}\n  - flatten: {}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "layers:\n" + ZOU_LAYERS + "  - dense: {activation: relu}\n",
            "layer 4 (dense): missing 'units'; add units: N",
        ),
        (
            "layers:\n" + ZOU_LAYERS + "  - densse: {units: 3}\n",
            "layer 4 (densse): unknown layer type; use one of conv1d, "
            "maxpool1d, avgpool1d, globalmaxpool1d, globalavgpool1d, flatten, dense, dropout, batchnorm, activation",
        ),
        (
            "layers:\n" + ZOU_LAYERS + "  - dense: {unit: 3}\n",
            "layer 4 (dense): unknown parameter 'unit'; allowed: units, activation, use_bias",
        ),
        (
            "layers:\n  - conv1d: {filters: 32, kernel_size: 0}\n",
            "layer 1 (conv1d): kernel_size must be a positive integer, got 0",
        ),
        (
            "layers:\n  - conv1d: {filters: 3, kernel_size: 2, activation: swish}\n",
            "layer 1 (conv1d): activation "
            "must be one of none, relu, gelu, elu, sigmoid, tanh, softplus, exp, got 'swish'",
        ),
        ("layers:\n  - dropout: {rate: 1.5}\n", "layer 1 (dropout): rate must be a number in [0, 1), got 1.5"),
        (
            "layers:\n  - maxpool1d: {pool_size: 2, padding: causal}\n",
            "layer 1 (maxpool1d): padding must be valid or same, got 'causal'",
        ),
        (
            "layers:\n  - {conv1d: {}, flatten: {}}\n",
            "layer 1: expected a one-key mapping such as {dense: {units: 16}}, got {'conv1d': {}, 'flatten': {}}",
        ),
        (
            "layers: []\n",
            "'layers' must be a non-empty list; add e.g. layers: [{conv1d: {filters: 32, "
            "kernel_size: 12}}, {globalmaxpool1d: {}}]",
        ),
        (
            "layer:\n  - flatten\n",
            "unknown key 'layer'; allowed keys: name, description, source, strands, "
            "strand_merge, binary_head, additive, layers, train",
        ),
        ("strands: double\nlayers: [flatten]\n", "strands must be single or both, got 'double'"),
        (
            "layers:\n  - flatten: {}\n   - dense\n",
            # libyaml's wording (dnacnn.yamlfile uses it when PyYAML has it), else PyYAML's own
            "invalid YAML (did not find expected '-' indicator); fix the syntax"
            if yaml.__with_libyaml__
            else "invalid YAML (expected <block end>, but found '<block sequence start>'); fix the syntax",
        ),
    ],
)
def test_bad_spec_errors(tmp_path, text, message):
    path = write_spec(tmp_path, text)
    with pytest.raises(DnacnnError) as err:
        load_spec(path)
    where = f"{path}:3" if "YAML" in message else path
    assert str(err.value) == f"{where}: {message}"


@pytest.mark.parametrize(
    ("layers", "length", "message"),
    [
        (
            ZOU_LAYERS,
            14,
            "layer 2 (maxpool1d): pool_size 4 does not fit the input length 3; use padding: same, "
            "a smaller window or longer sequences",
        ),
        (
            "  - conv1d: {filters: 2, kernel_size: 12}\n  - flatten\n",
            9,
            "layer 1 (conv1d): kernel_size 12 does not fit the input length 9; use padding: same, a smaller window "
            "or longer sequences",
        ),
        (
            "  - conv1d: {filters: 2, kernel_size: 5, dilation: 3}\n  - flatten\n",
            12,
            "layer 1 (conv1d): "
            "kernel_size 5 with dilation 3 (span 13) does not fit the input length 12; use padding: same, a smaller "
            "window or longer sequences",
        ),
        (
            "  - flatten\n  - conv1d: {filters: 2, kernel_size: 5}\n",
            50,
            "layer 2 (conv1d): needs a sequence input "
            "(None, length, channels) but gets (None, 200); move conv1d before flatten, global pooling or dense",
        ),
        (
            "  - conv1d: {filters: 2, kernel_size: 5}\n",
            50,
            "the layers end with output (None, 46, 2) but the output "
            "head needs (None, units); end them with flatten, globalmaxpool1d or globalavgpool1d",
        ),
    ],
)
def test_shape_errors(tmp_path, layers, length, message):
    spec = load_spec(write_spec(tmp_path, "layers:\n" + layers))
    with pytest.raises(DnacnnError) as err:
        build_model(spec, 4, length)
    assert str(err.value) == f"{tmp_path / 'bad.yaml'}: {message}"


def test_head_errors():
    with pytest.raises(DnacnnError) as err:
        build_model("zou2019", 4, 50, n_outputs=3, task="binary")
    assert str(err.value) == (
        "preset:zou2019: binary_head: softmax predicts one label column but the data has 3; use binary_head: sigmoid"
    )
    with pytest.raises(DnacnnError, match=r"^unknown task 'ranking'; use one of binary, multiclass, regression$"):
        build_model("deepbind", 4, 101, task="ranking")
    with pytest.raises(DnacnnError, match="a multiclass task needs at least 2 classes, got 1"):
        build_model("deepbind", 4, 101, 1, "multiclass")


def test_unknown_preset_and_missing_file():
    with pytest.raises(DnacnnError) as err:
        load_spec("zou2020")
    assert str(err.value) == (
        "unknown model preset 'zou2020'; use a preset (basset, deepbind, keras-1d, snp-cnn, tfbind, zou2019) "
        "or a path to a .yaml file"
    )
    with pytest.raises(DnacnnError, match=r"^nope\.yaml: no such model spec file; give an existing \.yaml path"):
        load_spec("nope.yaml")


def test_bf16_autocast():
    model = build_model("basset", 4, 101).eval()
    x = torch.rand(4, 4, 101)
    dtypes = {}

    def record(name):
        def hook(module, inputs, out):
            dtypes[name] = out.dtype

        return hook

    model.body[0].register_forward_hook(record("conv"))
    model.body[-3].register_forward_hook(record("big dense"))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(x)
    assert dtypes == {"conv": torch.bfloat16, "big dense": torch.bfloat16}
    # the output head (1000 x 1 weights) is a small Dense: fp32 under CPU autocast, by design
    assert low.dtype == torch.float32 and low.shape == (4, 1)
    torch.testing.assert_close(low.float(), model(x).detach(), rtol=0.05, atol=0.05)


# The dynamo exporter (torch's default) takes ~10 s of CPU, too slow for every run; the legacy
# one checks the same graph in ~1 s.  DNACNN_SLOW_TESTS=1 runs both.
@pytest.mark.parametrize(
    "dynamo",
    [
        False,
        pytest.param(
            True,
            marks=[pytest.mark.slow, pytest.mark.skipif(not os.environ.get("DNACNN_SLOW_TESTS"), reason="slow")],
        ),
    ],
)
def test_onnx_export_opset17(tmp_path, dynamo):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    # asymmetric same padding, same pooling, batchnorm and a mean strand merge: the parts that
    # could emit ops without an opset-17 form (Pad, ReduceMean)
    spec = spec_of(
        {"conv1d": {"filters": 4, "kernel_size": 4, "padding": "same", "activation": "relu"}},
        {"batchnorm": {}},
        {"maxpool1d": {"pool_size": 3, "padding": "same"}},
        {"avgpool1d": {"pool_size": 2, "padding": "same"}},
        {"globalavgpool1d": {}},
        strands="both",
        strand_merge="mean",
    )
    model = build_model(spec, 4, 21, 2, "binary").eval()
    path = tmp_path / "m.onnx"
    x = torch.rand(2, 4, 21)
    if dynamo:
        dynamic = {"dynamic_shapes": ({0: torch.export.Dim("batch")},)}
    else:
        dynamic = {"input_names": ["X"], "output_names": ["logits"], "dynamic_axes": {"X": [0], "logits": [0]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(model, (x,), path, opset_version=17, dynamo=dynamo, **dynamic)
    assert onnx.load(path).opset_import[0].version == 17
    x = torch.rand(5, 4, 21)
    session = ort.InferenceSession(str(path))
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    torch.testing.assert_close(torch.from_numpy(out), model(x).detach(), rtol=1e-5, atol=1e-5)


def test_spec_module_does_not_import_torch():
    code = "import sys, dnacnn.models.spec as s; s.load_spec('tfbind'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_additive_ridge_summary_and_rules():
    s = summarize("snp-cnn", channels=3, length=1279, task="regression")
    assert (s.rows[-1].name, s.rows[-1].type, s.rows[-1].params) == ("additive_ridge", "Ridge, frozen", 3 * 1279 + 1)
    assert s.non_trainable_params == 3 * 1279 + 1 and "Additive: a ridge regression" in s.text
    # classification trains without the additive path
    binary = summarize("snp-cnn", channels=3, length=1279, task="binary")
    assert binary.non_trainable_params == 0 and binary.total_params == s.trainable_params
    model = build_model(load_spec("snp-cnn"), 3, 50, 1, "regression")
    assert torch.count_nonzero(model(torch.rand(4, 3, 50))) == 0  # starts as the (unfitted) additive path alone
    spec = {"name": "x", "additive": "ridge", "strands": "both", "layers": [{"globalmaxpool1d": {}}]}
    with pytest.raises(DnacnnError, match="additive: ridge reads one strand; use strands: single"):
        build_model(spec, 4, 50, 1, "regression")
    with pytest.raises(DnacnnError, match="additive must be none or ridge, got 'lasso'"):
        validate_spec({**spec, "additive": "lasso"})


def test_plan_refuses_a_model_too_big_to_build_naming_the_layer():
    """Size limits (issue 17): parameters and activations are counted while planning, before anything
    is allocated; the layer that crosses a limit is named, and the limit is in the message."""
    from dnacnn.models.plan import MAX_ACTIVATION_BYTES, MAX_PARAMETERS

    wide = spec_of({"conv1d": {"filters": 16, "kernel_size": 3}}, {"flatten": {}}, {"dense": {"units": 10**7}})
    with pytest.raises(DnacnnError, match=rf"layer 3 \(dense\): .* over the limit of {MAX_PARAMETERS:,}"):
        plan_model(wide, 4, 101)
    assert sum(x.trainable for x in plan_model(wide, 4, 10).layers) < MAX_PARAMETERS  # shorter input: fits
    # 1,500 filters x 1M positions x 4 bytes = 6 GB of activations per sample: one such layer fits...
    conv = {"conv1d": {"filters": 1500, "kernel_size": 1}}
    plan_model(spec_of(conv, GMP), 4, 1_000_000)
    with pytest.raises(DnacnnError, match=r"layer 3 \(conv1d\): output \(None, 1000000, 1500\) brings the activations"):
        plan_model(spec_of(conv, conv, conv, GMP), 4, 1_000_000)  # ...three do not (18 GB)
    with pytest.raises(DnacnnError, match=f"over the limit of {MAX_ACTIVATION_BYTES >> 30} GiB"):
        plan_model({**spec_of(conv, conv, GMP), "strands": "both"}, 4, 1_000_000)  # two on both strands: 24 GB


def test_plan_counts_a_same_padded_window_it_would_allocate():
    huge_pool = spec_of({"maxpool1d": {"pool_size": 10**15, "padding": "same"}}, GMP)
    with pytest.raises(DnacnnError, match=r"layer 1 \(maxpool1d\): output \(None, 1, 4\) brings the activations"):
        plan_model(huge_pool, 4, 101)
    plan_model(spec_of({"maxpool1d": {"pool_size": 200, "padding": "same"}}, GMP), 4, 101)  # Keras allows it


def test_validate_spec_bounds_layers_and_messages():
    from dnacnn.models.spec import MAX_LAYERS

    with pytest.raises(DnacnnError, match=f"{MAX_LAYERS + 1:,} layers, more than the limit of {MAX_LAYERS:,}"):
        validate_spec({"layers": [{"flatten": {}}] * (MAX_LAYERS + 1)}, "s.yaml")
    with pytest.raises(DnacnnError) as err:
        validate_spec({"layers": [list(range(10**5))]}, "a\nb.yaml")
    assert "\n" not in str(err.value) and len(str(err.value)) < 200 and str(err.value).startswith("a?b.yaml: layer 1")
