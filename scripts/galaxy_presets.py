"""Write the train tool's preset choices into galaxy/macros.xml from the shipped presets.

The presets live in one place, ``dnacnn/models/presets/*.yaml``; the Galaxy train tool offers them
through the ``preset_options`` macro, which this script writes between its two marker comments:
one ``<option>`` per preset, labelled ``name: <description up to its first colon>``, the library's
default model selected.

    python scripts/galaxy_presets.py          # rewrite the macro
    python scripts/galaxy_presets.py --check  # exit 1 when the macro is out of date (tests run this)
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

MACROS = Path(__file__).resolve().parents[1] / "galaxy" / "macros.xml"
BEGIN = "    <!-- preset_options: written by scripts/galaxy_presets.py from dnacnn/models/presets; do not edit -->\n"
END = "    <!-- end of preset_options -->\n"


def preset_macro() -> str:
    from dnacnn.models.spec import list_presets, load_spec
    from dnacnn.train import TrainSettings

    default = TrainSettings().model
    lines = ['    <xml name="preset_options">\n']
    for name in list_presets():
        summary = re.split(r":\s", load_spec(name)["description"], maxsplit=1)[0].strip().rstrip(".")
        selected = ' selected="true"' if name == default else ""
        label = html.escape(f"{name}: {summary}", quote=False)
        lines.append(f'        <option value="{name}"{selected}>{label}</option>\n')
    lines.append("    </xml>\n")
    return BEGIN + "".join(lines) + END


def updated(text: str) -> str:
    if BEGIN in text:
        start, stop = text.index(BEGIN), text.index(END) + len(END)
        return text[:start] + preset_macro() + text[stop:]
    cut = text.rindex("</macros>")
    return text[:cut] + "\n" + preset_macro() + text[cut:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that galaxy/macros.xml is up to date")
    args = parser.parse_args()
    text = MACROS.read_text()
    new = updated(text)
    if args.check:
        if new != text:
            sys.exit(f"{MACROS}: preset_options is out of date; run python scripts/galaxy_presets.py")
        return
    MACROS.write_text(new)


if __name__ == "__main__":
    main()
