"""``dnacnn train``, ``tune``, ``cv`` and ``cv-summary``: models from a tensor store.

Contract: each command parses its options, calls one library function (:func:`dnacnn.train.train`,
:func:`dnacnn.tune.tune`, :func:`dnacnn.cv.cross_validate`, :func:`dnacnn.cv.summarize_folds`) and
echoes one summary line on stderr.  The ``train`` options are generated from
:class:`~dnacnn.train.settings.TrainSettings`; an interrupted ``train`` names its checkpoint and the
command that resumes it (exit code 130).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from dnacnn.cli.base import POSITIVE, STORES, at_least, bounded, command, command_line, reported
from dnacnn.cli.guard import FORCE, check_replaceable, guarded
from dnacnn.cli.options import settings_from, split_csv, with_settings
from dnacnn.device import THREADS_HELP, parse_threads, set_threads
from dnacnn.train.settings import TrainSettings, history_path


@command(
    "dnacnn train zou.store --model zou2019 -o zou.dnacnn",
    "dnacnn train rest.store -o rest.dnacnn --epochs 10",
    "dnacnn train rest.store -o rest.dnacnn --epochs 10 --resume  # after Ctrl-C",
    note=STORES,
)
@with_settings(TrainSettings)
@reported
def train(
    store: Annotated[Path, typer.Argument(help="Tensor store from 'dnacnn encode'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (e.g. model.dnacnn).")],
    force: FORCE = False,
    **settings,
) -> None:
    """Train a CNN on a tensor store; writes a safetensors model file and a history TSV.

    One line per epoch: training loss, validation loss and metric, learning rate, seconds; a *
    marks a new best validation metric, whose weights are the ones saved.  Ctrl-C stops with the
    command that resumes from the last finished epoch."""
    from dnacnn.errors import Terminated
    from dnacnn.train import train as run_train

    opts = settings_from(TrainSettings, settings)
    inputs = [store, opts.model if Path(opts.model).suffix else None]
    history = history_path(out, opts.history) if opts.history or out.name else None
    if history is not None and history.resolve() == out.resolve():  # the library's own line names the clash
        history = None
    try:
        with guarded(out, "model", inputs, force), guarded(history, "history", inputs, force, "--history"):
            if not opts.resume:  # a file at OUT.ckpt that dnacnn did not write is not overwritten
                check_replaceable(out.with_name(out.name + ".ckpt"), "checkpoint", force)
            result = run_train(store, out, opts)
    except KeyboardInterrupt as e:
        if sys.stderr.isatty():
            sys.stderr.write("\n")  # off the progress bar's line
        stopped, code = ("terminated", 143) if isinstance(e, Terminated) else ("interrupted", 130)
        typer.echo(f"dnacnn: {stopped}; {_resume_hint(store, out)}", err=True)
        raise typer.Exit(code=code) from None
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
    argv = [a for a in command_line() if a not in ("--resume", "--no-resume")]
    if "train" not in argv:  # not run from the command line (a test, a script): the essentials
        argv = ["train", str(store), "-o", str(out), "..."]
    epoch = meta.get("loop", {}).get("epoch")
    holds = f"the run after epoch {epoch}" if epoch is not None else "the finished run"
    return f"{ckpt} holds {holds}; continue with: {shlex.join(['dnacnn', *argv, '--resume'])}"


@command(
    "dnacnn tune zou.store --model zou2019 --trials 10 --epochs 10 -o zou_tune",
    "dnacnn train zou.store --model zou_tune/best.yaml -o zou.dnacnn",
    note=STORES,
)
@reported
@bounded(trials=at_least(1), timeout_minutes=POSITIVE, seed=at_least(0), epochs=at_least(1))
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
    threads: Annotated[str, typer.Option(help=THREADS_HELP)] = "auto",
    progress: Annotated[bool, typer.Option(help="Show each trial's progress bars and result.")] = True,
    force: FORCE = False,
) -> None:
    """Search a model's hyperparameters with Optuna; writes the best spec, its model and a trials table."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        from dnacnn.errors import DnacnnError

        raise DnacnnError("dnacnn tune needs optuna; install it with: pip install 'optuna>=3.4'") from None
    from dnacnn.tune import read_search
    from dnacnn.tune import tune as run_tune

    with guarded(out, "tune", [store, search, model if Path(model).suffix else None], force):
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
            threads=parse_threads(threads),  # refused before the study writes anything
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


@command(
    "dnacnn encode data/wheat/wheat.X.gz --format genotype \\\n"
    "    --phenotypes data/wheat/wheat.Y --traits 1 --split folds --folds 5 \\\n"
    "    -o wheat_cv.store",
    "dnacnn cv wheat_cv.store --model snp-cnn -o wheat_cv",
)
@reported
@bounded(epochs=at_least(1), lr=POSITIVE, batch_size=at_least(1), seed=at_least(0))
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
    threads: Annotated[str, typer.Option(help=THREADS_HELP)] = "auto",
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    force: FORCE = False,
) -> None:
    """Cross-validate: train and evaluate the model on every fold, then per-fold, mean +- sd and
    pooled scores beside RR-BLUP, GBLUP and RKHS fitted on the same folds.

    The folds run one after another; the workflow (split: method: folds) runs them as parallel jobs."""
    from dnacnn.cv import cross_validate

    set_threads(threads)
    try:
        chosen = [int(f) for f in split_csv(folds)] or None
        if chosen and min(chosen) < 1:
            raise ValueError
    except ValueError:
        raise typer.BadParameter(f"{folds!r}: give fold numbers, e.g. 1,2,3", param_hint="--folds") from None
    opts = TrainSettings(model=model, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, device=device,
                         threads=threads, progress=progress)  # fmt: skip
    with guarded(out, "cv", [store, model if Path(model).suffix else None], force):
        table = cross_validate(store, out, opts, chosen, baselines=baselines, progress=progress)
    _echo_cv(table, out)


@command(
    "dnacnn train wheat_cv.store --model snp-cnn --fold 1 -o f1/model.dnacnn",
    "dnacnn evaluate f1/model.dnacnn wheat_cv.store -o f1/eval",
    "dnacnn cv-summary f1/eval f2/eval f3/eval f4/eval f5/eval -o wheat_cv",
    note="wheat_cv.store comes from 'dnacnn cv --help'; one train and evaluate per fold",
    name="cv-summary",
)
@reported
def cv_summary(
    eval_dirs: Annotated[
        list[Path], typer.Argument(help="'dnacnn evaluate' folders of the folds of one store.", metavar="EVAL_DIR")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for cv.tsv, cv.json, cv.html, predictions.tsv.")],
    force: FORCE = False,
) -> None:
    """Summarize fold evaluations (what 'dnacnn cv' does after its folds; the workflow's last step)."""
    from dnacnn.cv import summarize_folds

    with guarded(out, "cv", eval_dirs, force):
        table = summarize_folds(eval_dirs, out)
    _echo_cv(table, out)


def _echo_cv(table, out: Path) -> None:
    mean = table.set_index("fold").loc["mean"]
    methods = [c for c in table.columns if c not in ("fold", "n")]
    parts = ", ".join(f"{m} {mean[m]:.3f}" for m in methods)
    typer.echo(f"{out}/cv.html: mean over {len(table) - 3} folds: {parts}", err=True)
