"""TF-MoDISco in the tools around ``dnacnn motifs``: the workflow's ``motifs: method:`` key and the
Galaxy tool's *Motifs from* choice.

The Galaxy tool's own ``<test>``s (including a TF-MoDISco run on the bundled Zou primer sequences)
run in tests/test_galaxy.py; here the workflow is dry-run (``snakemake -n -p``) on a copy of
``.test/``, as in tests/test_workflow.py, and the choices each tool offers are checked against
the library's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from test_galaxy import GALAXY_DIR, load_tool
from test_workflow import ROOT, dry_run_jobs, output, snakemake, write_config

from dnacnn.interpret.modisco import ATTRIBUTIONS
from dnacnn.interpret.motifs import MOTIF_METHODS

MOTIFS_XML = GALAXY_DIR / "dnacnn_motifs.xml"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
# what `dnacnn motifs` writes for each method besides motifs.html (dnacnn.interpret.motif_files)
FILTER_FILES = {"filters.meme", "tomtom.tsv"}
PATTERN_FILES = {"modisco_patterns.meme", "modisco_patterns.tsv", "modisco_tomtom.tsv"}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh copy of .test/ (config + tiny data), as tests/test_workflow.py's."""
    target = tmp_path / "wd"
    shutil.copytree(ROOT / ".test", target, ignore=shutil.ignore_patterns("results", ".snakemake"))
    return target


def motifs_jobs(workdir: Path, motifs: dict | None) -> list[dict]:
    """The motifs jobs of a dry run of every interpretation, with ``motifs:`` set to ``motifs``
    (None: left out of the config); each job with its shell command and declared outputs."""

    def edit(config):
        config["interpret"] = True
        if motifs is not None:
            config["motifs"] = motifs

    write_config(workdir, edit)
    result = snakemake(workdir, "-n", "-p")
    assert result.returncode == 0, output(result)
    text = output(result)
    jobs = [job for job in dry_run_jobs(text) if job["rule"] == "motifs"]
    outputs = re.findall(r"^\s*rule motifs:\n(?:.*\n)*?\s*output: (.*)$", text, flags=re.M)
    assert len(outputs) == len(jobs) == 2, text  # zou and rest: the DNA runs of .test
    for job, files in zip(jobs, outputs):
        job["output"] = {Path(f).name for f in files.split(", ")}
    return jobs


# --------------------------------------------------------------------------- workflow


def test_default_motifs_method_is_filters(workdir):
    for job in motifs_jobs(workdir, None):
        assert re.search(r" -o results/\w+/\w+/motifs --method filters > ", job["shell"]), job["shell"]
        assert "--attribution" not in job["shell"]
        assert job["output"] == {"motifs.html"} | FILTER_FILES


@pytest.mark.parametrize(
    ("method", "files"),
    [("modisco", PATTERN_FILES), ("both", FILTER_FILES | PATTERN_FILES)],
)
def test_motifs_method_reaches_dnacnn_motifs_and_picks_the_outputs(workdir, method, files):
    for job in motifs_jobs(workdir, {"method": method, "attribution": "deeplift"}):
        assert f" --method {method} --attribution deeplift > " in job["shell"], job["shell"]
        assert job["output"] == {"motifs.html"} | files


def test_attribution_defaults_to_gradient_x_input(workdir):
    for job in motifs_jobs(workdir, {"method": "modisco"}):
        assert " --method modisco --attribution gradxinput > " in job["shell"], job["shell"]


def test_lint_is_clean_with_modisco(workdir):
    write_config(workdir, lambda c: c.update(interpret=True, motifs={"method": "modisco"}))
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, output(result)
    assert "Lints for" not in output(result)


@pytest.mark.parametrize(
    ("motifs", "message"),
    [
        ({"method": "tfmodisco"}, "invalid config: motifs -> method: 'tfmodisco' is not one of"),
        ({"attribution": "saliency"}, "invalid config: motifs -> attribution: 'saliency' is not one of"),
        ({"methods": "both"}, "invalid config: motifs: Additional properties are not allowed ('methods' was"),
    ],
)
def test_bad_motifs_config_fails_with_one_line(workdir, motifs, message):
    write_config(workdir, lambda c: c.update(motifs=motifs))
    result = snakemake(workdir, "-n")
    text = output(result)
    assert result.returncode != 0
    assert text.count("invalid config:") == 1 and message in text, text
    assert "Traceback" not in text, text


def test_schema_offers_the_librarys_methods_and_attributions():
    motifs = yaml.safe_load(SCHEMA.read_text())["properties"]["motifs"]["properties"]
    assert tuple(motifs["method"]["enum"]) == MOTIF_METHODS and motifs["method"]["default"] == "filters"
    assert tuple(motifs["attribution"]["enum"]) == ATTRIBUTIONS


# --------------------------------------------------------------------------- Galaxy


def _select(root, argument: str) -> list[str]:
    params = [p for p in root.iter("param") if p.get("argument") == argument]
    assert params, f"no {argument} parameter"
    return [o.get("value") for o in params[0].iter("option")]


def test_galaxy_tool_offers_the_librarys_methods_and_attributions():
    source, *_ = load_tool(MOTIFS_XML)
    assert tuple(_select(source.root, "--method")) == MOTIF_METHODS
    assert tuple(_select(source.root, "--attribution")) == ATTRIBUTIONS


def test_galaxy_outputs_follow_the_method():
    """Each output file appears only for the methods that write it (its <filter>)."""
    _, _, outputs, _ = load_tool(MOTIFS_XML)
    written = {
        "filters": {"filters.tsv"} | FILTER_FILES,
        "modisco": PATTERN_FILES,
        "both": {"filters.tsv"} | FILTER_FILES | PATTERN_FILES,
    }
    for method in MOTIF_METHODS:
        shown = set()
        for elem in outputs:
            condition = elem.findtext("filter")
            namespace = {"discovery": {"method": method}, "database": {"source": "jaspar"}}
            if condition is None or eval(condition, {}, namespace):  # noqa: S307 (our own XML)
                shown.add(Path(elem.get("from_work_dir")).name)
        assert shown == written[method] | {"motifs.html"}, method
