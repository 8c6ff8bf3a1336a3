"""Model specs: YAML files that describe a 1D CNN as an ordered list of Keras-style layers.

Contract: :func:`load_spec` takes a preset name (``zou2019``) or a path to a ``.yaml`` file and
returns a *normalized* spec, a plain JSON-able dict in which every layer parameter is present
(defaults filled in, Keras names and defaults) so that a model file can store it and rebuild
the same network.  :func:`validate_spec` does the same for a dict (e.g. read back from a model
file) and is idempotent.  Every problem is a :class:`~dnacnn.errors.DnacnnError` with one line
``SOURCE: layer I (TYPE): what is wrong; what to do`` (layers counted from 1), values quoted
short and the source stripped of line breaks (:func:`shown`, :func:`one_line`).  YAML is read
through :mod:`dnacnn.yamlfile` (size, alias and nesting limits); a spec holds at most
:data:`MAX_LAYERS` layers, and :mod:`dnacnn.models.plan` bounds what they may allocate.

Spec keys::

    name: zou2019               # default: the file name without .yaml
    description: one line
    strands: single             # or both: scan both DNA strands with shared weights
    strand_merge: max           # or mean: how the two strands' logits are merged
    binary_head: sigmoid        # or softmax: Dense(2, softmax) head for a binary task
    additive: none              # or ridge: on regression tasks, a frozen ridge regression on the
                                # flattened input is added to the output and the layers learn what
                                # it leaves (classification tasks train without it)
    layers:                     # each item a one-key mapping {layer_type: {params}}
      - conv1d: {filters: 32, kernel_size: 12, activation: relu}
    train: {optimizer: adam, lr: 0.001}   # training defaults, read by dnacnn.train

The output head (a dense layer sized for the task) is appended by
:func:`dnacnn.models.build.build_model`; it is not part of ``layers``.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from dnacnn.errors import DnacnnError
from dnacnn.yamlfile import parse_yaml, read_yaml

PRESET_PACKAGE = "dnacnn.models"
PRESET_DIR = "presets"

ACTIVATIONS = ("none", "relu", "gelu", "elu", "sigmoid", "tanh", "softplus", "exp")
# Keras spellings accepted on input and stored under their canonical name
ACTIVATION_ALIASES = {"linear": "none", "exponential": "exp", None: "none"}
PADDINGS = ("valid", "same")
STRANDS = ("single", "both")
STRAND_MERGES = ("max", "mean")
BINARY_HEADS = ("sigmoid", "softmax")
ADDITIVE = ("none", "ridge")
MAX_LAYERS = 1000  # the deepest published genomics CNNs have a few dozen
TOP_KEYS = ("name", "description", "source", "strands", "strand_merge", "binary_head", "additive", "layers", "train")


class _Required:
    """Sentinel default for a parameter the spec must give."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


@dataclass(frozen=True)
class Param:
    """One layer parameter: ``convert`` returns the canonical value or raises ``ValueError``;
    ``expect`` says in words what is accepted; ``example`` is the value shown in 'add ...' hints."""

    convert: Callable[[Any], Any]
    expect: str
    default: Any = REQUIRED
    example: str = "N"


def _positive_int(value: Any) -> int:
    # bool is an int subclass: `filters: yes` must not become 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError
    return value


def _optional_positive_int(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


def _float(value: Any) -> float:
    # PyYAML reads `1e-3` (no dot) as a string, so accept numeric strings
    if isinstance(value, bool):
        raise ValueError
    result = float(value)
    if not math.isfinite(result):
        raise ValueError
    return result


def _rate(value: Any) -> float:
    result = _float(value)
    if not 0.0 <= result < 1.0:
        raise ValueError
    return result


def _fraction(value: Any) -> float:
    result = _float(value)
    if not 0.0 <= result <= 1.0:
        raise ValueError
    return result


def _positive_float(value: Any) -> float:
    result = _float(value)
    if result <= 0.0:
        raise ValueError
    return result


def _choice(choices: tuple[str, ...], aliases: dict | None = None) -> Callable[[Any], str]:
    aliases = aliases or {}

    def convert(value: Any) -> str:
        if value in aliases:
            return aliases[value]
        if not isinstance(value, str) or value.lower() not in choices:
            raise ValueError
        return value.lower()

    return convert


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


POSITIVE_INT = "a positive integer"
_activation = Param(_choice(ACTIVATIONS, ACTIVATION_ALIASES), "one of " + ", ".join(ACTIVATIONS), "none", "relu")
_padding = Param(_choice(PADDINGS), "valid or same", "valid", "same")
_pool = {
    "pool_size": Param(_positive_int, POSITIVE_INT, 2),
    # None means strides = pool_size, as in Keras; normalized to the number
    "strides": Param(_optional_positive_int, "a positive integer or null", None),
    "padding": _padding,
}

# Layer vocabulary: Keras layer names, parameters and defaults.
LAYER_PARAMS: dict[str, dict[str, Param]] = {
    "conv1d": {
        "filters": Param(_positive_int, POSITIVE_INT),
        "kernel_size": Param(_positive_int, POSITIVE_INT),
        "strides": Param(_positive_int, POSITIVE_INT, 1),
        "padding": _padding,
        "dilation": Param(_positive_int, POSITIVE_INT, 1),
        "activation": _activation,
        "use_bias": Param(_bool, "true or false", True, "true"),
    },
    "maxpool1d": _pool,
    "avgpool1d": _pool,
    "globalmaxpool1d": {},
    "globalavgpool1d": {},
    "flatten": {},
    "dense": {
        "units": Param(_positive_int, POSITIVE_INT),
        "activation": _activation,
        "use_bias": Param(_bool, "true or false", True, "true"),
    },
    "dropout": {"rate": Param(_rate, "a number in [0, 1)", example="0.5")},
    # Keras momentum (0.99) weighs the old running mean; torch momentum = 1 - Keras momentum
    "batchnorm": {
        "momentum": Param(_fraction, "a number in [0, 1]", 0.99, "0.99"),
        "epsilon": Param(_positive_float, "a positive number", 0.001, "0.001"),
    },
    "activation": {"name": Param(_activation.convert, _activation.expect, example="relu")},
}


def list_presets() -> list[str]:
    """Names of the presets shipped in ``dnacnn/models/presets/``, sorted."""
    folder = resources.files(PRESET_PACKAGE) / PRESET_DIR
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    """The YAML file of the shipped preset ``name``, as written (comments included): a starting
    point for a spec of one's own (``dnacnn presets tfbind > my.yaml``)."""
    if name not in list_presets():
        raise DnacnnError(f"unknown preset {name!r}; the presets are {', '.join(list_presets())}")
    return (resources.files(PRESET_PACKAGE) / PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")


def load_spec(name_or_path: str) -> dict:
    """Load and validate a model spec from a preset name or a YAML file.

    Parameters
    ----------
    name_or_path : str
        A preset name (see :func:`list_presets`), or a path: anything ending in ``.yaml`` /
        ``.yml`` or containing a ``/`` is read as a file.

    Returns
    -------
    dict
        The normalized spec (see :func:`validate_spec`), with ``source`` set to the file path or
        ``preset:NAME``.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or "/" in text or "\\" in text:
        if not path.is_file():
            raise DnacnnError(f"{text}: no such model spec file; give an existing .yaml path or a preset name")
        spec, source, default_name = read_yaml(path, "model spec file"), text, path.stem
    elif text in list_presets():
        preset = resources.files(PRESET_PACKAGE) / PRESET_DIR / f"{text}.yaml"
        spec, source, default_name = (
            parse_yaml(preset.read_text(encoding="utf-8"), f"preset:{text}"),
            f"preset:{text}",
            text,
        )
    else:
        raise DnacnnError(
            f"unknown model preset {text!r}; use a preset ({', '.join(list_presets())}) or a path to a .yaml file"
        )
    if isinstance(spec, dict):
        spec = {"name": default_name, **spec, "source": source}
    return validate_spec(spec, source)


def validate_spec(spec: Any, source: str | None = None) -> dict:
    """Check a spec dict and return a normalized copy (every layer parameter filled in).

    Parameters
    ----------
    spec : dict
        A spec as read from YAML or from a model file.
    source : str, optional
        How errors name the spec; default: ``spec['source']``, else ``spec['name']``.

    Returns
    -------
    dict
        Keys ``name, description, source, strands, strand_merge, binary_head, additive, layers, train``;
        ``layers`` is a list of ``{layer_type: {param: value}}`` with all parameters present.
    """
    if not isinstance(spec, dict):
        raise DnacnnError(
            f"{source or 'model spec'}: a model spec must be a YAML mapping with a 'layers' list; "
            "see the presets in dnacnn/models/presets/"
        )
    source = one_line(source or spec.get("source") or spec.get("name") or "model spec")
    unknown = [k for k in spec if k not in TOP_KEYS]
    if unknown:
        raise DnacnnError(f"{source}: unknown key {shown(unknown[0])}; allowed keys: {', '.join(TOP_KEYS)}")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise DnacnnError(
            f"{source}: 'layers' must be a non-empty list; add e.g. layers: [{{conv1d: {{filters: 32, "
            "kernel_size: 12}}, {globalmaxpool1d: {}}]"
        )
    if len(layers) > MAX_LAYERS:
        raise DnacnnError(
            f"{source}: {len(layers):,} layers, more than the limit of {MAX_LAYERS:,}; is it the right spec?"
        )
    train = spec.get("train") or {}
    if not isinstance(train, dict):
        raise DnacnnError(f"{source}: 'train' must be a mapping such as {{lr: 0.001, epochs: 50}}")
    return {
        "name": str(spec.get("name") or "model"),
        "description": str(spec.get("description") or ""),
        "source": one_line(spec.get("source") or source),
        "strands": _top_choice(spec, "strands", STRANDS, source),
        "strand_merge": _top_choice(spec, "strand_merge", STRAND_MERGES, source),
        "binary_head": _top_choice(spec, "binary_head", BINARY_HEADS, source),
        "additive": _top_choice(spec, "additive", ADDITIVE, source),
        "layers": [_validate_layer(item, i, source) for i, item in enumerate(layers, start=1)],
        "train": dict(train),
    }


def _top_choice(spec: dict, key: str, choices: tuple[str, ...], source: str) -> str:
    value = spec.get(key, choices[0])
    if value not in choices:
        raise DnacnnError(f"{source}: {key} must be {' or '.join(choices)}, got {shown(value)}")
    return value


def one_line(value: Any, limit: int = 1000) -> str:
    """``value`` as text fit for a one-line message: control characters (newlines included) as
    ``?``, at most ``limit`` characters."""
    text = "".join(c if c.isprintable() else "?" for c in str(value)[: limit + 1])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value: Any) -> str:
    """A value as an error message quotes it (``repr``), cut short."""
    return one_line(reprlib.repr(value), 80)


def layer_items(spec: dict) -> list[tuple[str, dict]]:
    """The layers of a normalized spec as ``(layer_type, params)`` pairs."""
    return [next(iter(item.items())) for item in spec["layers"]]


def _validate_layer(item: Any, index: int, source: str) -> dict:
    # a bare string (`- flatten`) is a layer without parameters
    if isinstance(item, str):
        item = {item: {}}
    if not isinstance(item, dict) or len(item) != 1:
        raise DnacnnError(
            f"{source}: layer {index}: expected a one-key mapping such as {{dense: {{units: 16}}}}, got {shown(item)}"
        )
    (kind, params), where = next(iter(item.items())), f"{source}: layer {index} ({one_line(next(iter(item)), 40)})"
    if kind not in LAYER_PARAMS:
        raise DnacnnError(f"{where}: unknown layer type; use one of {', '.join(LAYER_PARAMS)}")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise DnacnnError(f"{where}: parameters must be a mapping such as {{name: value}}, got {shown(params)}")
    schema = LAYER_PARAMS[kind]
    for name in params:
        if name not in schema:
            allowed = ", ".join(schema) if schema else "none"
            raise DnacnnError(f"{where}: unknown parameter {shown(name)}; allowed: {allowed}")
    out = {}
    for name, param in schema.items():
        if name not in params:
            if param.default is REQUIRED:
                raise DnacnnError(f"{where}: missing {name!r}; add {name}: {param.example}")
            out[name] = param.default
            continue
        try:
            out[name] = param.convert(params[name])
        except (TypeError, ValueError):
            raise DnacnnError(f"{where}: {name} must be {param.expect}, got {shown(params[name])}") from None
    if "strides" in out and out["strides"] is None:
        out["strides"] = out["pool_size"]
    return {kind: out}
