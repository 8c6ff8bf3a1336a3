"""What a command may write over: never its own inputs, and what dnacnn did not write only with ``--force``.

Contract: a writing command runs its library function inside ``with guarded(out, kind, inputs,
force):``.  Before anything is read or written, one line (exit 1) if ``out`` is, holds or lies
inside one of ``inputs`` (``--force`` or not), or if ``out`` exists, is not empty and is not a
dnacnn output of ``kind`` (:data:`KINDS`: a store has a dnacnn manifest, a model file dnacnn's
safetensors metadata, an evaluation folder only the files ``dnacnn evaluate`` writes, a table
its command's header, a FASTA of shuffles their ``_shufK`` ids...) and ``--force`` was not given.
A device or FIFO (``/dev/null``, ``/dev/stdout``) is always written to.

Kinds that *replace* their output whole (a file, a store, an evaluation folder): with ``--force``
the existing path is moved aside under the writer's temporary name (``.NAME.dnacnn-tmp-PID.old``)
and removed once the new output is in place, or renamed back if the command fails (a kill in
between: the next run renames it back, :func:`dnacnn.io.outputs.remove_stale_temps`).  Kinds that
write their own files *into* a folder (tune, cv, motifs, explain) leave every other file alone,
so a folder is refused only when it holds one of those names without being such an output;
``--force`` then writes into it.  A folder that did not exist before and that a failed (or
interrupted) command leaves behind is removed (all of it came from that run), unless it holds
finished trials or folds of ``tune`` or ``cv``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import discard, refuse_inputs, remove_stale_temps, temp_path, written_in_place
from dnacnn.train.console import HISTORY_COLUMNS

FORCE = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing output that dnacnn did not write (never a folder holding an input).",
    ),
]


@dataclass(frozen=True)
class Kind:
    """What a command writes: ``what`` (as a message names it), ``ours(path)`` (an existing,
    non-empty path is such an output), ``folder`` (the output is a folder), ``into`` (the command
    writes its files into it: ``writes``) and ``writer`` (who writes them, for messages)."""

    what: str
    ours: Callable[[Path], bool]
    folder: bool = False
    into: bool = False
    writes: tuple[str, ...] = ()
    writer: str = ""


def _first_line(path: Path, size: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(size).split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    except OSError:
        return ""


def _header(*columns: str) -> Callable[[Path], bool]:
    prefix = "\t".join(columns)
    return lambda path: path.is_file() and (_first_line(path) + "\t").startswith(prefix + "\t")


def _store(path: Path) -> bool:
    """A store archive, or a store folder holding nothing but store files (not a user's README)."""
    from dnacnn.store import is_store

    return is_store(path) and not _foreign_in_store(path)


def _foreign_in_store(path: Path) -> list[str]:
    """The entries of the folder ``path`` that are not a store's own files, sorted."""
    from dnacnn.store_files import STORE_FILES

    if not path.is_dir() or path.is_symlink():
        return []
    return sorted(p.name for p in path.iterdir() if p.name not in STORE_FILES)


def _model(path: Path) -> bool:
    from dnacnn.modelfile import MODEL_FORMAT, read_tensors

    try:
        return path.is_file() and read_tensors(path, with_tensors=False)[1].get("format") == MODEL_FORMAT
    except DnacnnError:
        return False


def _checkpoint(path: Path) -> bool:
    """``OUT.ckpt`` as ``dnacnn train`` writes it: an epoch checkpoint, or the finished model."""
    from dnacnn.modelfile import MODEL_FORMAT, read_tensors

    try:
        meta = read_tensors(path, "checkpoint", with_tensors=False)[1]
    except DnacnnError:
        return False
    return path.is_file() and meta.get("format") in ("dnacnn-checkpoint", MODEL_FORMAT)


def _evaluation(path: Path) -> bool:
    return path.is_dir() and all(p.name in _evaluation_files() for p in path.iterdir())


def _evaluation_files() -> tuple[str, ...]:
    from dnacnn.evaluate import EVALUATION_FILES

    return tuple(EVALUATION_FILES)


def _shuffles(path: Path) -> bool:
    return path.is_file() and re.fullmatch(r">\S*_shuf\d+(\s.*)?", _first_line(path)) is not None


def _export(path: Path) -> bool:
    sidecar = path.with_name(path.name + ".json")
    try:
        return path.is_file() and '"dnacnn_version"' in sidecar.read_text(errors="replace")[:100_000]
    except OSError:
        return False


def _page(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b'<meta name="generator" content="dnacnn' in f.read(2048)
    except OSError:
        return False


def _track(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head == (0x888FFC26).to_bytes(4, "little") or path.suffix.lower() == ".bedgraph"


def _cv_json(path: Path) -> bool:
    """A ``cv.json`` that ``dnacnn cv`` wrote: a JSON object with its summary's keys."""
    import json

    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(50_000_000))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"task", "metric", "folds", "models", "per_fold"} <= data.keys()


def _folder(markers: dict[str, Callable[[Path], bool]], names: Iterable[str]) -> Callable[[Path], bool]:
    """A folder written into: ours when every marker file it holds is the command's own (by
    content: a table's header, cv.json's keys) and it holds one, or when it holds none of the
    names the command writes."""
    names = tuple(names)

    def ours(path: Path) -> bool:
        if not path.is_dir():
            return False
        entries = {p.name for p in path.iterdir()}
        present = [m for m in markers if m in entries]
        if present:
            return all(_empty(path / m) or markers[m](path / m) for m in present)
        return not entries & set(names)

    return ours


def _into(command: str, markers: dict[str, Callable[[Path], bool]], names: tuple[str, ...]) -> Kind:
    return Kind(
        f"a 'dnacnn {command}' folder", _folder(markers, names), True, True, (*markers, *names), f"dnacnn {command}"
    )


KINDS = {
    "store": Kind("a dnacnn store", _store),
    "model": Kind("a dnacnn model file", _model),
    "evaluation": Kind("a 'dnacnn evaluate' folder", _evaluation, folder=True, writer="an evaluation"),
    "predictions": Kind("a 'dnacnn predict' table", _header("id")),
    "variants": Kind("a 'dnacnn variants' table", _header("chrom", "pos", "id", "ref", "alt")),
    "shuffles": Kind("a 'dnacnn shuffle' FASTA", _shuffles),
    "export": Kind("a 'dnacnn export' model (with its .json)", _export),
    "track": Kind("a bigWig or bedGraph track", _track),
    "summary table": Kind("a 'dnacnn aggregate' table", _header("dataset", "model", "task", "metric")),
    "summary page": Kind("a dnacnn page", _page),
    "checkpoint": Kind("a 'dnacnn train' checkpoint", _checkpoint),
    "history": Kind("a 'dnacnn train' history table", _header(*HISTORY_COLUMNS)),  # console.write_history's
    "tune": _into(
        "tune", {"trials.tsv": _header("number", "state", "value", "seconds")}, ("best.yaml", "best.dnacnn", "trials")
    ),
    "cv": _into("cv", {"cv.json": _cv_json}, ("cv.tsv", "cv.html", "predictions.tsv")),
    "motifs": _into(
        "motifs",
        {"filters.tsv": _header("filter", "n_sites"), "modisco_patterns.tsv": _header("pattern", "sign", "n_seqlets")},
        ("filters.meme", "tomtom.tsv", "logos", "motifs.html"),
    ),
    "explain": _into(
        "explain",
        {"attributions.tsv": _header("id", "position", "base", "score")},
        ("sequences.tsv", "top_sequences.png"),
    ),
}


def _empty(path: Path) -> bool:
    try:
        return not any(path.iterdir()) if path.is_dir() else path.stat().st_size == 0
    except OSError:
        return False


def check_replaceable(out, kind: str, force: bool = False, option: str = "--out") -> bool:
    """Whether ``out`` must be moved aside before the command writes it (``--force`` over what
    dnacnn did not write); one line if it may not be replaced at all."""
    path = Path(out)
    if str(out) == "-" or not os.path.lexists(path) or written_in_place(path) or _empty(path):
        return False
    spec = KINDS[kind]
    if spec.ours(path):
        return False
    if not force:
        raise DnacnnError(refusal(spec, path, out, option))
    return not spec.into


def refusal(spec: Kind, path: Path, out, option: str) -> str:
    """Why ``out`` is not replaced without ``--force``, in one line."""
    if spec.folder and not path.is_dir():
        return f"{out}: exists and is a file; {option} takes a folder: give a new one, or add --force to replace it"
    if spec.into:
        clash = sorted({p.name for p in path.iterdir()} & set(spec.writes))
        return (
            f"{out}: holds {', '.join(clash[:3])}, not written by {spec.writer}; "
            "give a new folder, or add --force to write into it"
        )
    if spec.folder:  # the one folder replaced whole: an evaluation
        known = _evaluation_files()
        extra = sorted(p.name for p in path.iterdir() if p.name not in known)
        return (
            f"{out}: holds files {spec.writer} does not write ({', '.join(extra[:3])}); "
            "give a new folder, or add --force to replace it"
        )
    extra = _foreign_in_store(path) if spec.ours is _store else []
    if extra:
        from dnacnn.store import is_store

        if is_store(path):
            return (
                f"{out}: a dnacnn store that also holds files 'dnacnn encode' does not write "
                f"({', '.join(extra[:3])}); give {option} a new path, or add --force to replace it"
            )
    shown = "folder" if path.is_dir() else "file"
    return (
        f"{out}: exists and is not {spec.what} (a {shown} dnacnn did not write); "
        f"give {option} a new path, or add --force to replace it"
    )


def _keeps_partial(kind: str, folder: Path) -> bool:
    """Whether an unfinished new folder is kept: tune's finished trials and cv's finished folds
    (hours of training) are; an empty folder and any other command's part are not."""
    return kind in ("tune", "cv") and any(folder.iterdir())


def _missing_parents(target: Path) -> list[Path]:
    """The folders above ``target`` that do not exist yet, deepest first."""
    missing = []
    for folder in target.parents:
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


@contextmanager
def guarded(out, kind: str, inputs: Iterable, force: bool = False, option: str = "--out") -> Iterator[None]:
    """Run a command's writing block under the checks of this module's contract."""
    if out is None or str(out) == "-":
        yield
        return
    fix = "give a new folder" if KINDS[kind].folder else "give a new file name"
    fix = "give a new store path, e.g. data.store" if kind == "store" else fix
    refuse_inputs(out, [p for p in inputs if p is not None and str(p) not in ("", "-")], option, fix)
    target = Path(out)
    if not check_replaceable(out, kind, force, option):
        existed = os.path.lexists(target)
        missing = _missing_parents(target)
        try:
            yield
        except BaseException:
            remove_stale_temps(target)  # this run's own temporaries, whatever failed to remove them
            if not existed and target.is_dir() and not target.is_symlink() and not _keeps_partial(kind, target):
                discard(target)  # a folder this run made and left unfinished
            for folder in missing:  # the folders made above it, where they stayed empty
                try:
                    os.rmdir(folder)
                except OSError:
                    break
            raise
        return
    aside = temp_path(target).with_name(temp_path(target).name + ".old")
    os.replace(target, aside)
    try:
        yield
    except BaseException:
        remove_stale_temps(target)
        if not os.path.lexists(target):
            os.replace(aside, target)
        raise
    discard(aside)
