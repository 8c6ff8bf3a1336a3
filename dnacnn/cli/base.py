"""The ``dnacnn`` Typer app and what every command shares: plain help, examples, error reporting.

Contract: :data:`app` is the group (its ``main`` callback takes ``--version`` and ``--debug``); a
command module marks each command function with :func:`command` (its help examples) and
:func:`reported` (a :class:`~dnacnn.errors.DnacnnError` becomes one line on stderr and exit code 1,
Ctrl-C exit code 130; usage errors exit 2, as Typer does), and :func:`register` adds the marked
functions to :data:`app` in the order ``dnacnn --help`` lists them.  No torch here, nor in any
command module's top level, so ``dnacnn --help`` answers instantly.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from dnacnn import __version__

_LIST_TYPE = re.compile(r"<list\[(\w+)\]>")

# the bundled data sets (see config/config.yaml), as the examples write them
ZOU = "data/zou2019/sequences.txt \\\n    --labels data/zou2019/labels.txt"
REST_AC = "data/deepbind/REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz"
REST_B = "data/deepbind/REST_GM12878_NRSF_HudsonAlpha_B.seq.gz"
STORES = "zou.store and rest.store come from the examples of 'dnacnn encode --help'"
MODELS = "zou.dnacnn, rest.dnacnn and the stores come from 'dnacnn train --help'"


class Command(TyperCommand):
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
    """The ``dnacnn`` group: plain help as :class:`Command`; remembers the command line (the
    resume hint of an interrupted ``dnacnn train`` repeats it)."""

    def format_help(self, ctx, formatter) -> None:
        super(TyperGroup, self).format_help(ctx, formatter)

    def main(self, args=None, *rest, **kwargs):
        _state["argv"] = list(sys.argv[1:] if args is None else args)
        return super().main(args, *rest, **kwargs)


def examples(*commands: str, note: str = "") -> str:
    """A help epilog: example commands on the bundled data, printed as written (a click ``\\b``
    paragraph is not rewrapped), each line under 80 columns."""
    lines = "\n".join(f"  {line}" for command in commands for line in command.splitlines())
    intro = "Examples (bundled data: data/ in a dnacnn checkout)" + (f"; {note}" if note else "") + ":"
    return f"{intro}\n\n\b\n{lines}"


app = typer.Typer(
    name="dnacnn",
    cls=_Group,
    help="Train 1D CNNs on DNA sequences (TF binding) and SNP genotypes (genomic prediction).",
    epilog=examples(
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


def command_line() -> list[str]:
    """The arguments ``dnacnn`` was run with (empty when a command is called otherwise)."""
    return list(_state["argv"])


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


def command(*example_commands: str, note: str = "", name: str | None = None):
    """Mark a function as a ``dnacnn`` command whose help ends with these examples (see
    :func:`examples`); :func:`register` adds it to :data:`app`."""

    def mark(func):
        func.command_settings = {"name": name, "cls": Command, "epilog": examples(*example_commands, note=note)}
        return func

    return mark


def register(*commands) -> None:
    """Add the :func:`command` functions to :data:`app`, in the order ``dnacnn --help`` lists them."""
    for func in commands:
        app.command(**func.command_settings)(func)


def set_threads(threads: int | None) -> None:
    """``--threads``: PyTorch's CPU threads (nothing given: PyTorch's own choice)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
