"""dnacnn.modelfile: the safetensors container, as safetensors and Galaxy's sniffer read it."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from dnacnn.modelfile import META_KEY, read_tensors, save_tensors


def header(path) -> bytes:
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        return f.read(size)


@pytest.mark.parametrize("extra", range(8))  # every padding length safetensors can choose
def test_header_ends_with_its_json_and_reads_back(tmp_path, extra):
    tensors = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(3, dtype=torch.float64)}
    meta = {"name": "x" * extra, "n": extra}
    path = tmp_path / "m.dnacnn"
    save_tensors(path, tensors, meta)
    raw = header(path)
    assert raw.startswith(b"{") and raw.endswith(b"}") and (8 + len(raw)) % 8 == 0
    assert json.loads(raw)["__metadata__"][META_KEY] == json.dumps(meta)
    got, got_meta = read_tensors(path)
    assert got_meta == meta and set(got) == set(tensors)
    assert all(torch.equal(got[k], tensors[k]) for k in tensors)
    with safe_open(str(path), framework="pt") as f:  # the reference reader agrees
        assert torch.equal(f.get_tensor("w"), tensors["w"])


def test_galaxy_sniffs_a_dnacnn_file_as_safetensors(tmp_path):
    """Galaxy's own Safetensors sniffer (galaxy-data) types a dnacnn file as safetensors; a file
    padded the way safetensors' save_file pads it (spaces after the brace) it rejects."""
    binary = pytest.importorskip("galaxy.datatypes.binary")
    tensors = {"w": torch.zeros(3, 5)}
    ours, theirs = tmp_path / "ours.dnacnn", tmp_path / "theirs.safetensors"
    for extra in range(8):
        meta = {"pad": "y" * extra}
        save_tensors(ours, tensors, meta)
        save_file(tensors, str(theirs), metadata={META_KEY: json.dumps(meta)})
        assert binary.Safetensors().sniff(str(ours)), extra
        if header(theirs).endswith(b" "):
            assert not binary.Safetensors().sniff(str(theirs))


def test_committed_model_files_sniff_as_safetensors():
    """The Galaxy tool tests upload galaxy/test-data/*.dnacnn as safetensors: Galaxy must agree."""
    from pathlib import Path

    binary = pytest.importorskip("galaxy.datatypes.binary")
    models = sorted((Path(__file__).parents[1] / "galaxy" / "test-data").glob("*.dnacnn"))
    assert models
    for path in models:
        assert binary.Safetensors().sniff(str(path)), path
        read_tensors(path)


def _forged(tmp_path, **meta_changes):
    """A small model file (tests/test_variants.py's motif model) with its metadata edited."""
    from test_variants import motif_model

    path = motif_model(tmp_path / "m.dnacnn")
    tensors, meta = read_tensors(path)
    save_tensors(tmp_path / "forged.dnacnn", tensors, {**meta, **meta_changes})
    return tmp_path / "forged.dnacnn"


def test_read_model_meta_plans_the_network_before_anything_is_built(tmp_path):
    from dnacnn.errors import DnacnnError
    from dnacnn.modelfile import read_model_meta
    from dnacnn.models.spec import load_spec

    spec = load_spec("deepbind")
    spec["layers"][-1] = {"dense": {"units": 10**13, "activation": "none", "use_bias": True}}
    path = _forged(tmp_path, spec=spec)
    with pytest.raises(DnacnnError, match=r"forged\.dnacnn: preset:deepbind: layer \d+ \(dense\): .* 2,000,000,000"):
        read_model_meta(path)
    with pytest.raises(DnacnnError, match=r"corrupt model metadata \('n_outputs' is str, not an integer\)"):
        read_model_meta(_forged(tmp_path, n_outputs="1"))


def test_load_model_checks_tensor_shapes_before_reading_tensors(tmp_path, monkeypatch):
    from dnacnn import modelfile
    from dnacnn.errors import DnacnnError

    tensors, meta = read_tensors(_forged(tmp_path))
    tensors["body.0.conv.weight"] = torch.zeros(1, 4, 5000)
    save_tensors(tmp_path / "big.dnacnn", tensors, meta)
    monkeypatch.setattr(
        modelfile,
        "read_tensors",
        lambda *a, **k: pytest.fail("tensors read") if k.get("with_tensors", True) else read_tensors(*a, **k),
    )
    with pytest.raises(DnacnnError, match=r"tensor 'body\.0\.conv\.weight' is 1x4x5000, the network's 1x4x12"):
        modelfile.load_model(tmp_path / "big.dnacnn")
