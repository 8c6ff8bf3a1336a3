"""``dnacnn variants``: score VCF variants as alt - ref predictions of a DNA model.

Contract: every ALT allele of every VCF record gives one output row (a multi-allelic record gives
one row per ALT).  Its reference window is the ``L`` genome bases (``L`` = the model's input
length) starting ``L // 2`` bases before the variant's first base ``POS`` (so an SNV sits at the
centre, index ``L // 2``); the alternative window is the same window with REF replaced by ALT:
the bases left of ``POS`` are kept, and the window is filled up to ``L`` bases from the genome
right of REF (an insertion pushes bases out on the right, a deletion pulls more in).  Windows
reaching past a chromosome end are N-padded (status ``ok_padded``).  Each window is scored on
both strands and the two strands are averaged:

* ``ref_T``, ``alt_T``: the model's probability (regression: value) of task ``T``, strand-averaged;
* ``diff_T`` = ``alt_T - ref_T``;
* ``log_odds_diff_T``: mean over strands of ``logodds(alt) - logodds(ref)`` from the logits
  (classification only; for a multiclass model the log-odds of class ``T`` against the rest).

Nothing is scored silently: the ``status`` column says what happened to each row.

=====================  ==================================================================
status                 meaning (only ``ok`` and ``ok_padded`` rows have scores; others NA)
=====================  ==================================================================
ok                     scored
ok_padded              scored; the window runs off the chromosome and was N-padded
ref_mismatch           REF differs from the genome at POS (wrong assembly?); not scored
unknown_chrom          CHROM is not in the genome FASTA; not scored
symbolic_allele        ALT is symbolic (``<DEL>``), a breakend, ``*`` or ``.``; not scored
invalid_allele         REF or ALT holds characters other than A, C, G, T, N; not scored
indel_too_long         REF or ALT longer than ``max_indel`` bases (default ``L // 2``)
=====================  ==================================================================

Indels are scored with this POS-anchored window and are not left-normalised here: run
``bcftools norm -f genome.fa`` first so equivalent indels get the same window.  The VCF is
read as plain text (plain, gzip or bgzip; ``-`` = stdin) line by line, so any size streams in
bounded memory; only the first five columns are used.  Counts of rows not scored go to stderr.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnacnn.interpret.inputs import load_dna_model
from dnacnn.io.vcf_records import VcfRecord, iter_vcf

SCORED = ("ok", "ok_padded")
STATUS_HELP = {
    "ref_mismatch": "REF does not match the genome; check that the VCF and the genome are the same assembly",
    "unknown_chrom": "CHROM is not in the genome; check the chromosome names (e.g. 'chr1' vs '1')",
    "symbolic_allele": "symbolic, breakend, '*' or '.' ALT alleles are not scored",
    "invalid_allele": "alleles with characters other than A, C, G, T, N are not scored",
    "indel_too_long": "indels longer than --max-indel are not scored",
}
_ALLELE_OK = frozenset("ACGTN")


@dataclass
class VariantSummary:
    out_path: Path
    n_records: int = 0
    n_rows: int = 0
    status: Counter = field(default_factory=Counter)

    @property
    def n_scored(self) -> int:
        return sum(self.status[s] for s in SCORED)


def variant_type(ref: str, alt: str) -> str:
    """``snv``, ``mnv``, ``ins``, ``del`` or ``symbolic`` by allele lengths."""
    if not alt or alt[0] in "<.*" or "[" in alt or "]" in alt:
        return "symbolic"
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    return "ins" if len(alt) > len(ref) else "del"


def variant_windows(
    genome, sizes: dict, rec: VcfRecord, alt: str, length: int, max_indel: int
) -> tuple[str, str | None, str | None]:
    """``(status, ref window, alt window)`` of one allele; windows are None unless scored."""
    kind = variant_type(rec.ref, alt)
    if kind == "symbolic":
        return "symbolic_allele", None, None
    if not set(rec.ref) <= _ALLELE_OK or not set(alt) <= _ALLELE_OK:
        return "invalid_allele", None, None
    if rec.chrom not in sizes:
        return "unknown_chrom", None, None
    if kind in ("ins", "del") and max(len(rec.ref), len(alt)) > max_indel:
        return "indel_too_long", None, None
    size = sizes[rec.chrom]
    p = rec.pos - 1
    if p + len(rec.ref) > size:
        return "ref_mismatch", None, None
    start = p - length // 2
    end = start + length + max(0, len(rec.ref) - len(alt))  # a deletion pulls bases in from the right
    lo, hi = max(0, start), min(size, max(end, p + len(rec.ref)))
    seq = "N" * (lo - start) + genome[rec.chrom][lo:hi]  # one random-access read per allele
    offset = p - start
    if seq[offset : offset + len(rec.ref)] != rec.ref:
        return "ref_mismatch", None, None
    seq += "N" * max(0, end - start - len(seq))
    status = "ok" if lo == start and hi >= end else "ok_padded"
    return status, seq[:length], (seq[:offset] + alt + seq[offset + len(rec.ref) :])[:length]


def score_variants(
    model_path,
    vcf,
    genome,
    out_tsv,
    *,
    max_indel: int | None = None,
    batch_size: int = 1024,
    device: str = "auto",
    warn=None,
) -> VariantSummary:
    """Score every ALT allele of ``vcf`` and write a TSV to ``out_tsv`` (``-`` = stdout).

    Parameters
    ----------
    model_path : path
        DNA model from ``dnacnn train``; its input length sets the window.
    vcf : path
        VCF (plain, gzip or bgzip, or ``-``); only CHROM, POS, ID, REF and ALT are read.
    genome : path
        Reference FASTA (plain or bgzip) of the VCF's assembly.
    out_tsv : path
        ``chrom pos id ref alt type status`` then ``ref_T alt_T diff_T log_odds_diff_T`` per task.
    max_indel : int, optional
        Longest REF / ALT of an indel that is scored [half the window].
    warn : callable, optional
        Receives one line per kind of unscored row [prints to stderr].

    Returns
    -------
    VariantSummary
        Records read, rows written and the count of each status.
    """
    import torch

    from dnacnn.io.bed import open_genome
    from dnacnn.io.outputs import check_output_file
    from dnacnn.io.tsv import open_tsv

    check_output_file(out_tsv, [model_path, vcf, genome, f"{genome}.fai"])
    dev, loaded = load_dna_model(model_path, device)
    meta = loaded.meta
    length = loaded.encoding.length
    max_indel = length // 2 if max_indel is None else max_indel
    fasta = open_genome(genome)
    sizes = {name: len(rec) for name, rec in fasta.records.items()}
    tasks = _task_names(meta)
    regression = meta.head == "linear"
    per_task = ["ref", "alt", "diff"] + ([] if regression else ["log_odds_diff"])
    header = ["chrom", "pos", "id", "ref", "alt", "type", "status"] + [f"{k}_{t}" for t in tasks for k in per_task]
    summary = VariantSummary(Path(str(out_tsv)))
    rows: list = []
    with open_tsv(out_tsv, header) as out, torch.inference_mode():
        for rec in iter_vcf(vcf):
            summary.n_records += 1
            for alt in rec.alts:
                status, ref_w, alt_w = variant_windows(fasta, sizes, rec, alt, length, max_indel)
                rows.append((rec, alt, status, ref_w, alt_w))
                summary.status[status] += 1
            if len(rows) >= batch_size:
                _flush(out, rows, loaded, dev, regression)
                summary.n_rows += len(rows)
                rows = []
        if rows:
            _flush(out, rows, loaded, dev, regression)
            summary.n_rows += len(rows)
    _report(summary, warn)
    return summary


def _task_names(meta) -> list[str]:
    return [str(n) for n in meta.task_names]


def _flush(out, rows, loaded, device, regression: bool) -> None:
    k = 3 if regression else 4  # values per task: ref, alt, diff (, log_odds_diff)
    n_values = k * len(_task_names(loaded.meta))
    scored = [i for i, r in enumerate(rows) if r[2] in SCORED]
    values = {}
    if scored:
        v = _score_windows(loaded, [rows[i][3] for i in scored], [rows[i][4] for i in scored], device)
        values = dict(zip(scored, v[:, :, :k].reshape(len(scored), -1)))
    lines = []
    for i, (rec, alt, status, _, _) in enumerate(rows):
        fields = [rec.chrom, str(rec.pos), rec.id, rec.ref, alt, variant_type(rec.ref, alt), status]
        fields += [f"{x:.6g}" for x in values[i]] if i in values else ["NA"] * n_values
        lines.append(fields)
    out.write_rows(lines)


def _score_windows(loaded, ref_seqs: list[str], alt_seqs: list[str], device) -> np.ndarray:
    """``(b, tasks, 4)``: per task ref, alt, alt - ref (strand-averaged scores) and the
    strand-averaged log-odds difference."""
    import torch

    from dnacnn.codes import DNA_LUT, reverse_complement_codes
    from dnacnn.models.heads import log_odds, scores

    meta = loaded.meta
    b = len(ref_seqs)
    codes = DNA_LUT[np.frombuffer("".join(ref_seqs + alt_seqs).encode("ascii"), np.uint8)].reshape(2 * b, -1)
    both = np.concatenate([codes, reverse_complement_codes(codes)])  # ref, alt, rc ref, rc alt
    table = torch.cat([torch.eye(4), torch.zeros(1, 4)]).to(device)
    X = table[torch.as_tensor(np.ascontiguousarray(both), device=device).long()].transpose(1, 2)
    logits = loaded.module(X).float()
    values = scores(logits, meta.head, meta.target_mean, meta.target_std)
    values = values.reshape(2, 2, b, -1).mean(axis=0)  # strands averaged: (ref/alt, b, tasks)
    lo = log_odds(logits, meta.head).double().cpu().numpy().reshape(2, 2, b, -1)
    lo_diff = (lo[:, 1] - lo[:, 0]).mean(axis=0)
    ref, alt = values[0], values[1]
    return np.stack([ref, alt, alt - ref, lo_diff], axis=2).astype(np.float64)


def _report(summary: VariantSummary, warn) -> None:
    warn = warn or (lambda line: print(f"dnacnn: warning: {line}", file=sys.stderr))
    for status, help_text in STATUS_HELP.items():
        n = summary.status.get(status, 0)
        if n:
            warn(f"{n} of {summary.n_rows} variant alleles not scored ({status}): {help_text}")
    if summary.n_records == 0:
        warn("the VCF holds no variant records; the output has a header only")
