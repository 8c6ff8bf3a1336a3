"""The ``dnacnn`` Typer app and what every command shares: plain help, examples, error reporting.

Contract: :data:`app` is the group (its ``main`` callback takes ``--version`` and ``--debug``); a
command module marks each command function with :func:`command` (its help examples) and
:func:`reported`, the one place where failures become one line on stderr and no traceback (unless
``--debug``): a :class:`~dnacnn.errors.DnacnnError` exits 1 (a
:class:`~dnacnn.errors.SettingError` named by the command's option: ``lr`` -> ``--lr``), an
:class:`OSError` (permission denied, disk full, read-only file system...) exits 1 naming its path,
Ctrl-C exits 130 and SIGTERM 143 (``dnacnn: terminated``: SIGTERM is raised as Ctrl-C is, so
temporaries are removed the same way); a usage error (unknown option, missing argument, a value of
the wrong type) is one line too and exits 2.  :func:`bounded` checks a command's numeric options
(``@bounded(batch_size=at_least(1))``) before it runs, with the same one line as a setting the
library refuses.  :func:`register` adds the marked functions to
:data:`app` in the order ``dnacnn --help`` lists them.  No torch here, nor in any command module's
top level, so ``dnacnn --help`` answers instantly.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import signal
import sys
import threading
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from dnacnn import __version__

# the click that Typer runs on (its own copy in Typer >= 0.20, else the click package)
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_NoArgsIsHelp = getattr(sys.modules[_UsageError.__module__], "NoArgsIsHelpError", ())
_click_globals = importlib.import_module(_UsageError.__module__.rsplit(".", 1)[0] + ".globals")

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
    resume hint of an interrupted ``dnacnn train`` repeats it); SIGTERM handled as Ctrl-C while a
    command runs; a usage error is one line."""

    def format_help(self, ctx, formatter) -> None:
        super(TyperGroup, self).format_help(ctx, formatter)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **kwargs):
        _state["argv"] = list(sys.argv[1:] if args is None else args)
        with _sigterm_as_interrupt():
            if not standalone_mode:
                return super().main(args, prog_name, complete_var, standalone_mode, **kwargs)
            try:
                code = super().main(args, prog_name, complete_var, False, **kwargs)
            except _NoArgsIsHelp as e:
                e.show()
                sys.exit(e.exit_code)
            except _UsageError as e:
                typer.echo(f"dnacnn: error: {usage_line(e)}", err=True)
                sys.exit(e.exit_code)
            except _ClickException as e:
                typer.echo(f"dnacnn: error: {e.format_message()}", err=True)
                sys.exit(e.exit_code)
            except typer.Abort:
                typer.echo("dnacnn: interrupted", err=True)
                sys.exit(130)
            sys.exit(code if isinstance(code, int) else 0)


def usage_line(e) -> str:
    """A usage error in one line: the option, what is wrong, where the help is."""
    message = " ".join(e.format_message().split())
    if e.ctx is not None:
        message += f" (see '{e.ctx.command_path} --help')"
    return message


class _SigtermAsInterrupt:
    """While a command runs (main thread only), SIGTERM raises :class:`~dnacnn.errors.Terminated`
    (a KeyboardInterrupt): the output writers remove their temporaries as on Ctrl-C.  A second
    SIGTERM during that clean-up is ignored.  A SIGTERM the caller ignores (SIG_IGN) stays ignored."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGTERM)
            if previous is not signal.SIG_IGN:
                self.previous = previous
                signal.signal(signal.SIGTERM, _terminate)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _sigterm_as_interrupt() -> _SigtermAsInterrupt:
    return _SigtermAsInterrupt()


def _terminate(signum, frame) -> None:
    from dnacnn.errors import Terminated

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the clean-up runs to its end
    raise Terminated()


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
    # before any command imports torch: glibc then reuses freed tensor buffers from the start,
    # and OpenMP's threads sleep instead of spinning when they wait (OpenMP reads it once, at load)
    from dnacnn.device import quiet_openmp, reuse_freed_memory

    reuse_freed_memory()
    quiet_openmp()


def reported(func):
    """Run a command; a failure becomes one line on stderr (see the module's contract)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from dnacnn.errors import DnacnnError, SettingError, Terminated

        try:
            return func(*args, **kwargs)
        except (typer.Exit, _ClickException):
            raise
        except Terminated:
            typer.echo("dnacnn: terminated", err=True)
            raise typer.Exit(code=143) from None
        except KeyboardInterrupt:
            typer.echo("dnacnn: interrupted", err=True)
            raise typer.Exit(code=130) from None
        except BrokenPipeError:
            raise  # a reader that stopped early (| head): Typer exits quietly
        except Exception as e:
            if _state["debug"] or not isinstance(e, (DnacnnError, OSError, MemoryError)):
                raise
            line = option_named(e) if isinstance(e, SettingError) else failure_line(e)
            typer.echo(f"dnacnn: error: {line}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper


def failure_line(e: Exception) -> str:
    """An error's one line: a DnacnnError's message, an OSError's path and what to do."""
    from dnacnn.errors import os_error_line

    if isinstance(e, MemoryError):
        return f"out of memory; use a smaller {memory_advice()}, or a machine with more memory"
    if isinstance(e, OSError):
        return os_error_line(e)
    return " ".join(str(e).splitlines()) or type(e).__name__


# options whose size sets how much memory a command takes: out of memory names those it has
_SIZE_OPTIONS = ("batch_size", "length", "times", "outputs", "channels", "negatives_per_positive", "max_sequences")


def memory_advice() -> str:
    """What to make smaller when the running command ran out of memory: the size options it was
    given (``--length 1000000000000``), else its ``--batch-size``, else its input."""
    ctx = _click_globals.get_current_context(silent=True)
    params = [p for p in ctx.command.params if p.param_type_name == "option"] if ctx is not None else []
    sized = {p.name: max(p.opts, key=len) for p in params if p.name in _SIZE_OPTIONS}
    given = [opt for name, opt in sized.items() if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"]
    named = given or [sized[name] for name in ("batch_size",) if name in sized]
    return " or ".join([*named, "input"])


def option_named(e) -> str:
    """A :class:`~dnacnn.errors.SettingError` under the running command's name of the setting:
    the option whose parameter has the setting's name (``batch_size`` -> ``--batch-size``), else
    the setting's name dashed."""
    name = "--" + e.setting.replace("_", "-")
    ctx = _click_globals.get_current_context(silent=True)
    for param in ctx.command.params if ctx is not None else []:
        if param.name == e.setting and param.param_type_name == "option":
            name = max(param.opts, key=len)
    return e.named(name)


def bounded(**bounds: dict):
    """Check a command's numeric options before it runs: ``@bounded(batch_size=at_least(1))``; a
    value out of bounds is one line naming the option (exit 1), as the library's settings are."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            from dnacnn.errors import check_number

            for name, bound in bounds.items():
                check_number(name, kwargs.get(name), **bound)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def at_least(low: int) -> dict:
    """The bound of a whole number option: ``low`` or more."""
    return {"low": low, "whole": True}


def between(low: float, high: float | None = None, *, below: float | None = None) -> dict:
    """The bounds of a number option: from ``low`` to ``high`` (or below ``below``)."""
    return {"low": low, "high": high, "below": below}


POSITIVE = {"above": 0}
FINITE: dict = {}  # any number but NaN and infinity


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
