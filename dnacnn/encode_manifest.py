"""The manifest of a new store: its inputs with their sha256 digests, encoding, task, labels and settings.

Contract: :func:`build_manifest` returns the dict a store's ``manifest.json`` starts from
(``created``, ``inputs`` with path, sha256 and size, ``encoding``, ``task``, ``label_names`` and
the encode ``settings``); :func:`sha256` hashes one file and :func:`in_background` runs such a
hash on another core while the encoder works, re-raising any error when its result is awaited.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from dnacnn.encode_options import EncodeOptions


def in_background(func, *args):
    """Start ``func(*args)`` in a daemon thread (hashlib and file reads release the GIL, so it runs
    on another core); returns a function that waits for the result and re-raises any error."""
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = func(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised by wait()
            result["error"] = e

    thread = threading.Thread(target=run, name="dnacnn-background", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    return wait


def sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def build_manifest(inputs, opts: EncodeOptions, encoding, task: str, label_names, digests: dict | None = None) -> dict:
    """``digests``: input path -> a function returning its sha256 (see :func:`in_background`)."""
    settings = {k: v for k, v in opts.__dict__.items() if k != "progress"}
    digests = digests or {}
    if opts.fold_file:
        inputs = [*inputs, Path(opts.fold_file)]
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": [
            {"path": str(p), "sha256": digests[p]() if p in digests else sha256(p), "bytes": os.path.getsize(p)}
            for p in inputs
        ],
        "encoding": encoding.to_dict(),
        "task": task,
        "label_names": list(label_names),
        "settings": settings,
    }
    return manifest
