"""The ``dnacnn`` command line: glue only (``dnacnn = "dnacnn.cli:app"``).

Contract: :data:`app` is the Typer app; each command parses options, calls one library function
and turns a :class:`~dnacnn.errors.DnacnnError` into one line on stderr with exit code 1 (usage
errors exit 2, as Typer does).  The commands live by job in :mod:`~dnacnn.cli.data`,
:mod:`~dnacnn.cli.training`, :mod:`~dnacnn.cli.evaluation` and :mod:`~dnacnn.cli.interpretation`;
the list below is the order ``dnacnn --help`` shows them in.  Heavy libraries (torch, pandas,
sklearn) are imported inside commands so ``dnacnn --help`` answers instantly.
"""

from __future__ import annotations

from dnacnn.cli import data, evaluation, interpretation, training
from dnacnn.cli.base import app, register

__all__ = ["app"]

register(
    data.encode,
    data.shuffle,
    data.summary,
    training.train,
    training.tune,
    evaluation.predict,
    evaluation.evaluate,
    training.cv,
    training.cv_summary,
    evaluation.aggregate,
    evaluation.export,
    interpretation.motifs,
    interpretation.explain,
    interpretation.variants,
    evaluation.scan,
    data.presets,
)
