"""Bounded resources (issue 17, item 4): what a hostile file asks for is checked before it is allocated.

Model files (forged safetensors headers and metadata), model specs and search spaces (giant
layers, YAML anchor bombs, deep nesting, huge files) and FASTA / gzip inputs (huge lines, long
records, truncated or bomb-like gzip) go through the commands that read them; each refusal is one
line naming the file and what is wrong, with the folder unchanged.  The FASTA reader's cost is
also checked: linear in the input, the codes of a long record held once.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from harness import refused

from dnacnn.codes import DNA_LUT
from dnacnn.errors import DnacnnError
from dnacnn.io.fasta import MAX_HEADER_BYTES, MAX_RECORD_BASES, iter_fasta
from dnacnn.models.plan import MAX_ACTIVATION_BYTES, MAX_PARAMETERS, plan_model
from dnacnn.yamlfile import MAX_ALIASES, MAX_DEPTH, MAX_NODES, MAX_YAML_BYTES, parse_yaml

LIMIT = f"{MAX_PARAMETERS:,}"
BLOCK = 1 << 20  # the FASTA reader's block: records longer than this are read in pieces


# --------------------------------------------------------------------------- model files


def read_safetensors(path: Path) -> tuple[dict, bytes]:
    """A safetensors file's header (dict) and tensor bytes, read by hand."""
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + size]), raw[8 + size :]


def write_safetensors(path: Path, header: dict, data: bytes) -> Path:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def forge_meta(work: Path, change) -> Path:
    """``forged.dnacnn``: m.dnacnn with its metadata dict passed through ``change`` (which may
    edit it in place or return a replacement; a str replaces the metadata's JSON text)."""
    header, data = read_safetensors(work / "m.dnacnn")
    meta = json.loads(header["__metadata__"]["dnacnn"])
    result = change(meta)
    text = result if isinstance(result, str) else json.dumps(meta if result is None else result)
    header["__metadata__"] = {"dnacnn": text}
    return write_safetensors(work / "forged.dnacnn", header, data)


def with_layer(layer: dict, at: int = 1):
    def change(meta):
        meta["spec"]["layers"].insert(at, layer)

    return change


def setter(*keys, value):
    def change(meta):
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def evil_source(meta: dict) -> None:
    """A spec source that would split the error line in two, on a model too big to build."""
    meta["spec"]["source"] = "evil\nsecond line"
    meta["spec"]["layers"].insert(1, {"dense": {"units": 10**13}})


def deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


FORGED_META = [
    # (id, change, fragments of the one-line refusal)
    ("70-TB-dense-layer", with_layer({"dense": {"units": 10**13}}, 2), ["layer 3 (dense)", LIMIT]),
    ("conv-of-1e12-filters", with_layer({"conv1d": {"filters": 10**12, "kernel_size": 3}}, 0), ["layer 1 (conv1d)"]),
    ("input-1e13-bases", setter("encoding", "length", value=10**13), ["the input (None, 10000000000000, 4)", "TiB"]),
    ("input-length-negative", setter("encoding", "length", value=-5), ["length -5 is not a positive integer"]),
    ("input-length-zero", setter("encoding", "length", value=0), ["length 0 is not a positive integer"]),
    ("input-length-text", setter("encoding", "length", value="24"), ["length '24' is not a positive integer"]),
    ("input-length-float", setter("encoding", "length", value=24.5), ["length 24.5 is not a positive integer"]),
    ("input-length-true", setter("encoding", "length", value=True), ["length True is not a positive integer"]),
    ("dna-with-1e6-channels", setter("encoding", "channels", value=10**6), ["has 4 channels, not 1000000"]),
    ("unknown-encoding", setter("encoding", "kind", value="protein"), ["unknown encoding 'protein'"]),
    ("encoding-a-list", setter("encoding", value=[1, 2]), ["'encoding' is not an object"]),
    ("1e12-outputs", setter("n_outputs", value=10**12), ["output head", LIMIT]),
    ("zero-outputs", setter("n_outputs", value=0), ["'n_outputs' is 0"]),
    ("outputs-as-text", setter("n_outputs", value="1"), ["'n_outputs' is str"]),
    ("no-spec", lambda m: m.pop("spec") and None, ["corrupt model metadata (no 'spec')"]),
    ("spec-a-preset-name", setter("spec", value="zou2019"), ["'spec' is str, not an object"]),
    ("spec-a-file-path", setter("spec", value="/etc/passwd"), ["'spec' is str, not an object"]),
    ("5000-layers", setter("spec", "layers", value=[{"dropout": {"rate": 0.1}}] * 5000), ["5,000 layers"]),
    (
        "same-pool-of-1e15",
        with_layer({"maxpool1d": {"pool_size": 10**15, "padding": "same"}}),
        ["layer 2 (maxpool1d)", "activations"],
    ),
    (
        "same-conv-dilated-1e9",
        with_layer({"conv1d": {"filters": 1, "kernel_size": 3, "dilation": 10**9, "padding": "same"}}, 0),
        ["layer 1 (conv1d)", "activations"],
    ),
    (
        "int-of-5000-digits",
        lambda m: json.dumps(setter("n_outputs", value=123456789)(m) or m).replace("123456789", "9" * 5000),
        ["corrupt"],
    ),
    ("json-nested-100k-deep", lambda m: json.dumps(m)[:-1] + ', "history": ' + deep_list(100_000) + "}", ["corrupt"]),
    ("metadata-not-an-object", lambda m: "[1, 2, 3]", ["not a JSON object"]),
    ("metadata-not-json", lambda m: "{'spec': ", ["corrupt dnacnn metadata"]),
    ("marker-means-too-long", setter("marker_means", value=[0.5] * 1000), ["'marker_means' holds 1000 values"]),
    ("target-mean-too-long", setter("target_mean", value=[0.0] * 7), ["'target_mean' holds 7 values for 1 outputs"]),
    ("settings-a-string", setter("settings", value="x"), ["'settings' is str, not an object"]),
    ("history-a-number", setter("history", value=3), ["'history' is int, not a list"]),
    ("format-version-text", setter("format_version", value="1"), ["format_version '1'"]),
    ("format-version-future", setter("format_version", value=10**6), ["newer than this dnacnn"]),
    (
        "newline-in-source",
        evil_source,
        ["evil?second line: layer 2 (dense)", LIMIT],
    ),
]


@pytest.mark.parametrize("change, fragments", [c[1:] for c in FORGED_META], ids=[c[0] for c in FORGED_META])
def test_predict_refuses_forged_model_metadata(cli, work, change, fragments):
    forge_meta(work, change)
    refused(cli, work, ["predict", "forged.dnacnn", "seqs.fa", "-o", "p.tsv"], "forged.dnacnn", *fragments)


def _tensor_header(work: Path, name: str, **entry) -> Path:
    header, data = read_safetensors(work / "m.dnacnn")
    header[name] = {**header[name], **entry}
    return write_safetensors(work / "forged.dnacnn", header, data)


def _last_tensor_dropped(work: Path) -> Path:
    """m.dnacnn without the tensor stored last (its bytes cut too: a well-formed file)."""
    header, data = read_safetensors(work / "m.dnacnn")
    last = max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][1])
    start = header.pop(last)["data_offsets"][0]
    return write_safetensors(work / "forged.dnacnn", header, data[:start])


def _raw_model(work: Path, make) -> Path:
    raw = (work / "m.dnacnn").read_bytes()
    (work / "forged.dnacnn").write_bytes(make(raw))
    return work / "forged.dnacnn"


FORGED_FILES = [
    ("header-length-2^60", lambda w: _raw_model(w, lambda r: struct.pack("<Q", 2**60) + r[8:]), ["header too large"]),
    ("header-past-the-end", lambda w: _raw_model(w, lambda r: struct.pack("<Q", len(r)) + r[8:]), ["header length"]),
    ("empty-file", lambda w: _raw_model(w, lambda r: b""), ["forged.dnacnn"]),
    ("seven-bytes", lambda w: _raw_model(w, lambda r: r[:7]), ["not a dnacnn model file"]),
    ("tensor-data-cut", lambda w: _raw_model(w, lambda r: r[:-100]), ["not a dnacnn model file"]),
    (
        "header-200MB-of-metadata",
        lambda w: _raw_model(w, lambda r: struct.pack("<Q", 200_000_000) + b'{"__metadata__":{"dnacnn":"' + b"x" * 64),
        ["header too large"],
    ),
    ("tensor-1e7x1e7", lambda w: _tensor_header(w, "body.0.conv.weight", shape=[10**7, 10**7]), ["not a dnacnn"]),
    ("tensor-negative-dim", lambda w: _tensor_header(w, "body.0.conv.weight", shape=[-1, 4, 12]), ["not a dnacnn"]),
    (
        "tensor-offsets-1e15",
        lambda w: _tensor_header(w, "body.0.conv.bias", data_offsets=[0, 10**15]),
        ["not a dnacnn"],
    ),
    ("tensor-dtype-unknown", lambda w: _tensor_header(w, "body.0.conv.bias", dtype="F128"), ["not a dnacnn"]),
    ("tensor-missing", _last_tensor_dropped, ["lacks tensor 'head.linear.weight'"]),
]


@pytest.mark.parametrize("forge, fragments", [c[1:] for c in FORGED_FILES], ids=[c[0] for c in FORGED_FILES])
def test_predict_refuses_forged_safetensors_headers(cli, work, forge, fragments):
    forge(work)
    refused(cli, work, ["predict", "forged.dnacnn", "seqs.fa", "-o", "p.tsv"], "forged.dnacnn", *fragments)


def resaved(work: Path, change) -> Path:
    """``forged.dnacnn``: m.dnacnn's tensors (numpy arrays, edited by ``change``) and metadata,
    written by the safetensors library: a well-formed file."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(work / "m.dnacnn"), framework="np") as f:
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (not a dict)
        metadata = f.metadata()
    change(tensors)
    save_file(tensors, str(work / "forged.dnacnn"), metadata=metadata)
    return work / "forged.dnacnn"


def test_tensor_shapes_are_checked_before_the_tensors_are_read(cli, work):
    """A file whose tensors differ in shape from its spec's network (here a bigger, honest
    tensor) is refused from the header, naming the tensor."""
    resaved(work, lambda t: t.update({"body.0.conv.weight": np.zeros((1, 4, 12_000), np.float32)}))
    refused(
        cli,
        work,
        ["predict", "forged.dnacnn", "seqs.fa", "-o", "p.tsv"],
        "tensor 'body.0.conv.weight' is 1x4x12000, the network's 1x4x",
    )


def test_an_extra_tensor_is_refused(cli, work):
    resaved(work, lambda t: t.update({"payload": np.zeros(1000, np.float32)}))
    refused(cli, work, ["predict", "forged.dnacnn", "seqs.fa", "-o", "p.tsv"], "has the extra tensor 'payload'")


GIANT = with_layer({"dense": {"units": 10**13}}, 2)  # the 28 kB model that asks for a 70 TB layer
COMMANDS = [
    ("predict", ["predict", "forged.dnacnn", "seqs.fa", "-o", "p.tsv"]),
    ("explain", ["explain", "forged.dnacnn", "seqs.fa", "-o", "expl"]),
    ("export", ["export", "forged.dnacnn", "-o", "m.onnx"]),
    ("scan", ["scan", "forged.dnacnn", "genome.fa", "-o", "s.bw"]),
    ("variants", ["variants", "forged.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "v.tsv"]),
    ("motifs", ["motifs", "forged.dnacnn", "seqs.fa", "-o", "mot"]),
    ("summary", ["summary", "forged.dnacnn"]),
]


@pytest.mark.parametrize("args", [c[1] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_every_command_refuses_the_70_tb_model(cli, work, args):
    forge_meta(work, GIANT)
    refused(cli, work, args, "forged.dnacnn", "layer 3 (dense)", "20,000,000,000,000 parameters", LIMIT)


def test_evaluate_refuses_the_70_tb_model(cli, work, store):
    forge_meta(work, GIANT)
    refused(cli, work, ["evaluate", "forged.dnacnn", "x.store", "-o", "ev"], "forged.dnacnn", "layer 3 (dense)")


# --------------------------------------------------------------------------- specs and YAML


@pytest.fixture(scope="module")
def built_store(tmp_path_factory) -> Path:
    """A small store (200 Zou sequences, 10% validation), encoded once for the module."""
    from conftest import DATA

    from dnacnn.encode import encode
    from dnacnn.encode_options import EncodeOptions

    folder = tmp_path_factory.mktemp("store")
    (folder / "seqs.txt").write_text("\n".join((DATA / "zou_sequences.txt").read_text().splitlines()[:200]) + "\n")
    (folder / "labels.txt").write_text("\n".join((DATA / "zou_labels.txt").read_text().splitlines()[:200]) + "\n")
    opts = EncodeOptions(format="lines", labels=str(folder / "labels.txt"), progress=False)
    return encode(folder / "seqs.txt", folder / "x.store", opts)


@pytest.fixture
def store(work, built_store) -> Path:
    """``x.store`` in the work folder."""
    return Path(shutil.copytree(built_store, work / "x.store"))


def layers_spec(*layers: str) -> str:
    return "layers:\n" + "".join(f"  - {layer}\n" for layer in layers)


BILLION_LAUGHS = (  # 9 levels of 9 aliases: 9^9 = 387,420,489 strings once expanded, in under 500 bytes
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    + "layers: *i\n"
)

SPECS = [
    # (id, YAML text, fragments)
    ("dense-1e13-units", layers_spec("flatten", "dense: {units: 10000000000000}"), ["layer 2 (dense)", LIMIT]),
    (
        "conv-1e9-filters",
        layers_spec("conv1d: {filters: 1000000000, kernel_size: 1000, padding: same}", "globalmaxpool1d"),
        ["layer 1 (conv1d)", LIMIT],
    ),
    (
        "conv-activations-29GB",
        layers_spec("conv1d: {filters: 300000000, kernel_size: 1}", "globalmaxpool1d"),
        ["layer 1 (conv1d): output (None, ", ", 300000000) brings the activations", "over the limit of 16 GiB"],
    ),
    (
        "flatten-into-wide-dense",
        layers_spec("conv1d: {filters: 64, kernel_size: 3}", "flatten", "dense: {units: 3000000}"),
        ["layer 3 (dense)", LIMIT],
    ),
    (
        "same-pool-of-1e15",
        layers_spec("maxpool1d: {pool_size: 1000000000000000, padding: same}", "flatten"),
        ["layer 1 (maxpool1d)", "activations"],
    ),
    ("1001-layers", layers_spec(*["dropout: {rate: 0.1}"] * 1001, "flatten"), ["1,002 layers", "limit of 1,000"]),
    ("int-of-5000-digits", layers_spec("dense: {units: " + "9" * 5000 + "}"), ["unreadable YAML value"]),
    ("billion-laughs", BILLION_LAUGHS, ["expands to more than", "aliases"]),
    ("1001-aliases", "x: &x 1\nlayers: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n", ["more than 1000 aliases"]),
    ("self-alias", "layers: &a [flatten, *a]\n", ["alias refers to itself"]),
    ("nested-500-deep", "layers: " + deep_list(500) + "\n", [f"nested more than {MAX_DEPTH} levels deep"]),
    ("nested-10k-deep", "layers: " + deep_list(10_000) + "\n", ["YAML"]),
    ("indented-300-deep", "".join("  " * i + "a:\n" for i in range(300)), ["nested more than"]),
    ("300-kB-file", "# " + "x" * MAX_YAML_BYTES + "\n" + layers_spec("flatten"), ["too big", f"{MAX_YAML_BYTES:,}"]),
    ("not-utf8", "layers: [flatten]\nname: \xff\xfe\n", ["not UTF-8 text"]),
    ("two-documents", "layers: [flatten]\n---\nlayers: [flatten]\n", ["invalid YAML"]),
    ("python-object-tag", "layers: !!python/object/apply:os.system ['true']\n", ["invalid YAML"]),
    ("huge-layer-repr", "layers:\n  - [" + ", ".join(["1"] * 5_000) + "]\n", ["layer 1: expected a one-key mapping"]),
]


def write_spec(work: Path, text: str) -> str:
    data = text.encode("latin-1") if "\xff" in text else text.encode()
    (work / "bomb.yaml").write_bytes(data)
    return "bomb.yaml"


@pytest.mark.parametrize("text, fragments", [s[1:] for s in SPECS], ids=[s[0] for s in SPECS])
def test_summary_refuses_the_spec(cli, work, text, fragments):
    line = refused(cli, work, ["summary", write_spec(work, text), "--length", "24"], "bomb.yaml", *fragments)
    assert len(line) < 400


@pytest.mark.parametrize("text, fragments", [s[1:] for s in SPECS], ids=[s[0] for s in SPECS])
def test_train_refuses_the_spec(cli, work, store, text, fragments):
    args = ["train", "x.store", "--model", write_spec(work, text), "-o", "t.dnacnn", "--epochs", "1", "--threads", "1"]
    refused(cli, work, args, "bomb.yaml", *fragments)


YAML_BOMBS = [
    s
    for s in SPECS
    if s[0]
    in (
        "billion-laughs",
        "1001-aliases",
        "self-alias",
        "nested-500-deep",
        "300-kB-file",
        "not-utf8",
        "int-of-5000-digits",
    )
]


@pytest.mark.parametrize("text, fragments", [s[1:] for s in YAML_BOMBS], ids=[s[0] for s in YAML_BOMBS])
def test_tune_refuses_the_spec(cli, work, store, text, fragments):
    args = ["tune", "x.store", "--model", write_spec(work, text), "-o", "tuned", "--trials", "1"]
    refused(cli, work, args, "bomb.yaml", *fragments)


SEARCH_BOMBS = [
    ("billion-laughs", BILLION_LAUGHS.replace("layers: *i", "lr: *i"), ["expands to more than"]),
    ("self-alias", "lr: &a [0.1, *a]\n", ["alias refers to itself"]),
    ("nested-500-deep", "lr: " + deep_list(500) + "\n", ["nested more than"]),
    ("300-kB-file", "# " + "x" * MAX_YAML_BYTES + "\nlr: [0.1, 0.01]\n", ["too big"]),
    ("1001-aliases", "x: &x 0.1\nlr: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n", ["aliases"]),
]


@pytest.mark.parametrize("text, fragments", [s[1:] for s in SEARCH_BOMBS], ids=[s[0] for s in SEARCH_BOMBS])
def test_tune_refuses_the_search_space(cli, work, store, text, fragments):
    args = ["tune", "x.store", "--model", "zou2019", "--search", write_spec(work, text), "-o", "tuned", "--trials", "1"]
    refused(cli, work, args, "bomb.yaml", *fragments)


def test_billion_laughs_is_small_and_refused_before_it_grows():
    assert len(BILLION_LAUGHS) < 500
    tracemalloc.start()
    try:
        with pytest.raises(DnacnnError, match=f"expands to more than {MAX_NODES:,} values"):
            parse_yaml(BILLION_LAUGHS, "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 << 20


def test_merge_keys_and_a_few_aliases_still_load():
    text = "base: &b {filters: 8, kernel_size: 3}\nlayers:\n  - conv1d: {<<: *b}\n  - conv1d: *b\n"
    assert parse_yaml(text, "s.yaml")["layers"][1] == {"conv1d": {"filters": 8, "kernel_size": 3}}


def test_the_presets_are_far_below_the_limits():
    from dnacnn.models.spec import list_presets

    for name in list_presets():
        plan = plan_model(name, 4 if name != "snp-cnn" else 3, 1000 if name != "snp-cnn" else 1279)
        total = sum(layer.trainable + layer.non_trainable for layer in [*plan.layers, plan.head])
        assert total < MAX_PARAMETERS / 100, name
    assert MAX_ACTIVATION_BYTES >= 1 << 30


# --------------------------------------------------------------------------- FASTA and gzip


def encode_args(path: str) -> list:
    return ["encode", path, "--label-value", "1", "--split", "train", "--no-progress", "-o", "out.store"]


def random_bases(n: int, seed: int = 0) -> bytes:
    return np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(seed).integers(0, 4, n)].tobytes()


def wrap(seq: bytes, width: int = 60) -> bytes:
    return b"\n".join(seq[i : i + width] for i in range(0, len(seq), width))


LONG = 3 * BLOCK + 12345  # a record that spans several blocks
FASTA_INPUTS = [
    # (id, file name, bytes, fragments)
    ("header-over-1MiB", "h.fa", b">" + b"x" * (MAX_HEADER_BYTES + 10) + b"\nACGT\n", ["h.fa:1", "header line longer"]),
    (
        "header-over-1MiB-after-records",
        "h2.fa",
        b">a\nACGT\n>b\nACGT\n>" + b"y" * (MAX_HEADER_BYTES + 10) + b"\nACGT\n",
        ["h2.fa:5", "header line longer"],
    ),
    ("header-never-ends", "h3.fa", b">" + b"z" * (3 * BLOCK), ["h3.fa:1", "header line longer"]),
    (
        "bad-base-at-the-end-of-a-long-line",
        "l.fa",
        b">big\n" + random_bases(LONG) + b"X\n",
        ["l.fa:2", "invalid character 'X' in record 'big'"],
    ),
    (
        "bad-base-deep-in-a-wrapped-record",
        "w.fa",
        b">a\nACGT\n>big\n" + wrap(random_bases(LONG) + b"!" + random_bases(100)) + b"\n",
        [f"w.fa:{4 + LONG // 60}", "invalid character '!' in record 'big'"],
    ),
    ("nul-in-a-long-record", "n.fa", b">big\n" + random_bases(LONG) + b"\x00ACGT\n", ["invalid character '\\x00'"]),
    (
        "vertical-tab-in-a-long-record",
        "v.fa",
        b">big\n" + random_bases(LONG) + b"\x0b\n",
        ["invalid character '\\x0b'"],
    ),
    ("long-sequence-without-header", "s.fa", random_bases(LONG) + b"\n", ["s.fa:1", "not FASTA"]),
    (
        "long-record-of-blank-lines",
        "b.fa",
        b">empty\n" + b"\n" * LONG + b">b\nACGT\n",
        ["b.fa:1", "record 'empty' has no sequence"],
    ),
    ("long-record-then-empty-one", "e.fa", b">big\n" + random_bases(LONG) + b"\n>e\n", ["record 'e' has no sequence"]),
]


@pytest.mark.parametrize("name, data, fragments", [f[1:] for f in FASTA_INPUTS], ids=[f[0] for f in FASTA_INPUTS])
def test_encode_refuses_the_fasta(cli, work, name, data, fragments):
    (work / name).write_bytes(data)
    refused(cli, work, encode_args(name), *fragments)


@pytest.mark.parametrize(
    "name, data, fragments", [f[1:] for f in FASTA_INPUTS[:5]], ids=[f[0] for f in FASTA_INPUTS[:5]]
)
def test_encode_refuses_the_fasta_gzipped(cli, work, name, data, fragments):
    (work / (name + ".gz")).write_bytes(gzip.compress(data, 1))
    refused(cli, work, encode_args(name + ".gz"), *(f.replace(f"{name}:", f"{name}.gz:") for f in fragments))


def test_predict_refuses_a_long_record_of_another_length(cli, work):
    (work / "big.fa").write_bytes(b">big\n" + random_bases(LONG) + b"\n")
    refused(cli, work, ["predict", "m.dnacnn", "big.fa", "-o", "p.tsv"], f"sequences are {LONG} bp", "--length-policy")


def bomb(n: int) -> bytes:
    """A gzip of one record of ``n`` A's: about 1,000 times smaller than what it expands to."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(b">bomb\n")
        block = b"A" * BLOCK
        for _ in range(n // BLOCK):
            f.write(block)
        f.write(b"A" * (n % BLOCK) + b"\n")
    return buf.getvalue()


GZIP_CUTS = [
    ("bomb-cut-in-half", lambda b: b[: len(b) // 2]),
    ("bomb-without-its-trailer", lambda b: b[:-8]),
    ("bomb-with-a-corrupt-crc", lambda b: b[:-8] + bytes(8)),
    ("bomb-with-trailing-garbage", lambda b: b + b"garbage!"),
    ("bomb-header-only", lambda b: b[:10]),
]


@pytest.mark.parametrize("cut", [c[1] for c in GZIP_CUTS], ids=[c[0] for c in GZIP_CUTS])
def test_encode_refuses_a_broken_gzip_bomb(cli, work, cut):
    (work / "bomb.fa.gz").write_bytes(cut(bomb(8 * BLOCK)))
    refused(cli, work, encode_args("bomb.fa.gz"), "bomb.fa.gz", "gzip")


def test_a_gzip_bomb_of_one_long_record_encodes_at_length_holding_its_codes_once(cli, work):
    """16 kB of gzip -> a 16 MB record: read in pieces, its codes (1 byte a base) held once, and
    the centre --length bases stored."""
    n = 16 * BLOCK
    (work / "bomb.fa.gz").write_bytes(bomb(n))
    assert (work / "bomb.fa.gz").stat().st_size < n // 500
    tracemalloc.start()
    try:
        chunks = list(iter_fasta(work / "bomb.fa.gz"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [len(c) for c in chunks] == [1] and len(chunks[0].codes) == n
    assert peak < 1.3 * n + 8 * BLOCK, peak / n  # the text is never held whole, the codes once
    del chunks
    result = cli(*encode_args("bomb.fa.gz"), "--length", "100")
    assert result.exit_code == 0, result.stderr
    assert (work / "out.store" / "codes.u8").stat().st_size == 100


def test_a_gzip_bomb_of_one_record_over_the_limit_is_refused_as_it_is_read(cli, work):
    """The issue's bomb: ~1.5 MB of gzip expanding to one record of 1.57 Gbp.  Refused once the
    record passes MAX_RECORD_BASES (so at most that is ever held), one line, nothing written."""
    member = gzip.compress(b"A" * (16 * BLOCK), 9, mtime=0)  # gzip members concatenate into one stream
    n_members = 1_570_000_000 // (16 * BLOCK)
    data = gzip.compress(b">bomb\n", mtime=0) + member * n_members + gzip.compress(b"\n", mtime=0)
    (work / "bomb.fa.gz").write_bytes(data)
    assert len(data) < 2_000_000 and n_members * 16 * BLOCK > 5 * MAX_RECORD_BASES
    refused(cli, work, encode_args("bomb.fa.gz"), "bomb.fa.gz:1", "record 'bomb' is longer than 268,435,456 bases")


# --------------------------------------------------------------------------- the FASTA reader on long records


def expected_records(text: bytes) -> list[tuple[str, bytes]]:
    records = []
    for part in text.split(b"\n>"):
        header, _, seq = part.lstrip(b">").partition(b"\n")
        codes = DNA_LUT[np.frombuffer(seq.translate(None, b"\r\n \t"), np.uint8)].tobytes()
        records.append((header.split()[0].decode(), codes))
    return records


def parsed(path: Path, block_bytes: int) -> list[tuple[str, bytes]]:
    return [
        (chunk.ids[i], chunk.codes[chunk.offsets[i] : chunk.offsets[i + 1]].tobytes())
        for chunk in iter_fasta(path, block_bytes=block_bytes)
        for i in range(len(chunk))
    ]


LAYOUTS = [
    ("one-long-line", b">a\n" + random_bases(100_000) + b"\n"),
    ("wrapped-at-60", b">a desc\n" + wrap(random_bases(100_000)) + b"\n"),
    ("crlf", b">a\r\n" + wrap(random_bases(50_000)).replace(b"\n", b"\r\n") + b"\r\n"),
    ("long-between-short", b">s1\nACGT\n>a\n" + random_bases(70_000) + b"\n>s2\nGG\n>s3\nTTTT\n"),
    ("no-final-newline", b">a\n" + random_bases(70_000)),
    ("many-long", b"".join(b">r%d\n%s\n" % (i, random_bases(9_000, i)) for i in range(20))),
    ("header-at-a-block-edge", b">a\n" + random_bases(4093) + b"\n>b\n" + random_bases(10_000) + b"\n"),
]


@pytest.mark.parametrize("block_bytes", [4096, 4099, 65536])
@pytest.mark.parametrize("text", [t[1] for t in LAYOUTS], ids=[t[0] for t in LAYOUTS])
def test_long_records_parse_as_the_text_says(tmp_path, text, block_bytes):
    (tmp_path / "x.fa").write_bytes(text)
    assert parsed(tmp_path / "x.fa", block_bytes) == expected_records(text)


def test_a_long_record_is_read_in_pieces_not_carried(tmp_path):
    """Memory: a 16 MB single-line record costs its codes once plus a few blocks (the reader
    used to re-copy and re-search the growing record every block: quadratic time, 4x memory)."""
    n = 16 * BLOCK
    (tmp_path / "x.fa").write_bytes(b">a\n" + random_bases(n) + b"\n")
    tracemalloc.start()
    try:
        total = sum(len(chunk.codes) for chunk in iter_fasta(tmp_path / "x.fa"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == n
    assert peak < 1.3 * n + 8 * BLOCK, peak / n


# --------------------------------------------------------------------------- out of memory names the command's option


@pytest.mark.parametrize(
    "args, option",
    [
        (["encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "--length", "1000000000000",
          "--no-progress", "-o", "x.store"], "--length"),
        (["shuffle", "seqs.fa", "-o", "sh.fa", "--times", "1000000000000"], "--times"),
    ],
)  # fmt: skip
def test_out_of_memory_names_an_option_the_command_has(cli, work, args, option):
    line = refused(cli, work, args, "out of memory", option)
    assert "--batch-size" not in line


def test_out_of_memory_names_the_batch_size_when_nothing_was_sized(cli, work, monkeypatch):
    import dnacnn.predict

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(dnacnn.predict, "predict", no_memory)
    refused(cli, work, ["predict", "m.dnacnn", "seqs.fa", "-o", "p.tsv"], "out of memory", "--batch-size")


def test_a_failing_summary_prints_only_its_error(cli, work):
    refused(cli, work, ["summary", "zou2019", "--outputs", "10000000000"], "binary_head")


@pytest.mark.parametrize("block, fragment", [("{lr: fast, epochs: 1}", "train: block"), ("{epoch: 5}", "unknown key")])
def test_a_bad_train_block_names_the_spec_file(cli, work, store, block, fragment):
    (work / "s.yaml").write_text(f"name: s\nlayers:\n  - conv1d: {{filters: 4, kernel_size: 5}}\ntrain: {block}\n")
    args = ["train", "x.store", "--model", "s.yaml", "-o", "t.dnacnn", "--epochs", "1", "--threads", "1"]
    line = refused(cli, work, args, "s.yaml", fragment, "fix the spec" if fragment == "train: block" else "use one of")
    assert "model 's'" not in line
