"""User-facing errors.

Every error a user can cause is raised as a :class:`DnacnnError` whose message is one line:
``FILE:LINE: what is wrong; what to do``.  The CLI prints it to stderr and exits 1 without a
traceback (unless ``--debug``).
"""

from __future__ import annotations

from os import PathLike


class DnacnnError(Exception):
    """An error caused by the user's input or options, reported as one line."""


class InputError(DnacnnError):
    """A problem in an input file, located by file and line or record."""

    def __init__(self, path: str | PathLike, where: str | None, problem: str, fix: str = "") -> None:
        location = f"{path}" if not where else f"{path}:{where}"
        message = f"{location}: {problem}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)
        self.path = str(path)
        self.where = where
