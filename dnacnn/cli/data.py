"""``dnacnn encode``, ``shuffle``, ``summary`` and ``presets``: data in, and the shipped models.

Contract: each command parses its options, calls one library function
(:func:`dnacnn.encode.encode`, :func:`dnacnn.shuffle.shuffle_fasta`, :func:`dnacnn.models.summarize`,
the preset list) and echoes one summary on stderr (``presets`` and ``summary`` print to stdout).
The ``encode`` options are generated from :class:`~dnacnn.encode_options.EncodeOptions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnacnn.cli.base import FINITE, REST_AC, ZOU, at_least, bounded, command, reported
from dnacnn.cli.guard import FORCE, guarded
from dnacnn.cli.options import settings_from, with_settings
from dnacnn.encode_options import EncodeOptions


@command(
    f"dnacnn encode {ZOU} -o zou.store",
    f"dnacnn encode \\\n    {REST_AC} \\\n    --label-col Bound --negatives shuffle -o rest.store",
    "dnacnn encode data/wheat/wheat.X.gz --format genotype \\\n"
    "    --phenotypes data/wheat/wheat.Y --traits 1 -o wheat.store",
    "dnacnn encode data/wheat/wheat.X.gz --format genotype \\\n"
    "    --phenotypes data/wheat/wheat.Y --traits 1 --split folds --folds 5 \\\n"
    "    -o wheat_cv.store",
)
@with_settings(EncodeOptions)
@reported
@bounded(seed=at_least(0), label_value=FINITE)
def encode(
    input: Annotated[
        Path,
        typer.Argument(
            help="FASTA(.gz), TSV/CSV(.gz), one-sequence-per-line, BED/narrowPeak, genotype matrix, "
            "VCF/BCF or PLINK .bed."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Store folder (x.store) or tar (x.store.tar) to write.")],
    force: FORCE = False,
    **options,
) -> None:
    """Encode labelled sequences or genotypes into an on-disk tensor store."""
    from dnacnn.encode import encode as run_encode

    opts = settings_from(EncodeOptions, options)
    with guarded(out, "store", encode_inputs(input, opts), force):
        path = run_encode(input, out, opts)
    for line in store_summary(path):
        typer.echo(line, err=True)


def encode_inputs(input: Path, opts: EncodeOptions) -> list:
    """The files ``dnacnn encode`` reads (a PLINK fileset's .bim and .fam too)."""
    inputs = [input, opts.phenotypes, opts.fold_file, *opts.targets]
    if opts.labels != "header":
        inputs.append(opts.labels)
    if opts.genome:
        inputs += [opts.genome, f"{opts.genome}.fai"]
    if opts.negatives not in (None, "shuffle", "genome"):
        inputs.append(opts.negatives)
    if Path(input).suffix.lower() == ".bed":
        inputs += [Path(input).with_suffix(".bim"), Path(input).with_suffix(".fam")]
    return inputs


def store_summary(path: Path) -> list[str]:
    """What ``dnacnn encode`` says about the store it wrote: genotype QC, negatives, tracks, folds,
    then the records, encoding, task and split counts."""
    from dnacnn.store import Store

    store = Store.open(path)
    manifest, lines = store.manifest, []
    if "genotype_qc" in manifest:
        from dnacnn.io.genotype_qc import GenotypeSummary

        lines.append(GenotypeSummary.from_dict(manifest["genotype_qc"]).describe())
    if isinstance(manifest.get("negatives"), dict):
        from dnacnn.background import BackgroundSummary

        lines.append(BackgroundSummary(**manifest["negatives"]).describe())
    if "targets" in manifest:
        from dnacnn.io.bigwig import TargetSummary

        lines.append(TargetSummary(**manifest["targets"]).describe())
    if store.n_folds:
        lines.append(f"folds: {store.n_folds} (train one with --fold K, or all with 'dnacnn cv')")
    counts, enc = manifest["split_counts"], store.encoding
    lines.append(
        f"wrote {path}: {store.n} records x {enc.length} ({enc.kind}, {enc.channels} channels), task {store.task}, "
        f"train/valid/test {counts['train']}/{counts['valid']}/{counts['test']}"
    )
    return lines


@command(
    f'zcat {REST_AC} \\\n    | awk \'NR > 1 {{print ">" $2 "\\n" $3}}\' | dnacnn shuffle - -o rest_bg.fa',
    note="DeepBind's table as FASTA on stdin",
)
@reported
@bounded(times=at_least(1), seed=at_least(0))
def shuffle(
    input: Annotated[Path, typer.Argument(help="FASTA(.gz) of sequences to shuffle; '-' = stdin.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="FASTA to write ('-' for stdout).")],
    times: Annotated[int, typer.Option(help="Shuffled copies per sequence.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    force: FORCE = False,
) -> None:
    """Write dinucleotide-shuffled background sequences (exact 2-mer counts, as DeepBind)."""
    from dnacnn.shuffle import shuffle_fasta

    with guarded(out, "shuffles", [input], force):
        n = shuffle_fasta(input, out, times=times, seed=seed)
    typer.echo(f"wrote {n} shuffled sequences to {out}", err=True)


# The input `dnacnn summary PRESET` assumes without --length / --channels / --task: the bundled
# data each preset is shown on (a spec keeps its preset's name when copied from `dnacnn presets`).
_SUMMARY_INPUT = (101, 4, "binary", "DNA as the bundled DeepBind REST data")
_SUMMARY_INPUTS = {
    "zou2019": (50, 4, "binary", "DNA as the bundled Zou et al. data"),
    "snp-cnn": (1279, 3, "regression", "one-hot genotypes as the bundled wheat data"),
}


@command(
    "dnacnn summary tfbind",
    "dnacnn summary zou2019 --length 50",
    "dnacnn summary zou.dnacnn",
)
@reported
@bounded(length=at_least(1), channels=at_least(1), outputs=at_least(1))
def summary(
    model: Annotated[str, typer.Argument(help="Preset name, spec YAML or trained model file.")],
    length: Annotated[
        int | None,
        typer.Option(
            help="Input length, bases or markers [the preset's bundled data: 101 bp, zou2019 50, snp-cnn 1279]."
        ),
    ] = None,
    channels: Annotated[
        int | None, typer.Option(help="Input channels [4 (DNA one-hot); snp-cnn 3 (one-hot genotypes)].")
    ] = None,
    outputs: Annotated[int, typer.Option(help="Output units (tasks or classes).")] = 1,
    task: Annotated[
        str | None, typer.Option(help="binary, multiclass or regression [binary; snp-cnn regression].")
    ] = None,
) -> None:
    """Print a Keras-style model summary: layers, output shapes and parameter counts.

    A preset or spec is summarised on the input of its bundled data unless --length, --channels
    or --task say otherwise; a model file on the input it was trained on."""
    from dnacnn.models import load_spec, summarize

    if Path(model).suffix == ".dnacnn" or (Path(model).is_file() and Path(model).suffix not in (".yaml", ".yml")):
        from dnacnn.modelfile import read_model_meta

        meta = read_model_meta(model)
        enc = meta.encoding
        result = summarize(meta.spec, enc.channels, enc.length, meta.n_outputs, meta.task)
    else:
        spec = load_spec(model)
        default_length, default_channels, default_task, data = _SUMMARY_INPUTS.get(spec["name"], _SUMMARY_INPUT)
        assumed = [
            f"{what} {value}"
            for what, value, given in (
                ("--length", default_length, length),
                ("--channels", default_channels, channels),
                ("--task", default_task, task),
            )
            if given is None
        ]
        length_assumed = length is None
        length = default_length if length is None else length
        channels = default_channels if channels is None else channels
        task = default_task if task is None else task
        result = summarize(spec, channels, length, outputs, task)  # a failure is its one line, no note
        if length_assumed:  # the README's `--length 50 --channels 4` needs no note about --task
            typer.echo(f"summary: assuming {' '.join(assumed)} ({data}); give them for other inputs", err=True)
    typer.echo(result.text)


@command(
    "dnacnn presets",
    "dnacnn presets tfbind > my.yaml",
    "dnacnn train rest.store --model my.yaml -o my.dnacnn",
    note="edit my.yaml, then train it",
)
@reported
def presets(
    name: Annotated[
        str | None,
        typer.Argument(
            help="A preset to print as YAML, to start a spec of your own from.",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List the shipped model presets, or print one preset's YAML."""
    from dnacnn.models import list_presets, load_spec
    from dnacnn.models.spec import preset_text

    if name is not None:
        typer.echo(preset_text(name), nl=False)
        return
    import shutil
    import textwrap

    width = max(min(shutil.get_terminal_size((80, 24)).columns, 100), 40)
    names = list_presets()
    pad = max(map(len, names)) + 2
    for preset in names:
        description = load_spec(preset).get("description", "")
        lines = textwrap.wrap(
            description,
            width,
            initial_indent=preset.ljust(pad),
            subsequent_indent=" " * pad,
            break_long_words=False,
            break_on_hyphens=False,
        )
        typer.echo("\n".join(lines or [preset]))
    typer.echo("(dnacnn presets NAME prints a preset's YAML: dnacnn presets tfbind > my.yaml)", err=True)
