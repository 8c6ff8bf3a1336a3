"""The one output writer: every file and folder dnacnn writes goes through a temporary name and a rename.

Contract: :func:`output_file` yields a temporary path beside the target (``.NAME.dnacnn-tmp-PID``)
and renames it onto the target when the block succeeds; on any exception, Ctrl-C included, the
temporary is removed and the old output is left as it was.  :func:`atomic_text` and
:func:`write_text_atomic` are the text forms (``-`` is stdout, written directly).  Folders are
built under the same temporary name (:func:`new_temp_dir`, :func:`output_dir`) and renamed into
place by :func:`commit_dir`, which replaces an existing target only when the command's check says
it is an output of the same kind.  Every writer first removes the temporary names of the same
target that an earlier, killed run left (:func:`remove_stale_temps`: the owning process is gone).
Before anything is read or written, :func:`check_output_file` / :func:`check_output_folder` refuse,
with one line, an output that is, lies inside or holds one of the command's inputs.
"""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dnacnn.errors import DnacnnError

TEMP_TAG = "dnacnn-tmp"
_OLD = ".old"  # an existing folder, moved aside while the new one is renamed into place


def temp_path(target: str | os.PathLike) -> Path:
    """The temporary name of ``target`` for this process: ``.NAME.dnacnn-tmp-PID`` beside it."""
    target = Path(target)
    return target.with_name(f".{target.name}.{TEMP_TAG}-{os.getpid()}")


def remove_stale_temps(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary names of ``target`` left by runs that were killed (their process no
    longer runs; this process's own temporary too, as it is about to be made again, but not what
    it moved aside); returns them.

    A folder moved aside (``...PID.old``) whose target is missing is renamed back: the kill came
    between the two renames of :func:`commit_dir`, and it is the last complete output."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:{TEMP_TAG}|tmp)-(\d+)({re.escape(_OLD)})?")
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    removed = []
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        own = int(m[1]) == os.getpid() if m else False
        if not m or (own and m[2]) or (not own and _running(int(m[1]))):
            continue  # another run's, or an output this run moved aside (--force)
        path = Path(entry.path)
        if m[2] and not os.path.lexists(target):
            os.replace(path, target)
            continue
        _remove(path)
        removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def written_in_place(target: str | os.PathLike) -> bool:
    """Whether ``target`` is written in place, not through a temporary and a rename (which would
    replace a device by a plain file): a standard stream (``/dev/stdout``, ``/dev/fd/N``,
    ``/proc/...``), or an existing device, FIFO or socket (``/dev/null``, a named pipe)."""
    if str(target).startswith(("/dev/std", "/dev/fd/", "/proc/")):
        return True
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _through_link(target: Path) -> Path:
    """The file a symbolic link names (written in its place, the link kept); ``target`` itself otherwise."""
    return Path(os.path.realpath(target)) if os.path.islink(target) else target


# errors of a write that carry no file name (a full disk shows at write() or close())
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM}


def _named(e: OSError, target: Path, tmp: Path | None) -> OSError | None:
    """``e`` again, naming ``target`` where it named nothing or the temporary; None if it named another file."""
    if e.errno is None or (e.filename is not None and str(e.filename) != str(tmp)):
        return None
    if e.filename is None and e.errno not in _WRITE_ERRNOS:
        return None
    return OSError(e.errno, e.strerror, str(target))


def make_parents(target: Path) -> None:
    """Make the folders above ``target``; one that exists as a file is an ENOTDIR naming it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next((p for p in reversed(target.parents) if p.exists() and not p.is_dir()), target.parent)
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(blocking)) from None


@contextmanager
def output_file(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed onto ``path`` if the block succeeds,
    removed whatever happens (error, Ctrl-C).  Parent folders are made.  A device or FIFO is
    yielded itself (:func:`written_in_place`)."""
    target = Path(path)
    if written_in_place(target):
        try:
            yield target
        except OSError as e:
            named = _named(e, target, None)
            if named is None:
                raise
            raise named from None
        return
    target = _through_link(target)
    make_parents(target)
    remove_stale_temps(target)
    tmp = temp_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as e:
        named = _named(e, target, tmp)
        if named is None:
            raise
        raise named from None
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)


@contextmanager
def output_files(paths: Iterable[str | os.PathLike]) -> Iterator[list[Path]]:
    """:func:`output_file` for several outputs written together: all renamed at the end, or none."""
    paths = [p if written_in_place(p) else _through_link(Path(p)) for p in map(Path, paths)]
    for p in paths:
        if not written_in_place(p):
            make_parents(p)
            remove_stale_temps(p)
    tmps = [p if written_in_place(p) else temp_path(p) for p in paths]
    try:
        yield tmps
        for tmp, path in zip(tmps, paths):
            if tmp != path:
                os.replace(tmp, path)
    finally:
        for tmp, path in zip(tmps, paths):
            if tmp != path and os.path.lexists(tmp):
                _remove(tmp)


@contextmanager
def atomic_text(path: str | os.PathLike) -> Iterator[io.TextIOBase]:
    """Write text to ``path`` through :func:`output_file` (``-`` = stdout, written directly)."""
    if str(path) == "-":
        try:
            yield sys.stdout
            sys.stdout.flush()
        except OSError as e:
            named = _named(e, Path("<stdout>"), None)
            if named is None:
                raise
            raise named from None
        return
    with output_file(path) as tmp, open(tmp, "w", buffering=1 << 20) as f:
        yield f


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`output_file`: a killed run leaves the
    previous file or none, never half of one."""
    with output_file(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def new_temp_dir(target: str | os.PathLike) -> Path:
    """Make the temporary folder of ``target`` (after removing stale ones); parents are made."""
    target = Path(target)
    make_parents(target)
    remove_stale_temps(target)
    tmp = temp_path(target)
    tmp.mkdir()
    return tmp


def commit_dir(tmp: Path, target: str | os.PathLike, check: Callable[[Path], None] | None = None) -> Path:
    """Rename the finished folder ``tmp`` onto ``target``.  An existing ``target`` is first given to
    ``check`` (which raises :class:`DnacnnError` if this command may not replace it; None: it may
    not), then moved aside and removed once the new folder is in place."""
    target = Path(target)
    if written_in_place(target):  # renamed over, a device would become a folder
        raise DnacnnError(f"{target}: is a device or pipe, not a folder; give --out a folder")
    if not os.path.lexists(target):
        os.replace(tmp, target)
        return target
    if check is None:
        raise DnacnnError(f"{target}: already exists; give --out a new path")
    check(target)
    old = tmp.with_name(tmp.name + _OLD)
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)
    return target


def discard(tmp: Path) -> None:
    """Remove a temporary file or folder (a failed or interrupted write)."""
    if os.path.lexists(tmp):
        _remove(tmp)


@contextmanager
def output_dir(path: str | os.PathLike, check: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; renamed onto ``path`` if the block succeeds (see
    :func:`commit_dir` for an existing ``path``), removed whatever happens."""
    tmp = new_temp_dir(path)
    try:
        yield tmp
        commit_dir(tmp, path, check)
    finally:
        discard(tmp)


def check_output_file(out, inputs: Iterable, option: str = "--out") -> None:
    """One line if the file ``out`` is, lies inside or holds an input, or is a folder (``-``: stdout)."""
    if out is None or str(out) == "-":
        return
    refuse_inputs(out, inputs, option, "give a new file name")
    if Path(out).is_dir():
        raise DnacnnError(f"{_shown(out)}: is a folder; give {option} a file name")


def check_output_folder(out, inputs: Iterable, option: str = "--out", fix: str = "give a new folder") -> None:
    """One line if the folder ``out`` is, lies inside or holds an input, or is a file."""
    refuse_inputs(out, inputs, option, fix)
    if os.path.lexists(out) and not Path(out).is_dir():
        raise DnacnnError(f"{_shown(out)}: exists and is a file; {option} takes a folder, give a new one")


def refuse_inputs(out, inputs: Iterable, option: str = "--out", fix: str = "give a new path") -> None:
    """One line if writing ``out`` would replace an input: ``out`` is an input (also through a link),
    lies inside an input folder (a store), or is a folder holding an input (``-o .``)."""
    target = Path(out).resolve()
    for given in inputs:
        if given is None or str(given) in ("", "-"):
            continue
        try:
            path = Path(given).resolve()
        except RuntimeError:  # a symbolic link loop: no output can be it, and its reader refuses it
            continue
        if target == path or path in target.parents or _same_file(out, given):
            raise DnacnnError(f"{_shown(out)}: {option} would replace the input {path}; {fix}")
        if target in path.parents:
            raise DnacnnError(f"{_shown(out)}: {option} would replace a folder holding the input {path}; {fix}")


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _shown(path) -> str:
    """``path`` as given, or absolute where the given form names nothing readable (``.``, ``..``)."""
    return str(Path(path).resolve()) if Path(path).name in ("", ".", "..") else str(path)
