"""The command line as a first session meets it: help at 80 columns, examples, presets, summary."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml
from conftest import assert_one_line_error
from typer.testing import CliRunner

from dnacnn.cli import app
from dnacnn.models import list_presets, load_spec

REPO = Path(__file__).resolve().parents[1]
COMMAND = typer.main.get_command(app)
COMMANDS = sorted(COMMAND.commands)
LEAKS = ("<bool>", "list[", "Path]", "…")  # Python type names, rich's truncation mark


def _help(*command: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)}, terminal_width=columns)
    assert result.exit_code == 0, result.output
    return result.stdout


def _option_names(command) -> list[str]:
    return [name for param in command.params for name in (*param.opts, *param.secondary_opts) if name.startswith("-")]


def _examples(text: str) -> list[list[str]]:
    """The ``dnacnn ...`` commands of a help's examples, continuation lines joined, as arguments."""
    body = text.split("Examples", 1)[1].split("\n\n", 1)[1]  # after the intro paragraph
    joined = re.sub(r"\\\n\s*", " ", body)
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        while "dnacnn" in words:  # each `dnacnn ...` of a pipeline, up to its | or >
            words = words[words.index("dnacnn") + 1 :]
            end = next((i for i, w in enumerate(words) if w in ("|", ">")), len(words))
            commands.append(words[:end])
            words = words[end:]
    return commands


def test_the_commands_are_the_expected_ones():
    assert {"encode", "train", "predict", "evaluate", "summary", "presets"} <= set(COMMANDS)


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_help_fits_80_columns_and_hides_nothing(name):
    """`COLUMNS=80 dnacnn CMD --help`: no line past 80 columns, nothing cut with an ellipsis, every
    option name whole, no Python type names."""
    command = COMMAND if name is None else COMMAND.commands[name]
    text = _help(*([name] if name else []))
    for leak in LEAKS:
        assert leak not in text, (leak, text)
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long
    for option in _option_names(command):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (option, text)


def test_the_command_list_shows_each_summary_whole():
    text = " ".join(_help().split())
    for name in COMMANDS:
        first = COMMAND.commands[name].help.split("\n\n")[0]
        assert " ".join(first.split()) in text, name
    assert "..." not in text.split("Commands:")[1].split("Examples")[0]


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_help_ends_with_examples_that_parse(name):
    """Every help ends with examples on the bundled data: the data files exist, and each
    `dnacnn ...` line is a valid command line (parsed by the command, not run)."""
    text = _help(*([name] if name else []))
    assert "Examples" in text
    examples = _examples(text)
    assert examples, text
    if name:
        assert any(words[0] == name for words in examples), examples
    for path in re.findall(r"\bdata/[\w./-]+", text.split("Examples", 1)[1]):
        assert (REPO / path).is_file(), path
    for words in examples:
        command = COMMAND.commands[words[0]]
        command.make_context(words[0], list(words[1:]))  # a usage error (unknown option...) raises


def test_rich_formatting_stays_off_whatever_the_environment():
    result = CliRunner().invoke(
        app, ["encode", "--help"], env={"COLUMNS": "80", "TYPER_USE_RICH": "1", "FORCE_COLOR": "1"}, terminal_width=80
    )
    assert "--negatives-per-positive" in result.stdout and "╭" not in result.stdout


# --------------------------------------------------------------------------- options from a dataclass


def test_encode_has_one_option_per_encode_options_field_in_its_order():
    from dnacnn.cli.options import cli_fields, option_name
    from dnacnn.encode_options import EncodeOptions

    params = [p.name for p in COMMAND.commands["encode"].params]
    assert params[:3] == ["input", "out", "force"]
    assert params[3:] == [option_name(f) for f, _ in cli_fields(EncodeOptions)]
    assert {"label_col", "genotype_encoding"} <= set(params[3:])  # where the CLI name differs


def test_encode_options_reach_the_encoder_as_encode_options(cli, monkeypatch):
    """Comma-separated lists split and stripped, paths as text, switches and CLI names mapped back."""
    import dnacnn.encode
    from dnacnn.encode_options import EncodeOptions
    from dnacnn.errors import DnacnnError

    received = []

    def stop(input, out, opts):
        received.append((str(input), str(out), opts))
        raise DnacnnError("stopped before reading")

    monkeypatch.setattr(dnacnn.encode, "encode", stop)
    args = ["encode", "in.tsv", "-o", "x.store", "--label-col", "A, B,,C", "--genotype-encoding", "dosage"]
    args += ["--genome", "g.fa", "--fold-file", "sets.txt", "--test-chroms", "chr8,chr9", "--target-log1p"]
    assert_one_line_error(cli(*args, "--no-progress", "--folds", "5"), "stopped before reading")
    expected = EncodeOptions(
        label_cols=["A", "B", "C"], genotype_scheme="dosage", genome="g.fa", fold_file="sets.txt",
        test_chroms=["chr8", "chr9"], target_log1p=True, progress=False, folds=5,
    )  # fmt: skip
    assert received == [("in.tsv", "x.store", expected)]


# --------------------------------------------------------------------------- presets


def test_presets_list_wraps_between_words_at_80_columns():
    result = CliRunner().invoke(app, ["presets"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    entries = re.split(r"\n(?=\S)", result.stdout.strip())
    assert [e.split()[0] for e in entries] == list_presets()
    for entry in entries:
        name, text = entry.split(maxsplit=1)
        # rejoined at the line breaks, each description reads exactly as written: no word was cut
        assert " ".join(text.split()) == " ".join(load_spec(name)["description"].split()), name


def test_presets_name_prints_its_yaml_to_start_from(cli, tmp_path):
    result = cli("presets", "tfbind")
    assert result.exit_code == 0
    shipped = (REPO / "dnacnn" / "models" / "presets" / "tfbind.yaml").read_text()
    assert result.stdout == shipped
    mine = tmp_path / "my.yaml"
    mine.write_text(result.stdout)  # dnacnn presets tfbind > my.yaml
    assert load_spec(str(mine))["layers"] == load_spec("tfbind")["layers"]
    assert yaml.safe_load(result.stdout)["name"] == "tfbind"


def test_presets_unknown_name_is_one_line_with_the_valid_names(cli):
    line = assert_one_line_error(cli("presets", "tfbnd"), "unknown preset 'tfbnd'", code=1)
    for name in list_presets():
        assert name in line


# --------------------------------------------------------------------------- summary


@pytest.mark.parametrize("name", list_presets())
def test_summary_of_every_preset_needs_no_length(cli, name):
    result = cli("summary", name)
    assert result.exit_code == 0, result.stderr
    assert "Total params" in result.stdout
    assert "assuming --length" in result.stderr  # what was assumed is said


@pytest.mark.parametrize(
    ("name", "shape", "total"),
    [
        ("zou2019", "(None, 50, 4)", "6,226"),
        ("tfbind", "(None, 101, 4)", "66,433"),
        ("snp-cnn", "(None, 1279, 3)", None),
    ],
)
def test_summary_assumes_the_input_of_the_bundled_data(cli, name, shape, total):
    result = cli("summary", name)
    assert f"Input: {shape}" in result.stdout
    if total:
        assert f"Total params: {total}" in result.stdout


def test_summary_as_in_the_readme(cli):
    result = cli("summary", "zou2019", "--length", "50", "--channels", "4")
    assert result.exit_code == 0 and "Total params: 6,226" in result.stdout
    assert result.stderr == ""  # nothing assumed, nothing to say


# --------------------------------------------------------------------------- signals and one-line failures


def test_sigterm_is_handled_only_while_a_command_runs(cli):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    assert cli("presets").exit_code == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_setting_error_is_named_by_the_commands_option(cli, monkeypatch):
    """The library names its setting; the CLI its option, found by the parameter's name."""
    from dnacnn.errors import SettingError

    def refuse(*args, **kwargs):
        raise SettingError("seq_col", "names no column of the table", "give --seq-col NAME")

    monkeypatch.setattr("dnacnn.predict.predict", refuse)
    result = cli("predict", "m.dnacnn", "x.fa", "-o", "-")
    assert result.exit_code == 1
    assert result.stderr == "dnacnn: error: --seq-col names no column of the table; give --seq-col NAME\n"
