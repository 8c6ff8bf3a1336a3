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
