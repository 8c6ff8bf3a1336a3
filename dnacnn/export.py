"""``dnacnn export``: a trained model as ONNX or TorchScript, for use outside dnacnn.

The exported graph maps one-hot / genotype input ``X`` shape ``(batch, channels, length)``
float32 to *scores* (probabilities, or regression values on the original scale), the same
numbers ``dnacnn predict`` writes (:func:`dnacnn.models.heads.scores`), so other tools need no
knowledge of the output head.  The
batch dimension is dynamic.  A JSON sidecar (``OUT.json``) records the encoding, channel order,
label names and dnacnn version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import check_output_file, output_file, write_text_atomic

EXPORT_FORMATS = ("onnx", "torchscript")


def _scoring_module(loaded):
    import torch

    from dnacnn.models.heads import PROBABILITY_HEADS, probabilities, values

    meta = loaded.meta
    head = meta.head
    mean = torch.as_tensor(np.asarray(meta.target_mean if meta.target_mean is not None else 0.0, np.float32))
    std = torch.as_tensor(np.asarray(meta.target_std if meta.target_std is not None else 1.0, np.float32))

    class Scores(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, X):
            logits = self.net(X)
            if head in PROBABILITY_HEADS:
                return probabilities(logits, head)
            return values(logits, self.mean, self.std)

    return Scores(loaded.module).eval()


def export(model_path: str | os.PathLike, out_path: str | os.PathLike, fmt: str = "onnx", opset: int = 17) -> Path:
    """Write the model as ``fmt`` (onnx or torchscript) to ``out_path``; returns the path."""
    import torch

    from dnacnn.modelfile import load_model

    if fmt not in EXPORT_FORMATS:
        raise DnacnnError(f"unknown --format {fmt!r}; use onnx or torchscript")
    out_path = Path(out_path)
    sidecar_path = out_path.with_name(out_path.name + ".json")
    for path in (out_path, sidecar_path):
        check_output_file(path, [model_path])
    loaded = load_model(model_path, "cpu")
    enc = loaded.encoding
    module = _scoring_module(loaded)
    example = torch.zeros(2, enc.channels, enc.length)
    with output_file(out_path) as tmp:
        if fmt == "onnx":
            try:
                import onnx  # noqa: F401
            except ImportError:
                raise DnacnnError("ONNX export needs the onnx package: pip install 'dnacnn[export]'") from None
            torch.onnx.export(
                module,
                (example,),
                str(tmp),
                input_names=["X"],
                output_names=["scores"],
                dynamic_axes={"X": {0: "batch"}, "scores": {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
        else:
            torch.jit.save(torch.jit.trace(module, example), str(tmp))
    sidecar = {
        "input": {
            "name": "X",
            "shape": ["batch", enc.channels, enc.length],
            "encoding": enc.to_dict(),
            "channel_order": "A,C,G,T" if enc.kind == "dna" else "genotype 0,1,2",
        },
        "output": {"name": "scores", "columns": loaded.meta.label_names, "task": loaded.meta.task},
        "dnacnn_version": loaded.meta.dnacnn_version,
    }
    write_text_atomic(sidecar_path, json.dumps(sidecar, indent=2) + "\n")
    return out_path
