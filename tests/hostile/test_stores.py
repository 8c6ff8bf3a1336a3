"""Stores and archives are data, never pointers (issue 17, item 2).

Every command that reads a store (``train``, ``evaluate`` and its ``--train-store``, ``motifs``,
``tune``, ``cv``) opens a store folder or a store archive (a tar, as Galaxy passes it) through
:meth:`dnacnn.store.Store.open`, which reads only the store's own regular files and checks each
against the manifest before use.  Each case below is a store made hostile or broken one way (a
link to ``/etc/passwd``, a hard link, a FIFO, a tar member named ``../x``, a manifest that lies
about the counts, ...); the command must answer with one line naming the file and the fix, exit 1,
write nothing, and never show a byte of a file the store points at.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
from harness import refused, refused_process, zou_stores

PASSWD = "/etc/passwd"
SECRET = "root:"  # in every /etc/passwd: must never reach any output
ZOU_MODEL = Path(__file__).resolve().parents[2] / "galaxy" / "test-data" / "zou.dnacnn"


# --------------------------------------------------------------------------- clean stores


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A folder with ``s.store`` (200 Zou sequences of 50 bp, random split) and ``f.store`` (the
    same with 2 folds), encoded once for the module."""
    return zou_stores(tmp_path_factory.mktemp("stores"))


@pytest.fixture
def here(work, clean) -> Path:
    """The ``work`` folder with a copy of the clean store (``s.store``), of its folds twin
    (``f.store``) and a model trained on such sequences (``zou.dnacnn``)."""
    shutil.copytree(clean / "s.store", work / "s.store")
    shutil.copytree(clean / "f.store", work / "f.store")
    shutil.copy(ZOU_MODEL, work / "zou.dnacnn")
    return work


COMMANDS = {
    "evaluate": ["evaluate", "zou.dnacnn", "STORE", "-o", "ev"],
    "train-store": ["evaluate", "zou.dnacnn", "s.store", "--train-store", "STORE", "-o", "ev"],
    "train": ["train", "STORE", "--model", "zou2019", "--epochs", "1", "-o", "t.dnacnn", "--no-progress"],
    "motifs": ["motifs", "zou.dnacnn", "STORE", "-o", "mo", "--database", "none"],
    "tune": ["tune", "STORE", "--model", "zou2019", "--trials", "1", "-o", "tu"],
    "cv": ["cv", "STORE", "--model", "zou2019", "--epochs", "1", "-o", "cvout"],
}


def args_for(command: str, store: str) -> list[str]:
    return [store if a == "STORE" else a for a in COMMANDS[command]]


def no_secret(line: str) -> str:
    assert SECRET not in line
    return line


# --------------------------------------------------------------------------- archives made by hand


def member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, **attrs) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, len(data) if kind == tarfile.REGTYPE else 0, 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def members_of(folder: Path, top: str = "store/") -> list:
    """The files of a store folder as tar members in ``top``, after a folder entry."""
    entries = [member(top.rstrip("/"), kind=tarfile.DIRTYPE)] if top else []
    return entries + [member(top + f.name, f.read_bytes()) for f in sorted(folder.iterdir())]


def write_tar(path: Path, members: list, fmt: int = tarfile.GNU_FORMAT) -> Path:
    with tarfile.open(path, "w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return path


def replaced(members: list, name: str, new) -> list:
    """``members`` with the one called ``name`` replaced by ``new`` (a member, or None to drop it)."""
    out = [new if info.name == name else (info, data) for info, data in members]
    return [m for m in out if m is not None]


# --------------------------------------------------------------------------- the example, every command


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("form", ["folder", "archive"])
def test_ids_linked_to_a_server_file_never_leak(cli, here, form, command):
    """The issue's file disclosure: ``ids.txt`` a symbolic link to ``/etc/passwd``."""
    name = "f.store" if command == "cv" else "s.store"
    if form == "folder":
        (here / name / "ids.txt").unlink()
        (here / name / "ids.txt").symlink_to(PASSWD)
        store, fragments = name, [f"{name}/ids.txt: is a symbolic link", "re-run 'dnacnn encode'"]
    else:
        link = member("store/ids.txt", kind=tarfile.SYMTYPE, linkname=PASSWD)
        write_tar(here / "x.dat", replaced(members_of(here / name), "store/ids.txt", link))
        store, fragments = "x.dat", ["x.dat: member store/ids.txt is a symbolic link", "dnacnn encode"]
    no_secret(refused(cli, here, args_for(command, store), *fragments))


# --------------------------------------------------------------------------- store folders


def _link(name: str, target: str):
    def corrupt(store: Path) -> None:
        (store / name).unlink()
        (store / name).symlink_to(target)

    return corrupt


def _outside_link(name: str):
    """``name`` moved out of the store and linked back: the data is right, but a pointer."""

    def corrupt(store: Path) -> None:
        os.replace(store / name, store.parent / f"outside_{name}")
        (store / name).symlink_to(store.parent / f"outside_{name}")

    return corrupt


def _hard_link(name: str):
    def corrupt(store: Path) -> None:
        os.link(store / name, store.parent / f"also_{name}")  # as 'cp -l' would leave it

    return corrupt


def _socket(name: str):
    def corrupt(store: Path) -> None:
        (store / name).unlink()
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(store / name))
        sock.close()

    return corrupt


def _folder(name: str):
    def corrupt(store: Path) -> None:
        (store / name).unlink()
        (store / name).mkdir()

    return corrupt


def _remove(name: str):
    return lambda store: (store / name).unlink()


def _bytes(name: str, edit):
    def corrupt(store: Path) -> None:
        (store / name).write_bytes(edit((store / name).read_bytes()))

    return corrupt


def _manifest(edit):
    import json

    def corrupt(store: Path) -> None:
        manifest = json.loads((store / "manifest.json").read_text())
        edit(manifest)
        (store / "manifest.json").write_text(json.dumps(manifest))

    return corrupt


def _set(key, value, inner=None):
    def edit(m):
        (m[inner] if inner else m)[key] = value

    return _manifest(edit)


def _drop(key):
    return _manifest(lambda m: m.pop(key))


def _counts(n: int, train: int):
    return _manifest(lambda m: m.update(n=n, split_counts={**m["split_counts"], "train": train}))


def _split_code(store: Path) -> None:
    split = np.fromfile(store / "split.u8", np.uint8)
    split[7] = 7
    split.tofile(store / "split.u8")


def _resplit(store: Path) -> None:
    split = np.fromfile(store / "split.u8", np.uint8)
    split[split == 2] = 0  # the manifest still counts 20 test rows
    split.tofile(store / "split.u8")


def _sparse(name: str, size: int):
    def corrupt(store: Path) -> None:
        with open(store / name, "r+b") as f:
            f.truncate(size)

    return corrupt


FOLDER_CASES = [
    # pointers: links, hard links, special files
    ("codes-link-out", _outside_link("codes.u8"), "train", ["s.store/codes.u8: is a symbolic link"]),
    ("labels-link-out", _outside_link("labels.f32"), "evaluate", ["s.store/labels.f32: is a symbolic link"]),
    ("manifest-link-out", _outside_link("manifest.json"), "train", ["s.store/manifest.json: is a symbolic link"]),
    ("split-link-passwd", _link("split.u8", PASSWD), "motifs", ["s.store/split.u8: is a symbolic link"]),
    ("manifest-link-passwd", _link("manifest.json", PASSWD), "evaluate", ["manifest.json: is a symbolic link"]),
    ("ids-link-dangling", _link("ids.txt", "/nonexistent/ids"), "evaluate", ["ids.txt: is a symbolic link"]),
    ("ids-link-relative", _link("ids.txt", "../seqs.txt"), "train", ["s.store/ids.txt: is a symbolic link"]),
    ("ids-hard-link", _hard_link("ids.txt"), "evaluate", ["ids.txt: has 2 hard links", "copy the store with 'cp -r'"]),
    ("codes-hard-link", _hard_link("codes.u8"), "train", ["codes.u8: has 2 hard links", "cp -r"]),
    ("manifest-hard-link", _hard_link("manifest.json"), "tune", ["manifest.json: has 2 hard links"]),
    ("ids-socket", _socket("ids.txt"), "evaluate", ["s.store/ids.txt: is a socket"]),
    ("codes-folder", _folder("codes.u8"), "train", ["s.store/codes.u8: is a folder"]),
    ("labels-dev-zero", _link("labels.f32", "/dev/zero"), "evaluate", ["labels.f32: is a symbolic link"]),
    # missing files
    ("no-manifest", _remove("manifest.json"), "evaluate", ["s.store: not a dnacnn store (no manifest.json)"]),
    ("no-codes", _remove("codes.u8"), "train", ["s.store/codes.u8: is missing from the store"]),
    ("no-ids", _remove("ids.txt"), "evaluate", ["s.store/ids.txt: is missing from the store"]),
    ("no-split", _remove("split.u8"), "motifs", ["s.store/split.u8: is missing from the store"]),
    ("no-labels", _remove("labels.f32"), "tune", ["s.store/labels.f32: is missing from the store"]),
    # files that disagree with the manifest
    ("codes-truncated", _bytes("codes.u8", lambda b: b[:-1]), "train", ["codes.u8: is 9,999 bytes", "make 10,000"]),
    ("codes-one-more", _bytes("codes.u8", lambda b: b + b"\0"), "evaluate", ["codes.u8: is 10,001 bytes"]),
    ("codes-empty", _bytes("codes.u8", lambda b: b""), "motifs", ["codes.u8: is 0 bytes"]),
    ("labels-short", _bytes("labels.f32", lambda b: b[:-4]), "train", ["labels.f32: is 796 bytes", "x 1 tasks"]),
    ("split-long", _bytes("split.u8", lambda b: b + b"\0"), "evaluate", ["split.u8: is 201 bytes"]),
    ("split-code-7", _split_code, "train", ["split.u8: record 8 has split code 7"]),
    ("split-counts-lie", _resplit, "evaluate", ["split.u8: holds train/valid/test 180/20/0"]),
    (
        "ids-one-more",
        _bytes("ids.txt", lambda b: b + b"extra\n"),
        "evaluate",
        ["ids.txt: holds 201 IDs", "200 records"],
    ),
    (
        "ids-one-fewer",
        _bytes("ids.txt", lambda b: b[: b.rindex(b"\n", 0, -1) + 1]),
        "train",
        ["ids.txt: holds 199 IDs"],
    ),
    ("ids-empty", _bytes("ids.txt", lambda b: b""), "motifs", ["ids.txt: holds 0 IDs"]),
    ("ids-cr-lines", _bytes("ids.txt", lambda b: b.replace(b"\n", b"\r")), "evaluate", ["ids.txt: holds 1 IDs"]),
    ("ids-not-utf8", _bytes("ids.txt", lambda b: b"\xff" + b[1:]), "evaluate", ["ids.txt: is not UTF-8 text (byte 1)"]),
    ("ids-huge", _sparse("ids.txt", 200 * 65536 + 1), "train", ["ids.txt: is 13,107,201 bytes, more than 65,536"]),
    (
        "folds-without-n-folds",
        lambda s: (s / "folds.u8").write_bytes(b"\1" * 200),
        "train",
        ["folds.u8: is in a store"],
    ),
    ("marker-means-wrong", lambda s: (s / "marker_means.f32").write_bytes(b"\0" * 8), "evaluate", ["marker_means.f32"]),
    # manifests that lie or are not manifests
    ("manifest-not-json", _bytes("manifest.json", lambda b: b"{not json"), "evaluate", ["is not a JSON manifest"]),
    ("manifest-a-list", _bytes("manifest.json", lambda b: b"[1, 2]"), "train", ["is not a dnacnn store manifest"]),
    ("manifest-empty", _bytes("manifest.json", lambda b: b""), "motifs", ["manifest.json: is not a JSON manifest"]),
    ("manifest-huge", _sparse("manifest.json", 17 << 20), "evaluate", ["manifest.json: is 17,825,792 bytes"]),
    ("manifest-nested", _bytes("manifest.json", lambda b: b"[" * 200000), "train", ["is not a JSON manifest"]),
    ("manifest-latin1", _bytes("manifest.json", lambda b: b'{"format": "\xe9"}'), "tune", ["is not a JSON manifest"]),
    ("format-other", _set("format", "other"), "evaluate", ["is not a dnacnn store manifest"]),
    ("format-version-99", _set("format_version", 99), "train", ["version 99 is newer", "upgrade dnacnn"]),
    ("n-more", _counts(201, 161), "evaluate", ["codes.u8: is 10,000 bytes", "201 records x 50 bytes make 10,050"]),
    ("n-fewer", _counts(199, 159), "train", ["s.store/codes.u8: is 10,000 bytes", "make 9,950"]),
    ("n-more-counts", _set("n", 201), "evaluate", ["'split_counts' add up to 200, not the store's 201 records"]),
    ("n-text", _set("n", "200"), "evaluate", ["'n' is \"200\", not a whole number"]),
    ("n-negative", _set("n", -1), "train", ["'n' is -1, not a whole number >= 0"]),
    ("n-float", _set("n", 200.0), "motifs", ["'n' is 200.0"]),
    ("n-true", _set("n", True), "evaluate", ["'n' is true"]),
    ("n-huge", _bytes("manifest.json", lambda b: b.replace(b'"n": 200', b'"n": ' + b"9" * 5000)), "train", ["JSON"]),
    ("length-other", _set("length", 49), "evaluate", ["'encoding' length 50 is not the store's length 49"]),
    ("length-zero", _set("length", 0), "train", ["'length' is 0, not a whole number >= 1"]),
    ("tasks-two", _set("n_tasks", 2), "evaluate", ["'label_names' is not a list of 2 names"]),
    ("task-unknown", _set("task", "evil"), "train", ["'task' is \"evil\""]),
    ("encoding-protein", _set("kind", "protein", "encoding"), "evaluate", ["'encoding' is not one dnacnn writes"]),
    ("encoding-channels", _set("channels", 9, "encoding"), "motifs", ["'encoding' is not one dnacnn writes"]),
    ("encoding-missing", _drop("encoding"), "train", ["'encoding' is not one dnacnn writes"]),
    ("label-names-missing", _drop("label_names"), "evaluate", ["'label_names' is not a list of 1 names"]),
    ("split-counts-sum", _set("test", 21, "split_counts"), "train", ["'split_counts' add up to 201"]),
    ("split-counts-keys", _set("split_counts", {"train": 200}), "evaluate", ["'split_counts' does not give"]),
    ("n-folds-no-file", _set("n_folds", 3), "train", ["gives 3 folds but the store has no folds.u8"]),
    ("n-folds-huge", _set("n_folds", 1000), "evaluate", ["'n_folds' is 1000, not a whole number from 0 to 255"]),
    ("inputs-not-list", _set("inputs", "x"), "train", ["'inputs' is not a JSON list"]),
    ("inputs-no-path", _set("inputs", [{"sha256": "0"}]), "evaluate", ["'inputs' is not a list of inputs"]),
    ("settings-not-object", _set("settings", [1]), "train", ["'settings' is not a JSON object"]),
    ("multiclass-no-classes", _set("task", "multiclass"), "evaluate", ["'classes' of a multiclass store"]),
]


@pytest.mark.parametrize("corrupt, command, fragments", [c[1:] for c in FOLDER_CASES], ids=[c[0] for c in FOLDER_CASES])
def test_hostile_store_folders(cli, here, corrupt, command, fragments):
    corrupt(here / "s.store")
    no_secret(refused(cli, here, args_for(command, "s.store"), *fragments))


def test_multiclass_labels_outside_the_classes(cli, here):
    import json

    store = here / "s.store"
    manifest = json.loads((store / "manifest.json").read_text())
    (store / "manifest.json").write_text(json.dumps({**manifest, "task": "multiclass", "classes": ["a", "b"]}))
    labels = np.fromfile(store / "labels.f32", np.float32)
    labels[3] = 5
    labels.tofile(store / "labels.f32")
    refused(cli, here, args_for("train", "s.store"), "labels.f32: holds labels that are not class numbers 0..1")


@pytest.mark.parametrize("value, fragment", [(0, "outside 1..2"), (3, "outside 1..2")])
def test_fold_numbers_outside_the_manifest(cli, here, value, fragment):
    folds = np.fromfile(here / "f.store" / "folds.u8", np.uint8)
    folds[10] = value
    folds.tofile(here / "f.store" / "folds.u8")
    refused(cli, here, args_for("cv", "f.store"), f"f.store/folds.u8: holds fold numbers {fragment}")


def char_device() -> str:
    for path in ("/dev/zero", "/dev/urandom", "/dev/random", "/dev/tty", "/dev/null"):
        if os.path.exists(path) and stat.S_ISCHR(os.stat(path).st_mode):
            return path
    pytest.skip("no character device on this machine")


def test_a_fifo_as_ids_never_hangs(here):
    """A FIFO is refused before it is opened (opening one for reading waits for a writer)."""
    (here / "s.store" / "ids.txt").unlink()
    os.mkfifo(here / "s.store" / "ids.txt")
    refused_process(here, args_for("evaluate", "s.store"), "s.store/ids.txt: is a FIFO (named pipe)")


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda p: None, ["nope.store: no such store"]),
        (lambda p: os.mkfifo(p), ["nope.store: is a FIFO (named pipe), not a store"]),
        (lambda p: p.symlink_to(char_device()), ["nope.store: is a character device, not a store"]),
        (lambda p: p.mkdir(), ["nope.store: not a dnacnn store (no manifest.json)"]),
    ],
    ids=["missing", "fifo", "device", "empty-folder"],
)
def test_what_is_not_a_store(cli, here, make, fragments):
    make(here / "nope.store")
    refused(cli, here, args_for("evaluate", "nope.store"), *fragments)


# --------------------------------------------------------------------------- store archives


def _swap(name: str, new):
    return lambda ms: replaced(ms, name, new)


def _add(*new):
    return lambda ms: ms + list(new)


def _edit(name: str, edit):
    return lambda ms: [(i, edit(d)) if i.name == name else (i, d) for i, d in ms]


def _resize(name: str, edit):
    def change(ms):
        out = []
        for info, data in ms:
            if info.name == name:
                data = edit(data)
                info = member(name, data)[0]
            out.append((info, data))
        return out

    return change


CODES = "store/codes.u8"
IDS = "store/ids.txt"
ARCHIVE_CASES = [
    # links and special members
    (
        "codes-symlink",
        _swap(CODES, member(CODES, kind=tarfile.SYMTYPE, linkname="/dev/zero")),
        "train",
        ["member store/codes.u8 is a symbolic link"],
    ),
    (
        "manifest-symlink",
        _swap(
            "store/manifest.json", member("store/manifest.json", kind=tarfile.SYMTYPE, linkname="../../manifest.json")
        ),
        "evaluate",
        ["member store/manifest.json is a symbolic link"],
    ),
    (
        "ids-hardlink",
        _swap(IDS, member(IDS, kind=tarfile.LNKTYPE, linkname=PASSWD)),
        "evaluate",
        ["member store/ids.txt is a hard link"],
    ),
    (
        "ids-hardlink-member",
        _swap(IDS, member(IDS, kind=tarfile.LNKTYPE, linkname="store/split.u8")),
        "motifs",
        ["member store/ids.txt is a hard link"],
    ),
    (
        "codes-chardev",
        _swap(CODES, member(CODES, kind=tarfile.CHRTYPE, devmajor=1, devminor=5)),
        "train",
        ["member store/codes.u8 is a character device"],
    ),
    (
        "codes-blockdev",
        _swap(CODES, member(CODES, kind=tarfile.BLKTYPE, devmajor=8, devminor=0)),
        "evaluate",
        ["member store/codes.u8 is a block device"],
    ),
    ("ids-fifo", _swap(IDS, member(IDS, kind=tarfile.FIFOTYPE)), "evaluate", ["member store/ids.txt is a FIFO"]),
    ("ids-folder", _swap(IDS, member(IDS, kind=tarfile.DIRTYPE)), "train", ["member store/ids.txt is another folder"]),
    (
        "codes-contiguous",
        _swap(CODES, member(CODES, b"\0" * 10000, kind=tarfile.CONTTYPE)),
        "tune",
        ["member store/codes.u8 is a contiguous file"],
    ),
    # names outside the store
    ("dotdot-member", _add(member("store/../../evil.sh", b"#!/bin/sh\n")), "evaluate", ["has an unsafe name"]),
    ("dotdot-ids", _swap(IDS, member("../ids.txt", b"x\n")), "train", ["member ../ids.txt has an unsafe name"]),
    ("absolute-member", _add(member(PASSWD, b"root:x:0:0\n")), "evaluate", ["member /etc/passwd has an unsafe name"]),
    ("absolute-ids", _swap(IDS, member("/store/ids.txt", b"x\n")), "motifs", ["member /store/ids.txt has an unsafe"]),
    ("empty-part", _add(member("store//codes.u8", b"")), "train", ["member store//codes.u8 has an unsafe name"]),
    ("backslash", _add(member("store\\..\\x", b"")), "evaluate", ["has an unsafe name"]),
    # other members, missing members, duplicates
    (
        "extra-member",
        _add(member("store/notes.txt", b"hello\n")),
        "evaluate",
        ["member store/notes.txt is not a store file"],
    ),
    ("extra-script", _add(member("store/run.sh", b"rm -rf ~\n")), "train", ["member store/run.sh is not a store file"]),
    ("two-folders", _add(member("other/codes.u8", b"")), "evaluate", ["holds files in more than one folder"]),
    (
        "nested-folder",
        _add(member("store/sub/codes.u8", b"")),
        "train",
        ["member store/sub/codes.u8 is another folder"],
    ),
    (
        "other-folder-entry",
        _add(member("elsewhere", kind=tarfile.DIRTYPE)),
        "evaluate",
        ["member elsewhere is another folder"],
    ),
    ("no-manifest", _swap("store/manifest.json", None), "evaluate", ["x.dat: holds no manifest.json"]),
    ("no-codes", _swap(CODES, None), "train", ["x.dat: holds no codes.u8; not a whole store"]),
    ("no-ids", _swap(IDS, None), "evaluate", ["x.dat: holds no ids.txt"]),
    ("no-split", _swap("store/split.u8", None), "cv", ["x.dat: holds no split.u8"]),
    ("duplicate-ids", _add(member(IDS, b"a\n")), "evaluate", ["x.dat: holds store/ids.txt twice"]),
    ("newline-in-name", _add(member("store/ids.txt\nroot", b"")), "evaluate", ["store/ids.txt\\nroot"]),
    ("line-separator-name", _add(member("store/x\u2028y", b"")), "train", ["store/x\\u2028y is not a store file"]),
    (
        "too-many-members",
        _add(*[member(f"store/f{i}", b"") for i in range(40)]),
        "evaluate",
        ["holds more than 32 members"],
    ),
    # members that disagree with the manifest
    ("codes-truncated", _resize(CODES, lambda b: b[:-1]), "train", ["x.dat:store/codes.u8: is 9,999 bytes"]),
    ("labels-long", _resize("store/labels.f32", lambda b: b + b"\0" * 4), "evaluate", ["store/labels.f32: is 804"]),
    ("ids-one-more", _resize(IDS, lambda b: b + b"extra\n"), "evaluate", ["x.dat:store/ids.txt: holds 201 IDs"]),
    ("ids-one-fewer", _resize(IDS, lambda b: b[: b.rindex(b"\n", 0, -1) + 1]), "train", ["store/ids.txt: holds 199"]),
    ("manifest-not-json", _resize("store/manifest.json", lambda b: b"nope"), "evaluate", ["is not a JSON manifest"]),
    (
        "manifest-n",
        _resize("store/manifest.json", lambda b: b.replace(b'"n": 200', b'"n": 300')),
        "train",
        ["store/manifest.json: 'split_counts' add up to 200, not the store's 300 records"],
    ),
]


@pytest.mark.parametrize(
    "change, command, fragments", [c[1:] for c in ARCHIVE_CASES], ids=[c[0] for c in ARCHIVE_CASES]
)  # fmt: skip
def test_hostile_store_archives(cli, here, change, command, fragments):
    """Galaxy passes a store as a tar dataset named ``dataset_N.dat``: recognised by its content."""
    name = "f.store" if command == "cv" else "s.store"
    write_tar(here / "x.dat", change(members_of(here / name)))
    no_secret(refused(cli, here, args_for(command, "x.dat"), *fragments))


def test_a_pax_header_cannot_rename_a_member_out_of_the_store(cli, here):
    info, data = member("store/notes.txt", b"x\n")
    info.pax_headers = {"path": "../../../tmp/evil"}
    write_tar(here / "x.dat", members_of(here / "s.store") + [(info, data)], fmt=tarfile.PAX_FORMAT)
    refused(cli, here, args_for("evaluate", "x.dat"), "member ../../../tmp/evil has an unsafe name")


def test_a_truncated_archive(cli, here):
    write_tar(here / "whole.tar", members_of(here / "s.store"))
    with tarfile.open(here / "whole.tar") as tar:
        cut = tar.getmember(CODES).offset_data + 5000  # inside codes.u8's bytes
    (here / "x.dat").write_bytes((here / "whole.tar").read_bytes()[:cut])
    (here / "whole.tar").unlink()
    refused(cli, here, args_for("train", "x.dat"), "x.dat: ", "truncated")


@pytest.mark.parametrize(
    "content, fragments",
    [
        (b"", ["x.dat: is empty; not a dnacnn store"]),
        (b"ACGT\n" * 200, ["x.dat: is neither a store folder nor a store archive"]),
        (bytes(range(256)) * 8, ["x.dat: is neither a store folder nor a store archive"]),
        (b"\x1f\x8b\x08\x00" + b"\0" * 600, ["x.dat: is gzip-compressed", "gunzip it first"]),
        (b"BZh91AY&SY" + b"\0" * 600, ["x.dat: is bzip2-compressed", "bunzip2 it first"]),
        (b"\xfd7zXZ\x00" + b"\0" * 600, ["x.dat: is xz-compressed"]),
        (b"\0" * 257 + b"ustar\x0000" + b"\0" * 250, ["x.dat: is not a readable tar archive"]),
    ],
    ids=["empty", "text", "binary", "gzip", "bzip2", "xz", "bad-header"],
)
def test_files_that_are_not_store_archives(cli, here, content, fragments):
    (here / "x.dat").write_bytes(content)
    refused(cli, here, args_for("evaluate", "x.dat"), *fragments)


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_a_store_archive_is_not_a_sequence_file(cli, here, command):
    """pandas would open a ``.tar`` as a compressed table; a store given for sequences is named."""
    assert cli("encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "-o", "z.store.tar").exit_code == 0
    args = [command, "zou.dnacnn", "z.store.tar", "-o", "out"]
    refused(cli, here, args, "z.store.tar: is a tar archive (a dnacnn store?), not a sequence file", "dnacnn evaluate")


def test_a_tar_of_something_else_is_not_a_store(cli, here):
    write_tar(here / "x.dat", [member("readme.txt", b"hello\n")])
    refused(cli, here, args_for("train", "x.dat"), "x.dat: holds no manifest.json")


# --------------------------------------------------------------------------- archives dnacnn reads and writes


def _gnu_tar(here: Path, args: list[str]) -> None:
    import subprocess

    if not shutil.which("tar"):
        pytest.skip("no tar command")
    subprocess.run(["tar", *args], cwd=here, check=True)


@pytest.mark.parametrize(
    "layout",
    [
        ["-cf", "x.dat", "s.store"],
        ["-cf", "x.dat", "-C", "s.store", "."],
        ["--format=posix", "-cf", "x.dat", "s.store"],
    ],
    ids=["folder", "dot-slash", "posix"],
)
def test_archives_made_with_tar_are_read_in_place(here, layout):
    """``tar -cf x.tar x.store`` (and ``-C x.store .``) make archives dnacnn reads as they are."""
    from dnacnn.store import Store

    _gnu_tar(here, layout)
    folder, archive = Store.open(here / "s.store"), Store.open(here / "x.dat")
    assert archive.archive and not folder.archive
    assert np.array_equal(np.asarray(archive.codes), np.asarray(folder.codes))
    assert np.array_equal(np.asarray(archive.labels), np.asarray(folder.labels))
    assert archive.ids == folder.ids and archive.manifest == folder.manifest
    assert archive.files["codes.u8"].path == (here / "x.dat").resolve() and archive.files["codes.u8"].offset > 0


def test_encode_writes_an_archive_that_every_command_reads(cli, here):
    args = ["encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "--no-progress", "-o", "z.store.tar"]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "wrote z.store.tar: 200 records x 50" in result.stderr
    with tarfile.open(here / "z.store.tar") as tar:
        names = tar.getnames()
    assert names == [
        "z.store",
        *(f"z.store/{n}" for n in ("manifest.json", "codes.u8", "labels.f32", "split.u8", "ids.txt")),
    ]
    assert not [p for p in here.iterdir() if "tmp" in p.name]
    result = cli("evaluate", "zou.dnacnn", "z.store.tar", "-o", "ev")
    assert result.exit_code == 0, result.stderr
    predictions = (here / "ev" / "predictions.tsv").read_text().splitlines()
    assert len(predictions) == 21 and predictions[1].split("\t")[0] in (here / "s.store" / "ids.txt").read_text()
    assert (
        "k-mer" in (here / "ev" / "metrics.tsv").read_text() or "logistic" in (here / "ev" / "metrics.tsv").read_text()
    )
    result = cli("train", "z.store.tar", "--model", "zou2019", "--epochs", "1", "-o", "t.dnacnn", "--no-progress")
    assert result.exit_code == 0, result.stderr


def test_encode_replaces_an_archive_but_never_a_folder_or_another_file(cli, here):
    args = ["encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "--no-progress", "-o"]
    assert cli(*args, "z.tar").exit_code == 0
    first = (here / "z.tar").stat().st_ino
    assert cli(*args, "z.tar", "--seed", "1").exit_code == 0
    assert (here / "z.tar").stat().st_ino != first  # replaced in one rename
    (here / "dir.tar").mkdir()
    refused(cli, here, [*args, "dir.tar"], "dir.tar: is a folder; a store archive (.tar) is a file")
    write_tar(here / "other.tar", [member("thesis.tex", b"years of work\n")])
    refused(cli, here, [*args, "other.tar"], "other.tar: exists and is not a dnacnn store")


def test_a_killed_encode_leaves_nothing_the_next_run_keeps(cli, here):
    """Today's temporaries (``.NAME.dnacnn-tmp-PID``) and those of an older dnacnn
    (``NAME.tmp-XXXXXXXX``) are removed by the next run; a look-alike folder holding other
    files is kept."""
    from test_outputs import dead_pid

    stale = here / f".z.store.tar.dnacnn-tmp-{dead_pid()}"
    stale.mkdir()
    (stale / "codes.u8").write_bytes(b"half")
    legacy = here / "z.store.tar.tmp-ab12cd34"
    legacy.mkdir()
    (legacy / "codes.u8").write_bytes(b"half")
    (legacy / "ids.txt").write_bytes(b"a\n")
    keep = here / "z.store.tar.tmp-zz99zz99"
    keep.mkdir()
    (keep / "thesis.tex").write_text("mine\n")
    args = ["encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "--no-progress", "-o", "z.store.tar"]
    assert cli(*args).exit_code == 0
    assert not stale.exists() and not legacy.exists() and keep.exists()


def test_a_store_named_through_a_link_is_read(here):
    """The path a user (or Galaxy) names may be a link; the files inside may not."""
    from dnacnn.store import Store

    (here / "linked.store").symlink_to(here / "s.store")
    _gnu_tar(here, ["-cf", "s.tar", "s.store"])
    (here / "linked.dat").symlink_to(here / "s.tar")
    assert Store.open(here / "linked.store").ids == Store.open(here / "linked.dat").ids


def test_streamed_training_reads_archive_members_in_place(here):
    """Stores bigger than memory are streamed with plain reads (dnacnn.stream): from an archive
    they start at the member's offset."""
    from dnacnn.store import Store
    from dnacnn.stream import BlockReader

    _gnu_tar(here, ["-cf", "s.tar", "s.store"])
    rows = np.array([3, 4, 5, 90, 150])
    got = []
    for path in ("s.store", "s.tar"):
        store = Store.open(here / path)
        reader = BlockReader(store.path, store.codes.shape[1], store.labels.shape[1], store.files)
        codes, labels = np.empty((5, 50), np.uint8), np.empty((5, 1), np.float32)
        reader.read_into(rows, codes, labels)
        assert np.array_equal(codes, np.asarray(store.codes[rows])) and np.array_equal(labels, store.labels[rows])
        got.append(codes)
    assert np.array_equal(*got)


# --------------------------------------------------------------------------- forged base codes


@pytest.mark.parametrize("command", ["evaluate", "train", "motifs"])
def test_codes_no_encoder_writes_read_as_n(cli, here, command):
    """A store whose ``codes.u8`` holds bytes above 4 (no encoder writes them; the size check
    cannot see them): every reader takes them as N, as the network's input expansion does, and
    the command runs through instead of failing on an index deep inside."""
    codes = np.fromfile(here / "s.store" / "codes.u8", np.uint8)
    codes[::7] = 255
    codes[3::11] = 7
    codes.tofile(here / "s.store" / "codes.u8")
    args = [a.replace("STORE", "s.store") for a in COMMANDS[command]]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    if command == "evaluate":  # the report's worst examples show the forged bases as N
        assert re.search(r"[ACGT]{2,}N[ACGT]{2,}", (here / "ev" / "report.html").read_text())
