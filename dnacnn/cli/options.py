"""Command-line options generated from a settings dataclass (:class:`dnacnn.train.TrainSettings`,
:class:`dnacnn.encode_options.EncodeOptions`).

Contract: ``@with_settings(cls)`` on a command function whose signature ends in ``**settings``
gives the command one Typer option per field whose metadata does not say ``cli: False``, with
the field's ``help``, default and type (or ``cli_type``, e.g. ``Path`` for a ``str`` path); its
name is ``--field-name`` (or ``--cli-name`` from the metadata's ``cli_name``), a ``--x/--no-x``
switch for booleans, and a ``list[str]`` field is one comma-separated option (default: none).
:func:`settings_from` turns the options a command received back into the dataclass.  The options
are the dataclass's fields in their order, so a new field is a new option with nothing written here.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Annotated, Any

import typer


def split_csv(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; nothing given -> ``[]``."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def cli_fields(cls) -> list[tuple[dataclasses.Field, Any]]:
    """The fields of ``cls`` that are command-line options, each with its resolved type."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def is_list(annotation: Any) -> bool:
    """Whether a field of this type is given as one comma-separated option."""
    return typing.get_origin(annotation) is list


def option_name(f: dataclasses.Field) -> str:
    """The Python name of field ``f``'s option (Typer dashes it: ``label_col`` -> ``--label-col``)."""
    return f.metadata.get("cli_name", f.name)


def option_parameter(f: dataclasses.Field, annotation: Any) -> inspect.Parameter:
    """The keyword parameter that Typer turns into the option of field ``f``."""
    default = f.default
    if is_list(annotation):
        annotation, default = str | None, None
    cli_type = f.metadata.get("cli_type")
    if cli_type is not None:
        annotation = cli_type | None if default is None else cli_type
    name = option_name(f)
    dashed = name.replace("_", "-")
    decls = (f"--{dashed}/--no-{dashed}",) if bool in typing.get_args(annotation) or annotation is bool else ()
    option = typer.Option(*decls, help=f.metadata["help"])
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, option]
    )


def with_settings(cls):
    """A decorator giving a ``(..., **settings)`` command the options of ``cls``'s fields."""

    def decorate(func):
        signature = inspect.signature(func, eval_str=True)
        fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        options = [option_parameter(f, annotation) for f, annotation in cli_fields(cls)]
        func.__signature__ = signature.replace(parameters=[*fixed, *options])
        return func

    return decorate


def settings_from(cls, options: dict):
    """The dataclass ``cls`` of a command's options (a ``cli_type`` value back to the field's type,
    a comma-separated value to a list)."""
    values = {}
    for f, annotation in cli_fields(cls):
        value = options[option_name(f)]
        if is_list(annotation):
            value = split_csv(value)
        elif value is not None and "cli_type" in f.metadata:
            value = str(value)
        values[f.name] = value
    return cls(**values)
