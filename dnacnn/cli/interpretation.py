"""``dnacnn motifs``, ``explain`` and ``variants``: what a trained DNA model has learned.

Contract: each command parses its options, calls one library function of :mod:`dnacnn.interpret`
(:func:`~dnacnn.interpret.motifs.motifs`, :func:`~dnacnn.interpret.explain.explain`,
:func:`~dnacnn.interpret.variants.score_variants`) and echoes one summary line on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnacnn.cli.base import MODELS, REST_B, at_least, between, bounded, command, reported
from dnacnn.cli.guard import FORCE, guarded


@command(
    "dnacnn motifs rest.dnacnn rest.store -o rest_motifs",
    f"dnacnn motifs rest.dnacnn \\\n    {REST_B} -o rest_B_motifs",
    "dnacnn motifs rest.dnacnn rest.store -o rest_modisco --method modisco",
    note=MODELS,
)
@reported
@bounded(
    threshold=between(0, below=1),
    top=at_least(1),
    min_ic=between(0),
    max_sequences=at_least(1),
    modisco_sequences=at_least(1),
    seed=at_least(0),
)
def motifs(
    model: Annotated[Path, typer.Argument(help="DNA model file from 'dnacnn train'.")],
    data: Annotated[
        Path, typer.Argument(help="Store from 'dnacnn encode' (its positive rows), or a FASTA / table / BED file.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for filters.* / modisco_patterns.*, tomtom.tsv, logos/, motifs.html."),
    ],
    threshold: Annotated[
        float, typer.Option(help="A window counts when its activation exceeds this fraction of the filter's maximum.")
    ] = 0.6,
    rows: Annotated[str, typer.Option(help="Store rows to scan: positive (any label >= 0.5) or all.")] = "positive",
    split: Annotated[str, typer.Option(help="Store split to scan: all, train, valid or test.")] = "all",
    database: Annotated[
        str, typer.Option(help="JASPAR release (read offline via pyjaspar) or a MEME file; 'none' skips matching.")
    ] = "JASPAR2024",
    tax_group: Annotated[
        str, typer.Option(help="JASPAR taxonomic group: vertebrates, plants, insects...")
    ] = "vertebrates",
    top: Annotated[int, typer.Option(help="Database matches kept per filter in tomtom.tsv.")] = 5,
    min_ic: Annotated[float, typer.Option(help="Trim motif edge columns below this many bits.")] = 0.2,
    max_sequences: Annotated[int, typer.Option(help="Scan at most this many sequences (a random subset).")] = 50_000,
    logos: Annotated[bool, typer.Option(help="Draw a logo per filter or pattern, and motifs.html.")] = True,
    method: Annotated[
        str,
        typer.Option(
            help="filters (first-layer filters), modisco (TF-MoDISco patterns of the attributions; "
            "needs modisco-lite) or both."
        ),
    ] = "filters",
    attribution: Annotated[
        str, typer.Option(help="Attributions TF-MoDISco clusters: gradxinput, deeplift or ism (slow on a CPU).")
    ] = "gradxinput",
    modisco_sequences: Annotated[
        int, typer.Option(help="TF-MoDISco on at most this many of the sequences (a random subset).")
    ] = 2000,
    format: Annotated[str, typer.Option(help="Sequence file format: auto, fasta, tabular, lines or bed.")] = "auto",
    seq_col: Annotated[str, typer.Option(help="Sequence column of a tabular input.")] = "seq",
    id_col: Annotated[str | None, typer.Option(help="ID column of a tabular input.")] = None,
    genome: Annotated[str | None, typer.Option(help="Reference genome FASTA for BED input.")] = None,
    length_policy: Annotated[str, typer.Option(help="strict or fit (centre-crop / N-pad sequences).")] = "strict",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the sequence subsets.")] = 0,
    force: FORCE = False,
) -> None:
    """First-layer filters or TF-MoDISco patterns as motifs: MEME file, logos, Tomtom matches to JASPAR."""
    from dnacnn.interpret.motifs import motifs as run_motifs
    from dnacnn.interpret.motifs import run_summary

    database_file = database if Path(database).suffix else None
    with guarded(out, "motifs", [model, data, genome, genome and f"{genome}.fai", database_file], force):
        result = run_motifs(
            model,
            data,
            out,
            threshold=threshold,
            rows=rows,
            split=split,
            fmt=format,
            seq_col=seq_col,
            id_col=id_col,
            genome=genome,
            length_policy=length_policy,
            database=None if database.lower() == "none" else database,
            tax_group=tax_group,
            top=top,
            min_ic=min_ic,
            max_sequences=max_sequences,
            logos=logos,
            method=method,
            attribution=attribution,
            modisco_sequences=modisco_sequences,
            device=device,
            seed=seed,
        )
    typer.echo(f"wrote {out}: {run_summary(result)}", err=True)


@command(
    f"dnacnn explain rest.dnacnn --method gradxinput \\\n    {REST_B} -o rest_gxi",
    f"dnacnn explain rest.dnacnn \\\n    {REST_B} -o rest_explain",
    note="gradxinput takes seconds, ism (the default) minutes on a CPU; " + MODELS,
)
@reported
@bounded(target=at_least(0), plots=at_least(0), window=at_least(1), shuffles=at_least(1), batch_size=at_least(1),
         seed=at_least(0))  # fmt: skip
def explain(
    model: Annotated[Path, typer.Argument(help="DNA model file from 'dnacnn train'.")],
    input: Annotated[Path, typer.Argument(help="FASTA(.gz), table, one-per-line or BED (+ --genome) sequences.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for attributions.tsv, sequences.tsv, top_sequences.png.")
    ],
    method: Annotated[str, typer.Option(help="ism (saturation mutagenesis), gradxinput or deeplift.")] = "ism",
    target: Annotated[int, typer.Option(help="Output column (task or class) to explain, from 0.")] = 0,
    plots: Annotated[int, typer.Option(help="Attribution logos drawn for the top-scoring sequences.")] = 10,
    window: Annotated[
        int | None, typer.Option(help="Width of the best window per sequence (default: the first conv kernel size).")
    ] = None,
    shuffles: Annotated[int, typer.Option(help="Dinucleotide-shuffled references per sequence (deeplift).")] = 10,
    format: Annotated[str, typer.Option(help="auto, fasta, tabular, lines or bed.")] = "auto",
    seq_col: Annotated[str, typer.Option(help="Sequence column of a tabular input.")] = "seq",
    id_col: Annotated[str | None, typer.Option(help="ID column of a tabular input.")] = None,
    genome: Annotated[str | None, typer.Option(help="Reference genome FASTA for BED input.")] = None,
    length_policy: Annotated[str, typer.Option(help="strict or fit (centre-crop / N-pad sequences).")] = "strict",
    batch_size: Annotated[int, typer.Option(help="Sequences per batch.")] = 128,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the shuffled references.")] = 0,
    force: FORCE = False,
) -> None:
    """Per-base attributions (ISM, gradient x input or DeepLIFT) as a TSV and logos."""
    from dnacnn.interpret.explain import explain as run_explain

    with guarded(out, "explain", [model, input, genome, genome and f"{genome}.fai"], force):
        result = run_explain(
            model,
            input,
            out,
            method,
            fmt=format,
            seq_col=seq_col,
            id_col=id_col,
            genome=genome,
            length_policy=length_policy,
            target=target,
            n_plots=plots,
            window=window,
            n_shuffles=shuffles,
            batch_size=batch_size,
            device=device,
            seed=seed,
        )
    typer.echo(f"wrote {result.attributions} and {result.sequences}: {result.n} sequences ({method})", err=True)


@command(
    "dnacnn variants rest.dnacnn my.vcf.gz --genome hg19.fa -o effects.tsv",
    note="your VCF and its genome (REST's peaks are hg19); " + MODELS,
)
@reported
@bounded(max_indel=at_least(0), batch_size=at_least(1))
def variants(
    model: Annotated[Path, typer.Argument(help="DNA model file from 'dnacnn train'.")],
    vcf: Annotated[str, typer.Argument(help="VCF (plain, gzip or bgzip); '-' = stdin.")],
    genome: Annotated[Path, typer.Option(help="Reference genome FASTA (plain or bgzip) of the VCF.")],
    out: Annotated[str, typer.Option("--out", "-o", help="TSV to write ('-' for stdout).")] = "-",
    max_indel: Annotated[
        int | None, typer.Option(help="Longest indel allele scored [half the model's input length].")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Alleles per forward pass.")] = 1024,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    force: FORCE = False,
) -> None:
    """Variant effects: alt - ref probability and log-odds per VCF allele, both strands averaged."""
    from dnacnn.interpret.variants import score_variants

    with guarded(out, "variants", [model, vcf, genome, f"{genome}.fai"], force):
        summary = score_variants(
            model,
            vcf,
            genome,
            out,
            max_indel=max_indel,
            batch_size=batch_size,
            device=device,
            warn=lambda line: typer.echo(f"dnacnn: warning: {line}", err=True),
        )
    typer.echo(f"scored {summary.n_scored} of {summary.n_rows} variant alleles -> {out}", err=True)
