"""Where a store's files lie, found and vetted: in a folder or in an uncompressed tar archive.

Contract: :func:`locate` takes the path a user gave (a store folder, or a store archive such as a
Galaxy ``tar`` dataset, recognised by its content whatever its name) and returns one
:class:`Span` per store file present: the file holding its bytes, the offset and the size.  Only
the store's own file names are looked at, and each must be a regular file of its own: a symbolic
link, a hard link (a second name for the file), a FIFO, a device or a folder is refused with one
line before anything is opened, so a store can never point dnacnn at another file (``ids.txt ->
/etc/passwd``) or hang it on a pipe.  An archive must hold exactly the store's files (flat, or in
one folder as ``tar -cf x.tar x.store`` makes them): no other member, no link or device member, no
absolute or ``..`` name, no duplicate, and every member's bytes inside the archive; a compressed
archive is refused with the command that unpacks it.  Members are read in place (an uncompressed
tar stores them as plain runs of bytes), so opening an archive copies nothing.
:func:`write_archive` packs a finished store folder into such a tar, and :func:`is_archive` tells a
tar by its header.  What the files must hold is checked by :mod:`dnacnn.store_check`.
:func:`open_result_file` applies the same rule to the files dnacnn reads back from a result folder
(an evaluation's ``metrics.json`` and ``predictions.tsv``, a motifs folder's tables and logos): each
must be the folder's own regular file, reached through no link, with a bounded size where given;
:func:`result_file_present` says whether such an entry exists at all (a link counts, to be refused).
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnacnn.errors import InputError

REQUIRED = ("manifest.json", "codes.u8", "labels.f32", "split.u8", "ids.txt")
OPTIONAL = ("marker_means.f32", "folds.u8")
STORE_FILES = REQUIRED + OPTIONAL
MAX_MEMBERS = 32  # a store archive holds at most 7 files and a folder
REENCODE = "re-run 'dnacnn encode' to make the store again"
_BLOCK = 512
_COMPRESSED = {  # magic bytes -> (what, the command that gives the tar back)
    b"\x1f\x8b": ("gzip", "gunzip"),
    b"BZh": ("bzip2", "bunzip2"),
    b"\xfd7zXZ\x00": ("xz", "unxz"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd"),
}
GIVE_STORE = "give a store made by 'dnacnn encode'"
_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}
_MEMBER_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO (named pipe)",
    tarfile.DIRTYPE: "a folder",
    tarfile.CONTTYPE: "a contiguous file",
    tarfile.GNUTYPE_SPARSE: "a sparse file",
}


@dataclass(frozen=True)
class Span:
    """One store file: its bytes are ``size`` bytes of ``path`` from ``offset`` (a file of a
    store folder: offset 0; a member of an archive: where its data starts).  ``shown`` names it in
    messages (``x.store/ids.txt``, or ``x.store.tar:store/ids.txt``); ``inode`` is ``(st_dev,
    st_ino)`` of ``path`` as vetted, checked again whenever the file is opened."""

    name: str
    path: Path
    offset: int
    size: int
    shown: str
    inode: tuple[int, int]

    def error(self, problem: str, fix: str = REENCODE) -> InputError:
        return InputError(self.shown, None, problem, fix)

    def open(self) -> int:
        """A read-only descriptor of ``path``, opened without following a link or waiting on a
        pipe, and still the file that was vetted (the caller closes it)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise self.error(f"cannot be opened ({e.strerror})") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != self.inode:
            os.close(fd)
            raise self.error("was replaced while dnacnn read the store")
        return fd

    def read(self) -> bytes:
        """All ``size`` bytes (the caller bounds ``size`` first)."""
        fd = self.open()
        try:
            data = os.pread(fd, self.size, self.offset)
            while len(data) < self.size:
                more = os.pread(fd, self.size - len(data), self.offset + len(data))
                if not more:
                    raise self.error(f"holds {len(data)} bytes, not {self.size}")
                data += more
            return data
        finally:
            os.close(fd)

    def memmap(self, dtype, shape: tuple) -> np.ndarray:
        """The file as a read-only array of ``shape`` (its size already checked against it)."""
        if self.size == 0:
            return np.zeros(shape, dtype)
        fd = self.open()
        try:
            with os.fdopen(os.dup(fd), "rb") as f:
                return np.memmap(f, dtype=dtype, mode="r", offset=self.offset, shape=shape)
        finally:
            os.close(fd)


def shown(text: str) -> str:
    """``text`` as it can be shown in a one-line message (control and line-separator characters escaped)."""
    return text if text.isprintable() else ascii(text)[1:-1]


def locate(path: str | os.PathLike) -> tuple[dict[str, Span], bool]:
    """The store files at ``path`` (a folder or an archive) by name, and whether it is an archive;
    one line if ``path`` is neither or a file is not one dnacnn may read."""
    path = Path(path)
    try:
        st = os.stat(path)  # the path the user named may be a link; what it holds may not
    except FileNotFoundError:
        raise InputError(path, None, "no such store", GIVE_STORE) from None
    except OSError as e:
        raise InputError(path, None, f"cannot be read ({e.strerror})", "check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        return _folder_files(path), False
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise InputError(path, None, f"is {kind}, not a store", GIVE_STORE)
    return _archive_files(path, st), True


def _folder_files(folder: Path) -> dict[str, Span]:
    spans = {}
    for name in STORE_FILES:
        f = folder / name
        try:
            st = os.lstat(f)
        except FileNotFoundError:
            if name in REQUIRED:
                if name == "manifest.json":
                    problem, fix = "not a dnacnn store (no manifest.json)", "create one with 'dnacnn encode'"
                    raise InputError(folder, None, problem, fix) from None
                raise InputError(f, None, "is missing from the store", REENCODE) from None
            continue
        except OSError as e:
            raise InputError(f, None, f"cannot be read ({e.strerror})", "check its permissions") from None
        _check_own_file(f, st)
        spans[name] = Span(name, f, 0, st.st_size, str(f), (st.st_dev, st.st_ino))
    return spans


def _check_own_file(f: Path, st: os.stat_result, fix: str = REENCODE, what: str = "a store") -> None:
    """One line unless ``f`` (its ``lstat``) is a regular file with one name."""
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        problem = f"is {kind}; {what} holds its own regular files, never links or devices"
        raise InputError(shown(str(f)), None, problem, fix)
    if st.st_nlink > 1:
        raise InputError(
            shown(str(f)),
            None,
            f"has {st.st_nlink} hard links (another name shares this file); {what} holds its own files",
            f"copy {'the store' if what == 'a store' else 'the folder'} with 'cp -r' (not 'cp -l' or 'ln') or "
            + fix.split("; ")[-1],
        )


def result_file_present(folder: str | os.PathLike, name: str) -> bool:
    """Whether ``folder/name`` exists as any kind of entry (a link counts: :func:`open_result_file`
    then refuses it rather than dnacnn skipping it silently)."""
    parts = _result_parts(folder, name, "the folder holds only files dnacnn wrote")
    prefixes = (Path(folder, *parts[:i]) for i in range(1, len(parts)))
    return any(os.path.islink(p) for p in prefixes) or os.path.lexists(Path(folder) / name)


def _result_parts(folder, name: str, fix: str) -> list[str]:
    parts = name.split("/")
    if any(p in ("", ".", "..") or "\x00" in p for p in parts):
        raise InputError(shown(str(Path(folder) / name)), None, "is not a file name inside the folder", fix)
    return parts


def open_result_file(folder: str | os.PathLike, name: str, made_by: str, limit: int | None = None):
    """``folder/name`` of a result folder (``name`` may be ``logos/x.png``) opened for reading in
    binary: a regular file of the folder's own, never a link (at any level below ``folder``), a
    hard link, a FIFO or a device, and at most ``limit`` bytes; one line naming it otherwise, whose
    fix is to re-run ``made_by`` (the command that writes the folder)."""
    shown_path = Path(folder) / name
    fix = f"re-run '{made_by}' to make it again"
    parts = _result_parts(folder, name, fix)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the folder named may be a link
    except OSError as e:
        raise InputError(
            folder, None, f"cannot be read as a folder ({e.strerror})", f"give a '{made_by}' folder"
        ) from None
    try:
        for i, part in enumerate(parts):
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise InputError(shown(str(shown_path)), None, "is missing", fix) from None
            last = i == len(parts) - 1
            if last or not stat.S_ISDIR(st.st_mode):
                _check_own_file(Path(folder, *parts[: i + 1]), st, fix, "a result folder")
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | (0 if last else os.O_DIRECTORY)
            new = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = new
            check = os.fstat(fd)
            if (check.st_dev, check.st_ino) != (st.st_dev, st.st_ino):
                raise InputError(shown(str(shown_path)), None, "was replaced while dnacnn read it", fix)
        if limit is not None and check.st_size > limit:
            problem = f"is {check.st_size:,} bytes, more than the {limit:,} dnacnn writes there at most"
            raise InputError(shown(str(shown_path)), None, problem, fix)
        f, fd = os.fdopen(fd, "rb"), -1
        return f
    except OSError as e:
        raise InputError(shown(str(shown_path)), None, f"cannot be read ({e.strerror})", fix) from None
    finally:
        if fd >= 0:
            os.close(fd)


def is_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file starting with a POSIX / GNU tar header."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.pread(fd, 8, 257)[:5] == b"ustar"
    finally:
        os.close(fd)


def _archive_files(archive: Path, st: os.stat_result) -> dict[str, Span]:
    with open(archive, "rb") as f:  # a regular file (checked): no pipe to wait on
        head = f.read(_BLOCK)
    if head[257:262] != b"ustar":
        for magic, (what, command) in _COMPRESSED.items():
            if head.startswith(magic):
                raise InputError(
                    archive,
                    None,
                    f"is {what}-compressed; a store archive is an uncompressed tar",
                    f"{command} it first",
                )
        problem = "is empty" if not head else "is neither a store folder nor a store archive (an uncompressed tar)"
        raise InputError(archive, None, f"{problem}; not a dnacnn store", GIVE_STORE)
    files, folders = _members(archive, st.st_size)
    top = _common_folder(archive, list(files), folders)
    names = {member: member[len(top) :] for member in files}
    real = Path(os.path.realpath(archive))  # the path the user named may be a link (Galaxy links datasets)
    if "manifest.json" not in names.values():
        raise InputError(archive, None, "holds no manifest.json; not a dnacnn store archive", GIVE_STORE)
    spans = {}
    for member, name in names.items():
        if name not in STORE_FILES:
            raise InputError(
                archive,
                None,
                f"member {shown(member)} is not a store file (a store archive holds only {', '.join(STORE_FILES)})",
                GIVE_STORE,
            )
        info, where = files[member], f"{archive}:{shown(member)}"
        spans[name] = Span(name, real, info.offset_data, info.size, where, (st.st_dev, st.st_ino))
    missing = [name for name in REQUIRED if name not in spans]
    if missing:
        raise InputError(archive, None, f"holds no {missing[0]}; not a whole store", GIVE_STORE)
    return spans


def _members(archive: Path, archive_size: int) -> tuple[dict[str, tarfile.TarInfo], set[str]]:
    """The regular file members of ``archive`` by name (a leading ``./`` dropped) and the names of
    its folder entries; one line for any other member, an unsafe name or a duplicate."""
    files: dict[str, tarfile.TarInfo] = {}
    folders: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for count, info in enumerate(iter(tar.next, None)):
                if count >= MAX_MEMBERS:
                    raise InputError(archive, None, f"holds more than {MAX_MEMBERS} members; not a store", GIVE_STORE)
                name = _member_name(archive, info, archive_size)
                if info.type == tarfile.DIRTYPE:
                    folders.add(name)
                elif name in files:
                    raise InputError(archive, None, f"holds {shown(info.name)} twice", GIVE_STORE)
                else:
                    files[name] = info
    except (tarfile.TarError, EOFError, UnicodeError, ValueError, OverflowError) as e:
        problem = f"is not a readable tar archive ({shown(str(e))})"
        raise InputError(archive, None, problem, GIVE_STORE) from None
    return files, folders


def _member_name(archive: Path, info: tarfile.TarInfo, archive_size: int) -> str:
    """The name of a regular file or folder member, a leading ``./`` dropped; one line for any
    other kind, an absolute or ``..`` name, or data past the end of the archive."""
    name = info.name
    if info.type == tarfile.DIRTYPE and name in (".", "./"):
        return ""
    bare = name.removeprefix("./")
    if name.startswith("/") or "\\" in name or "\x00" in name or any(p in ("", ".", "..") for p in bare.split("/")):
        problem = f"member {shown(name)} has an unsafe name (absolute, with '..' or empty parts)"
        raise InputError(archive, None, problem, GIVE_STORE)
    if info.type == tarfile.DIRTYPE:
        return bare
    if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or info.issparse():
        kind = "a sparse file" if info.issparse() else _MEMBER_KINDS.get(info.type, f"of tar type {info.type!r}")
        problem = f"member {shown(name)} is {kind}; a store archive holds only regular files"
        raise InputError(archive, None, problem, GIVE_STORE)
    if info.offset_data + info.size > archive_size:
        problem = f"member {shown(name)} ends past the end of the archive (truncated?)"
        raise InputError(archive, None, problem, "give the whole archive")
    return bare


def _common_folder(archive: Path, names: list[str], folders: set[str]) -> str:
    """The folder prefix (``store/``) every member shares, or ``""`` when they lie at the top;
    one line for members in several or nested folders, or any other folder entry."""
    tops = {n.split("/")[0] + "/" if "/" in n else "" for n in names}
    if len(tops) > 1:
        raise InputError(
            archive, None, "holds files in more than one folder; a store archive holds one store", GIVE_STORE
        )
    top = tops.pop() if tops else ""
    nested = [n for n in names if "/" in n[len(top) :]] + sorted(folders - {"", top.rstrip("/")})
    if nested:
        problem = f"member {shown(nested[0])} is another folder; a store archive holds one store folder"
        raise InputError(archive, None, problem, GIVE_STORE)
    return top


def archive_folder_name(target: str | os.PathLike) -> str:
    """The folder a store archive holds its files in: ``x.store.tar`` -> ``x.store``, so that
    ``tar -xf`` makes one folder (``store`` when the name gives none)."""
    stem = Path(target).name.removesuffix(".tar")
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", stem).lstrip(".")[:100] or "store"


def write_archive(folder: Path, out: Path, top: str) -> None:
    """Pack the files of the store ``folder`` into the uncompressed tar ``out``, in ``top/``; each
    file is removed once packed (the disk holds the store about once, not twice)."""
    now = int(time.time())
    with open(out, "wb") as tar:
        tar.write(_header(top, tarfile.DIRTYPE, 0, 0o755, now))
        for name in STORE_FILES:
            f = folder / name
            if not f.is_file():
                continue
            size = f.stat().st_size
            tar.write(_header(f"{top}/{name}", tarfile.REGTYPE, size, 0o644, now))
            with open(f, "rb") as src:
                copied = _copy(src, tar, size)
            if copied != size:
                raise OSError(f"{f}: changed while it was packed")
            tar.write(b"\0" * (-size % _BLOCK))
            f.unlink()
        tar.write(b"\0" * (2 * _BLOCK))
        tar.write(b"\0" * (-tar.tell() % tarfile.RECORDSIZE))


def _header(name: str, kind: bytes, size: int, mode: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode, mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def _copy(src, dst, size: int) -> int:
    copied = 0
    while copied < size:
        chunk = src.read(min(4 << 20, size - copied))
        if not chunk:
            break
        dst.write(chunk)
        copied += len(chunk)
    return copied
