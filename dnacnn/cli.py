"""The ``dnacnn`` command line: glue only.

Each command parses options, calls one library function and turns a :class:`DnacnnError` into
one line on stderr with exit code 1 (usage errors exit 2, as Typer does).  Heavy libraries
(torch, pandas, sklearn) are imported inside commands so ``dnacnn --help`` answers instantly.
"""

from __future__ import annotations

import functools
import inspect
import re
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from dnacnn import __version__
from dnacnn.cli_settings import settings_from, with_settings
from dnacnn.train.settings import TrainSettings

_LIST_TYPE = re.compile(r"<list\[(\w+)\]>")


class _Command(TyperCommand):
    """A command whose ``--help`` is click's plain layout, not Typer's rich panels.

    Rich squeezes its option table into the terminal and cuts what does not fit at 80 columns
    (``--negatives-per-pos…``); click's layout wraps the help text instead, moves it under an
    option name too long for the first column, and never truncates.  Overriding ``format_help``
    (not only ``rich_markup_mode=None``) keeps that layout on every Typer version and whatever
    ``TYPER_USE_RICH`` says."""

    def format_help(self, ctx, formatter) -> None:
        super(TyperCommand, self).format_help(ctx, formatter)
        # Typer names a list argument's type as Python does (EVAL_DIR... <list[Path]>)
        formatter.buffer[:] = [
            _LIST_TYPE.sub(lambda m: f"<{m[1].lower()}>...".ljust(len(m[0])), piece) for piece in formatter.buffer
        ]

    def get_short_help_str(self, limit: int = 45) -> str:
        # the first paragraph of the docstring, whole: click would cut it at `limit` with "..."
        return self.short_help or inspect.cleandoc(self.help or "").split("\n\n")[0].replace("\n", " ")


class _Group(TyperGroup):
    """The ``dnacnn`` group: plain help as :class:`_Command`; remembers the command line (the
    resume hint of an interrupted ``dnacnn train`` repeats it)."""

    def format_help(self, ctx, formatter) -> None:
        super(TyperGroup, self).format_help(ctx, formatter)

    def main(self, args=None, *rest, **kwargs):
        _state["argv"] = list(sys.argv[1:] if args is None else args)
        return super().main(args, *rest, **kwargs)


def _examples(*commands: str, note: str = "") -> str:
    """A help epilog: example commands on the bundled data, printed as written (a click ``\\b``
    paragraph is not rewrapped), each line under 80 columns."""
    lines = "\n".join(f"  {line}" for command in commands for line in command.splitlines())
    intro = "Examples (bundled data: data/ in a dnacnn checkout)" + (f"; {note}" if note else "") + ":"
    return f"{intro}\n\n\b\n{lines}"


# the bundled data sets (see config/config.yaml)
ZOU = "data/zou2019/sequences.txt \\\n    --labels data/zou2019/labels.txt"
REST_AC = "data/deepbind/REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz"
REST_B = "data/deepbind/REST_GM12878_NRSF_HudsonAlpha_B.seq.gz"
STORES = "zou.store and rest.store come from the examples of 'dnacnn encode --help'"
MODELS = "zou.dnacnn, rest.dnacnn and the stores come from 'dnacnn train --help'"

app = typer.Typer(
    name="dnacnn",
    cls=_Group,
    help="Train 1D CNNs on DNA sequences (TF binding) and SNP genotypes (genomic prediction).",
    epilog=_examples(
        f"dnacnn encode {ZOU} -o zou.store",
        "dnacnn train zou.store --model zou2019 -o zou.dnacnn",
        "dnacnn evaluate zou.dnacnn zou.store -o zou_eval",
        note="a first session; every command's --help ends with its own",
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_state: dict = {"debug": False, "argv": []}


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
    from dnacnn.device import reuse_freed_memory

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


@app.command(
    cls=_Command,
    epilog=_examples(
        f"dnacnn encode {ZOU} -o zou.store",
        f"dnacnn encode \\\n    {REST_AC} \\\n    --label-col Bound --negatives shuffle -o rest.store",
        "dnacnn encode data/wheat/wheat.X.gz --format genotype \\\n"
        "    --phenotypes data/wheat/wheat.Y --traits 1 -o wheat.store",
        "dnacnn encode data/wheat/wheat.X.gz --format genotype \\\n"
        "    --phenotypes data/wheat/wheat.Y --traits 1 --split folds --folds 5 \\\n"
        "    -o wheat_cv.store",
    ),
)
@reported
def encode(
    input: Annotated[
        Path,
        typer.Argument(
            help="FASTA(.gz), TSV/CSV(.gz), one-sequence-per-line, BED/narrowPeak, genotype matrix, "
            "VCF/BCF or PLINK .bed."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Store directory to write (e.g. data.store).")],
    format: Annotated[
        str,
        typer.Option(help="auto, fasta, tabular, lines, bed, genotype (numeric matrix), vcf (VCF/BCF) or plink."),
    ] = "auto",
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
    maf: Annotated[float, typer.Option(help="Genotypes: drop markers with minor-allele frequency below this.")] = 0.0,
    max_missing: Annotated[
        float, typer.Option(help="Genotypes: drop markers with more than this share of missing calls.")
    ] = 1.0,
    max_sample_missing: Annotated[
        float, typer.Option(help="Genotypes: drop individuals with more than this share of missing calls.")
    ] = 1.0,
    multiallelic: Annotated[str, typer.Option(help="VCF records with several ALT alleles: skip or split.")] = "skip",
    task: Annotated[str, typer.Option(help="auto, binary, multiclass or regression.")] = "auto",
    negatives: Annotated[
        str | None,
        typer.Option(
            help="'shuffle' (dinucleotide-shuffled positives), 'genome' (BED input: GC-matched genome windows "
            "away from every peak) or a file of negatives."
        ),
    ] = None,
    negatives_per_positive: Annotated[int, typer.Option(help="Shuffled or genome negatives per positive.")] = 1,
    negative_flank: Annotated[
        int | None, typer.Option(help="Genome negatives stay this many bases away from peaks (default: --length).")
    ] = None,
    targets: Annotated[
        str | None,
        typer.Option(help="bigWig track(s), comma-separated: each window's signal as a regression label (BED input)."),
    ] = None,
    target_stat: Annotated[str, typer.Option(help="Per window and track: mean, sum or max.")] = "mean",
    target_log1p: Annotated[bool, typer.Option(help="log(1 + x) of the track values.")] = False,
    split: Annotated[str, typer.Option(help="random, chrom, column, folds, train or test.")] = "random",
    valid_frac: Annotated[float, typer.Option(help="Validation fraction (random split).")] = 0.1,
    test_frac: Annotated[float, typer.Option(help="Test fraction (random split).")] = 0.1,
    valid_chroms: Annotated[str | None, typer.Option(help="Validation chromosomes (chrom split), e.g. chr7.")] = None,
    test_chroms: Annotated[str | None, typer.Option(help="Test chromosomes (chrom split), e.g. chr8,chr9.")] = None,
    split_col: Annotated[str | None, typer.Option(help="Column holding train/valid/test (column split).")] = None,
    folds: Annotated[int, typer.Option(help="Number of seeded cross-validation folds (folds split).")] = 10,
    fold_file: Annotated[
        Path | None, typer.Option(help="One fold id (1..k) per record, e.g. BGLR's wheat.sets (folds split).")
    ] = None,
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
        maf=maf,
        max_missing=max_missing,
        max_sample_missing=max_sample_missing,
        multiallelic=multiallelic,
        task=task,
        negatives=negatives,
        negatives_per_positive=negatives_per_positive,
        negative_flank=negative_flank,
        targets=_csv(targets),
        target_stat=target_stat,
        target_log1p=target_log1p,
        split=split,
        valid_frac=valid_frac,
        test_frac=test_frac,
        valid_chroms=_csv(valid_chroms),
        test_chroms=_csv(test_chroms),
        split_col=split_col,
        folds=folds,
        fold_file=str(fold_file) if fold_file else None,
        seed=seed,
        progress=progress,
    )
    path = run_encode(input, out, opts)
    store = Store.open(path)
    counts = store.manifest["split_counts"]
    enc = store.encoding
    if "genotype_qc" in store.manifest:
        from dnacnn.io.genotype_qc import GenotypeSummary

        typer.echo(GenotypeSummary.from_dict(store.manifest["genotype_qc"]).describe(), err=True)
    if isinstance(store.manifest.get("negatives"), dict):
        from dnacnn.background import BackgroundSummary

        typer.echo(BackgroundSummary(**store.manifest["negatives"]).describe(), err=True)
    if "targets" in store.manifest:
        from dnacnn.io.bigwig import TargetSummary

        typer.echo(TargetSummary(**store.manifest["targets"]).describe(), err=True)
    if store.n_folds:
        typer.echo(f"folds: {store.n_folds} (train one with --fold K, or all with 'dnacnn cv')", err=True)
    typer.echo(
        f"wrote {path}: {store.n} records x {enc.length} ({enc.kind}, {enc.channels} channels), task {store.task}, "
        f"train/valid/test {counts['train']}/{counts['valid']}/{counts['test']}",
        err=True,
    )


@app.command(
    cls=_Command,
    epilog=_examples(
        f'zcat {REST_AC} \\\n    | awk \'NR > 1 {{print ">" $2 "\\n" $3}}\' | dnacnn shuffle - -o rest_bg.fa',
        note="DeepBind's table as FASTA on stdin",
    ),
)
@reported
def shuffle(
    input: Annotated[Path, typer.Argument(help="FASTA(.gz) of sequences to shuffle; '-' = stdin.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="FASTA to write ('-' for stdout).")],
    times: Annotated[int, typer.Option(help="Shuffled copies per sequence.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write dinucleotide-shuffled background sequences (exact 2-mer counts, as DeepBind)."""
    from dnacnn.shuffle import shuffle_fasta

    n = shuffle_fasta(input, out, times=times, seed=seed)
    typer.echo(f"wrote {n} shuffled sequences to {out}", err=True)


# The input `dnacnn summary PRESET` assumes without --length / --channels / --task: the bundled
# data each preset is shown on (a spec keeps its preset's name when copied from `dnacnn presets`).
_SUMMARY_INPUT = (101, 4, "binary", "DNA as the bundled DeepBind REST data")
_SUMMARY_INPUTS = {
    "zou2019": (50, 4, "binary", "DNA as the bundled Zou et al. data"),
    "snp-cnn": (1279, 3, "regression", "one-hot genotypes as the bundled wheat data"),
}


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn summary tfbind",
        "dnacnn summary zou2019 --length 50",
        "dnacnn summary zou.dnacnn",
    ),
)
@reported
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
        from dnacnn.modelfile import read_tensors

        _, meta = read_tensors(model)
        enc = meta["encoding"]
        result = summarize(meta["spec"], enc["channels"], enc["length"], meta["n_outputs"], meta["task"])
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
        if length_assumed:  # the README's `--length 50 --channels 4` needs no note about --task
            typer.echo(f"summary: assuming {' '.join(assumed)} ({data}); give them for other inputs", err=True)
        result = summarize(spec, channels, length, outputs, task)
    typer.echo(result.text)


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn train zou.store --model zou2019 -o zou.dnacnn",
        "dnacnn train rest.store -o rest.dnacnn --epochs 10",
        "dnacnn train rest.store -o rest.dnacnn --epochs 10 --resume  # after Ctrl-C",
        note=STORES,
    ),
)
@with_settings(TrainSettings)
@reported
def train(
    store: Annotated[Path, typer.Argument(help="Tensor store from 'dnacnn encode'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (e.g. model.dnacnn).")],
    **settings,
) -> None:
    """Train a CNN on a tensor store; writes a safetensors model file and a history TSV.

    One line per epoch: training loss, validation loss and metric, learning rate, seconds; a *
    marks a new best validation metric, whose weights are the ones saved.  Ctrl-C stops with the
    command that resumes from the last finished epoch."""
    from dnacnn.train import train as run_train

    opts = settings_from(TrainSettings, settings)
    try:
        result = run_train(store, out, opts)
    except KeyboardInterrupt:
        if sys.stderr.isatty():
            sys.stderr.write("\n")  # off the progress bar's line
        typer.echo(f"dnacnn: interrupted; {_resume_hint(store, out)}", err=True)
        raise typer.Exit(code=130) from None
    epochs = f"{result.epochs_run} epoch{'s' * (result.epochs_run != 1)}"
    typer.echo(
        f"wrote {result.model_path}: best epoch {result.best_epoch}, val {result.metric_name} "
        f"{result.best_metric:.4f}, {epochs} in {result.seconds:.1f}s on {result.device}",
        err=True,
    )


def _resume_hint(store: Path, out: Path) -> str:
    """What an interrupted ``dnacnn train`` leaves: OUT.ckpt and the command that continues it."""
    from dnacnn.train.checkpoint import checkpoint_meta

    ckpt = out.with_name(out.name + ".ckpt")
    meta = checkpoint_meta(ckpt, strict=False)
    if meta is None:
        return f"no epoch had finished, so there is no checkpoint ({ckpt}); run the same command to start again"
    argv = [a for a in _state["argv"] if a not in ("--resume", "--no-resume")]
    if "train" not in argv:  # not run from the command line (a test, a script): the essentials
        argv = ["train", str(store), "-o", str(out), "..."]
    epoch = meta.get("loop", {}).get("epoch")
    holds = f"the run after epoch {epoch}" if epoch is not None else "the finished run"
    return f"{ckpt} holds {holds}; continue with: {shlex.join(['dnacnn', *argv, '--resume'])}"


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn tune zou.store --model zou2019 --trials 10 --epochs 10 -o zou_tune",
        "dnacnn train zou.store --model zou_tune/best.yaml -o zou.dnacnn",
        note=STORES,
    ),
)
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
    metavar="MODEL",
    help="A model file; repeat it for an ensemble (e.g. one architecture, several seeds): the mean of the models' "
    "scores. Adds to MODEL.",
    show_default=False,
)


@app.command(
    cls=_Command,
    epilog=_examples(
        f"dnacnn predict rest.dnacnn \\\n    {REST_B} -o rest_B.tsv",
        "dnacnn predict zou.dnacnn data/zou2019/sequences.txt -o - | head",
        note=MODELS,
    ),
)
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


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn evaluate zou.dnacnn zou.store -o zou_eval",
        f"dnacnn encode {REST_B} \\\n    --label-col Bound --split test -o rest_B.store",
        "dnacnn evaluate rest.dnacnn rest_B.store -o rest_eval",
        note=MODELS,
    ),
)
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
    fold: Annotated[
        int | None, typer.Option(help="A store with folds: score this fold [the fold the model was trained for].")
    ] = None,
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
        fold=fold,
    )
    name = result["main_metric"]

    def shown(value) -> str:  # 4 significant digits: enough to compare runs, not 16
        return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)

    line = f"{out}/report.html: {name} {shown(result['cnn']['macro'].get(name))}"
    if result.get("baseline"):
        line += f" (baseline {result['baseline_name']}: {shown(result['baseline']['macro'].get(name))})"
    typer.echo(line, err=True)


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn encode data/wheat/wheat.X.gz --format genotype \\\n"
        "    --phenotypes data/wheat/wheat.Y --traits 1 --split folds --folds 5 \\\n"
        "    -o wheat_cv.store",
        "dnacnn cv wheat_cv.store --model snp-cnn -o wheat_cv",
    ),
)
@reported
def cv(
    store: Annotated[Path, typer.Argument(help="A store encoded with --split folds.", metavar="STORE")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder: fold_K/ (model, eval), cv.tsv/json/html.")],
    model: Annotated[str, typer.Option(help="Preset name or model spec YAML (its train: block holds settings).")] = (
        "snp-cnn"
    ),
    epochs: Annotated[int | None, typer.Option(help="Epochs per fold (default: the spec's).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the spec's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (default: the spec's).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of every fold's training.")] = 0,
    folds: Annotated[str | None, typer.Option(help="Folds to run, comma-separated [all].")] = None,
    baselines: Annotated[
        bool, typer.Option(help="Fit the baselines on each fold (genotype regression: RR-BLUP, GBLUP, RKHS).")
    ] = True,
    device: Annotated[str, typer.Option(help="auto (CUDA if available), cpu, cuda or cuda:N.")] = "auto",
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Cross-validate: train and evaluate the model on every fold, then per-fold, mean +- sd and
    pooled scores beside RR-BLUP, GBLUP and RKHS fitted on the same folds.

    The folds run one after another; the workflow (split: method: folds) runs them as parallel jobs."""
    from dnacnn.cv import cross_validate

    _set_threads(threads)
    try:
        chosen = [int(f) for f in _csv(folds)] or None
    except ValueError:
        raise typer.BadParameter(f"{folds!r}: give fold numbers, e.g. 1,2,3", param_hint="--folds") from None
    opts = TrainSettings(model=model, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, device=device,
                         threads=threads, progress=progress)  # fmt: skip
    table = cross_validate(store, out, opts, chosen, baselines=baselines, progress=progress)
    _echo_cv(table, out)


@app.command(
    "cv-summary",
    cls=_Command,
    epilog=_examples(
        "dnacnn train wheat_cv.store --model snp-cnn --fold 1 -o f1/model.dnacnn",
        "dnacnn evaluate f1/model.dnacnn wheat_cv.store -o f1/eval",
        "dnacnn cv-summary f1/eval f2/eval f3/eval f4/eval f5/eval -o wheat_cv",
        note="wheat_cv.store comes from 'dnacnn cv --help'; one train and evaluate per fold",
    ),
)
@reported
def cv_summary(
    eval_dirs: Annotated[
        list[Path], typer.Argument(help="'dnacnn evaluate' folders of the folds of one store.", metavar="EVAL_DIR")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for cv.tsv, cv.json, cv.html, predictions.tsv.")],
) -> None:
    """Summarize fold evaluations (what 'dnacnn cv' does after its folds; the workflow's last step)."""
    from dnacnn.cv import summarize_folds

    _echo_cv(summarize_folds(eval_dirs, out), out)


def _echo_cv(table, out: Path) -> None:
    mean = table.set_index("fold").loc["mean"]
    methods = [c for c in table.columns if c not in ("fold", "n")]
    parts = ", ".join(f"{m} {mean[m]:.3f}" for m in methods)
    typer.echo(f"{out}/cv.html: mean over {len(table) - 3} folds: {parts}", err=True)


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn aggregate zou_eval rest_eval --names zou2019/zou2019,REST/tfbind \\\n"
        "    --tsv summary.tsv --html summary.html",
        note="zou_eval and rest_eval come from 'dnacnn evaluate --help'",
    ),
)
@reported
def aggregate(
    eval_dirs: Annotated[
        list[Path], typer.Argument(help="Directories written by 'dnacnn evaluate'.", metavar="EVAL_DIR")
    ],
    tsv: Annotated[Path, typer.Option(help="Summary table to write.")] = Path("results/summary.tsv"),
    html: Annotated[Path | None, typer.Option(help="Summary page to write.")] = None,
    names: Annotated[str | None, typer.Option(help="dataset/model name per directory, comma-separated.")] = None,
) -> None:
    """One table (and page) across many evaluations: dataset x model, key metrics, baseline beside them."""
    from dnacnn.evaluate import aggregate as run_aggregate

    table = run_aggregate(eval_dirs, tsv, html, _csv(names) or None)
    typer.echo(f"wrote {tsv}" + (f" and {html}" if html else "") + f": {len(table)} runs", err=True)


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn export rest.dnacnn -o rest.onnx",
        "dnacnn export rest.dnacnn --format torchscript -o rest.pt",
        note=MODELS,
    ),
)
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


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn motifs rest.dnacnn rest.store -o rest_motifs",
        f"dnacnn motifs rest.dnacnn \\\n    {REST_B} -o rest_B_motifs",
        "dnacnn motifs rest.dnacnn rest.store -o rest_modisco --method modisco",
        note=MODELS,
    ),
)
@reported
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
) -> None:
    """First-layer filters or TF-MoDISco patterns as motifs: MEME file, logos, Tomtom matches to JASPAR."""
    from dnacnn.interpret.motifs import motifs as run_motifs
    from dnacnn.interpret.motifs import run_summary

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


@app.command(
    cls=_Command,
    epilog=_examples(
        f"dnacnn explain rest.dnacnn --method gradxinput \\\n    {REST_B} -o rest_gxi",
        f"dnacnn explain rest.dnacnn \\\n    {REST_B} -o rest_explain",
        note="gradxinput takes seconds, ism (the default) minutes on a CPU; " + MODELS,
    ),
)
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
    from dnacnn.interpret.explain import explain as run_explain

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


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn variants rest.dnacnn my.vcf.gz --genome hg19.fa -o effects.tsv",
        note="your VCF and its genome (REST's peaks are hg19); " + MODELS,
    ),
)
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
    from dnacnn.interpret.variants import score_variants

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


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn scan rest.dnacnn hg19.fa --chroms chr21 -o rest_chr21.bw",
        "dnacnn scan rest.dnacnn hg19.fa --regions peaks.bed --stride 10 \\\n    --bedgraph -o rest_peaks.bw",
        note="your genome (REST's peaks are hg19) and regions; " + MODELS,
    ),
)
@reported
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
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (in bases).")] = True,
) -> None:
    """Scan a genome with a model: a bigWig of window scores (what predict gives) at every stride."""
    from dnacnn.scan import scan as run_scan

    _set_threads(threads)
    summary = run_scan(
        model,
        genome,
        out,
        regions=regions,
        chroms=_csv(chroms),
        task=task,
        stride=stride,
        max_n=max_n,
        bedgraph=bedgraph,
        rc_average=rc_average,
        device=device,
        batch_size=batch_size,
        progress=progress,
    )
    written = ", ".join(map(str, summary.tracks + summary.bedgraphs))
    typer.echo(
        f"scanned {summary.bases:,} bp: {summary.windows:,} windows scored, {summary.skipped_n:,} skipped "
        f"(N) -> {written}",
        err=True,
    )


@app.command(
    cls=_Command,
    epilog=_examples(
        "dnacnn presets",
        "dnacnn presets tfbind > my.yaml",
        "dnacnn train rest.store --model my.yaml -o my.dnacnn",
        note="edit my.yaml, then train it",
    ),
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
