"""dnacnn.interpret.variants (and dnacnn.io.vcf_records): VCF alleles scored as alt - ref on genome windows,
both strands averaged.

Fixtures: ``interp_genome.fa`` (chr1: 400 random bases with the Zou et al. 12-mer CGACCGAACTCC
at 151-162 and a one-mismatch copy CGACCGTACTCC at 301-312; chr2: 200 bases, 41-90 soft-masked)
and ``vcf_small.vcf``, one record per case (its INFO NOTE names the case).  The model is built by
hand: one conv filter scoring matches to the 12-mer minus 10, global max pooling, logit = that
score, so every expected value is computed here independently with string operations.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error

from dnacnn.errors import InputError
from dnacnn.interpret.variants import score_variants, variant_type
from dnacnn.io.vcf_records import iter_vcf

DATA = Path(__file__).parent / "data"
MOTIF = "CGACCGAACTCC"
LENGTH = 50


def motif_model(
    path, motif: str = MOTIF, length: int = LENGTH, strands: str = "single", bias: float = -10.0, padding="valid"
):
    """A model file whose logit is ``max over windows of (bases matching motif) + bias``."""
    import torch

    from dnacnn.modelfile import save_model
    from dnacnn.models import build_model
    from dnacnn.models.spec import validate_spec

    spec = validate_spec(
        {
            "name": "motif",
            "strands": strands,
            "binary_head": "sigmoid",
            "layers": [
                {"conv1d": {"filters": 1, "kernel_size": len(motif), "activation": "none", "padding": padding}},
                {"globalmaxpool1d": {}},
            ],
        },
        "motif",
    )
    model = build_model(spec, 4, length, 1, "binary")
    with torch.no_grad():
        weight = torch.zeros(1, 4, len(motif))
        weight[0, ["ACGT".index(b) for b in motif], torch.arange(len(motif))] = 1.0
        model.body[0].conv.weight.copy_(weight)
        model.body[0].conv.bias.fill_(bias)
        model.head.linear.weight.fill_(1.0)
        model.head.linear.bias.zero_()
    meta = {
        "spec": spec,
        "encoding": {"kind": "dna", "scheme": "onehot", "channels": 4, "length": length},
        "task": "binary",
        "label_names": ["bound"],
        "classes": None,
        "n_outputs": 1,
        "head": "sigmoid",
    }
    save_model(path, model, meta)
    return path


def expected_logit(seq: str, motif: str = MOTIF, bias: float = -10.0) -> float:
    k = len(motif)
    return max(sum(a == b for a, b in zip(seq[i : i + k], motif)) for i in range(len(seq) - k + 1)) + bias


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def read_genome() -> dict[str, str]:
    out, name = {}, None
    for line in (DATA / "interp_genome.fa").read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        else:
            out[name] += line.strip().upper()
    return out


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("variants")
    genome = tmp / "genome.fa"
    shutil.copy(DATA / "interp_genome.fa", genome)  # pyfaidx writes its .fai beside the FASTA
    model = motif_model(tmp / "motif.dnacnn")
    warnings: list[str] = []
    out = tmp / "variants.tsv"
    summary = score_variants(model, DATA / "vcf_small.vcf", genome, out, device="cpu", warn=warnings.append)
    table = pd.read_csv(out, sep="\t", keep_default_na=False, na_values=["NA"])
    return {"tmp": tmp, "genome": genome, "model": model, "table": table, "summary": summary, "warnings": warnings}


def test_one_row_per_alt_with_status(scored):
    t = scored["table"]
    assert list(t.columns) == [
        "chrom", "pos", "id", "ref", "alt", "type", "status",
        "ref_bound", "alt_bound", "diff_bound", "log_odds_diff_bound",
    ]  # fmt: skip
    status = dict(zip(t.id + ":" + t.alt, t.status))
    assert status == {
        "motif_break:T": "ok",
        "motif_make:A": "ok",
        "wrong_ref:C": "ref_mismatch",
        "multi:C": "ok",
        "multi:G": "ok",
        "star:G": "ok",
        "star:*": "symbolic_allele",
        "del3:C": "ok",
        "ins4:AACGT": "ok",
        "sv:<DEL>": "symbolic_allele",
        "nochrom:G": "unknown_chrom",
        "edge:C": "ok_padded",
        "longdel:A": "indel_too_long",
        "iupac:R": "invalid_allele",
        "softmasked:G": "ok",
    }
    summary = scored["summary"]
    assert (summary.n_records, summary.n_rows, summary.n_scored) == (13, 15, 9)
    assert t.loc[~t.status.str.startswith("ok"), "diff_bound"].isna().all()
    assert t.loc[t.status.str.startswith("ok"), "diff_bound"].notna().all()
    assert dict(zip(t.id, t.type))["del3"] == "del" and dict(zip(t.id, t.type))["ins4"] == "ins"


def test_unscored_rows_are_counted_on_stderr(scored):
    warnings = scored["warnings"]
    assert len(warnings) == 5
    assert warnings[0] == (
        "1 of 15 variant alleles not scored (ref_mismatch): REF does not match the genome; "
        "check that the VCF and the genome are the same assembly"
    )
    assert any("(unknown_chrom)" in w and "'chr1' vs '1'" in w for w in warnings)


def test_scores_match_an_independent_computation(scored):
    genome, t = read_genome(), scored["table"]
    for row in t[t.status.str.startswith("ok")].itertuples():
        seq = genome[row.chrom]
        p = row.pos - 1
        start = p - LENGTH // 2
        padded = "N" * max(0, -start) + seq + "N" * LENGTH
        offset = max(0, -start)
        ref_w = padded[start + offset : start + offset + LENGTH]
        tail = padded[start + offset : start + offset + LENGTH + max(0, len(row.ref) - len(row.alt))]
        alt_w = (tail[: p - start] + row.alt + tail[p - start + len(row.ref) :])[:LENGTH]
        assert len(ref_w) == len(alt_w) == LENGTH
        lo = {w: [expected_logit(w), expected_logit(revcomp(w))] for w in (ref_w, alt_w)}
        prob = {w: np.mean(1 / (1 + np.exp(-np.array(v)))) for w, v in lo.items()}
        assert row.ref_bound == pytest.approx(prob[ref_w], rel=1e-5), row.id
        assert row.alt_bound == pytest.approx(prob[alt_w], rel=1e-5), row.id
        assert row.diff_bound == pytest.approx(prob[alt_w] - prob[ref_w], abs=1e-6), row.id
        expected_lod = np.mean(np.array(lo[alt_w]) - np.array(lo[ref_w]))
        assert row.log_odds_diff_bound == pytest.approx(expected_lod, abs=1e-5), row.id


def test_motif_variants_have_the_expected_effects(scored):
    t = scored["table"].set_index("id")
    # one base of the 12-mer costs one match on the forward strand: at least -1 / 2 strands
    assert t.loc["motif_break", "log_odds_diff_bound"] <= -0.5
    assert t.loc["motif_make", "log_odds_diff_bound"] >= 0.5
    assert t.loc["motif_break", "diff_bound"] < -0.05 and t.loc["motif_make", "diff_bound"] > 0.05


def test_gzip_vcf_and_stdout(scored, tmp_path, capsys):
    vcf = tmp_path / "v.vcf.gz"
    vcf.write_bytes(gzip.compress((DATA / "vcf_small.vcf").read_bytes()))
    score_variants(scored["model"], vcf, scored["genome"], "-", device="cpu", warn=lambda _: None)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("chrom\tpos\tid") and len(out) == 16
    assert out[1:] == (scored["tmp"] / "variants.tsv").read_text().splitlines()[1:]


def test_small_batches_give_the_same_rows(scored, tmp_path):
    out = tmp_path / "b.tsv"
    score_variants(scored["model"], DATA / "vcf_small.vcf", scored["genome"], out, batch_size=2, warn=lambda _: None)
    assert out.read_text() == (scored["tmp"] / "variants.tsv").read_text()


def test_max_indel_option(scored, tmp_path):
    out = tmp_path / "m.tsv"
    score_variants(scored["model"], DATA / "vcf_small.vcf", scored["genome"], out, max_indel=2, warn=lambda _: None)
    t = pd.read_csv(out, sep="\t").set_index("id")
    assert t.loc["del3", "status"] == "indel_too_long" and t.loc["ins4", "status"] == "indel_too_long"
    assert t.loc["motif_break", "status"] == "ok"  # SNVs are never "too long"


def test_iter_vcf_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t10\t.\tA\tG\nchr1\tten\t.\tA\tG\n")
    with pytest.raises(InputError, match=r"bad.vcf:4: POS 'ten' is not an integer; fix the VCF"):
        list(iter_vcf(bad))
    bad.write_text("chr1 10 . A G\n")
    with pytest.raises(InputError, match=r"bad.vcf:1: 1 column\(s\), a VCF record needs at least 5"):
        list(iter_vcf(bad))


def test_variant_type():
    assert [variant_type(r, a) for r, a in [("A", "G"), ("AC", "GT"), ("A", "AT"), ("AT", "A"), ("A", "<INS>")]] == [
        "snv", "mnv", "ins", "del", "symbolic",
    ]  # fmt: skip
    assert variant_type("A", "A]chr2:5]") == "symbolic" and variant_type("A", "*") == "symbolic"


def test_genotype_model_is_refused(tmp_path):
    from dnacnn.codes import genotype_encoding
    from dnacnn.errors import DnacnnError
    from dnacnn.interpret.inputs import check_dna_model
    from dnacnn.modelfile import LoadedModel
    from dnacnn.models.meta import ModelMeta

    loaded = LoadedModel(None, ModelMeta({}, genotype_encoding(9), "regression", 1))
    with pytest.raises(DnacnnError, match="interpretation needs a DNA model"):
        check_dna_model(loaded, "g.dnacnn")


def test_cli_variants(scored, cli, tmp_path):
    from dnacnn.cli import app

    if "variants" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        pytest.skip("the variants command is not wired into dnacnn.cli yet")
    out = tmp_path / "cli.tsv"
    result = cli("variants", scored["model"], DATA / "vcf_small.vcf", "--genome", scored["genome"], "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_text() == (scored["tmp"] / "variants.tsv").read_text()
    assert "1 of 15 variant alleles not scored (ref_mismatch)" in result.stderr
    missing = cli("variants", scored["model"], tmp_path / "nope.vcf", "--genome", scored["genome"], "-o", out)
    assert_one_line_error(missing, "nope.vcf", "file not found")
