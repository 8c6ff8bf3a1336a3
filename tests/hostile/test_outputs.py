"""dnacnn.io.outputs: outputs never destroy what dnacnn did not create (issue 17, item 1).

Every command refuses, with one line and before anything is read or written, an output that is,
lies inside or holds one of its inputs; ``encode`` refuses an existing path that is not a store;
a failed write leaves the old output and no temporary; the next run removes the temporaries a
killed run left.  Each refusal is checked against a snapshot of the folder before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import refused

from dnacnn.errors import DnacnnError
from dnacnn.io.outputs import (
    atomic_text,
    check_output_file,
    commit_dir,
    new_temp_dir,
    output_dir,
    output_file,
    remove_stale_temps,
    temp_path,
    write_text_atomic,
)


def encode_args(out) -> list:
    return ["encode", "seqs.txt", "--format", "lines", "--labels", "labels.txt", "--no-progress", "-o", out]


@pytest.mark.parametrize(
    "out, fragments",
    [
        (".", ["--out would replace a folder holding the input", "seqs.txt"]),
        ("WORK", ["--out would replace a folder holding the input", "seqs.txt"]),
        ("seqs.txt", ["seqs.txt: --out would replace the input", "seqs.txt"]),
        ("labels.txt", ["labels.txt: --out would replace the input", "labels.txt"]),
        ("seqs.txt/x.store", ["--out would replace the input", "seqs.txt"]),
        ("notes.txt", ["notes.txt: exists and is not a dnacnn store", "--out"]),
        ("plain", ["plain: exists and is not a dnacnn store", "--out"]),
    ],
)
def test_encode_refuses_to_destroy(cli, work, out, fragments):
    (work / "notes.txt").write_text("mine\n")
    (work / "plain").mkdir()
    (work / "plain" / "keep.txt").write_text("mine\n")
    out = work if out == "WORK" else out
    refused(cli, work, encode_args(out), *fragments)


def test_encode_writes_into_an_empty_folder(cli, work):
    (work / "empty.store").mkdir()  # e.g. made by a workflow manager: nothing in it to lose
    result = cli(*encode_args("empty.store"))
    assert result.exit_code == 0, result.stderr
    assert (work / "empty.store" / "manifest.json").is_file()


def test_encode_replaces_an_existing_store_and_cleans_a_killed_runs_temporary(cli, work):
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "x.store" / "marker").write_text("old store\n")
    dead = dead_pid()
    stale = work / f".x.store.dnacnn-tmp-{dead}"
    stale.mkdir()
    (stale / "codes.u8").write_bytes(b"half")
    alive = work / ".x.store.dnacnn-tmp-1"  # pid 1 always runs: not ours to remove
    alive.mkdir()
    result = cli(*encode_args("x.store"))
    assert result.exit_code == 0, result.stderr
    assert not (work / "x.store" / "marker").exists()
    assert (work / "x.store" / "manifest.json").is_file()
    assert not stale.exists() and alive.exists()
    assert sorted(p.name for p in work.iterdir() if "dnacnn-tmp" in p.name) == [alive.name]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["predict", "m.dnacnn", "seqs.fa", "-o", "seqs.fa"], ["seqs.fa: --out would replace the input"]),
        (["predict", "m.dnacnn", "seqs.fa", "-o", "m.dnacnn"], ["m.dnacnn: --out would replace the input"]),
        (["predict", "m.dnacnn", "seqs.fa", "-o", "."], ["--out would replace a folder holding the input"]),
        (["shuffle", "seqs.fa", "-o", "seqs.fa"], ["seqs.fa: --out would replace the input"]),
        (["shuffle", "seqs.fa", "-o", "."], ["--out would replace a folder holding the input"]),
        (["export", "m.dnacnn", "-o", "m.dnacnn"], ["m.dnacnn: --out would replace the input"]),
        (["scan", "m.bw", "genome.fa", "-o", "m.bw"], ["m.bw: --out would replace the input"]),
        (["explain", "m.dnacnn", "seqs.fa", "-o", "."], ["--out would replace a folder holding the input"]),
        (["explain", "m.dnacnn", "seqs.fa", "-o", "seqs.fa"], ["seqs.fa: --out would replace the input"]),
        (["motifs", "m.dnacnn", "seqs.fa", "-o", "."], ["--out would replace a folder holding the input"]),
        (["motifs", "m.dnacnn", "seqs.fa", "-o", "m.dnacnn"], ["m.dnacnn: --out would replace the input"]),
        (
            ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "calls.vcf"],
            ["calls.vcf: --out would replace the input"],
        ),
        (
            ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "genome.fa"],
            ["genome.fa: --out would replace the input"],
        ),
    ],
)
def test_commands_refuse_to_replace_their_inputs(cli, work, args, fragments):
    refused(cli, work, args, *fragments)


def test_outputs_inside_an_input_store_are_refused(cli, work):
    assert cli(*encode_args("x.store")).exit_code == 0
    inside = "x.store/motifs"
    refused(cli, work, ["motifs", "m.dnacnn", "x.store", "-o", inside], "--out would replace the input", "x.store")
    args = ["motifs", "m.dnacnn", "x.store", "-o", "x.store", "--database", "none"]
    refused(cli, work, args, "x.store: --out would replace the input")
    args = ["evaluate", "m.dnacnn", "x.store", "-o", "x.store/eval"]
    refused(cli, work, args, "--out would replace the input", "x.store")


def test_a_hard_link_to_an_input_is_the_input(cli, work):
    os.link(work / "seqs.fa", work / "copy.fa")
    refused(cli, work, ["shuffle", "seqs.fa", "-o", "copy.fa"], "copy.fa: --out would replace the input")


def test_check_output_file_names_a_folder():
    with pytest.raises(DnacnnError, match="is a folder; give --out a file name"):
        check_output_file(Path(__file__).parent, [])
    check_output_file("-", ["-"])  # stdout: nothing to check


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "dnacnn-tmp" in p.name or ".tmp-" in p.name)


@pytest.mark.parametrize("interrupt", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, interrupt):
    out = tmp_path / "out.tsv"
    out.write_text("old\n")
    with pytest.raises(type(interrupt)), atomic_text(out) as f:
        f.write("half of the new\n")
        raise interrupt
    assert out.read_text() == "old\n" and temporaries(tmp_path) == []
    with pytest.raises(type(interrupt)), output_file(out) as tmp:
        tmp.write_bytes(b"half")
        raise interrupt
    assert out.read_text() == "old\n" and temporaries(tmp_path) == []


def test_a_failed_folder_write_leaves_the_old_folder_and_no_temporary(tmp_path):
    out = tmp_path / "eval"
    out.mkdir()
    (out / "metrics.json").write_text("old\n")
    with pytest.raises(KeyboardInterrupt), output_dir(out, check=lambda p: None) as tmp:
        (tmp / "metrics.json").write_text("new\n")
        raise KeyboardInterrupt
    assert (out / "metrics.json").read_text() == "old\n" and temporaries(tmp_path) == []
    with output_dir(out, check=lambda p: None) as tmp:
        (tmp / "metrics.json").write_text("new\n")
    assert (out / "metrics.json").read_text() == "new\n" and temporaries(tmp_path) == []


def test_a_folder_is_replaced_only_as_the_check_allows(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work\n")

    def refuse(path):
        raise DnacnnError(f"{path}: not an output of this command")

    tmp = new_temp_dir(out)
    with pytest.raises(DnacnnError, match="not an output of this command"):
        commit_dir(tmp, out, refuse)
    with pytest.raises(DnacnnError, match="already exists"):
        commit_dir(tmp, out)
    assert (out / "thesis.tex").read_text() == "years of work\n"


def test_writes_are_byte_for_byte_and_mode_as_umask(tmp_path):
    out = tmp_path / "sub" / "a.txt"
    write_text_atomic(out, "é\n")
    assert out.read_bytes() == "é\n".encode()
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert temp_path(out).name == f".a.txt.dnacnn-tmp-{os.getpid()}"


def test_stale_temporaries_of_dead_runs_are_removed_by_the_next_run(cli, work):
    dead = dead_pid()
    for name in (
        f".out.tsv.dnacnn-tmp-{dead}",
        f".out.tsv.tmp-{dead}",
        ".out.tsv.dnacnn-tmp-1",
        ".other.tsv.dnacnn-tmp-9",
    ):
        (work / name).write_text("half\n")
    result = cli("predict", "m.dnacnn", "seqs.fa", "-o", "out.tsv", "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert temporaries(work) == [".other.tsv.dnacnn-tmp-9", ".out.tsv.dnacnn-tmp-1"]
    assert (work / "out.tsv").read_text().startswith("id\t")


def test_a_folder_moved_aside_by_a_killed_run_is_restored(tmp_path):
    dead = dead_pid()
    old = tmp_path / f".eval.dnacnn-tmp-{dead}.old"
    old.mkdir()
    (old / "metrics.json").write_text("last complete\n")
    (tmp_path / f".eval.dnacnn-tmp-{dead}").mkdir()  # the new one, never renamed into place
    assert remove_stale_temps(tmp_path / "eval") == [tmp_path / f".eval.dnacnn-tmp-{dead}"]
    assert (tmp_path / "eval" / "metrics.json").read_text() == "last complete\n"
    assert temporaries(tmp_path) == []
