"""User-facing errors.

Every error a user can cause is raised as a :class:`DnacnnError` whose message is one line:
``FILE:LINE: what is wrong; what to do``.  The CLI prints it to stderr and exits 1 without a
traceback (unless ``--debug``).  A :class:`SettingError` names the setting as the library's
caller wrote it (``lr``, ``batch_size``); the CLI names its own option instead (``--lr``).
:func:`check_number` is the one bound check of a numeric setting.  :func:`os_error_line` says
what an :class:`OSError` (permission denied, disk full, read-only file system...) means for the
path it names, in one line.  :class:`Terminated` is SIGTERM raised as Ctrl-C is, so the same
clean-up runs.
"""

from __future__ import annotations

import errno
import re
from os import PathLike
from typing import Any


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


class SettingError(DnacnnError):
    """A setting out of its bounds: ``str(e)`` names it as the library's caller did (``lr must
    be positive, got -1``); :meth:`named` gives the same line under another name (the CLI's
    ``--lr``)."""

    def __init__(self, setting: str, problem: str, fix: str = "") -> None:
        self.setting, self.problem, self.fix = setting, problem, fix
        super().__init__(self.named(setting))

    def named(self, name: str) -> str:
        """The message with the setting called ``name``."""
        return f"{name} {self.problem}" + (f"; {self.fix}" if self.fix else "")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be: temporaries are removed the same way."""


def check_number(
    setting: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
    whole: bool = False,
    fix: str = "",
) -> Any:
    """``value`` if it is a number within the bounds (``low``/``high`` inclusive, ``above``/``below``
    exclusive; ``whole``: a whole number, returned as int; never NaN or infinite), else a
    :class:`SettingError` naming ``setting`` (None passes: "not given")."""
    if value is None:
        return value
    try:
        number = None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number != number or abs(number) == float("inf") or (whole and number != int(number)):
        raise SettingError(setting, f"must be {'a whole number' if whole else 'a finite number'}, got {value!r}", fix)
    if not (
        (low is None or number >= low)
        and (high is None or number <= high)
        and (above is None or number > above)
        and (below is None or number < below)
    ):
        raise SettingError(setting, f"must be {_bounds(low, high, above, below)}, got {value}", fix)
    return int(number) if whole else value


def _bounds(low, high, above, below) -> str:
    lower = (f"[{_num(low)}", low) if low is not None else (f"({_num(above)}", above) if above is not None else None
    upper = (f"{_num(high)}]", high) if high is not None else (f"{_num(below)})", below) if below is not None else None
    if lower and upper:
        return f"in {lower[0]}, {upper[0]}"
    if upper:
        return f"at most {_num(high)}" if high is not None else f"below {_num(below)}"
    if above == 0:
        return "positive"
    return f"at least {_num(low)}" if low is not None else f"above {_num(above)}"


def _num(x) -> str:
    """A bound as written: whole numbers in full (4294967295, not 4.29497e+09)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e18 else f"{x:g}"


# what to do about an OSError, by errno (the path is named before it)
_OS_FIXES = {
    errno.EACCES: "permission denied; check its permissions, or give a path you may use",
    errno.EPERM: "operation not permitted; check its permissions, or give a path you may use",
    errno.ENOSPC: "no space left on the device; free some space, or write the output elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space, or write the output elsewhere",
    errno.EFBIG: "file too large for its file system; write the output elsewhere",
    errno.EROFS: "read-only file system; write the output elsewhere",
    errno.EISDIR: "is a folder; give a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.ENAMETOOLONG: "file name too long; give a shorter path",
    errno.ENOENT: "no such file or folder; check the path",
    errno.EEXIST: "already exists; give a new path",
    errno.ENOTEMPTY: "folder not empty; give a new path",
    errno.ELOOP: "too many levels of symbolic links; check the path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
    errno.ENFILE: "too many open files on the system; retry later",
    errno.EIO: "input/output error; check the disk or the network file system",
    errno.ETXTBSY: "file is busy; retry when it is not in use",
    errno.EBUSY: "device or resource busy; retry later",
    errno.EXDEV: "cannot move across file systems; write the output beside its folder",
    errno.ENOMEM: "out of memory; use a smaller batch or a machine with more memory",
    errno.ESTALE: "stale network file handle; retry, or write elsewhere",
}
_TEMP = re.compile(r"(^|/)\.([^/]+)\.dnacnn-tmp-\d+(?:\.old)?(?=/|$)")


def shown_name(path: str | PathLike) -> str:
    """A path as a message names it: a dnacnn temporary (``.NAME.dnacnn-tmp-PID``, also as a
    folder above the file) as its target."""
    return _TEMP.sub(r"\1\2", str(path))


def os_error_line(e: OSError) -> str:
    """One line for an :class:`OSError`: the path(s) it names, what happened, what to do."""
    paths = [shown_name(p) for p in (e.filename, e.filename2) if p is not None and p != ""]
    fix = _OS_FIXES.get(e.errno)
    if fix is None:
        what = (e.strerror or str(e) or type(e).__name__).strip().replace("\n", " ")
        fix = what[0].lower() + what[1:] if what else "failed"
    where = " -> ".join(f"{p}" for p in paths)
    return f"{where}: {fix}" if where else fix
