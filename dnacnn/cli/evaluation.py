"""``dnacnn predict``, ``evaluate``, ``aggregate``, ``export`` and ``scan``: trained models at work.

Contract: each command parses its options, calls one library function (:func:`dnacnn.predict.predict`,
:func:`dnacnn.evaluate.evaluate`, :func:`dnacnn.evaluate.aggregate`, :func:`dnacnn.export.export`,
:func:`dnacnn.scan.scan`) and echoes one summary line on stderr.  ``predict`` and ``evaluate`` take
one model (``MODEL DATA``) or an ensemble (``--model/-m``, repeated).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnacnn.cli.base import MODELS, REST_B, at_least, between, bounded, command, reported
from dnacnn.cli.guard import FORCE, check_replaceable, guarded
from dnacnn.cli.options import split_csv
from dnacnn.device import THREADS_HELP, set_threads


def _models_and_data(model: Path | None, data: str | None, models: list[Path] | None, data_name: str):
    """Sort out ``[MODEL] DATA`` plus ``--model/-m`` (repeatable): the model files and the data.

    With ``-m`` the one positional argument is the data; with two, the first is a model too."""
    members = list(models or [])
    if members and data is None and model is not None:
        model, data = None, str(model)
    if model is not None:
        members.insert(0, model)
    if not members:
        raise typer.BadParameter("missing; give a model file, or several with --model/-m", param_hint="'MODEL'")
    if data is None:
        raise typer.BadParameter("missing; give it after the model file(s)", param_hint=f"'{data_name}'")
    return members if len(members) > 1 else members[0], data


_MODEL_ARGUMENT = typer.Argument(
    help="Model file from 'dnacnn train' (or give the models with --model/-m).", metavar="MODEL", show_default=False
)
_MODELS_OPTION = typer.Option(
    "--model",
    "-m",
    metavar="MODEL",
    help="A model file; repeat it for an ensemble (e.g. one architecture, several seeds): the mean of the models' "
    "scores. Adds to MODEL.",
    show_default=False,
)


@command(
    f"dnacnn predict rest.dnacnn \\\n    {REST_B} -o rest_B.tsv",
    "dnacnn predict zou.dnacnn data/zou2019/sequences.txt -o - | head",
    note=MODELS,
)
@reported
@bounded(batch_size=at_least(1))
def predict(
    model: Annotated[Path | None, _MODEL_ARGUMENT] = None,
    input: Annotated[
        str | None,
        typer.Argument(
            help="FASTA(.gz), table, one-per-line, BED (+ --genome) or genotypes; '-' = stdin FASTA.",
            metavar="INPUT",
            show_default=False,
        ),
    ] = None,
    models: Annotated[list[Path] | None, _MODELS_OPTION] = None,
    out: Annotated[str, typer.Option("--out", "-o", help="TSV to write ('-' for stdout).")] = "-",
    format: Annotated[str, typer.Option(help="auto, fasta, tabular, lines, bed or genotype.")] = "auto",
    seq_col: Annotated[str, typer.Option(help="Sequence column of a tabular input.")] = "seq",
    id_col: Annotated[str | None, typer.Option(help="ID column of a tabular input.")] = None,
    genome: Annotated[str | None, typer.Option(help="Reference genome FASTA for BED input.")] = None,
    length_policy: Annotated[
        str, typer.Option(help="strict (refuse other lengths) or fit (centre-crop / N-pad).")
    ] = "strict",
    rc_average: Annotated[bool, typer.Option(help="Average predictions over both strands (DNA).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 1024,
    threads: Annotated[str, typer.Option(help=THREADS_HELP)] = "auto",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    force: FORCE = False,
) -> None:
    """Predict new sequences or genotypes, streaming: id then one column per task.

    Several models (--model/-m, repeated) predict as an ensemble: the mean of their probabilities or values."""
    from dnacnn.predict import predict as run_predict

    model, input = _models_and_data(model, input, models, "INPUT")
    set_threads(threads)

    members = model if isinstance(model, list) else [model]
    with guarded(out, "predictions", [*members, input, genome, genome and f"{genome}.fai"], force):
        n = run_predict(
            model,
            input,
            out,
            fmt=format,
            seq_col=seq_col,
            id_col=id_col,
            genome=genome,
            length_policy=length_policy,
            rc_average=rc_average,
            device=device,
            batch_size=batch_size,
            progress=progress,
        )
    ensemble = f" (ensemble of {len(model)} models)" if isinstance(model, list) else ""
    typer.echo(f"predicted {n} records -> {out}{ensemble}", err=True)


@command(
    "dnacnn evaluate zou.dnacnn zou.store -o zou_eval",
    f"dnacnn encode {REST_B} \\\n    --label-col Bound --split test -o rest_B.store",
    "dnacnn evaluate rest.dnacnn rest_B.store -o rest_eval",
    note=MODELS,
)
@reported
@bounded(threshold=between(0, 1), fold=at_least(1))
def evaluate(
    model: Annotated[Path | None, _MODEL_ARGUMENT] = None,
    store: Annotated[
        Path | None,
        typer.Argument(
            help="Tensor store to evaluate on (its test split by default).", metavar="STORE", show_default=False
        ),
    ] = None,
    models: Annotated[list[Path] | None, _MODELS_OPTION] = None,
    *,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for metrics.json/tsv, predictions.tsv, report.html.")
    ],
    split: Annotated[str, typer.Option(help="test, valid, train or all (all: an external test store).")] = "test",
    baseline: Annotated[bool, typer.Option(help="Fit the k-mer / ridge baseline on the training store.")] = True,
    train_store: Annotated[
        Path | None, typer.Option(help="Store to fit the baseline on [the model's training store].")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Decision threshold for classification metrics.")] = 0.5,
    rc_average: Annotated[bool, typer.Option(help="Average predictions over both strands (DNA).")] = False,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    motifs: Annotated[
        Path | None, typer.Option(help="A 'dnacnn motifs' output folder to add as a report section.")
    ] = None,
    threads: Annotated[str, typer.Option(help=THREADS_HELP)] = "auto",
    fold: Annotated[
        int | None, typer.Option(help="A store with folds: score this fold [the fold the model was trained for].")
    ] = None,
    force: FORCE = False,
) -> None:
    """Metrics (JSON, TSV), predictions and a self-contained HTML report, with a baseline beside the CNN.

    Several models (--model/-m, repeated) are evaluated as an ensemble: the mean of their scores."""
    from dnacnn.evaluate import evaluate as run_evaluate

    model, store = _models_and_data(model, None if store is None else str(store), models, "STORE")
    set_threads(threads)

    members = model if isinstance(model, list) else [model]
    with guarded(out, "evaluation", [*members, store, train_store, motifs, *_training_stores(members)], force):
        result = run_evaluate(
            model,
            store,
            out,
            split=split,
            baseline=baseline,
            train_store=train_store,
            device=device,
            rc_average=rc_average,
            threshold=threshold,
            title=title,
            motifs_dir=motifs,
            fold=fold,
        )
    name = result["main_metric"]

    def shown(value) -> str:  # 4 significant digits: enough to compare runs, not 16
        return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)

    line = f"{out}/report.html: {name} {shown(result['cnn']['macro'].get(name))}"
    if result.get("baseline"):
        line += f" (baseline {result['baseline_name']}: {shown(result['baseline']['macro'].get(name))})"
    typer.echo(line, err=True)


def _training_stores(models: list[Path]) -> list[str]:
    """The stores the models were trained on (evaluate fits its baseline there: an input too)."""
    from contextlib import suppress

    from dnacnn.errors import DnacnnError
    from dnacnn.modelfile import read_model_meta

    stores = []
    for path in models:
        with suppress(DnacnnError, OSError):  # evaluate itself says what is wrong with the model file
            stores.append(read_model_meta(path).trained_on)
    return [s for s in stores if s]


@command(
    "dnacnn aggregate zou_eval rest_eval --names zou2019/zou2019,REST/tfbind \\\n"
    "    --tsv summary.tsv --html summary.html",
    note="zou_eval and rest_eval come from 'dnacnn evaluate --help'",
)
@reported
def aggregate(
    eval_dirs: Annotated[
        list[Path], typer.Argument(help="Directories written by 'dnacnn evaluate'.", metavar="EVAL_DIR")
    ],
    tsv: Annotated[Path, typer.Option(help="Summary table to write.")] = Path("results/summary.tsv"),
    html: Annotated[Path | None, typer.Option(help="Summary page to write.")] = None,
    names: Annotated[str | None, typer.Option(help="dataset/model name per directory, comma-separated.")] = None,
    force: FORCE = False,
) -> None:
    """One table (and page) across many evaluations: dataset x model, key metrics, baseline beside them."""
    from dnacnn.evaluate import aggregate as run_aggregate

    if html is not None and Path(html).resolve() == Path(tsv).resolve():
        from dnacnn.errors import DnacnnError

        raise DnacnnError(f"{html}: --html and --tsv name the same file; give them different names")
    with (
        guarded(tsv, "summary table", eval_dirs, force, "--tsv"),
        guarded(html, "summary page", eval_dirs, force, "--html"),
    ):
        table = run_aggregate(eval_dirs, tsv, html, split_csv(names) or None)
    typer.echo(f"wrote {tsv}" + (f" and {html}" if html else "") + f": {len(table)} runs", err=True)


@command(
    "dnacnn export rest.dnacnn -o rest.onnx",
    "dnacnn export rest.dnacnn --format torchscript -o rest.pt",
    note=MODELS,
)
@reported
def export(
    model: Annotated[Path, typer.Argument(help="Model file from 'dnacnn train'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.onnx or .pt).")],
    format: Annotated[str, typer.Option(help="onnx or torchscript.")] = "onnx",
    force: FORCE = False,
) -> None:
    """Export a model (scores as output) to ONNX or TorchScript."""
    from dnacnn.export import export as run_export

    with guarded(out, "export", [model], force):
        path = run_export(model, out, format)
    typer.echo(f"wrote {path} (+ {path.name}.json)", err=True)


@command(
    "dnacnn scan rest.dnacnn hg19.fa --chroms chr21 -o rest_chr21.bw",
    "dnacnn scan rest.dnacnn hg19.fa --regions peaks.bed --stride 10 \\\n    --bedgraph -o rest_peaks.bw",
    note="your genome (REST's peaks are hg19) and regions; " + MODELS,
)
@reported
@bounded(stride=at_least(1), max_n=between(0, 1), batch_size=at_least(1))
def scan(
    model: Annotated[Path, typer.Argument(help="DNA model file from 'dnacnn train'.")],
    genome: Annotated[Path, typer.Argument(help="Reference genome FASTA (plain or bgzip); its .fai gives the sizes.")],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="bigWig to write: OUT.bw for a one-task model, OUT.TASK.bw per task otherwise; "
            "a folder DIR/ gets DIR/MODEL.bw.",
        ),
    ],
    regions: Annotated[Path | None, typer.Option(help="BED file: score only windows centred in these regions.")] = None,
    chroms: Annotated[str | None, typer.Option(help="Comma-separated chromosomes to scan [all].")] = None,
    task: Annotated[str | None, typer.Option(help="Write this output column (task or class) only, to OUT.bw.")] = None,
    stride: Annotated[int, typer.Option(help="Bases between window starts; each score fills one bin this wide.")] = 20,
    max_n: Annotated[float, typer.Option(help="Skip windows with more than this fraction of N bases.")] = 0.5,
    bedgraph: Annotated[bool, typer.Option(help="Also write OUT[.TASK].bedGraph.")] = False,
    rc_average: Annotated[bool, typer.Option(help="Average predictions over both strands.")] = False,
    batch_size: Annotated[int, typer.Option(help="Windows per forward pass.")] = 1024,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    threads: Annotated[str, typer.Option(help=THREADS_HELP)] = "auto",
    progress: Annotated[bool, typer.Option(help="Show a progress bar (in bases).")] = True,
    force: FORCE = False,
) -> None:
    """Scan a genome with a model: a bigWig of window scores (what predict gives) at every stride."""
    from dnacnn.scan import scan as run_scan

    set_threads(threads)
    given = None if out.endswith("/") or Path(out).is_dir() else out  # a folder gets DIR/MODEL.bw
    with guarded(given, "track", [model, genome, f"{genome}.fai", regions], force):
        summary = run_scan(
            model,
            genome,
            out,
            regions=regions,
            chroms=split_csv(chroms),
            task=task,
            stride=stride,
            max_n=max_n,
            bedgraph=bedgraph,
            rc_average=rc_average,
            device=device,
            batch_size=batch_size,
            progress=progress,
            check_output=lambda path: check_replaceable(path, "track", force),  # each of a folder's tracks too
        )
    written = ", ".join(map(str, summary.tracks + summary.bedgraphs))
    typer.echo(
        f"scanned {summary.bases:,} bp: {summary.windows:,} windows scored, {summary.skipped_n:,} skipped "
        f"(N) -> {written}",
        err=True,
    )
