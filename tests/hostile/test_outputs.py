"""dnacnn.io.outputs: outputs never destroy what dnacnn did not create (issue 17, item 1).

Every command refuses, with one line and before anything is read or written, an output that is,
lies inside or holds one of its inputs; ``encode`` refuses an existing path that is not a store;
a failed write leaves the old output and no temporary; the next run removes the temporaries a
killed run left.  Each refusal is checked against a snapshot of the folder before and after.
"""

from __future__ import annotations

import os
import shutil
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
    (work / "x.store" / "folds.u8").write_bytes(b"\1" * 200)  # a store file this encode does not write
    dead = dead_pid()
    stale = work / f".x.store.dnacnn-tmp-{dead}"
    stale.mkdir()
    (stale / "codes.u8").write_bytes(b"half")
    alive = work / ".x.store.dnacnn-tmp-1"  # pid 1 always runs: not ours to remove
    alive.mkdir()
    result = cli(*encode_args("x.store"))
    assert result.exit_code == 0, result.stderr
    assert not (work / "x.store" / "folds.u8").exists()
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


# --------------------------------------------------------------------------- --force, and what each command may replace


def predict_args(out, *more) -> list:
    return ["predict", "m.dnacnn", "seqs.fa", "--no-progress", "-o", out, *more]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (predict_args("notes.txt"), ["notes.txt: exists and is not a 'dnacnn predict' table", "--force"]),
        (["shuffle", "seqs.fa", "-o", "genome.fa"], ["genome.fa: exists and is not a 'dnacnn shuffle' FASTA"]),
        (
            ["variants", "m.dnacnn", "calls.vcf", "--genome", "genome.fa", "-o", "notes.txt"],
            ["notes.txt: exists and is not a 'dnacnn variants' table"],
        ),
        (["export", "m.dnacnn", "-o", "notes.txt"], ["notes.txt: exists and is not a 'dnacnn export' model"]),
        (["train", "x.store", "-o", "notes.txt"], ["notes.txt: exists and is not a dnacnn model file"]),
        (
            ["evaluate", "m.dnacnn", "x.store", "-o", "plain"],
            ["plain: holds files an evaluation does not write (thesis.tex)", "--force"],
        ),
        (["aggregate", "plain", "--tsv", "notes.txt"], ["notes.txt: exists and is not a 'dnacnn aggregate' table"]),
        (
            ["aggregate", "plain", "--tsv", "a.tsv", "--html", "notes.txt"],
            ["notes.txt: exists and is not a dnacnn page", "--html"],
        ),
        (
            ["explain", "m.dnacnn", "seqs.fa", "-o", "mine"],
            ["mine: holds sequences.tsv, not written by dnacnn explain", "--force to write into it"],
        ),
        (["scan", "m.dnacnn", "genome.fa", "-o", "notes.txt"], ["notes.txt: exists and is not a bigWig"]),
    ],
    ids=[
        "predict",
        "shuffle",
        "variants",
        "export",
        "train",
        "evaluate",
        "aggregate",
        "aggregate-html",
        "explain",
        "scan",
    ],
)
def test_what_dnacnn_did_not_write_is_replaced_only_with_force(cli, work, args, fragments):
    (work / "notes.txt").write_text("my notes\n")
    (work / "plain").mkdir()
    (work / "plain" / "thesis.tex").write_text("years of work\n")
    (work / "mine").mkdir()
    (work / "mine" / "sequences.tsv").write_text("my own table\n")  # a name explain writes
    assert cli(*encode_args("x.store")).exit_code == 0
    refused(cli, work, args, *fragments)


def test_force_replaces_a_file_and_a_folder_dnacnn_did_not_write(cli, work):
    (work / "notes.txt").write_text("my notes\n")
    result = cli(*predict_args("notes.txt", "--force"))
    assert result.exit_code == 0, result.stderr
    assert (work / "notes.txt").read_text().startswith("id\t")
    (work / "plain").mkdir()
    (work / "plain" / "keep.txt").write_text("mine\n")
    result = cli(*encode_args("plain"), "--force")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (work / "plain").iterdir()) == sorted(
        ["codes.u8", "ids.txt", "labels.f32", "manifest.json", "split.u8"]
    )
    assert temporaries(work) == []


def test_force_never_replaces_a_folder_holding_an_input(cli, work):
    refused(cli, work, [*encode_args("."), "--force"], "--out would replace a folder holding the input")
    refused(cli, work, [*predict_args("seqs.fa"), "--force"], "seqs.fa: --out would replace the input")


def test_an_interrupted_forced_replacement_puts_the_old_folder_back(cli, work, monkeypatch):
    (work / "plain").mkdir()
    (work / "plain" / "keep.txt").write_text("mine\n")

    def interrupted(*args, **kwargs):
        assert not (work / "plain").exists()  # moved aside while the new store is written
        raise KeyboardInterrupt

    monkeypatch.setattr("dnacnn.encode.encode", interrupted)
    result = cli(*encode_args("plain"), "--force")
    assert result.exit_code == 130 and result.stderr.strip() == "dnacnn: interrupted"
    assert (work / "plain" / "keep.txt").read_text() == "mine\n" and temporaries(work) == []


def test_outputs_of_the_same_kind_empty_files_and_links(cli, work):
    """A command's own earlier output, an empty file (made by mktemp or a workflow manager) and a
    link (written through: the file it names is replaced, the link kept) are written without --force."""
    for _ in range(2):
        assert cli("shuffle", "seqs.fa", "-o", "s.fa").exit_code == 0
    (work / "empty.tsv").touch()
    assert cli(*predict_args("empty.tsv")).exit_code == 0
    (work / "real.tsv").write_text("")
    (work / "link.tsv").symlink_to("real.tsv")
    assert cli(*predict_args("link.tsv")).exit_code == 0
    assert (work / "link.tsv").is_symlink() and (work / "real.tsv").read_text().startswith("id\t")
    assert temporaries(work) == []


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "x.store", "-o", "x.store"], ["x.store: --out would replace the input"]),
        (["train", "x.store", "-o", "x.store/m.dnacnn"], ["--out would replace the input", "x.store"]),
        (["train", "x.store", "-o", "."], ["--out would replace a folder holding the input"]),
        (
            ["train", "x.store", "--history", "x.store/h.tsv", "-o", "m2.dnacnn"],
            ["--history would replace the input", "x.store"],
        ),
        (["train", "x.store", "--history", "m2.dnacnn", "-o", "m2.dnacnn"], ["--history names the model file"]),
        (["train", "x.store", "--model", "spec.yaml", "-o", "spec.yaml"], ["spec.yaml: --out would replace the input"]),
        (["tune", "x.store", "-o", "x.store"], ["x.store: --out would replace the input"]),
        (["tune", "x.store", "-o", "x.store/tune"], ["--out would replace the input", "x.store"]),
        (["cv", "x.store", "-o", "x.store"], ["x.store: --out would replace the input"]),
        (["cv", "x.store", "-o", "."], ["--out would replace a folder holding the input"]),
        (["cv-summary", "plain", "-o", "plain"], ["plain: --out would replace the input"]),
        (["cv-summary", "plain", "-o", "plain/cv"], ["--out would replace the input", "plain"]),
        (["aggregate", "plain", "--tsv", "plain/summary.tsv"], ["--tsv would replace the input", "plain"]),
        (["aggregate", "plain", "--tsv", "a.tsv", "--html", "a.tsv"], ["--html and --tsv name the same file"]),
    ],
    ids=[
        "train-store",
        "train-inside",
        "train-dot",
        "train-history",
        "train-history-is-model",
        "train-spec",
        "tune-store",
        "tune-inside",
        "cv-store",
        "cv-dot",
        "cv-summary-eval",
        "cv-summary-inside",
        "aggregate-inside",
        "aggregate-same",
    ],
)
def test_training_and_summaries_refuse_to_replace_their_inputs(cli, work, args, fragments):
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "plain").mkdir()
    (work / "plain" / "metrics.json").write_text("{}\n")
    (work / "spec.yaml").write_text("layers: [flatten]\n")
    refused(cli, work, args, *fragments)


# --------------------------------------------------------------------------- SIGTERM: the old output or the new one


SLOW_STORE = """
import os, time
import dnacnn.store as store

append = store.StoreWriter.append

def slow_append(self, *args, **kwargs):
    append(self, *args, **kwargs)
    open(os.environ["DNACNN_TEST_WRITING"], "w").close()
    time.sleep(60)

store.StoreWriter.append = slow_append
"""


def terminate_when(proc, ready, timeout: float = 90) -> tuple[str, str]:
    """Send SIGTERM to ``proc`` once ``ready()`` holds; its stdout and stderr."""
    import signal
    import time

    deadline = time.time() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the command never reached the point to interrupt"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=timeout)


@pytest.mark.slow
def test_sigterm_during_encode_keeps_the_old_store_and_no_temporary(cli, work, tmp_path_factory):
    from harness import snapshot

    assert cli(*encode_args("x.store")).exit_code == 0
    hooks = tmp_path_factory.mktemp("hooks")
    (hooks / "sitecustomize.py").write_text(SLOW_STORE)
    writing = hooks / "writing"
    before = snapshot(work)
    env = {**os.environ, "PYTHONPATH": f"{hooks}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env["DNACNN_TEST_WRITING"] = str(writing)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dnacnn", *encode_args("x.store")],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = terminate_when(proc, writing.exists)
    assert proc.returncode == 143, err
    assert err.strip() == "dnacnn: terminated"
    assert snapshot(work) == before  # the old store, byte for byte; no temporary


@pytest.mark.slow
def test_sigterm_during_train_keeps_the_old_model_and_names_the_checkpoint(cli, work):
    assert cli(*encode_args("x.store")).exit_code == 0
    shutil.copy(work / "m.dnacnn", work / "m2.dnacnn")  # an earlier model of the same name
    model = (work / "m2.dnacnn").read_bytes()
    args = ["train", "x.store", "--model", "zou2019", "--epochs", "500", "--patience", "500", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dnacnn", *args, "-o", "m2.dnacnn"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = terminate_when(proc, (work / "m2.dnacnn.ckpt").exists)
    assert proc.returncode == 143, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("dnacnn: terminated; m2.dnacnn.ckpt holds the run after epoch"), last
    assert "continue with: dnacnn train x.store" in last and "Traceback" not in err
    assert (work / "m2.dnacnn").read_bytes() == model
    assert temporaries(work) == []


def test_a_refused_run_leaves_no_folders_it_made_above_its_output(cli, work):
    (work / "short.fa").write_text(">a\nACGT\n")  # shorter than the model's 24 bp
    refused(cli, work, ["predict", "m.dnacnn", "short.fa", "-o", "new/deep/p.tsv"], "short.fa", "--length-policy")


# --------------------------------------------------------------------------- outputs told by content


TRAIN = ["train", "x.store", "--model", "spec.yaml", "--epochs", "1", "--threads", "1", "--no-progress"]


@pytest.mark.parametrize("given", ["explicit", "default", "link"])
def test_train_refuses_a_history_dnacnn_did_not_write(cli, work, tmp_path_factory, given):
    """The history TSV (``--history`` or OUT without suffix + .history.tsv) is an output like the
    model: a user's file there, or a link to one, is refused before training, never written."""
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "spec.yaml").write_text("layers: [flatten]\n")
    decoy = tmp_path_factory.mktemp("outside") / "decoy.tsv"
    decoy.write_text("someone else's table\n")
    history = {"explicit": "h.tsv", "default": "m2.history.tsv", "link": "h.tsv"}[given]
    if given == "link":
        (work / history).symlink_to(decoy)
    else:
        (work / history).write_text("my own table\n")
    more = [] if given == "default" else ["--history", history]
    refused(cli, work, [*TRAIN, "-o", "m2.dnacnn", *more], f"{history}: exists and is not", "--history", "--force")
    assert decoy.read_text() == "someone else's table\n"


def test_train_replaces_its_own_history_and_force_replaces_a_link_not_its_target(cli, work, tmp_path_factory):
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "spec.yaml").write_text("layers: [flatten]\n")
    for _ in range(2):  # the second run replaces the first one's history and model
        result = cli(*TRAIN, "-o", "m2.dnacnn", "--history", "h.tsv")
        assert result.exit_code == 0, result.stderr
    assert (work / "h.tsv").read_text().startswith("epoch\tloss\tval_loss\tval_metric\tlr\tseconds\n")
    decoy = tmp_path_factory.mktemp("outside") / "decoy.tsv"
    decoy.write_text("someone else's table\n")
    (work / "h2.tsv").symlink_to(decoy)
    result = cli(*TRAIN, "-o", "m3.dnacnn", "--history", "h2.tsv", "--force")
    assert result.exit_code == 0, result.stderr
    assert not (work / "h2.tsv").is_symlink() and (work / "h2.tsv").read_text().startswith("epoch\t")
    assert decoy.read_text() == "someone else's table\n" and temporaries(work) == []


def test_train_keeps_a_file_at_out_ckpt_dnacnn_did_not_write(cli, work):
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "spec.yaml").write_text("layers: [flatten]\n")
    (work / "m2.dnacnn.ckpt").write_text("not a checkpoint: my file\n")
    refused(cli, work, [*TRAIN, "-o", "m2.dnacnn"], "m2.dnacnn.ckpt: exists and is not", "--force")


@pytest.mark.parametrize(
    "command, marker",
    [
        (["explain", "m.dnacnn", "seqs.fa", "--method", "gradxinput", "--plots", "0"], "attributions.tsv"),
        (["motifs", "m.dnacnn", "x.store", "--database", "none", "--no-logos"], "filters.tsv"),
        (["motifs", "m.dnacnn", "x.store", "--database", "none", "--no-logos"], "modisco_patterns.tsv"),
        (["tune", "x.store", "--trials", "1", "--epochs", "1"], "trials.tsv"),
        (["cv", "x.store", "--epochs", "1"], "cv.json"),
    ],
    ids=["explain", "motifs-filters", "motifs-modisco", "tune", "cv"],
)
def test_a_folder_holding_a_marker_name_with_a_users_content_is_refused(cli, work, command, marker):
    """A folder written into counts as the command's own by its marker file's content (the
    table's header, cv.json's keys), not by the name alone."""
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "out").mkdir()
    (work / "out" / marker).write_text("my own table\n")
    writer = command[0]
    refused(cli, work, [*command, "-o", "out"], f"out: holds {marker}, not written by dnacnn {writer}", "--force")


def test_a_marker_written_by_dnacnn_still_makes_the_folder_its_own(tmp_path):
    from dnacnn.cli.guard import KINDS

    cases = {
        "explain": ("attributions.tsv", "id\tposition\tbase\tscore\ns1\t1\tA\t0.5\n"),
        "motifs": ("filters.tsv", "filter\tn_sites\tinfluence\nfilter_0\t3\t0.1\n"),
        "tune": ("trials.tsv", "number\tstate\tvalue\tseconds\tbest_epoch\n0\tCOMPLETE\t0.7\t1.0\t1\n"),
        "cv": ("cv.json", '{"task": "binary", "metric": "auroc", "folds": [1], "models": {}, "per_fold": {}}\n'),
    }
    for kind, (name, text) in cases.items():
        folder = tmp_path / kind
        folder.mkdir()
        (folder / name).write_text(text)
        assert KINDS[kind].ours(folder), kind
        (folder / name).write_text("my own table\n")
        assert not KINDS[kind].ours(folder), kind


def test_scan_into_a_folder_refuses_a_track_file_dnacnn_did_not_write(cli, work):
    (work / "tracks").mkdir()
    (work / "tracks" / "m.bw").write_text("my own track\n")  # the folder form writes tracks/MODEL.bw
    refused(cli, work, ["scan", "m.dnacnn", "genome.fa", "-o", "tracks/", "--no-progress"], "tracks/m.bw", "--force")


def test_encode_keeps_a_users_file_inside_an_existing_store(cli, work):
    assert cli(*encode_args("x.store")).exit_code == 0
    (work / "x.store" / "README.txt").write_text("what this store is\n")
    refused(cli, work, encode_args("x.store"), "x.store:", "README.txt", "--force")
    result = cli(*encode_args("x.store"), "--force")
    assert result.exit_code == 0, result.stderr
    assert not (work / "x.store" / "README.txt").exists() and temporaries(work) == []


def test_cv_with_a_fold_the_store_lacks_leaves_no_folder(cli, work):
    assert cli(*encode_args("x.store"), "--split", "folds", "--folds", "2").exit_code == 0
    refused(cli, work, ["cv", "x.store", "--epochs", "1", "--folds", "9", "-o", "cvo"], "--folds 9", "1..2")
