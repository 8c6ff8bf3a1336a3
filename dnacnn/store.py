"""The on-disk tensor store: what ``dnacnn encode`` writes and ``dnacnn train`` reads.

A store is a directory (conventionally ``NAME.store``)::

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
encoding uses bounded memory whatever the input size; readers use ``numpy.memmap``.  A store is
written under a temporary name and renamed into place when complete (:mod:`dnacnn.io.outputs`); an
existing path is replaced only if it is a store (:func:`check_replaceable`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnacnn import __version__
from dnacnn.codes import Encoding
from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import commit_dir, discard, new_temp_dir

STORE_FORMAT = "dnacnn-store"
STORE_FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")
SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}


class StoreWriter:
    """Streams chunks of ``codes`` ``(b, length)`` and ``labels`` ``(b, tasks)`` into a new store.

    Use as a context manager; on error the temporary directory is removed and nothing is left
    at ``path``.  ``finish`` writes split, manifest and renames the directory into place.
    """

    def __init__(self, path: str | os.PathLike, length: int, n_tasks: int) -> None:
        self.path = Path(path)
        self.length = int(length)
        self.n_tasks = int(n_tasks)
        self.n = 0
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
            "split_counts": {name: int((split == code).sum()) for name, code in SPLIT_CODE.items()},
            **manifest,
        }
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return commit_dir(self.tmp, self.path, check_replaceable)

    def abort(self) -> None:
        with contextlib.suppress(OSError):  # a failed write may be why we abort; that error is raised
            self.close_streams()
        discard(self.tmp)


def check_replaceable(path: str | os.PathLike) -> None:
    """One line unless ``path`` is new, an empty folder or a store (which ``dnacnn encode``
    replaces): a folder or file dnacnn did not write is never removed."""
    path = Path(path)
    if not os.path.lexists(path) or is_store(path) or (path.is_dir() and not any(path.iterdir())):
        return
    kind = "folder" if path.is_dir() else "file"
    raise DnacnnError(
        f"{path}: exists and is not a dnacnn store (a {kind} without a store manifest); "
        "give --out a new path, or move it away"
    )


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder with a dnacnn store manifest."""
    path = Path(path)
    if not (path / "manifest.json").is_file():
        return False
    try:
        return json.loads((path / "manifest.json").read_text()).get("format") == STORE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


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

    ``codes`` ``(n, length)`` uint8, ``labels`` ``(n, tasks)`` float32, ``split`` ``(n,)`` uint8.
    """

    path: Path
    manifest: dict
    codes: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    marker_means: np.ndarray | None = None
    folds: np.ndarray | None = None
    _ids: list[str] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Store:
        path = Path(path)
        manifest_path = path / "manifest.json"
        if not manifest_path.is_file():
            raise DnacnnError(f"{path}: not a dnacnn store (no manifest.json); create one with 'dnacnn encode'")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as e:
            raise DnacnnError(f"{manifest_path}: unreadable manifest ({e}); re-run 'dnacnn encode'") from None
        if manifest.get("format") != STORE_FORMAT:
            raise DnacnnError(f"{manifest_path}: not a dnacnn store manifest; re-run 'dnacnn encode'")
        n, length, tasks = manifest["n"], manifest["length"], manifest["n_tasks"]

        def mmap(name, dtype, shape):
            f = path / name
            expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
            if not f.is_file() or f.stat().st_size != expected:
                raise DnacnnError(f"{f}: missing or truncated store file; re-run 'dnacnn encode'")
            if expected == 0:
                return np.zeros(shape, dtype)
            return np.memmap(f, dtype=dtype, mode="r", shape=shape)

        means = None
        if (path / "marker_means.f32").is_file():
            means = np.fromfile(path / "marker_means.f32", dtype=np.float32)
        return cls(
            path=path,
            manifest=manifest,
            codes=mmap("codes.u8", np.uint8, (n, length)),
            labels=mmap("labels.f32", np.float32, (n, tasks)),
            split=mmap("split.u8", np.uint8, (n,)),
            marker_means=means,
            folds=np.asarray(mmap("folds.u8", np.uint8, (n,))) if manifest.get("n_folds") else None,
        )

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
        if self._ids is None:
            self._ids = (self.path / "ids.txt").read_text().splitlines()
        return self._ids

    def indices(self, split: str) -> np.ndarray:
        """Row indices of one split (``train``, ``valid``, ``test``) or ``all``."""
        if split == "all":
            return np.arange(self.n)
        if split not in SPLIT_CODE:
            raise DnacnnError(f"unknown split {split!r}; use one of train, valid, test, all")
        return np.flatnonzero(np.asarray(self.split) == SPLIT_CODE[split])
