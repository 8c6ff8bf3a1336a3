"""The ``dnacnn`` command line: glue only.

Each command parses options, calls one library function and turns a :class:`DnacnnError` into
one line on stderr with exit code 1 (usage errors exit 2, as Typer does).  Heavy libraries
(torch, pandas, sklearn) are imported inside commands so ``dnacnn --help`` answers instantly.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from dnacnn import __version__

app = typer.Typer(
    name="dnacnn",
    help="Train 1D CNNs on DNA sequences (TF binding) and SNP genotypes (genomic prediction).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dnacnn {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug
    # before any command imports torch: glibc then reuses freed tensor buffers from the start
    from dnacnn.cpu import reuse_freed_memory

    reuse_freed_memory()


def reported(func):
    """Run a command; a user error becomes one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from dnacnn.errors import DnacnnError

        try:
            return func(*args, **kwargs)
        except DnacnnError as e:
            if _state["debug"]:
                raise
            typer.echo(f"dnacnn: error: {e}", err=True)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            typer.echo("dnacnn: interrupted", err=True)
            raise typer.Exit(code=130) from None

    return wrapper


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


@app.command()
@reported
def encode(
    input: Annotated[
        Path, typer.Argument(help="FASTA(.gz), TSV/CSV(.gz), one-sequence-per-line, BED/narrowPeak or genotype matrix.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Store directory to write (e.g. data.store).")],
    format: Annotated[str, typer.Option(help="auto, fasta, tabular, lines, bed or genotype.")] = "auto",
    labels: Annotated[
        str | None, typer.Option(help="Label table keyed by record ID (or one label per line), or 'header'.")
    ] = None,
    label_col: Annotated[str | None, typer.Option(help="Label column name(s), comma-separated (multi-task).")] = None,
    label_value: Annotated[float | None, typer.Option(help="Give every record this label (e.g. 1 for peaks).")] = None,
    seq_col: Annotated[str, typer.Option(help="Sequence column of a tabular input.")] = "seq",
    id_col: Annotated[str | None, typer.Option(help="ID column of a tabular input.")] = None,
    genome: Annotated[Path | None, typer.Option(help="Reference genome FASTA for BED input.")] = None,
    length: Annotated[
        int | None, typer.Option(help="Centre-crop / N-pad every sequence to this length (BED: window width).")
    ] = None,
    phenotypes: Annotated[Path | None, typer.Option(help="Phenotype table for a genotype matrix.")] = None,
    traits: Annotated[str | None, typer.Option(help="Phenotype columns to use (names or 1-based numbers).")] = None,
    genotype_encoding: Annotated[str, typer.Option(help="onehot (3 channels) or dosage (1 channel).")] = "onehot",
    task: Annotated[str, typer.Option(help="auto, binary, multiclass or regression.")] = "auto",
    negatives: Annotated[
        str | None, typer.Option(help="'shuffle' (dinucleotide-shuffled positives) or a file of negatives.")
    ] = None,
    negatives_per_positive: Annotated[int, typer.Option(help="Shuffled negatives per positive.")] = 1,
    split: Annotated[str, typer.Option(help="random, chrom, column, train or test.")] = "random",
    valid_frac: Annotated[float, typer.Option(help="Validation fraction (random split).")] = 0.1,
    test_frac: Annotated[float, typer.Option(help="Test fraction (random split).")] = 0.1,
    valid_chroms: Annotated[str | None, typer.Option(help="Validation chromosomes (chrom split), e.g. chr7.")] = None,
    test_chroms: Annotated[str | None, typer.Option(help="Test chromosomes (chrom split), e.g. chr8,chr9.")] = None,
    split_col: Annotated[str | None, typer.Option(help="Column holding train/valid/test (column split).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits and shuffled negatives.")] = 0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Encode labelled sequences or genotypes into an on-disk tensor store."""
    from dnacnn.encode import EncodeOptions
    from dnacnn.encode import encode as run_encode
    from dnacnn.store import Store

    opts = EncodeOptions(
        format=format,
        labels=labels,
        label_value=label_value,
        label_cols=_csv(label_col),
        seq_col=seq_col,
        id_col=id_col,
        genome=str(genome) if genome else None,
        length=length,
        phenotypes=str(phenotypes) if phenotypes else None,
        traits=_csv(traits),
        genotype_scheme=genotype_encoding,
        task=task,
        negatives=negatives,
        negatives_per_positive=negatives_per_positive,
        split=split,
        valid_frac=valid_frac,
        test_frac=test_frac,
        valid_chroms=_csv(valid_chroms),
        test_chroms=_csv(test_chroms),
        split_col=split_col,
        seed=seed,
        progress=progress,
    )
    path = run_encode(input, out, opts)
    store = Store.open(path)
    counts = store.manifest["split_counts"]
    enc = store.encoding
    typer.echo(
        f"wrote {path}: {store.n} records x {enc.length} ({enc.kind}, {enc.channels} channels), task {store.task}, "
        f"train/valid/test {counts['train']}/{counts['valid']}/{counts['test']}",
        err=True,
    )


@app.command()
@reported
def shuffle(
    input: Annotated[Path, typer.Argument(help="FASTA(.gz) of sequences to shuffle.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="FASTA to write ('-' for stdout).")],
    times: Annotated[int, typer.Option(help="Shuffled copies per sequence.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write dinucleotide-shuffled background sequences (exact 2-mer counts, as DeepBind)."""
    from dnacnn.shuffle import shuffle_fasta

    n = shuffle_fasta(input, out, times=times, seed=seed)
    typer.echo(f"wrote {n} shuffled sequences to {out}", err=True)


@app.command()
@reported
def summary(
    model: Annotated[str, typer.Argument(help="Preset name, spec YAML or trained model file.")],
    length: Annotated[int | None, typer.Option(help="Input length (bases or markers).")] = None,
    channels: Annotated[int, typer.Option(help="Input channels (4 for DNA one-hot).")] = 4,
    outputs: Annotated[int, typer.Option(help="Output units (tasks or classes).")] = 1,
    task: Annotated[str, typer.Option(help="binary, multiclass or regression.")] = "binary",
) -> None:
    """Print a Keras-style model summary: layers, output shapes and parameter counts."""
    from dnacnn.models import load_spec, summarize

    if Path(model).suffix == ".dnacnn" or (Path(model).is_file() and Path(model).suffix not in (".yaml", ".yml")):
        from dnacnn.modelfile import read_tensors

        _, meta = read_tensors(model)
        enc = meta["encoding"]
        result = summarize(meta["spec"], enc["channels"], enc["length"], meta["n_outputs"], meta["task"])
    else:
        if length is None:
            raise typer.BadParameter("--length is required for a preset or spec", param_hint="--length")
        result = summarize(load_spec(model), channels, length, outputs, task)
    typer.echo(result.text)


@app.command()
@reported
def train(
    store: Annotated[Path, typer.Argument(help="Tensor store from 'dnacnn encode'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (e.g. model.dnacnn).")],
    model: Annotated[str, typer.Option(help="Preset name or spec YAML (see 'dnacnn presets').")] = "tfbind",
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs (default: the spec's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (default: the spec's).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the spec's).")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="Weight decay (default: the spec's).")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw, sgd or rmsprop (default: the spec's).")] = None,
    patience: Annotated[int | None, typer.Option(help="Early-stopping patience, epochs (default: the spec's).")] = None,
    rc_augment: Annotated[
        bool | None, typer.Option("--rc-augment/--no-rc-augment", help="Random reverse-complement flips.")
    ] = None,
    fresh_negatives: Annotated[
        bool | None,
        typer.Option(
            "--fresh-negatives/--no-fresh-negatives",
            help="New dinucleotide shuffles of the positives each epoch (default: on for --negatives shuffle stores).",
        ),
    ] = None,
    shuffles_per_positive: Annotated[
        int | None,
        typer.Option(
            help="With fresh negatives: new shuffles of each positive per epoch (default: the spec's, else 1)."
        ),
    ] = None,
    ema: Annotated[
        float | None,
        typer.Option(
            help="Decay of a moving average of the weights that is validated and saved, e.g. 0.999; "
            "0 turns it off (default: the spec's, else 0)."
        ),
    ] = None,
    mutation_rate: Annotated[
        float | None,
        typer.Option(
            help="Probability that each base of a training sequence is substituted by another, drawn anew "
            "every step, e.g. 0.05; 0 turns it off (default: the spec's, else 0)."
        ),
    ] = None,
    max_shift: Annotated[
        int | None,
        typer.Option(
            help="Shift each training sequence by a random offset of up to this many bases either way, "
            "N filling in, e.g. 10; 0 turns it off (default: the spec's, else 0)."
        ),
    ] = None,
    pos_weight: Annotated[
        str, typer.Option(help="Binary positive-class weight: auto (n_neg/n_pos), none or a number.")
    ] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA if available), cpu, cuda or cuda:N.")] = "auto",
    precision: Annotated[
        str,
        typer.Option(help="auto (bf16/fp16 on CUDA; bf16 on CPUs with bf16 hardware, else fp32), fp32, bf16 or fp16."),
    ] = "auto",
    num_workers: Annotated[
        int | None, typer.Option(help="Data-loading worker processes [4 on CUDA, 0 on CPU].")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
    max_minutes: Annotated[float | None, typer.Option(help="Stop after this many minutes (best weights kept).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUT.ckpt after an interrupted run.")] = False,
    history: Annotated[Path | None, typer.Option(help="History TSV [OUT without suffix + .history.tsv].")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a CNN on a tensor store; writes a safetensors model file and a history TSV."""
    from dnacnn.train import TrainOptions
    from dnacnn.train import train as run_train

    opts = TrainOptions(
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        optimizer=optimizer,
        patience=patience,
        rc_augment=rc_augment,
        fresh_negatives=fresh_negatives,
        shuffles_per_positive=shuffles_per_positive,
        ema=ema,
        mutation_rate=mutation_rate,
        max_shift=max_shift,
        pos_weight=pos_weight,
        seed=seed,
        device=device,
        precision=precision,
        num_workers=num_workers,
        threads=threads,
        max_minutes=max_minutes,
        resume=resume,
        history=str(history) if history else None,
        progress=progress,
    )
    result = run_train(store, out, opts)
    typer.echo(
        f"wrote {result.model_path}: best epoch {result.best_epoch}, val {result.metric_name} "
        f"{result.best_metric:.4f}, {result.epochs_run} epochs in {result.seconds:.1f}s on {result.device}",
        err=True,
    )


@app.command()
@reported
def tune(
    store: Annotated[Path, typer.Argument(help="Tensor store from 'dnacnn encode' (needs valid rows).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for best.yaml, best.dnacnn, trials.tsv and trials/.")
    ],
    model: Annotated[
        str, typer.Option(help="Preset name or spec YAML to tune (its search: block is the default space).")
    ] = "tfbind",
    search: Annotated[
        Path | None,
        typer.Option(help="Search-space YAML; default: the spec's search: block, else lr, batch_size, weight_decay."),
    ] = None,
    trials: Annotated[int, typer.Option(help="Most trials to run.")] = 20,
    timeout_minutes: Annotated[
        float | None, typer.Option(help="Study time box; no trial starts after it, a running one stops. Default: none.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the sampler and every trial's training.")] = 0,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs per trial; default: the spec's.")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA if available), cpu, cuda or cuda:N.")] = "auto",
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
    progress: Annotated[bool, typer.Option(help="Show each trial's progress bars and result.")] = True,
) -> None:
    """Search a model's hyperparameters with Optuna; writes the best spec, its model and a trials table."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        from dnacnn.errors import DnacnnError

        raise DnacnnError("dnacnn tune needs optuna; install it with: pip install 'optuna>=3.4'") from None
    from dnacnn.tune import read_search
    from dnacnn.tune import tune as run_tune

    space = read_search(search) if search is not None else None
    result = run_tune(
        store,
        out,
        model,
        n_trials=trials,
        timeout_minutes=timeout_minutes,
        seed=seed,
        search=space,
        epochs=epochs,
        threads=threads,
        device=device,
        progress=progress,
    )
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result["best_params"].items())
    typer.echo(
        f"wrote {out}: best trial {result['best_trial']} of {result['n_trials']} ({result['n_complete']} complete), "
        f"val {result['metric']} {result['best_value']:.4f} ({params}) in {result['seconds']:.1f}s; "
        f"spec {result['best_spec']}, model {result['best_model']}, trials {result['trials_tsv']}",
        err=True,
    )


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
    help="A model file; repeat it for an ensemble (e.g. one architecture, several seeds): the mean of the models' "
    "scores. Adds to MODEL.",
    show_default=False,
)


@app.command()
@reported
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
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Predict new sequences or genotypes, streaming: id then one column per task.

    Several models (--model/-m, repeated) predict as an ensemble: the mean of their probabilities or values."""
    from dnacnn.predict import predict as run_predict

    model, input = _models_and_data(model, input, models, "INPUT")
    _set_threads(threads)

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


@app.command()
@reported
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
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
) -> None:
    """Metrics (JSON, TSV), predictions and a self-contained HTML report, with a baseline beside the CNN.

    Several models (--model/-m, repeated) are evaluated as an ensemble: the mean of their scores."""
    from dnacnn.evaluate import evaluate as run_evaluate

    model, store = _models_and_data(model, None if store is None else str(store), models, "STORE")
    _set_threads(threads)

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
    )
    name = result["main_metric"]

    def shown(value) -> str:  # 4 significant digits: enough to compare runs, not 16
        return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)

    line = f"{out}/report.html: {name} {shown(result['cnn']['macro'].get(name))}"
    if result.get("baseline"):
        line += f" (baseline {result['baseline_name']}: {shown(result['baseline']['macro'].get(name))})"
    typer.echo(line, err=True)


@app.command()
@reported
def aggregate(
    eval_dirs: Annotated[list[Path], typer.Argument(help="Directories written by 'dnacnn evaluate'.")],
    tsv: Annotated[Path, typer.Option(help="Summary table to write.")] = Path("results/summary.tsv"),
    html: Annotated[Path | None, typer.Option(help="Summary page to write.")] = None,
    names: Annotated[str | None, typer.Option(help="dataset/model name per directory, comma-separated.")] = None,
) -> None:
    """One table (and page) across many evaluations: dataset x model, key metrics, baseline beside them."""
    from dnacnn.evaluate import aggregate as run_aggregate

    table = run_aggregate(eval_dirs, tsv, html, _csv(names) or None)
    typer.echo(f"wrote {tsv}" + (f" and {html}" if html else "") + f": {len(table)} runs", err=True)


@app.command()
@reported
def export(
    model: Annotated[Path, typer.Argument(help="Model file from 'dnacnn train'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.onnx or .pt).")],
    format: Annotated[str, typer.Option(help="onnx or torchscript.")] = "onnx",
) -> None:
    """Export a model (scores as output) to ONNX or TorchScript."""
    from dnacnn.export import export as run_export

    path = run_export(model, out, format)
    typer.echo(f"wrote {path} (+ {path.name}.json)", err=True)


@app.command()
@reported
def motifs(
    model: Annotated[Path, typer.Argument(help="DNA model file from 'dnacnn train'.")],
    data: Annotated[
        Path, typer.Argument(help="Store from 'dnacnn encode' (its positive rows), or a FASTA / table / BED file.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for filters.meme, filters.tsv, tomtom.tsv, logos/, motifs.html.")
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
    logos: Annotated[bool, typer.Option(help="Draw a logo per filter and motifs.html.")] = True,
    format: Annotated[str, typer.Option(help="Sequence file format: auto, fasta, tabular, lines or bed.")] = "auto",
    seq_col: Annotated[str, typer.Option(help="Sequence column of a tabular input.")] = "seq",
    id_col: Annotated[str | None, typer.Option(help="ID column of a tabular input.")] = None,
    genome: Annotated[str | None, typer.Option(help="Reference genome FASTA for BED input.")] = None,
    length_policy: Annotated[str, typer.Option(help="strict or fit (centre-crop / N-pad sequences).")] = "strict",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the sequence subsets.")] = 0,
) -> None:
    """First-layer filters as motifs: MEME file, logos, and Tomtom matches to JASPAR."""
    from dnacnn.motifs import best_matched
    from dnacnn.motifs import motifs as run_motifs

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
        device=device,
        seed=seed,
    )
    fired = result.filters[result.filters.n_sites > 0]
    line = f"wrote {out}: {len(fired)} of {len(result.filters)} filters fired on {result.motifs.n_sequences:,} seqs"
    if "best_name" in fired and len(fired):
        best = best_matched(fired)
        line += (
            f"; most influential matched {best['filter']} ~ {best['best_name']} (q={best['best_q_value']:.2g})"
            if best is not None
            else "; no filter has a significant database match"
        )
    typer.echo(line, err=True)


@app.command()
@reported
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
) -> None:
    """Per-base attributions (ISM, gradient x input or DeepLIFT) as a TSV and logos."""
    from dnacnn.explain import explain as run_explain

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


@app.command()
@reported
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
) -> None:
    """Variant effects: alt - ref probability and log-odds per VCF allele, both strands averaged."""
    from dnacnn.variants import score_variants

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


@app.command()
def presets() -> None:
    """List the shipped model presets."""
    from dnacnn.models import list_presets, load_spec

    for name in list_presets():
        typer.echo(f"{name:10s} {load_spec(name).get('description', '')}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
