"""A store's manifest read with limits, and every store file checked against it before use.

Contract: :func:`read_manifest` reads ``manifest.json`` (at most :data:`MANIFEST_LIMIT` bytes) and
checks every field the readers rely on: format and version, the counts ``n``, ``length`` and
``n_tasks`` (whole numbers), the task, an encoding that matches the length, the label names, the
classes of a multiclass store, the split counts and the folds.  :func:`check_sizes` checks each
file's size against those counts (``codes.u8`` = n x length bytes, ``labels.f32`` = n x tasks x 4,
``split.u8`` and ``folds.u8`` = n, ``marker_means.f32`` = length x 4, ``ids.txt`` at most
:data:`ID_BYTES` a record); :func:`check_rows` checks the values the manifest counts (split codes
and their counts, fold numbers, finite labels, multiclass labels) and the number of lines of ``ids.txt``;
:func:`read_ids` reads the IDs (one per ``\\n``-terminated UTF-8 line, exactly ``n``, each a
good ID by :func:`dnacnn.ids.check_ids`, so a hand-edited ``ids.txt`` is blamed, not the table
written from it); label and class names hold no tab or line break.  The manifest's JSON is parsed by
:mod:`dnacnn.io.jsonfile` (bounded depth).  Each
problem is one line naming the file and what disagrees.
"""

from __future__ import annotations

import json
import os

import numpy as np

from dnacnn.ids import check_ids
from dnacnn.io.jsonfile import parse_json
from dnacnn.io.tsv import BREAKS
from dnacnn.store_files import REENCODE, Span, shown

STORE_FORMAT = "dnacnn-store"
STORE_FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")
TASKS = ("binary", "multiclass", "regression")
ENCODINGS = {("dna", "onehot"): 4, ("genotype", "onehot"): 3, ("genotype", "dosage"): 1}
MANIFEST_LIMIT = 16 << 20
ID_BYTES = 1 << 16  # the most bytes of ids.txt a record may take on average
_CHUNK = 16 << 20


def read_manifest(span: Span) -> dict:
    """The checked manifest of the store whose ``manifest.json`` is ``span``."""
    if span.size > MANIFEST_LIMIT:
        raise span.error(f"is {span.size:,} bytes, more than a store manifest's {MANIFEST_LIMIT >> 20} MiB")
    manifest = parse_json(span.read(), span.error, "manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        raise span.error("is not a dnacnn store manifest")
    _check_fields(manifest, span)
    return manifest


def _count(manifest: dict, key: str, span: Span, low: int = 0, high: int | None = None) -> int:
    value = manifest.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise span.error(f"{key!r} is {shown(json.dumps(value))[:40]}, not a whole number {bound}")
    return value


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_fields(m: dict, span: Span) -> None:
    version = _count(m, "format_version", span, 1)
    if version > STORE_FORMAT_VERSION:
        raise span.error(f"store format version {version} is newer than this dnacnn reads", "upgrade dnacnn")
    n, length, tasks = _count(m, "n", span), _count(m, "length", span, 1), _count(m, "n_tasks", span, 1)
    if m.get("task") not in TASKS:
        raise span.error(f"'task' is {shown(json.dumps(m.get('task')))[:40]}, not one of {', '.join(TASKS)}")
    enc = m.get("encoding")
    if not isinstance(enc, dict) or ENCODINGS.get((enc.get("kind"), enc.get("scheme"))) != enc.get("channels"):
        raise span.error("'encoding' is not one dnacnn writes (dna/onehot/4, genotype/onehot/3, genotype/dosage/1)")
    if enc.get("length") != length:
        raise span.error(f"'encoding' length {shown(str(enc.get('length')))[:20]} is not the store's length {length}")
    if not _strings(m.get("label_names")) or len(m["label_names"]) != tasks:
        raise span.error(f"'label_names' is not a list of {tasks} names (one per task)")
    if m["task"] == "multiclass" and (not _strings(m.get("classes")) or not m["classes"]):
        raise span.error("'classes' of a multiclass store is not a list of class names")
    for key in ("label_names", "classes"):
        for k, name in enumerate(m.get(key) or []):
            if any(c in BREAKS for c in name):
                raise span.error(f"{key!r} name {k + 1} '{shown(name)}' holds a tab or a line break")
    counts = m.get("split_counts")
    if not isinstance(counts, dict) or sorted(counts) != sorted(SPLITS):
        raise span.error("'split_counts' does not give train, valid and test")
    if sum(_count(counts, name, span) for name in SPLITS) != n:
        raise span.error(f"'split_counts' add up to {sum(counts.values())}, not the store's {n} records")
    if m.get("n_folds") is not None:
        _count(m, "n_folds", span, 0, 255)
    if m.get("fold") is not None:
        _count(m, "fold", span, 1, 255)
    for key, kind in (("settings", dict), ("inputs", list), ("markers", list)):
        if m.get(key) is not None and not isinstance(m[key], kind):
            raise span.error(f"{key!r} is not a JSON {'object' if kind is dict else 'list'}")
    if not all(isinstance(i, dict) and isinstance(i.get("path"), str) for i in m.get("inputs") or []):
        raise span.error("'inputs' is not a list of inputs with their paths")


def check_sizes(spans: dict[str, Span], m: dict) -> None:
    """One line if a file's size disagrees with the manifest, or a file it needs is absent."""
    n, length, tasks = m["n"], m["length"], m["n_tasks"]
    sizes = {"codes.u8": (n * length, f"{n} records x {length} bytes")}
    sizes["labels.f32"] = (n * tasks * 4, f"{n} records x {tasks} tasks x 4 bytes")
    sizes["split.u8"] = (n, f"{n} records x 1 byte")
    if m.get("n_folds"):
        if "folds.u8" not in spans:
            raise spans["manifest.json"].error(f"gives {m['n_folds']} folds but the store has no folds.u8")
        sizes["folds.u8"] = (n, f"{n} records x 1 byte")
    elif "folds.u8" in spans:
        raise spans["folds.u8"].error("is in a store whose manifest gives no folds ('n_folds')")
    if "marker_means.f32" in spans:
        sizes["marker_means.f32"] = (length * 4, f"{length} markers x 4 bytes")
    for name, (expected, why) in sizes.items():
        if spans[name].size != expected:
            raise spans[name].error(f"is {spans[name].size:,} bytes but the manifest's {why} make {expected:,}")
    ids = spans["ids.txt"]
    if ids.size > max(n, 1) * ID_BYTES:
        raise ids.error(f"is {ids.size:,} bytes, more than {ID_BYTES:,} a record for the manifest's {n} records")


def count_codes(codes: np.ndarray, minlength: int, chunk: int = 1 << 20) -> np.ndarray:
    """``np.bincount`` of uint8 codes a chunk at a time: bincount casts its input to int64, 8 bytes
    a row (80 MB for a 10M-row store) where a chunk is enough."""
    counts = np.zeros(minlength, np.int64)
    for start in range(0, len(codes), chunk):
        part = np.bincount(np.asarray(codes[start : start + chunk]), minlength=minlength)
        if len(part) > len(counts):
            counts = np.pad(counts, (0, len(part) - len(counts)))
        counts[: len(part)] += part
    return counts


def check_rows(spans: dict[str, Span], m: dict, split: np.ndarray, labels: np.ndarray, folds) -> None:
    """One line if the split codes, their counts, the fold numbers, the multiclass labels or the
    number of IDs disagree with the manifest."""
    counts = count_codes(split, len(SPLITS))
    if len(counts) > len(SPLITS):
        row = int(np.flatnonzero(np.asarray(split) >= len(SPLITS))[0])
        raise spans["split.u8"].error(f"record {row + 1} has split code {int(split[row])}, not 0 (train), 1 or 2")
    given = [m["split_counts"][name] for name in SPLITS]
    if counts.tolist() != given:
        raise spans["split.u8"].error(f"holds train/valid/test {'/'.join(map(str, counts))}, the manifest {given}")
    if folds is not None and len(folds) and (int(np.min(folds)) < 1 or int(np.max(folds)) > m["n_folds"]):
        raise spans["folds.u8"].error(f"holds fold numbers outside 1..{m['n_folds']} (the manifest's 'n_folds')")
    check_labels(spans["labels.f32"], m, labels)
    lines = _count_lines(spans["ids.txt"])
    if lines != m["n"]:
        raise spans["ids.txt"].error(f"holds {lines} IDs (lines) but the manifest {m['n']} records")


def check_labels(span: Span, m: dict, labels: np.ndarray, chunk: int = 1 << 18) -> None:
    """One line if a label is infinite (NaN is a missing label) or, in a multiclass store, not a
    class number; read ``chunk`` records at a time (the labels can be larger than memory)."""
    classes = len(m["classes"]) if m["task"] == "multiclass" else None
    for start in range(0, len(labels), chunk):
        values = np.asarray(labels[start : start + chunk])
        bad = np.isinf(values)
        if bad.any():
            row, task = map(int, np.argwhere(bad)[0])
            names = m.get("label_names") or []
            name = f" (task '{names[task]}')" if task < len(names) else f" (task {task + 1})"
            problem = f"record {start + row + 1}{name} holds label {values[row, task]:g}, not a finite number"
            raise span.error(problem)
        if classes is not None:
            values = values[~np.isnan(values)]
            if len(values) and (values.min() < 0 or values.max() >= classes or (values % 1).any()):
                raise span.error(f"holds labels that are not class numbers 0..{classes - 1}")


def _count_lines(span: Span) -> int:
    """The number of ``\\n``-terminated lines (a last line without one counts as one too)."""
    fd, lines, last = span.open(), 0, b"\n"
    try:
        for start in range(span.offset, span.offset + span.size, _CHUNK):
            chunk = os.pread(fd, min(_CHUNK, span.offset + span.size - start), start)
            if not chunk:
                raise span.error("is shorter than the archive says")
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    finally:
        os.close(fd)
    return lines + (last != b"\n")


def read_ids(span: Span, n: int) -> list[str]:
    """The ``n`` record IDs of ``ids.txt``, one per line."""
    data = span.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise span.error(f"is not UTF-8 text (byte {e.start + 1})") from None
    ids = text.split("\n")
    if ids and ids[-1] == "":
        ids.pop()
    if len(ids) != n:
        raise span.error(f"holds {len(ids)} IDs (lines) but the manifest {n} records")
    check_ids(
        ids, span.shown, fix=f"the store was edited by hand; {REENCODE}", encoded=data if data.endswith(b"\n") else None
    )
    return ids
