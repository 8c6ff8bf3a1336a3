"""Every failure is one line (issue 17, item 5): bad numbers, unreadable and unwritable paths, a
full disk, missing labels, a stale genome index, a checkpoint of another store, usage errors.

Each case runs a real command on the ``work`` folder and checks the promise with
:func:`harness.refused`: the exit code (1, or 2 for usage), exactly one stderr line naming the
option, file or record and the fix, no traceback, and the folder exactly as before.  Failures of
the operating system (permission denied, read-only file system, disk full) are real where this
machine allows it (``/dev/full``, a name too long, a file where a folder should be) and injected
at ``open`` otherwise (a root user reads every file).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from harness import refused, snapshot

from dnacnn.errors import SettingError, check_number

ENCODE = ["encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "--no-progress"]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """A small binary store (the ``work`` folder's sequences and labels), encoded once."""
    from conftest import DATA, Cli

    folder = tmp_path_factory.mktemp("store")
    for name in ("sequences", "labels"):
        lines = (DATA / f"zou_{name}.txt").read_text().splitlines()[:200]
        (folder / f"{'seqs' if name == 'sequences' else name}.txt").write_text("\n".join(lines) + "\n")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = Cli()(*ENCODE, "-o", "x.store")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    return folder / "x.store"


@pytest.fixture
def stored(work, store_dir) -> Path:
    """``work`` with ``x.store`` in it."""
    shutil.copytree(store_dir, work / "x.store")
    return work


# ------------------------------------------------------------------ numbers out of bounds, every command

NUMBERS = [
    (["predict", "m.dnacnn", "seqs.fa", "--batch-size", "-1", "-o", "p.tsv"], "--batch-size must be at least 1"),
    (["predict", "m.dnacnn", "seqs.fa", "--batch-size", "0", "-o", "p.tsv"], "--batch-size must be at least 1"),
    (["shuffle", "seqs.fa", "--times", "0", "-o", "s.fa"], "--times must be at least 1, got 0"),
    (["shuffle", "seqs.fa", "--seed", "-1", "-o", "s.fa"], "--seed must be at least 0, got -1"),
    (["summary", "tfbind", "--length", "0"], "--length must be at least 1, got 0"),
    (["summary", "tfbind", "--channels", "0"], "--channels must be at least 1, got 0"),
    (["summary", "zou2019", "--outputs", "-2"], "--outputs must be at least 1, got -2"),
    (["explain", "m.dnacnn", "seqs.fa", "--plots", "-1", "-o", "ex"], "--plots must be at least 0, got -1"),
    (["explain", "m.dnacnn", "seqs.fa", "--window", "0", "-o", "ex"], "--window must be at least 1, got 0"),
    (["explain", "m.dnacnn", "seqs.fa", "--shuffles", "0", "-o", "ex"], "--shuffles must be at least 1, got 0"),
    (["explain", "m.dnacnn", "seqs.fa", "--batch-size", "0", "-o", "ex"], "--batch-size must be at least 1"),
    (["explain", "m.dnacnn", "seqs.fa", "--target", "-1", "-o", "ex"], "--target must be at least 0, got -1"),
    (
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "--max-indel", "-1", "-o", "v.tsv"],
        "--max-indel must be at least 0, got -1",
    ),
    (
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "--batch-size", "0", "-o", "v.tsv"],
        "--batch-size must be at least 1, got 0",
    ),
    (["motifs", "m.dnacnn", "seqs.fa", "--top", "0", "-o", "mo"], "--top must be at least 1, got 0"),
    (["motifs", "m.dnacnn", "seqs.fa", "--min-ic", "-1", "-o", "mo"], "--min-ic must be at least 0, got -1"),
    (["motifs", "m.dnacnn", "seqs.fa", "--max-sequences", "0", "-o", "mo"], "--max-sequences must be at least 1"),
    (["motifs", "m.dnacnn", "seqs.fa", "--threshold", "1", "-o", "mo"], "--threshold must be in [0, 1), got 1"),
    (["motifs", "m.dnacnn", "seqs.fa", "--modisco-sequences", "0", "-o", "mo"], "--modisco-sequences must be at"),
    (["evaluate", "m.dnacnn", "x.store", "--threshold", "1.5", "-o", "ev"], "--threshold must be in [0, 1], got 1.5"),
    (["evaluate", "m.dnacnn", "x.store", "--fold", "0", "-o", "ev"], "--fold must be at least 1, got 0"),
    (["scan", "m.dnacnn", "genome.fa", "--stride", "0", "-o", "t.bw"], "--stride must be at least 1"),
    (["scan", "m.dnacnn", "genome.fa", "--max-n", "1.5", "-o", "t.bw"], "--max-n must be in [0, 1], got 1.5"),
    (["scan", "m.dnacnn", "genome.fa", "--batch-size", "0", "-o", "t.bw"], "--batch-size must be at least 1"),
    (["tune", "x.store", "--trials", "0", "-o", "tu"], "--trials must be at least 1, got 0"),
    (["tune", "x.store", "--timeout-minutes", "0", "-o", "tu"], "--timeout-minutes must be positive, got 0"),
    (["tune", "x.store", "--epochs", "0", "-o", "tu"], "--epochs must be at least 1, got 0"),
    (["cv", "x.store", "--epochs", "0", "-o", "cvo"], "--epochs must be at least 1, got 0"),
    (["cv", "x.store", "--lr", "0", "-o", "cvo"], "--lr must be positive, got 0"),
    (["cv", "x.store", "--batch-size", "0", "-o", "cvo"], "--batch-size must be at least 1, got 0"),
    ([*ENCODE, "--seed", "-1", "-o", "e.store"], "--seed must be at least 0, got -1"),
    ([*ENCODE[:4], "--label-value", "nan", "--no-progress", "-o", "e.store"], "--label-value must be a finite number"),
    ([*ENCODE[:4], "--label-value", "inf", "--no-progress", "-o", "e.store"], "--label-value must be a finite number"),
    ([*ENCODE, "--length", "0", "-o", "e.store"], "--length must be a positive number of bases, got 0"),
    ([*ENCODE, "--valid-frac", "1.5", "-o", "e.store"], "--valid-frac must be a fraction in [0, 1), got 1.5"),
    ([*ENCODE, "--split", "folds", "--folds", "1", "-o", "e.store"], "--folds 1: give between 2 and 100 folds"),
]


@pytest.mark.parametrize("args, fragment", NUMBERS, ids=[" ".join(a[:1] + a[-4:-2]) for a, _ in NUMBERS])
def test_a_number_out_of_bounds_is_one_line_naming_the_option(cli, stored, args, fragment):
    refused(cli, stored, args, fragment)


TRAIN_NUMBERS = [
    ("--epochs", "0", "--epochs must be at least 1, got 0"),
    ("--batch-size", "0", "--batch-size must be at least 1, got 0"),
    ("--lr", "-1", "--lr must be positive, got -1"),
    ("--weight-decay", "-1", "--weight-decay must be at least 0"),
    ("--patience", "0", "--patience must be at least 1, got 0"),
    ("--ema", "1.5", "--ema must be in [0, 1) (0 turns it off), got 1.5"),
    ("--max-minutes", "0", "--max-minutes must be positive, got 0"),
    ("--seed", "-1", "--seed must be in [0, 4294967295], got -1"),
    ("--num-workers", "-1", "--num-workers must be at least 0, got -1"),
    ("--fold", "0", "--fold must be at least 1, got 0"),
    ("--pos-weight", "-2", "--pos-weight must be auto, none or a positive number, got '-2'"),
    ("--clip-norm", "0", "--clip-norm must be positive, got 0"),
    ("--shuffles-per-positive", "0", "--shuffles-per-positive must be at least 1, got 0"),
    ("--mutation-rate", "0.9", "--mutation-rate must be in [0, 0.75]"),
    ("--lr", "nan", "--lr must be a finite number, got nan"),
]


@pytest.mark.parametrize("option, value, fragment", TRAIN_NUMBERS, ids=[f"{o} {v}" for o, v, _ in TRAIN_NUMBERS])
def test_a_training_setting_out_of_bounds_names_the_option(cli, stored, option, value, fragment):
    args = ["train", "x.store", "--model", "zou2019", option, value, "--no-progress", "-o", "m2.dnacnn"]
    refused(cli, stored, args, fragment)


def test_library_callers_are_told_the_setting_by_its_own_name(store_dir, tmp_path):
    """The same bound, called from Python: the message names the setting (``lr``), not a flag."""
    from dnacnn.train import TrainSettings, train

    with pytest.raises(SettingError, match=r"^lr must be positive, got -1$"):
        train(store_dir, tmp_path / "m.dnacnn", TrainSettings(model="zou2019", lr=-1, progress=False))
    with pytest.raises(SettingError, match=r"^batch_size must be at least 1, got 0$"):
        check_number("batch_size", 0, low=1, whole=True)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_value_in_the_specs_train_block_names_the_spec(cli, stored):
    (stored / "spec.yaml").write_text(
        (Path(__file__).parents[2] / "dnacnn" / "models" / "presets" / "zou2019.yaml").read_text()
        + "train:\n  lr: -0.5\n"
    )
    args = ["train", "x.store", "--model", "spec.yaml", "--no-progress", "-o", "m2.dnacnn"]
    refused(cli, stored, args, "train: block: lr must be positive, got -0.5", "fix the spec")


# ------------------------------------------------------------------ usage errors: one line, exit 2

USAGE = [
    (["predict", "m.dnacnn", "seqs.fa", "--batch-size", "x"], ["'--batch-size'", "dnacnn predict --help"]),
    (["train"], ["Missing argument", "dnacnn train --help"]),
    (["encode", "seqs.txt"], ["Missing option '--out'", "dnacnn encode --help"]),
    (["predict", "m.dnacnn", "seqs.fa", "--bogus"], ["No such option: --bogus", "dnacnn predict --help"]),
    (["predict", "m.dnacnn"], ["'INPUT': missing", "dnacnn predict --help"]),
    (["cv", "x.store", "--folds", "0", "-o", "cvo"], ["--folds", "give fold numbers"]),
]


@pytest.mark.parametrize("args, fragments", USAGE, ids=[f"{a[0]}-{k}" for k, (a, _) in enumerate(USAGE)])
def test_a_usage_error_is_one_line_exit_2(cli, stored, args, fragments):
    line = refused(cli, stored, args, *fragments, code=2)
    assert line.startswith("dnacnn: error: ")


# ------------------------------------------------------------------ the operating system says no


def fail_open(monkeypatch, part: str, code: int) -> None:
    """``open`` of a path holding ``part`` raises OSError ``code`` (as for a user who may not)."""
    real = builtins.open

    def fake(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and part in str(file):
            raise OSError(code, os.strerror(code), str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake)
    monkeypatch.setattr(io, "open", fake)


INJECTED = [
    ("seqs.fa", errno.EACCES, ["predict", "m.dnacnn", "seqs.fa", "-o", "p.tsv"], "seqs.fa: permission denied"),
    ("seqs.txt", errno.EACCES, [*ENCODE, "-o", "e.store"], "seqs.txt: permission denied"),
    ("labels.txt", errno.EACCES, [*ENCODE, "-o", "e.store"], "labels.txt: permission denied"),
    (
        "calls.vcf",
        errno.EACCES,
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "v.tsv"],
        "calls.vcf: permission denied",
    ),
    (
        "genome.fa",
        errno.EACCES,
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "v.tsv"],
        "genome.fa: permission denied",
    ),
    ("seqs.fa", errno.EIO, ["shuffle", "seqs.fa", "-o", "s.fa"], "seqs.fa: input/output error"),
    ("dnacnn-tmp", errno.EACCES, ["predict", "m.dnacnn", "seqs.fa", "-o", "p.tsv"], "p.tsv: permission denied"),
    ("dnacnn-tmp", errno.EROFS, ["shuffle", "seqs.fa", "-o", "s.fa"], "s.fa: read-only file system"),
    ("dnacnn-tmp", errno.ENOSPC, [*ENCODE, "-o", "e.store"], "e.store/codes.u8: no space left on the device"),
    ("dnacnn-tmp", errno.EDQUOT, ["evaluate", "m.dnacnn", "x.store", "-o", "ev"], "ev/metrics.json: disk quota"),
    (
        "dnacnn-tmp",
        errno.EACCES,
        ["explain", "m.dnacnn", "seqs.fa", "--method", "gradxinput", "-o", "ex"],
        "ex/attributions.tsv: permission denied",
    ),
    (
        "dnacnn-tmp",
        errno.EROFS,
        ["motifs", "m.dnacnn", "seqs.fa", "--database", "none", "-o", "mo"],
        "mo/filters.meme: read-only file system",
    ),
    ("dnacnn-tmp", errno.ENOSPC, ["export", "m.dnacnn", "-o", "m.onnx"], "m.onnx: no space left on the device"),
    (
        "dnacnn-tmp",
        errno.ENOSPC,
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "v.tsv"],
        "v.tsv: no space left",
    ),
]


@pytest.mark.parametrize(
    "part, code, args, fragment", INJECTED, ids=[f"{a[0]}-{errno.errorcode[c]}-{p}" for p, c, a, _ in INJECTED]
)
def test_an_os_error_is_one_line_naming_the_path(cli, stored, part, code, args, fragment):
    if args[0] in ("predict", "encode"):
        args = [*args, "--no-progress"]
    before = snapshot(stored)
    with pytest.MonkeyPatch.context() as mp:
        fail_open(mp, part, code)
        result = cli(*args)
    from conftest import assert_one_line_error

    line = assert_one_line_error(result, fragment)
    assert "dnacnn-tmp" not in line  # the target is named, never its temporary
    assert snapshot(stored) == before


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "m.dnacnn", "seqs.fa", "--no-progress", "-o", "/dev/full"],
        ["shuffle", "seqs.fa", "-o", "/dev/full"],
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "/dev/full"],
    ],
    ids=["predict", "shuffle", "variants"],
)
def test_a_full_disk_is_one_line_and_the_device_stays_a_device(cli, work, args):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    refused(cli, work, args, "/dev/full: no space left on the device")
    assert not os.path.isfile("/dev/full")


def test_dev_null_is_written_to_never_replaced(cli, work):
    result = cli("predict", "m.dnacnn", "seqs.fa", "--no-progress", "-o", "/dev/null")
    assert result.exit_code == 0, result.stderr
    assert not os.path.isfile("/dev/null")


LONG = "x" * 300


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["predict", "m.dnacnn", "seqs.fa", "--no-progress", "-o", f"{LONG}.tsv"], "file name too long"),
        ([*ENCODE, "-o", f"{LONG}.store"], "file name too long"),
        (["predict", "m.dnacnn", "seqs.fa", "--no-progress", "-o", "notes.txt/p.tsv"], "notes.txt: a part of the path"),
        (["shuffle", "seqs.fa", "-o", "notes.txt/deeper/s.fa"], "notes.txt: a part of the path is a file"),
        ([*ENCODE, "-o", "notes.txt/e.store"], "notes.txt: a part of the path is a file"),
    ],
    ids=["predict-long-name", "encode-long-name", "predict-file-as-folder", "shuffle-file-as-folder", "encode-file"],
)
def test_an_impossible_output_path_is_one_line(cli, work, args, fragment):
    (work / "notes.txt").write_text("mine\n")
    refused(cli, work, args, fragment)


MISSING = [
    ["predict", "m.dnacnn", "nope.fa", "-o", "p.tsv"],
    ["predict", "nope.dnacnn", "seqs.fa", "-o", "p.tsv"],
    ["shuffle", "nope.fa", "-o", "s.fa"],
    ["encode", "nope.txt", "-o", "e.store"],
    [*ENCODE, "--labels", "nope.txt", "-o", "e.store"],
    ["train", "nope.store", "-o", "m2.dnacnn"],
    ["evaluate", "m.dnacnn", "nope.store", "-o", "ev"],
    ["scan", "m.dnacnn", "nope.fa", "-o", "t.bw"],
    ["variants", "m.dnacnn", "nope.vcf", "--genome", "genome.fa", "-o", "v.tsv"],
    ["explain", "m.dnacnn", "nope.fa", "-o", "ex"],
    ["motifs", "m.dnacnn", "nope.fa", "-o", "mo"],
    ["export", "nope.dnacnn", "-o", "m.onnx"],
    ["summary", "nope.yaml"],
    ["aggregate", "nope_eval", "--tsv", "a.tsv"],
    ["cv-summary", "nope_eval", "-o", "cvs"],
    ["tune", "nope.store", "-o", "tu"],
    ["cv", "nope.store", "-o", "cvo"],
]


@pytest.mark.parametrize("args", MISSING, ids=[f"{a[0]}-{k}" for k, a in enumerate(MISSING)])
def test_a_missing_input_is_one_line_naming_it(cli, work, args):
    name = next(a for a in args if a.startswith("nope"))
    refused(cli, work, args, name)


# ------------------------------------------------------------------ missing labels in every preset


@pytest.mark.slow
def test_na_labels_are_missing_in_every_preset(cli, work):
    """One NA label per ten (documented as missing): every preset trains on the rest (zou2019's
    two-unit softmax gave IndexError) and its validation metric is a number."""
    from dnacnn.models import list_presets

    labels = (work / "labels.txt").read_text().splitlines()
    (work / "na.txt").write_text("".join(("NA" if i % 10 == 9 else v) + "\n" for i, v in enumerate(labels)))
    result = cli("encode", "seqs.txt", "--format", "lines", "--labels", "na.txt", "--no-progress", "-o", "na.store")
    assert result.exit_code == 0, result.stderr
    for preset in list_presets():
        args = ["train", "na.store", "--model", preset, "--epochs", "1", "--batch-size", "64", "--no-progress"]
        result = cli(*args, "--device", "cpu", "-o", f"{preset}.dnacnn")
        assert result.exit_code == 0, (preset, result.stderr)
        assert "val roc_auc nan" not in result.stderr, preset


def test_a_missing_class_label_is_not_a_class(cli, work):
    """``--task multiclass``: NA, nan, '.' and an empty cell are missing labels, never a class."""
    import json

    seqs = (work / "seqs.txt").read_text().splitlines()[:60]
    names = ["a", "b", "c", "NA", "nan", "."]
    (work / "mc.tsv").write_text("id\tseq\tcls\n" + "".join(f"r{i}\t{s}\t{names[i % 6]}\n" for i, s in enumerate(seqs)))
    result = cli("encode", "mc.tsv", "--label-col", "cls", "--task", "multiclass", "--no-progress", "-o", "mc.store")
    assert result.exit_code == 0, result.stderr
    assert json.loads((work / "mc.store" / "manifest.json").read_text())["classes"] == ["a", "b", "c"]
    labels = np.fromfile(work / "mc.store" / "labels.f32", np.float32)
    assert np.isnan(labels).sum() == 30


@pytest.mark.parametrize("head, units", [("softmax", 3), ("softmax2", 2)])
def test_the_softmax_losses_skip_missing_labels(head, units):
    import torch

    from dnacnn.models.heads import loss

    logits = torch.tensor([[0.3, -1.0, 2.0][:units], [1.0, 0.5, -0.2][:units], [0.1, 0.1, 0.4][:units]])
    y = torch.tensor([[1.0], [float("nan")], [0.0]])
    known = loss(logits[[0, 2]], y[[0, 2]], head)
    assert torch.equal(loss(logits, y, head), known)
    assert loss(logits, torch.full((3, 1), float("nan")), head).item() == 0.0


# ------------------------------------------------------------------ a stale genome index


def replace_genome_keeping_its_index(work: Path) -> None:
    """Another genome under the same name, older than the ``.fai`` made for the first (cp -p, rsync -t)."""
    rng = np.random.default_rng(0)
    other = "".join(rng.choice(list("ACGT"), 700))
    text = ">chrA\n" + "\n".join(other[i : i + 60] for i in range(0, 700, 60)) + "\n>chr1\n" + "ACGT" * 100 + "\n"
    (work / "genome.fa").write_text(text)
    fai = os.stat(work / "genome.fa.fai")
    os.utime(work / "genome.fa", (fai.st_atime - 3600, fai.st_mtime - 3600))


@pytest.mark.parametrize(
    "args",
    [
        ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "v.tsv"],
        ["scan", "m.dnacnn", "genome.fa", "--no-progress", "-o", "t.bw"],
    ],
    ids=["variants", "scan"],
)
def test_a_genome_replaced_under_an_older_index_is_refused(cli, work, args):
    replace_genome_keeping_its_index(work)
    refused(cli, work, args, "genome.fa.fai: index does not match genome.fa", "delete genome.fa.fai")


def test_a_truncated_genome_under_its_index_is_refused(cli, work):
    text = (work / "genome.fa").read_text()
    (work / "genome.fa").write_text(text[: len(text) - 100])
    fai = os.stat(work / "genome.fa.fai")
    os.utime(work / "genome.fa", (fai.st_atime - 3600, fai.st_mtime - 3600))
    args = ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "v.tsv"]
    refused(cli, work, args, "genome.fa.fai: index does not match genome.fa", "bases long")


# ------------------------------------------------------------------ --resume on a checkpoint of another store


def interrupted_checkpoint(cli, work) -> Path:
    """``m2.dnacnn.ckpt``: a zou2019 run on ``x.store`` interrupted after its first epoch."""
    import dnacnn.train.loop as loop

    end_epoch = loop.end_epoch

    def then_interrupt(*args, **kwargs):
        end_epoch(*args, **kwargs)
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "end_epoch", then_interrupt)
        result = cli("train", "x.store", "--model", "zou2019", "--epochs", "3", "--no-progress", "-o", "m2.dnacnn")
    assert result.exit_code == 130 and "continue with: dnacnn train" in result.stderr, result.stderr
    return work / "m2.dnacnn.ckpt"


def test_resume_refuses_a_checkpoint_made_on_another_store(cli, stored):
    assert interrupted_checkpoint(cli, stored).is_file()
    result = cli(*ENCODE, "--seed", "1", "-o", "y.store")  # other rows in each split
    assert result.exit_code == 0, result.stderr
    args = ["train", "y.store", "--model", "zou2019", "--epochs", "3", "--resume", "--no-progress", "-o", "m2.dnacnn"]
    refused(cli, stored, args, "m2.dnacnn.ckpt: checkpoint was made on another store", "delete the checkpoint")
    args = ["train", "x.store", "--model", "zou2019", "--epochs", "3", "--lr", "0.1", "--resume", "-o", "m2.dnacnn"]
    refused(cli, stored, args, "m2.dnacnn.ckpt: checkpoint was made with different lr")


def test_debug_shows_the_error_itself(cli, work):
    """``--debug``: the library's own error and its traceback, for a bug report."""
    with pytest.raises(SettingError, match=r"^batch_size must be at least 1, got 0$"):
        cli("--debug", "predict", "m.dnacnn", "seqs.fa", "--batch-size", "0", "-o", "p.tsv")
    with pytest.raises(PermissionError), pytest.MonkeyPatch.context() as mp:
        fail_open(mp, "seqs.fa", errno.EACCES)
        cli("--debug", "shuffle", "seqs.fa", "-o", "s.fa")


@pytest.mark.parametrize("command", ["predict", "explain", "motifs"])
def test_a_length_error_suggests_what_the_command_takes(cli, work, command):
    """predict's length error suggested --length, an option of encode that predict rejects."""
    (work / "short.fa").write_text(">a\nACGTACGTAC\n")
    line = refused(cli, work, [command, "m.dnacnn", "short.fa", "-o", "out"], "short.fa:1", "--length-policy fit")
    assert "--length L" not in line and "--length " not in line
