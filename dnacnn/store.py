"""The on-disk tensor store: what ``dnacnn encode`` writes and ``dnacnn train`` reads.

A store is a directory (conventionally ``NAME.store``), or the same files in one uncompressed
tar archive (``NAME.store.tar``, or a Galaxy ``tar`` dataset: any name)::

    manifest.json      format, shape, encoding, task, label names, inputs with sha256, settings,
                       split counts, dnacnn version
    codes.u8           raw uint8 C-order array, shape (n, length): one code per base / marker
                       (see dnacnn.codes); memory-mapped, never loaded whole
    labels.f32         raw float32 array, shape (n, tasks); NaN = missing label
    split.u8           raw uint8 array, shape (n,): 0 train, 1 valid, 2 test
    ids.txt            one record id per line, in store order
    marker_means.f32   (genotype stores only) mean dosage per marker, shape (length,)
    folds.u8           (cross-validation stores only) fold id 1..k per record, shape (n,); a fold's
                       split is made when it is used (:meth:`Store.for_fold`)

Raw arrays plus shapes in the manifest let the writer stream records to disk in chunks, so
encoding uses bounded memory whatever the input size; readers use ``numpy.memmap`` (of the folder's
files, or of the archive's members in place).  A store is written under a temporary name and
renamed into place when complete (:mod:`dnacnn.io.outputs`; an archive is packed from the finished
folder, :func:`dnacnn.store_files.write_archive`); an existing path is replaced only if it is a
store (:func:`check_replaceable`).  :meth:`Store.open` reads only the store's own regular files
(:mod:`dnacnn.store_files`: never a link, hard link, pipe or device) and checks each against the
manifest before anything is used (:mod:`dnacnn.store_check`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnacnn import __version__
from dnacnn.codes import Encoding
from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import commit_dir, discard, new_temp_dir
from dnacnn.store_check import (
    SPLITS,
    STORE_FORMAT,
    STORE_FORMAT_VERSION,
    check_rows,
    check_sizes,
    count_codes,
    read_ids,
    read_manifest,
)
from dnacnn.store_files import STORE_FILES, Span, archive_folder_name, is_archive, locate, write_archive

__all__ = ["SPLITS", "SPLIT_CODE", "STORE_FORMAT", "STORE_FORMAT_VERSION", "Store", "StoreWriter"]
SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}


class StoreWriter:
    """Streams chunks of ``codes`` ``(b, length)`` and ``labels`` ``(b, tasks)`` into a new store.

    Use as a context manager; on error the temporary directory is removed and nothing is left
    at ``path``.  ``finish`` writes split, manifest and renames the directory into place, or,
    for an ``archive`` (by default a ``path`` ending in ``.tar``), packs it into one tar file
    renamed into place.
    """

    def __init__(self, path: str | os.PathLike, length: int, n_tasks: int, archive: bool | None = None) -> None:
        self.path = Path(path)
        self.length = int(length)
        self.n_tasks = int(n_tasks)
        self.n = 0
        self.archive = is_archive_name(self.path) if archive is None else archive
        remove_legacy_temps(self.path)
        self.tmp = new_temp_dir(self.path)
        self._codes = open(self.tmp / "codes.u8", "wb")
        self._labels = open(self.tmp / "labels.f32", "wb")
        self._ids = open(self.tmp / "ids.txt", "wb")

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def append(self, codes: np.ndarray, labels: np.ndarray, ids: list[str] | bytes) -> None:
        """Append a chunk: ``codes`` uint8 ``(b, length)``, ``labels`` ``(b, tasks)``, b ids
        (a list of str, or newline-terminated id bytes)."""
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        labels = np.ascontiguousarray(labels, dtype=np.float32).reshape(len(codes), self.n_tasks)
        if codes.ndim != 2 or codes.shape[1] != self.length:
            raise ValueError(f"codes chunk shape {codes.shape} does not match length {self.length}")
        if not isinstance(ids, bytes):
            ids = id_lines(ids)
        # the arrays' own buffers, no tobytes copy (a background writer thread measured slower:
        # GIL hand-offs cost more than the writes it overlapped)
        self._codes.write(codes.reshape(-1).data)
        self._labels.write(labels.reshape(-1).data)
        self._ids.write(ids)
        self.n += len(codes)

    def flush(self) -> None:
        for f in (self._codes, self._labels, self._ids):
            if not f.closed:
                f.flush()

    def close_streams(self) -> None:
        for f in (self._codes, self._labels, self._ids):
            if not f.closed:
                f.close()

    def labels(self) -> np.ndarray:
        """All labels written so far (memory-mapped), e.g. to compute a stratified split."""
        self.flush()
        return np.memmap(self.tmp / "labels.f32", dtype=np.float32, mode="r", shape=(self.n, self.n_tasks))

    def codes(self) -> np.ndarray:
        self.flush()
        return np.memmap(self.tmp / "codes.u8", dtype=np.uint8, mode="r", shape=(self.n, self.length))

    def finish(
        self,
        split: np.ndarray,
        manifest: dict,
        marker_means: np.ndarray | None = None,
        folds: np.ndarray | None = None,
    ) -> Path:
        self.close_streams()
        split = np.asarray(split, dtype=np.uint8)
        if split.shape != (self.n,):
            raise ValueError(f"split has shape {split.shape}, expected ({self.n},)")
        split.tofile(self.tmp / "split.u8")
        if marker_means is not None:
            np.asarray(marker_means, np.float32).tofile(self.tmp / "marker_means.f32")
        if folds is not None:
            folds = np.asarray(folds, dtype=np.uint8)
            if folds.shape != (self.n,):
                raise ValueError(f"folds has shape {folds.shape}, expected ({self.n},)")
            folds.tofile(self.tmp / "folds.u8")
            manifest = {**manifest, "n_folds": int(folds.max(initial=0))}
        manifest = {
            "format": STORE_FORMAT,
            "format_version": STORE_FORMAT_VERSION,
            "dnacnn_version": __version__,
            "n": self.n,
            "length": self.length,
            "n_tasks": self.n_tasks,
            "split_counts": _split_counts(split),
            **manifest,
        }
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if not self.archive:
            return commit_dir(self.tmp, self.path, check_replaceable)
        packed = self.tmp / "store.tar"  # inside the temporary folder: removed with it if anything fails
        write_archive(self.tmp, packed, archive_folder_name(self.path))
        check_replaceable(self.path)
        os.replace(packed, self.path)  # a file replaces a file in one step
        discard(self.tmp)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(OSError):  # a failed write may be why we abort; that error is raised
            self.close_streams()
        discard(self.tmp)


def is_archive_name(path: str | os.PathLike) -> bool:
    """Whether ``dnacnn encode -o path`` writes a store archive (``x.store.tar``), not a folder."""
    return Path(path).name.endswith(".tar")


def _split_counts(split: np.ndarray) -> dict[str, int]:
    counts = count_codes(split, len(SPLIT_CODE))
    return {name: int(counts[code]) for name, code in SPLIT_CODE.items()}


def check_replaceable(path: str | os.PathLike) -> None:
    """One line unless ``path`` is new, an empty folder or a store (which ``dnacnn encode``
    replaces): a folder or file dnacnn did not write is never removed, and an archive
    (``.tar``) never replaces a folder."""
    path = Path(path)
    if is_archive_name(path) and path.is_dir():
        raise DnacnnError(f"{path}: is a folder; a store archive (.tar) is a file: give --out another name")
    if not os.path.lexists(path) or is_store(path) or (path.is_dir() and not any(path.iterdir())):
        return
    kind = "folder" if path.is_dir() else "file"
    raise DnacnnError(
        f"{path}: exists and is not a dnacnn store (a {kind} without a store manifest); "
        "give --out a new path, or move it away"
    )


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a store folder or archive whose manifest dnacnn reads."""
    try:
        return bool(read_manifest(locate(path)[0]["manifest.json"]))
    except DnacnnError:
        return False


def looks_like_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is meant as a store (a folder holding ``manifest.json``, or a tar archive),
    to be opened (and vetted) by :meth:`Store.open`; other files are sequence inputs."""
    path = Path(path)
    return os.path.lexists(path / "manifest.json") if path.is_dir() else is_archive(path)


def remove_legacy_temps(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary folders ``NAME.tmp-XXXXXXXX`` that an older ``dnacnn encode`` left
    when killed (:mod:`dnacnn.io.outputs` cleans today's names): only a real folder holding
    nothing but store files."""
    target = Path(target)
    pattern = re.compile(re.escape(target.name) + r"\.tmp-[A-Za-z0-9_]{8}")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent if str(target.parent) else "."):
            if not pattern.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            inside = list(os.scandir(entry.path))
            if all(e.name in STORE_FILES and e.is_file(follow_symlinks=False) for e in inside):
                shutil.rmtree(entry.path)
                removed.append(Path(entry.path))
    return removed


def id_lines(ids) -> bytes:
    """IDs as newline-terminated UTF-8 lines (one join; str() only where an ID is not a str)."""
    if not len(ids):
        return b""
    try:
        text = "\n".join(ids)
    except TypeError:
        text = "\n".join(map(str, ids))
    return (text + "\n").encode()


@dataclass
class Store:
    """A store opened for reading; arrays are memory-mapped.

    ``codes`` ``(n, length)`` uint8, ``labels`` ``(n, tasks)`` float32, ``split`` ``(n,)`` uint8;
    ``files`` where each store file's bytes lie (in the folder, or in the archive ``path``).
    """

    path: Path
    manifest: dict
    codes: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    marker_means: np.ndarray | None = None
    folds: np.ndarray | None = None
    _ids: list[str] | None = field(default=None, repr=False)
    files: dict[str, Span] = field(default_factory=dict, repr=False)
    archive: bool = False

    @classmethod
    def open(cls, path: str | os.PathLike) -> Store:
        """Open the store folder or archive at ``path``: its own regular files only, each checked
        against the manifest (sizes, split and fold codes, counts of IDs) before use."""
        path = Path(path)
        files, archive = locate(path)
        manifest = read_manifest(files["manifest.json"])
        check_sizes(files, manifest)
        n, length, tasks = manifest["n"], manifest["length"], manifest["n_tasks"]
        split = files["split.u8"].memmap(np.uint8, (n,))
        labels = files["labels.f32"].memmap(np.float32, (n, tasks))
        folds = np.asarray(files["folds.u8"].memmap(np.uint8, (n,))) if manifest.get("n_folds") else None
        check_rows(files, manifest, split, labels, folds)
        means = files.get("marker_means.f32")
        return cls(
            path=path,
            manifest=manifest,
            codes=files["codes.u8"].memmap(np.uint8, (n, length)),
            labels=labels,
            split=split,
            marker_means=None if means is None else np.array(means.memmap(np.float32, (length,))),
            folds=folds,
            files=files,
            archive=archive,
        )

    @property
    def modified(self) -> float:
        """When the store was written (the manifest's, or the archive's, modification time)."""
        return os.stat(self.files["manifest.json"].path).st_mtime

    @property
    def n_folds(self) -> int:
        """Number of cross-validation folds (0 for a store without folds)."""
        return int(self.manifest.get("n_folds") or 0)

    def for_fold(self, fold: int, valid_frac: float | None = None, seed: int | None = None) -> Store:
        """This store as seen by one fold of a cross-validation: the fold's records are ``test``, a
        seeded ``valid_frac`` of the others ``valid``, the rest ``train`` (arrays are shared).  By
        default the fraction and seed are those given to ``dnacnn encode`` (``--valid-frac``, ``--seed``)."""
        from dnacnn.split import fold_split

        if self.folds is None:
            raise DnacnnError(f"{self.path}: store has no folds; encode it with --split folds")
        settings = self.manifest.get("settings") or {}
        valid_frac = settings.get("valid_frac", 0.1) if valid_frac is None else valid_frac
        seed = settings.get("seed", 0) if seed is None else seed
        split = fold_split(self.folds, fold, np.asarray(self.labels), self.task, valid_frac, seed)
        counts = {name: int((split == code).sum()) for name, code in SPLIT_CODE.items()}
        manifest = {**self.manifest, "split_counts": counts, "fold": int(fold)}
        return dataclasses.replace(self, manifest=manifest, split=split)

    @property
    def n(self) -> int:
        return int(self.manifest["n"])

    @property
    def encoding(self) -> Encoding:
        return Encoding.from_dict(self.manifest["encoding"])

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def label_names(self) -> list[str]:
        return list(self.manifest["label_names"])

    @property
    def ids(self) -> list[str]:
        """The record IDs, in store order (read on first use: exactly one per record)."""
        if self._ids is None:
            self._ids = read_ids(self.files["ids.txt"], self.n)
        return self._ids

    def indices(self, split: str) -> np.ndarray:
        """Row indices of one split (``train``, ``valid``, ``test``) or ``all``."""
        if split == "all":
            return np.arange(self.n)
        if split not in SPLIT_CODE:
            raise DnacnnError(f"unknown split {split!r}; use one of train, valid, test, all")
        return np.flatnonzero(np.asarray(self.split) == SPLIT_CODE[split])
