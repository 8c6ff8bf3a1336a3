"""Write the training settings of dnacnn.train.settings into the workflow, Galaxy tool and docs.

:class:`dnacnn.train.TrainSettings` is the one place a training setting is written; this script
rewrites the marked blocks that repeat it elsewhere:

* ``workflow/rules/common.smk``: ``TRAIN_SETTINGS`` (model entry key -> ``dnacnn train`` option)
  and ``DEFAULT_SEARCH_KEYS`` (the keys of ``dnacnn.tune.DEFAULT_SEARCH``);
* ``workflow/schemas/model.schema.yaml``: one property per workflow setting (type, bounds, choices);
* ``galaxy/dnacnn_train.xml``: the command lines and the parameters of the main and advanced sections;
* ``config/README.md``: the table of a model entry's training settings.

    python scripts/gen_train_settings.py           # rewrite the blocks
    python scripts/gen_train_settings.py --check   # exit 1 naming every file out of date (tests run this)
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "written by scripts/gen_train_settings.py from dnacnn/train/settings.py; do not edit"
GALAXY_TYPES = {"int": "integer", "float": "float"}
SCHEMA_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


def settings():
    sys.path.insert(0, str(ROOT))
    from dnacnn.train import settings as module

    return module


def workflow_keys() -> list[str]:
    s = settings()
    return [name for name, f in s.FIELDS.items() if f.metadata.get("workflow")]


# --------------------------------------------------------------------------- common.smk


def smk_block() -> str:
    from dnacnn.tune import DEFAULT_SEARCH

    s = settings()
    lines = ["TRAIN_SETTINGS = {  # a model entry's training settings: its dnacnn train option (--x/--no-x: a switch)"]
    for name in workflow_keys():
        option = s.flag(name)
        if s.kind(name) == "bool":
            option += "/" + option.replace("--", "--no-", 1)
        lines.append(f'    "{name}": "{option}",')
    lines.append("}")
    lines.append(
        "# dnacnn.tune.DEFAULT_SEARCH: what a study varies when neither tune.search nor the spec names a space"
    )
    lines.append(f"DEFAULT_SEARCH_KEYS = ({', '.join(json.dumps(key) for key in DEFAULT_SEARCH)})")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- model.schema.yaml


def schema_block() -> str:
    s = settings()
    out = []
    for name in workflow_keys():
        meta, kind = s.FIELDS[name].metadata, s.kind(name)
        default = meta["default"]
        preset = f"the preset's value, else {json.dumps(default)}" if default is not None else "the preset's value"
        out.append(f"  {name}:")
        out.append(f"    description: {json.dumps(s.about(name).rstrip('.') + f'; null: {preset}.')}")
        if "choices" in meta:
            out.append(f"    enum: [{', '.join(meta['choices'])}, null]")
        else:
            out.append(f'    type: [{SCHEMA_TYPES[kind]}, "null"]')
        for key, word in (("low", "minimum"), ("high", "maximum"), ("above", "exclusiveMinimum")):
            if key in meta:
                out.append(f"    {word}: {meta[key]}")
        if "below" in meta:
            out.append(f"    exclusiveMaximum: {meta['below']}")
        out.append("    default: null")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- galaxy/dnacnn_train.xml


def galaxy_ref(name: str) -> str:
    s = settings()
    return f"$advanced.{name}" if s.FIELDS[name].metadata.get("galaxy") == "advanced" else f"${name}"


def galaxy_names() -> list[str]:
    s = settings()
    return [name for name, f in s.FIELDS.items() if f.metadata.get("galaxy")]


def galaxy_command() -> str:
    s = settings()
    out = []
    for name in galaxy_names():
        f, ref, option = s.FIELDS[name], galaxy_ref(name), s.flag(name)
        if s.kind(name) == "bool":
            no = option.replace("--", "--no-", 1)
            out += [f"#if {ref} == 'yes':", f"    {option}", f"#elif {ref} == 'no':", f"    {no}", "#end if"]
        elif "choices" in f.metadata and f.default is None:
            out += [f"#if {ref} != 'default':", f"    {option} '{ref}'", "#end if"]
        elif f.default is None:
            out += [f"#if str({ref}):", f"    {option} '{ref}'", "#end if"]
        elif "pattern" in f.metadata:
            out.append(f"    {option} '$q({ref})'")
        else:
            out.append(f"    {option} '{ref}'")
    return "\n".join(out) + "\n"


def xml_text(text: str) -> str:
    """``text`` inside a double-quoted XML attribute."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def galaxy_help(name: str) -> str:
    s = settings()
    f = s.FIELDS[name]
    text = s.about(name)
    if f.default is None:
        text += " Empty: the model's default." if f.metadata.get("spec") else " Empty: none."
    return xml_text(text)


def galaxy_param(name: str, indent: str) -> list[str]:
    s = settings()
    f, kind = s.FIELDS[name], s.kind(name)
    meta = f.metadata
    head = f'{indent}<param argument="{s.flag(name)}"'
    label = xml_text(meta.get("label", name))
    if kind == "bool" or "choices" in meta:
        values = ["yes", "no"] if kind == "bool" else list(meta["choices"])
        lines = [f'{head} type="select" label="{label}" help="{galaxy_help(name)}">']
        if f.default is None:
            lines.append(f'{indent}    <option value="default" selected="true">The model\'s default</option>')
        for value in values:
            selected = ' selected="true"' if value == f.default else ""
            lines.append(f'{indent}    <option value="{value}"{selected}>{value}</option>')
        return [*lines, f"{indent}</param>"]
    if "pattern" in meta:
        return [
            f'{head} type="text" value="{f.default}" label="{label}" help="{galaxy_help(name)}">',
            f'{indent}    <validator type="regex" message="{xml_text(s.about(name))}">{meta["pattern"]}</validator>',
            f"{indent}</param>",
        ]
    attrs = [f'type="{GALAXY_TYPES[kind]}"']
    attrs.append('optional="true"' if f.default is None else f'value="{f.default}"')
    low = meta.get("low", meta.get("above"))
    if low is not None:
        attrs.append(f'min="{low}"')
    if "high" in meta:
        attrs.append(f'max="{meta["high"]}"')
    return [f'{head} {" ".join(attrs)} label="{label}" help="{galaxy_help(name)}"/>']


def galaxy_params(section: str, indent: str) -> str:
    s = settings()
    names = [n for n in galaxy_names() if s.FIELDS[n].metadata["galaxy"] == section]
    return "".join(line + "\n" for name in names for line in galaxy_param(name, indent))


# --------------------------------------------------------------------------- config/README.md


def readme_block() -> str:
    s = settings()
    rows = ["| key | `null` means | option | meaning |", "|---|---|---|---|"]
    for name in workflow_keys():
        default = s.FIELDS[name].metadata["default"]
        keeps = "the preset's value" + (f", else `{json.dumps(default)}`" if default is not None else "")
        rows.append(f"| `{name}` | {keeps} | `{s.flag(name)}` | {s.about(name).replace('|', '/')} |")
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- blocks


def blocks() -> list[tuple[Path, str, str, str]]:
    """``(file, begin marker, end marker, text between)`` of every generated block."""
    xml_begin = "<!-- begin {}: " + SOURCE + " -->\n"
    return [
        (
            ROOT / "workflow/rules/common.smk",
            f"# begin train settings: {SOURCE}\n",
            "# end train settings\n",
            smk_block(),
        ),
        (
            ROOT / "workflow/schemas/model.schema.yaml",
            f"  # begin train settings: {SOURCE}\n",
            "  # end train settings\n",
            schema_block(),
        ),
        (
            ROOT / "galaxy/dnacnn_train.xml",
            f"## begin train settings: {SOURCE}\n",
            "## end train settings\n",
            galaxy_command(),
        ),  # fmt: skip
        (
            ROOT / "galaxy/dnacnn_train.xml",
            "        " + xml_begin.format("main settings"),
            "        <!-- end main settings -->\n",
            galaxy_params("main", "        "),
        ),
        (
            ROOT / "galaxy/dnacnn_train.xml",
            "            " + xml_begin.format("advanced settings"),
            "            <!-- end advanced settings -->\n",
            galaxy_params("advanced", "            "),
        ),
        (
            ROOT / "config/README.md",
            xml_begin.format("train settings"),
            "<!-- end train settings -->\n",
            readme_block(),
        ),
    ]


def rewritten(text: str, begin: str, end: str, body: str, path: Path) -> str:
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no block marked {begin.strip()!r} ... {end.strip()!r}; add the two marker lines")
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + body + text[stop:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every block is up to date")
    args = parser.parse_args()
    texts: dict[Path, str] = {}
    for path, begin, end, body in blocks():
        texts[path] = rewritten(texts.get(path, path.read_text(encoding="utf-8")), begin, end, body, path)
    stale = [path for path, text in texts.items() if path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)}: out of date; run python scripts/gen_train_settings.py", file=sys.stderr)
        sys.exit(1 if stale else 0)
    for path in stale:
        path.write_text(texts[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
