"""Command-line options generated from a settings dataclass (:class:`dnacnn.train.TrainSettings`).

Contract: ``@with_settings(TrainSettings)`` on a command function whose signature ends in
``**settings`` gives the command one Typer option per field whose metadata does not say
``cli: False`` (name ``--field-name``, a ``--x/--no-x`` switch for booleans), with the field's
type (or ``cli_type``), default and ``help``; :func:`settings_from` turns the options a command
received back into the dataclass.  The options are the dataclass's fields in their order, so a
new field is a new option with nothing written here.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Annotated, Any

import typer


def cli_fields(cls) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are command-line options."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def option_parameter(f: dataclasses.Field, annotation: Any) -> inspect.Parameter:
    """The keyword parameter that Typer turns into the option of field ``f``."""
    cli_type = f.metadata.get("cli_type")
    if cli_type is not None:
        annotation = cli_type | None if f.default is None else cli_type
    dashed = f.name.replace("_", "-")
    decls = (f"--{dashed}/--no-{dashed}",) if bool in typing.get_args(annotation) or annotation is bool else ()
    option = typer.Option(*decls, help=f.metadata["help"])
    return inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=Annotated[annotation, option]
    )


def with_settings(cls):
    """A decorator giving a ``(..., **settings)`` command the options of ``cls``'s fields."""
    hints = typing.get_type_hints(cls)

    def decorate(func):
        signature = inspect.signature(func, eval_str=True)
        fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        options = [option_parameter(f, hints[f.name]) for f in cli_fields(cls)]
        func.__signature__ = signature.replace(parameters=[*fixed, *options])
        return func

    return decorate


def settings_from(cls, options: dict):
    """The dataclass ``cls`` of a command's options (a ``cli_type`` value back to the field's type)."""
    values = {}
    for f in cli_fields(cls):
        value = options[f.name]
        values[f.name] = str(value) if value is not None and "cli_type" in f.metadata else value
    return cls(**values)
