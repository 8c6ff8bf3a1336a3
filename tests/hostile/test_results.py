"""Result folders are data, never pointers (issue 17): what ``cv-summary``, ``aggregate`` and
``evaluate --motifs`` read back.

Every file dnacnn reads from a result folder (an evaluation's ``metrics.json`` and
``predictions.tsv``, a motifs folder's ``filters.tsv``, ``modisco_*.tsv`` and logos) goes through
:func:`dnacnn.store_files.open_result_file`: its own regular file, never a link, a hard link, a FIFO
or a device; JSON through :mod:`dnacnn.io.jsonfile` (bounded size and depth); its content checked
for the fields dnacnn uses.  Each case makes one folder hostile or broken one way; the command must
answer with one line naming the file (or the option, or the source of a bad value), exit 1, write
nothing, and never copy a byte of a file a folder points at.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import DATA
from harness import refused
from test_resources import forge_meta

SECRET = "HOSTILE_RESULTS_SECRET"
ZOU_MODEL = Path(__file__).resolve().parents[2] / "galaxy" / "test-data" / "zou.dnacnn"
FILTERS = (
    "filter\tn_sites\tinfluence\teffect\tinformation_content\ttotal_ic\tmax_activation\tcore_start\tcore_width"
    "\tconsensus\nfilter_0\t12\t0.5\t0.1\t6.2\t7\t3.1\t1\t8\tACGTACGT\n"
)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """``f.store`` (200 Zou sequences, 2 folds) and its two fold evaluations ``e1``, ``e2``, made once."""
    from dnacnn.encode import encode
    from dnacnn.encode_options import EncodeOptions
    from dnacnn.evaluate import evaluate

    folder = tmp_path_factory.mktemp("results")
    lines = (DATA / "zou_sequences.txt").read_text().splitlines()[:200]
    labels = (DATA / "zou_labels.txt").read_text().splitlines()[:200]
    (folder / "seqs.txt").write_text("\n".join(lines) + "\n")
    (folder / "labels.txt").write_text("\n".join(labels) + "\n")
    opts = dict(format="lines", labels=str(folder / "labels.txt"), progress=False, split="folds", folds=2)
    encode(folder / "seqs.txt", folder / "f.store", EncodeOptions(**opts))
    for k in (1, 2):
        evaluate(ZOU_MODEL, folder / "f.store", folder / f"e{k}", fold=k, baseline=False, progress=False)
    return folder


@pytest.fixture
def here(work, made) -> Path:
    """The ``work`` folder with copies of the evaluations, the store, the model, a secret beside
    them and a motifs folder ``mo`` holding a good ``filters.tsv``."""
    for name in ("e1", "e2", "f.store"):
        shutil.copytree(made / name, work / name)
    shutil.copy(ZOU_MODEL, work / "zou.dnacnn")
    (work / "secret.txt").write_text(f"{SECRET}\tx\n1\t2\n")
    (work / "mo").mkdir()
    (work / "mo" / "filters.tsv").write_text(FILTERS)
    return work


def _link(name: str, target: str = "secret.txt"):
    def change(w: Path) -> None:
        (w / name).unlink(missing_ok=True)
        (w / name).symlink_to(w / target)

    return change


def _hard_link(name: str):
    def change(w: Path) -> None:
        (w / name).unlink()
        os.link(w / "secret.txt", w / name)

    return change


def _fifo(name: str):
    def change(w: Path) -> None:
        (w / name).unlink()
        os.mkfifo(w / name)

    return change


def _folder(name: str):
    def change(w: Path) -> None:
        (w / name).unlink()
        (w / name).mkdir()

    return change


def _text(name: str, text: str | bytes):
    def change(w: Path) -> None:
        (w / name).write_bytes(text if isinstance(text, bytes) else text.encode())

    return change


def _huge(name: str, size: int):
    def change(w: Path) -> None:
        os.truncate(w / name, size)  # sparse: no disk used

    return change


def _metrics(edit):
    """e1/metrics.json passed through ``edit`` (in place, or returning a replacement)."""

    def change(w: Path) -> None:
        m = json.loads((w / "e1" / "metrics.json").read_text())
        result = edit(m)
        (w / "e1" / "metrics.json").write_text(json.dumps(m if result is None else result))

    return change


def _predictions(edit):
    def change(w: Path) -> None:
        f = w / "e2" / "predictions.tsv"
        f.write_text(edit(f.read_text()))

    return change


DEEP = "[" * 100_000 + "]" * 100_000
M, P = "e1/metrics.json", "e2/predictions.tsv"
LINK = "is a symbolic link"

CV_CASES = [
    ("predictions-link-to-secret", _link(P), [P, LINK, "re-run 'dnacnn evaluate'"]),
    ("metrics-link-to-secret", _link(M), [M, LINK]),
    ("metrics-link-to-sibling", _link(M, "e2/metrics.json"), [M, LINK]),
    ("predictions-hard-link", _hard_link(P), [P, "has 2 hard links", "cp -r"]),
    ("predictions-fifo", _fifo(P), [P, "is a FIFO"]),
    ("metrics-fifo", _fifo(M), [M, "is a FIFO"]),
    ("predictions-a-folder", _folder(P), [P, "is a folder"]),
    ("metrics-truncated", lambda w: _text(M, (w / M).read_text()[:40])(w), [M, "is not a JSON metrics file"]),
    ("metrics-empty", _text(M, ""), [M, "is not a JSON metrics file"]),
    ("metrics-deep-100k", _text(M, DEEP), [M, "nested more than 64 levels"]),
    ("metrics-deep-80", _text(M, "[" * 80 + "]" * 80), [M, "nested more than 64 levels"]),
    ("metrics-latin1", _text(M, b'{"task": "\xe9"}'), [M, "is not a JSON metrics file"]),
    ("metrics-int-5000-digits", _text(M, '{"n": ' + "9" * 5000 + "}"), [M, "is not a JSON metrics file"]),
    ("metrics-huge-sparse", _huge(M, 65 << 20), [M, "more than"]),
    ("metrics-a-list", _text(M, "[1, 2]"), [M, "'task' missing or wrong"]),
    ("metrics-task-unknown", _metrics(lambda m: m.update(task="poetry")), [M, "'task' missing or wrong"]),
    ("metrics-no-run", _metrics(lambda m: m.pop("run") and None), [M, "'run' missing or wrong"]),
    ("metrics-fold-text", _metrics(lambda m: m["run"].update(fold="1")), [M, "'run' fold"]),
    ("metrics-no-label-names", _metrics(lambda m: m["cnn"].pop("label_names") and None), [M, "'cnn' label_names"]),
    ("metrics-baseline-a-list", _metrics(lambda m: m.update(baseline=[1])), [M, "'baseline' missing"]),
    ("predictions-empty", _text(P, ""), [P, "is not a table dnacnn writes"]),
    ("predictions-secret-table", _text(P, f"{SECRET}\tx\n1\t2\n"), [P, "has no column 'id'"]),
    ("predictions-no-cnn-column", _predictions(lambda t: t.replace("cnn_label", "cnn_other")), [P, "'cnn_label'"]),
    ("predictions-text-score", _predictions(lambda t: t.replace("\t0.", "\tzero", 1)), [P, "not numbers"]),
    ("predictions-ragged-row", _predictions(lambda t: t + "x\t1\t0.5\textra\n"), [P, "is not a table"]),
    ("predictions-not-utf8", lambda w: _text(P, (w / P).read_bytes() + b"\xff\n")(w), [P, "is not a table"]),
]


@pytest.mark.parametrize("change, fragments", [c[1:] for c in CV_CASES], ids=[c[0] for c in CV_CASES])
def test_cv_summary_refuses_hostile_fold_folders(cli, here, change, fragments):
    change(here)
    line = refused(cli, here, ["cv-summary", "e1", "e2", "-o", "sum"], *fragments)
    assert SECRET not in line


AGG = ["aggregate", "e1", "e2", "--tsv", "sum.tsv"]
AGG_CASES = [
    ("names-one-for-two", ["--names", "a/b"], None, ["--names gives 1 name for 2"]),
    ("names-three-for-two", ["--names", "a/b,c/d,e/f"], None, ["--names gives 3 names for 2"]),
    ("names-tab", ["--names", "da\tta/mo,x/y"], None, ["--names", "holds a tab"]),
    ("names-newline", ["--names", "a/mo\ndel,x/y"], None, ["--names", "line break"]),
    ("names-u2028", ["--names", "a\u2028b/m,x/y"], None, ["--names", "U+2028"]),
    ("names-space", ["--names", "my data/m,x/y"], None, ["--names", "space"]),
    ("metrics-deep", [], _text(M, DEEP), [M, "nested more than"]),
    ("metrics-link-to-secret", [], _link(M), [M, LINK]),
    ("metrics-huge-sparse", [], _huge(M, 65 << 20), [M, "more than"]),
    ("metrics-no-tasks", [], _metrics(lambda m: m["cnn"].pop("tasks") and None), [M, "lack or garble"]),
    ("metrics-macro-a-list", [], _metrics(lambda m: m["cnn"].update(macro=[1])), [M, "'cnn' missing"]),
    ("metrics-main-metric-number", [], _metrics(lambda m: m.update(main_metric=3)), [M, "'main_metric'"]),
]


@pytest.mark.parametrize("extra, change, fragments", [c[1:] for c in AGG_CASES], ids=[c[0] for c in AGG_CASES])
def test_aggregate_refuses_hostile_folders_and_names(cli, here, extra, change, fragments):
    if change:
        change(here)
    refused(cli, here, [*AGG, *extra], *fragments)


F, MO = "mo/filters.tsv", "re-run 'dnacnn motifs'"
MOTIF_CASES = [
    ("filters-link-to-secret", _link(F), [F, LINK, MO]),
    ("filters-fifo", _fifo(F), [F, "is a FIFO"]),
    ("filters-secret-table", _text(F, f"{SECRET}\tx\n1\t2\n"), [F, "has no column 'filter'"]),
    ("filters-sites-text", _text(F, FILTERS.replace("\t12\t", "\ttwelve\t")), [F, "'n_sites'", "not numbers"]),
    ("logo-link-to-secret", lambda w: (_mkdir(w), _link("mo/logos/filter_0.png")(w)), ["filter_0.png", LINK]),
    ("logos-folder-link", lambda w: (w / "mo" / "logos").symlink_to(w), ["mo/logos", LINK]),
    ("logos-folder-link-to-png", lambda w: _logos_link_to_png(w), ["mo/logos", LINK]),
    ("filter-name-escapes", _text(F, FILTERS.replace("filter_0", "../../secret")), ["not a file name inside"]),
    ("patterns-link-to-secret", _link("mo/modisco_patterns.tsv"), ["mo/modisco_patterns.tsv", LINK]),
    ("tomtom-link-to-secret", lambda w: _tomtom_link(w), ["mo/modisco_tomtom.tsv", LINK]),
]


def _mkdir(w: Path) -> None:
    (w / "mo" / "logos").mkdir()


def _logos_link_to_png(w: Path) -> None:
    (w / "elsewhere").mkdir()
    (w / "elsewhere" / "filter_0.png").write_text(SECRET)
    (w / "mo" / "logos").symlink_to(w / "elsewhere")


def _tomtom_link(w: Path) -> None:
    (w / "mo" / "modisco_patterns.tsv").write_text("pattern\tsign\tn_seqlets\tconsensus\np0\tpositive\t3\tACGT\n")
    _link("mo/modisco_tomtom.tsv")(w)


@pytest.mark.parametrize("change, fragments", [c[1:] for c in MOTIF_CASES], ids=[c[0] for c in MOTIF_CASES])
def test_evaluate_refuses_hostile_motifs_folders(cli, here, change, fragments):
    from dnacnn.interpret.motif_report import motif_section

    change(here)
    args = [
        "evaluate",
        "zou.dnacnn",
        "f.store",
        "--fold",
        "1",
        "--no-baseline",
        "--threads",
        "1",
        "--motifs",
        "mo",
        "-o",
        "ev",
    ]
    refused(cli, here, args, *fragments)
    with pytest.raises(Exception) as caught:  # the library refuses the same way
        motif_section(here / "mo")
    assert SECRET not in str(caught.value)


def test_a_good_motifs_folder_still_reads(here):
    from dnacnn.interpret.motif_report import motif_section

    title, html = motif_section(here / "mo")
    assert "filter_0" in html and title.startswith("Motifs")


def test_good_fold_folders_still_summarize(cli, here):
    result = cli("cv-summary", "e1", "e2", "-o", "sum")
    assert result.exit_code == 0, result.stderr
    result = cli("aggregate", "e1", "e2", "--names", "a/b,c/d", "--tsv", "sum.tsv")
    assert result.exit_code == 0, result.stderr


# ------------------------------------------------------ bad values blamed on their source, not the output


def _bad_id(value: str):
    def change(w: Path) -> None:
        f = w / "f.store" / "ids.txt"
        ids = f.read_text().split("\n")
        ids[6] = value
        f.write_text("\n".join(ids))

    return change


def _manifest_label(name: str):
    def change(w: Path) -> None:
        f = w / "f.store" / "manifest.json"
        m = json.loads(f.read_text())
        m["label_names"] = [name]
        f.write_text(json.dumps(m))

    return change


SOURCE_CASES = [
    ("store-id-u2028", _bad_id("seq7\u2028forged"), ["f.store/ids.txt", "record 7", "U+2028"]),
    ("store-id-tab", _bad_id("seq7\tforged"), ["f.store/ids.txt", "record 7", "a tab"]),
    ("store-id-nel", _bad_id("seq7\x85forged"), ["f.store/ids.txt", "record 7"]),
    ("store-label-name-tab", _manifest_label("la\tbel"), ["f.store/manifest.json", "'label_names' name 1"]),
    ("store-label-name-newline", _manifest_label("la\nbel"), ["f.store/manifest.json", "'label_names' name 1"]),
]


@pytest.mark.parametrize("change, fragments", [c[1:] for c in SOURCE_CASES], ids=[c[0] for c in SOURCE_CASES])
def test_evaluate_blames_the_store_for_bad_values(cli, here, change, fragments):
    change(here)
    args = ["evaluate", "zou.dnacnn", "f.store", "--fold", "1", "--no-baseline", "--threads", "1", "-o", "ev"]
    refused(cli, here, args, *fragments)


@pytest.mark.parametrize(
    "name, fragment",
    [("bound\tforged_col\nforged_row", "a tab"), ("a\u2028b", "U+2028"), ("a\rb", "\\r"), ("a\x85b", "U+0085")],
    ids=["tab-newline", "u2028", "cr", "nel"],
)
def test_predict_blames_the_model_for_a_bad_label_name(cli, work, name, fragment):
    forge_meta(work, lambda m: m.update(label_names=[name]))
    args = ["predict", "forged.dnacnn", "seqs.fa", "-o", "p.tsv"]
    refused(cli, work, args, "forged.dnacnn", "'label_names' name 1", fragment)
