"""dnacnn.interpret.attributions and .explain: ISM, gradient x input and DeepLIFT attributions, exact on
hand-built models and checked on the Zou et al. 2019 primer data (every positive holds CGACCGAACTCC)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_one_line_error
from test_variants import MOTIF, motif_model

from dnacnn.codes import dna_encoding, dna_to_codes, one_hot
from dnacnn.errors import DnacnnError
from dnacnn.interpret.attributions import attribute, best_windows, model_output, position_scores
from dnacnn.interpret.explain import explain
from dnacnn.modelfile import load_model

DATA = Path(__file__).parent / "data"


_ZOU: dict = {}


def trained_zou(tmp_path_factory) -> dict:
    """The published Zou et al. architecture (zou2019 preset) trained on the primer data, 1500/500
    split as published; trained once per session (test_motifs uses it too)."""
    if _ZOU:
        return _ZOU
    from dnacnn.encode import EncodeOptions, encode
    from dnacnn.store import Store
    from dnacnn.train import TrainSettings, train

    tmp = tmp_path_factory.mktemp("zou")
    opts = EncodeOptions(format="lines", labels=str(DATA / "zou_labels.txt"), test_frac=0.25, progress=False)
    store = encode(DATA / "zou_sequences.txt", tmp / "zou.store", opts)
    with contextlib.redirect_stderr(io.StringIO()):
        result = train(
            store,
            tmp / "zou.dnacnn",
            TrainSettings(model="zou2019", epochs=10, batch_size=64, progress=False, device="cpu"),
        )
    s = Store.open(store)
    test = s.indices("test")
    positives = test[np.asarray(s.labels[test])[:, 0] == 1]
    _ZOU.update(tmp=tmp, store=store, model=result.model_path, codes=np.asarray(s.codes[positives]))
    return _ZOU


@pytest.fixture(scope="module")
def zou(tmp_path_factory):
    return trained_zou(tmp_path_factory)


def random_codes(n: int, length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, size=(n, length)).astype(np.uint8)


def brute_force_ism(fn, codes: np.ndarray) -> np.ndarray:
    enc = dna_encoding(codes.shape[1])
    out = np.zeros((len(codes), 4, codes.shape[1]), np.float32)
    with torch.no_grad():
        for i, c in enumerate(codes):
            ref = fn(torch.as_tensor(one_hot(c[None], enc))).item()
            for p in range(len(c)):
                if c[p] == 4:
                    continue
                for b in range(4):
                    m = c.copy()
                    m[p] = b
                    out[i, b, p] = fn(torch.as_tensor(one_hot(m[None], enc))).item() - ref
    return out


@pytest.mark.parametrize("preset", ["deepbind", "zou2019"])
def test_ism_matches_one_mutant_at_a_time(preset):
    from dnacnn.models import build_model, load_spec

    torch.manual_seed(0)
    length = 30
    model = build_model(load_spec(preset), 4, length).eval()  # deepbind: both strands; zou2019: softmax2
    codes = random_codes(3, length)
    codes[1, 5] = 4  # an N is not mutated
    head = model.head_activation
    fn = model_output(model, head)
    X = torch.as_tensor(one_hot(codes, dna_encoding(length)))
    fast = attribute(model, head, X, "ism", codes=codes)
    assert fast.shape == (3, 4, length)
    np.testing.assert_allclose(fast, brute_force_ism(fn, codes), atol=1e-5)
    assert (fast[1, :, 5] == 0).all()
    assert (fast[np.arange(3)[:, None], codes.clip(max=3), np.arange(length)] == 0).all()  # reference base: 0


def test_gradient_x_input_on_a_linear_motif_scanner(tmp_path):
    m = load_model(motif_model(tmp_path / "m.dnacnn"))
    seq = "ACGTTGCA" + MOTIF + "TTGACCATGGTACAGTGACCAGTTTGCAACGTACCAG"[: 50 - 8 - len(MOTIF)]
    codes = dna_to_codes(seq)[None]
    X = torch.as_tensor(one_hot(codes, m.encoding))
    attr = attribute(m.module, "sigmoid", X, "gradxinput", codes=codes)
    # logit = max window score, linear in X: gradient x input = 1 on each motif base, 0 elsewhere
    expected = np.zeros(50)
    expected[8 : 8 + len(MOTIF)] = 1.0
    np.testing.assert_allclose(position_scores(attr, codes, "gradxinput")[0], expected, atol=1e-6)
    assert best_windows(position_scores(attr, codes, "gradxinput"), 12)[0].tolist() == [8]


def test_deeplift_is_complete_on_a_linear_model():
    """DeepLIFT attributions sum to f(x) - mean f(references); exact when the model is linear."""
    pytest.importorskip("captum")
    from dnacnn.models import build_model
    from dnacnn.models.spec import validate_spec
    from dnacnn.shuffle import dinucleotide_shuffle_batch

    spec = validate_spec(
        {"strands": "both", "strand_merge": "mean", "layers": [{"conv1d": {"filters": 3, "kernel_size": 5,
         "activation": "none"}}, {"globalavgpool1d": {}}]}, "linear",
    )  # fmt: skip
    torch.manual_seed(1)
    model = build_model(spec, 4, 40).eval()
    codes = random_codes(4, 40, seed=2)
    X = torch.as_tensor(one_hot(codes, dna_encoding(40)))
    attr = attribute(model, "sigmoid", X, "deeplift", codes=codes, n_shuffles=5, seed=3)
    refs = dinucleotide_shuffle_batch(codes, np.random.default_rng(3), times=5)
    with torch.no_grad():
        f_x = model(X)[:, 0].numpy()
        f_ref = model(torch.as_tensor(one_hot(refs, dna_encoding(40))))[:, 0].numpy().reshape(4, 5).mean(axis=1)
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), f_x - f_ref, atol=1e-5)
    assert (attr[X.numpy() == 0] == 0).all()  # contributions sit on the reference bases


def test_model_output_log_odds():
    logits = torch.tensor([[0.5, 2.0, -1.0]])
    fake = lambda X: logits  # noqa: E731
    assert model_output(fake, "sigmoid", 1)(None).item() == pytest.approx(2.0)
    assert model_output(fake, "softmax2")(None).item() == pytest.approx(1.5)
    p = torch.softmax(logits, 1)[0, 1].item()
    assert model_output(fake, "softmax", 1)(None).item() == pytest.approx(np.log(p / (1 - p)), abs=1e-6)
    with pytest.raises(DnacnnError, match="unknown model head"):
        model_output(fake, "tanh")


@pytest.mark.parametrize("method", ["ism", "gradxinput", "deeplift"])
def test_zou_attributions_peak_on_the_motif(zou, method):
    """On held-out positives the best 12-bp attribution window overlaps the 12-mer in >= 95%."""
    if method == "deeplift":
        pytest.importorskip("captum")
    m = load_model(zou["model"])
    codes = zou["codes"]
    where = np.array([s.find(MOTIF) for s in ("".join("ACGTN"[c] for c in row) for row in codes)])
    assert (where >= 0).all() and len(codes) > 100
    X = torch.as_tensor(one_hot(codes, m.encoding))
    attr = attribute(m.module, m.meta.head, X, method, codes=codes)
    start, _ = best_windows(position_scores(attr, codes, method), len(MOTIF))
    overlap = np.mean(np.abs(start - where) < len(MOTIF))
    exact = np.mean(start == where)
    print(f"{method}: {len(codes)} held-out positives, overlap {overlap:.3f}, exact {exact:.3f}")
    assert overlap >= 0.95
    assert exact >= 0.7


def test_explain_writes_tables_and_logos(zou, tmp_path):
    seqs = (DATA / "zou_sequences.txt").read_text().split()[:7]
    fa = tmp_path / "few.fa"
    fa.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    result = explain(zou["model"], fa, tmp_path / "out", "ism", n_plots=3, batch_size=4, device="cpu")
    assert result.n == 7 and result.logos.stat().st_size > 1000
    att = pd.read_csv(result.attributions, sep="\t")
    assert list(att.columns) == ["id", "position", "base", "score", "delta_A", "delta_C", "delta_G", "delta_T"]
    assert len(att) == 7 * 50 and att.position.min() == 1 and att.position.max() == 50
    assert "".join(att[att.id == "s0"].base) == seqs[0]
    ref_delta = att.apply(lambda r: r[f"delta_{r.base}"], axis=1)
    assert (ref_delta == 0).all()
    np.testing.assert_allclose(att.score, -att[["delta_A", "delta_C", "delta_G", "delta_T"]].sum(axis=1) / 3, atol=1e-4)
    per_seq = pd.read_csv(result.sequences, sep="\t")
    assert list(per_seq.columns) == ["id", "prediction", "attribution_sum", "window_start", "window_end",
                                     "window_score"]  # fmt: skip
    assert ((per_seq.window_end - per_seq.window_start) == 11).all()  # zou2019 kernel: 12 bp


def test_explain_refuses_bad_options(zou, tmp_path):
    fa = tmp_path / "one.fa"
    fa.write_text(">a\n" + "ACGT" * 12 + "AC\n")
    with pytest.raises(DnacnnError, match="unknown --method 'saliency'; use one of ism, gradxinput, deeplift"):
        explain(zou["model"], fa, tmp_path / "o", "saliency")
    with pytest.raises(DnacnnError, match=r"--target 1 is out of range: the model has 1 output\(s\)"):
        explain(zou["model"], fa, tmp_path / "o", "ism", target=1)
    short = tmp_path / "short.fa"
    short.write_text(">a\nACGT\n")
    with pytest.raises(DnacnnError, match="sequences are 4 bp but .* was trained on 50 bp"):
        explain(zou["model"], short, tmp_path / "o", "ism")


def test_cli_explain(zou, cli, tmp_path):
    from dnacnn.cli import app

    if "explain" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        pytest.skip("the explain command is not wired into dnacnn.cli yet")
    fa = tmp_path / "two.fa"
    fa.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate((DATA / "zou_sequences.txt").read_text().split()[:2])))
    result = cli("explain", zou["model"], fa, "-o", tmp_path / "o", "--method", "gradxinput", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "o" / "attributions.tsv", sep="\t")) == 100
    bad = cli("explain", zou["model"], fa, "-o", tmp_path / "o", "--method", "saliency")
    assert_one_line_error(bad, "unknown --method 'saliency'")
