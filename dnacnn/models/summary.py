"""Keras-style model summary: layer table, output shapes and parameter counts.

Contract: :func:`summarize` reports what :func:`dnacnn.models.build.build_model` would build
for the same arguments, with output shapes written as Keras prints them (``(None, 39, 32)``,
batch axis first, channels last) and parameter counts equal to Keras' for the same network:
BatchNorm counts ``4 * C`` of which ``2 * C`` (moving mean and variance) are non-trainable.
Counts come from Keras arithmetic in :func:`dnacnn.models.build.plan_model`, not from the
torch modules, so tests can check one against the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnacnn.models.plan import keras_shape, plan_model

# spec layer type -> (Keras default layer name, Keras class)
KERAS_NAMES = {
    "conv1d": ("conv1d", "Conv1D"),
    "maxpool1d": ("max_pooling1d", "MaxPooling1D"),
    "avgpool1d": ("average_pooling1d", "AveragePooling1D"),
    "globalmaxpool1d": ("global_max_pooling1d", "GlobalMaxPooling1D"),
    "globalavgpool1d": ("global_average_pooling1d", "GlobalAveragePooling1D"),
    "flatten": ("flatten", "Flatten"),
    "dense": ("dense", "Dense"),
    "dropout": ("dropout", "Dropout"),
    "batchnorm": ("batch_normalization", "BatchNormalization"),
    "activation": ("activation", "Activation"),
}
# the spec's `additive: ridge` path, shown after the head
ADDITIVE_NAME = ("additive_ridge", "Ridge, frozen")

HEAD_NOTES = {
    "sigmoid": "sigmoid per column",
    "softmax": "softmax over classes",
    "softmax2": "softmax; probability = softmax[:, 1]",
    "linear": "linear (regression)",
}


@dataclass(frozen=True)
class LayerRow:
    """One table row: Keras layer ``name`` (``conv1d_1``), ``type`` (``Conv1D``), ``output_shape``
    as Keras prints it and ``params`` (trainable + non-trainable)."""

    name: str
    type: str
    output_shape: str
    params: int


@dataclass(frozen=True)
class Summary:
    """A model summary; ``text`` is the printable Keras-style table (also ``str(summary)``)."""

    name: str
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    head_activation: str
    text: str

    def __str__(self) -> str:
        return self.text


def summarize(spec: dict | str, channels: int, length: int, n_outputs: int = 1, task: str = "binary") -> Summary:
    """Summarize the network a spec gives for inputs ``X`` shape ``(batch, channels, length)``.

    Parameters
    ----------
    spec : dict or str
        A spec dict, preset name or YAML path.
    channels, length : int
        Input shape without the batch axis.
    n_outputs : int
        Label columns (binary, regression) or classes (multiclass).
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    """
    plan = plan_model(spec, channels, length, n_outputs, task)
    seen: dict[str, int] = {}
    rows = []
    extra = [plan.additive] if plan.additive is not None else []
    for layer in [*plan.layers, plan.head, *extra]:
        base, keras_class = ADDITIVE_NAME if layer.kind == "additive" else KERAS_NAMES[layer.kind]
        # Keras numbers repeated layer names: dense, dense_1, dense_2, ...
        count = seen.get(base, 0)
        seen[base] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        rows.append(LayerRow(name, keras_class, keras_shape(layer.out_shape), layer.trainable + layer.non_trainable))
    trainable = sum(layer.trainable for layer in [*plan.layers, plan.head])
    frozen = sum(layer.non_trainable for layer in [*plan.layers, *extra])
    spec_dict = plan.spec
    notes = [f"Input: {keras_shape((length, channels))}"]
    if spec_dict["strands"] == "both":
        notes.append(f"Strands: both (shared weights; the two strands' logits merged by {spec_dict['strand_merge']})")
    if extra:
        notes.append("Additive: a ridge regression on the flattened input (fitted by train, frozen) adds to the logits")
    notes.append(f"Output: logits {rows[-1].output_shape}; head activation {HEAD_NOTES[plan.head_activation]}")
    text = _table(spec_dict["name"], rows, trainable, frozen, notes)
    return Summary(spec_dict["name"], rows, trainable + frozen, trainable, frozen, plan.head_activation, text)


def _table(name: str, rows: list[LayerRow], trainable: int, frozen: int, notes: list[str]) -> str:
    header = ("Layer (type)", "Output Shape", "Param #")
    cells = [(f"{r.name} ({r.type})", r.output_shape, f"{r.params:,}") for r in rows]
    widths = [max(len(c[i]) for c in [header, *cells]) + 3 for i in range(3)]
    rule = "_" * sum(widths)

    def line(cell: tuple[str, str, str]) -> str:
        return " " + "".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip()

    return "\n".join(
        [
            f'Model: "{name}"',
            rule,
            line(header),
            "=" * sum(widths),
            *(line(c) for c in cells),
            "=" * sum(widths),
            f"Total params: {trainable + frozen:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {frozen:,}",
            *notes,
            rule,
        ]
    )
