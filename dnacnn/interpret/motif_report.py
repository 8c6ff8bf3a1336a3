"""The HTML of a ``dnacnn motifs`` folder: ``motifs.html`` and the motif section of evaluation reports.

Contract: :func:`motif_section` reads a motifs folder (``filters.tsv``, ``modisco_patterns.tsv``,
their Tomtom tables and ``logos/``) and returns ``(title, html)`` for
``ReportContext.extra_sections``: matched filters as cards, then every filter's logo and closest
motif, and every TF-MoDISco pattern with its matches; logos are embedded as base64 PNG.
:func:`write_motifs_html` writes the same as the folder's self-contained ``motifs.html``.
"""

from __future__ import annotations

import base64
from html import escape as html_escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dnacnn.errors import DnacnnError
from dnacnn.store_files import open_result_file, result_file_present

if TYPE_CHECKING:
    from dnacnn.interpret.filters import FilterMotifs
    from dnacnn.interpret.modisco import ModiscoResult


MADE_BY = "dnacnn motifs"
LOGO_LIMIT = 16 << 20  # a logo PNG is tens of kB
_TEXT = ("filter", "pattern", "sign", "consensus", "query", "target_name", "target_id", "best_name", "best_id")
_MATCH_TEXT, _MATCH_NUMBERS = ("best_name", "best_id", "best_family"), ("best_q_value", "best_p_value", "matched")
FILTER_COLUMNS = (("filter",), ("n_sites", "influence", "information_content"))
PATTERN_COLUMNS = (("pattern", "sign", "consensus"), ("n_seqlets",))
TOMTOM_COLUMNS = (("query", "target_name", "target_id"), ("q_value", "rank"))


def _read_table(out_dir: Path, name: str, columns: tuple[tuple, tuple], matches: bool = False) -> pd.DataFrame:
    """``out_dir/name``, a table 'dnacnn motifs' wrote (its own regular file), with the text and
    number ``columns`` (and the best-match ones when ``matches``) checked; one line otherwise."""
    from dnacnn.errors import InputError
    from dnacnn.ids import shown

    path, fix = out_dir / name, f"re-run '{MADE_BY}' into the folder"
    try:
        with open_result_file(out_dir, name, MADE_BY) as f:
            table = pd.read_csv(f, sep="\t", keep_default_na=False, na_values=[""], dtype={c: str for c in _TEXT})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:  # EmptyDataError is a ValueError
        raise InputError(path, None, f"is not a table '{MADE_BY}' writes ({shown(str(e))[:120]})", fix) from None
    text, numbers = columns
    if matches:
        text, numbers = (*text, *_MATCH_TEXT), (*numbers, *_MATCH_NUMBERS)
    for column in (*text, *numbers):
        if column not in table.columns:
            raise InputError(path, None, f"has no column '{column}'; not a table '{MADE_BY}' writes", fix)
    for column in numbers:
        if not pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
            raise InputError(path, None, f"column '{column}' holds values that are not numbers", fix)
    for column in columns[0]:
        table[column] = table[column].fillna("")
    return table


def _png_tag(out_dir: Path, name: str, alt: str, height: int) -> str:
    """The embedded PNG ``out_dir/name`` (its own regular file; absent: nothing), ``height`` px
    high (0: as wide as its box)."""
    if not result_file_present(out_dir, name):
        return ""
    with open_result_file(out_dir, name, MADE_BY, LOGO_LIMIT) as f:
        data = base64.b64encode(f.read()).decode("ascii")
    size = f' style="height:{height}px"' if height else ""
    return f'<img alt="{html_escape(alt)}"{size} src="data:image/png;base64,{data}">'


def best_matched(table: pd.DataFrame):
    """The most influential filter whose best match is calibrated (a row), or None."""
    if "matched" not in table.columns:
        return None
    matched = table[(table.n_sites > 0) & table.matched.astype(bool)]
    return None if matched.empty else matched.iloc[0]


MOTIF_CSS = (
    "<style>.motif-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px}"
    ".motif-card{border:1px solid #e3e7ee;border-radius:10px;padding:10px 12px}"
    ".motif-card img{width:100%;height:auto}.motif-card .name{font-size:15px}"
    ".motif-card .facts{font-size:12.5px;color:#5b6575}</style>"
)


def motif_section(
    out_dir, max_filters: int = 40, filters: bool | None = None, patterns: bool | None = None
) -> tuple[str, str]:
    """``(title, html)`` for ``ReportContext.extra_sections`` from a :func:`motifs` folder: its
    first-layer filters (:func:`filter_section`) and its TF-MoDISco patterns (:func:`pattern_section`),
    whichever it holds (``filters`` / ``patterns`` True or False: that part or not, whatever it holds)."""
    out_dir = Path(out_dir)
    parts = []
    if result_file_present(out_dir, "filters.tsv") if filters is None else filters:
        parts.append(("first-layer filters", filter_section(out_dir, max_filters)))
    if result_file_present(out_dir, "modisco_patterns.tsv") if patterns is None else patterns:
        parts.append(("TF-MoDISco patterns", pattern_section(out_dir)))
    if not parts:
        raise DnacnnError(f"{out_dir}: no filters.tsv or modisco_patterns.tsv; give a 'dnacnn motifs' output folder")
    if len(parts) == 1:
        return f"Motifs ({parts[0][0]})", MOTIF_CSS + parts[0][1]
    body = "".join(f"<h3>{title[0].upper()}{title[1:]}</h3>{html}" for title, html in parts)
    return "Motifs (first-layer filters and TF-MoDISco patterns)", MOTIF_CSS + body


def filter_section(out_dir, max_filters: int = 40) -> str:
    """The filters with a significant database match first, each as a card with its name and its
    alignment to the matched motif drawn large enough to read; then every filter's logo and closest
    motif in a table, by influence then information content."""
    import html

    out_dir = Path(out_dir)
    with open_result_file(out_dir, "filters.tsv", MADE_BY) as f:
        has_match = "best_name" in f.readline(1 << 20).decode("utf-8", "replace").rstrip("\r\n").split("\t")
    table = _read_table(out_dir, "filters.tsv", FILTER_COLUMNS, has_match)
    table = table[table.n_sites > 0].head(max_filters)
    note = (
        "<p>First-layer filters as motifs: bases of the windows activating each filter above a fraction "
        "(--threshold) of its maximum; influence = RMS change of the output log-odds when the filter is "
        "set to its mean. "
        "Matches: Tomtom (Pearson column similarity, both strands, p-values corrected for the offsets "
        "tried) against the motif database; q-value = Benjamini-Hochberg over the database. A match is "
        "named only when q &lt; 0.05 and its p-value beats the filter's best p-value against "
        'column-shuffled copies of the database ("shuffled p"); otherwise the closest motif is shown '
        "in grey as not significant. See docs/interpret.md.</p>"
    )
    cards = ""
    if has_match:
        best = best_matched(table)
        note += (
            f"<p>Most influential matched filter: <b>{html.escape(best['filter'])}</b> ~ "
            f"{html.escape(best['best_name'])} (q = {best['best_q_value']:.2g}).</p>"
            if best is not None
            else "<p>No filter has a significant database match.</p>"
        )
        matched = table[table.matched.astype(bool)] if "matched" in table.columns else table.iloc[:0]
        cards = "".join(_match_card(out_dir, row) for row in matched.itertuples(index=False))
        if cards:
            cards = f'<h3>Filters with a significant match ({len(matched)})</h3><div class="motif-cards">{cards}</div>'
    head = "<tr><th>filter</th><th>logo</th><th>sites</th><th>influence</th><th>IC (bits)</th>"
    head += "<th>closest motif</th><th>q-value</th><th>p vs shuffled p</th></tr>" if has_match else "</tr>"
    body = []
    for row in table.itertuples(index=False):
        cells = [
            html.escape(row.filter),
            _png_tag(out_dir, f"logos/{row.filter}.png", f"{row.filter} logo", 44),
            f"{row.n_sites:,}",
            f"{row.influence:.3g}",
            f"{row.information_content:.1f}",
        ]
        if has_match:
            cells += [_match_name(row), *_match_numbers(row)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    listing = (
        f"<details><summary>All {len(table)} filters that fired (logos and closest motifs)</summary>"
        f'<div class="scroll"><table class="data motifs"><thead>{head}</thead><tbody>{"".join(body)}</tbody>'
        "</table></div></details>"
    )
    return note + cards + listing


def pattern_section(out_dir, n_matches: int = 3) -> str:
    """Every TF-MoDISco pattern of a :func:`motifs` folder: its contribution logo, seqlets, and its
    ``n_matches`` best database matches with q-values (the best named only when calibrated, as for
    filters), with the core aligned on the best match when it is."""
    import html

    out_dir = Path(out_dir)
    matches = None
    if result_file_present(out_dir, "modisco_tomtom.tsv"):
        matches = _read_table(out_dir, "modisco_tomtom.tsv", TOMTOM_COLUMNS)
    table = _read_table(out_dir, "modisco_patterns.tsv", PATTERN_COLUMNS, matches is not None)
    note = (
        "<p>TF-MoDISco (modisco-lite) patterns: windows of high attribution (seqlets) clustered and aligned "
        "across sequences. Positive patterns raise the model's output, negative ones lower it. Logo: the "
        "contribution weight matrix (mean attribution of each base), core shaded; the core's base frequencies "
        "are matched with Tomtom as the filters are. See docs/interpret.md.</p>"
    )
    head = "<tr><th>pattern</th><th>contribution logo</th><th>seqlets</th><th>consensus</th>"
    head += "<th>best matches (q-value)</th><th>aligned on the best match</th></tr>" if matches is not None else "</tr>"
    body = []
    for row in table.itertuples(index=False):
        cells = [
            f"<b>{html.escape(row.pattern)}</b><br><small>{html.escape(row.sign)}</small>",
            _png_tag(out_dir, f"logos/{row.pattern}.png", f"{row.pattern} contribution logo", 70),
            f"{row.n_seqlets:,}",
            f"<code>{html.escape(row.consensus)}</code>",
        ]
        if matches is not None:
            mine = matches[matches["query"] == row.pattern].head(n_matches)
            cells.append("<br>".join(_pattern_match(m, row) for m in mine.itertuples(index=False)))
            align = f"{row.pattern} aligned to {row.best_name}"
            cells.append(_png_tag(out_dir, f"logos/{row.pattern}_match.png", align, 90) if row.matched else "")
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    summary = ""
    if matches is not None:
        named = [
            f"<b>{html.escape(r.pattern)}</b> ~ {html.escape(r.best_name)} (q = {r.best_q_value:.2g})"
            for r in table[table.matched.astype(bool)].itertuples(index=False)
        ]
        listed = ": " + ", ".join(named) if named else ""
        summary = f"<p>{len(named)} of {len(table)} patterns have a significant database match{listed}.</p>"
    return (
        note
        + summary
        + f'<div class="scroll"><table class="data motifs"><thead>{head}</thead><tbody>{"".join(body)}</tbody>'
        + "</table></div>"
    )


def _pattern_match(match, row) -> str:
    """One database match of a pattern: bold when it is the pattern's calibrated best match, grey
    when not significant."""
    import html

    text = f"{html.escape(match.target_name)} ({html.escape(match.target_id)}) q = {match.q_value:.2g}"
    if match.rank == 1 and row.matched:
        return f"<b>{text}</b>"
    if match.q_value >= 0.05:
        return f'<span style="color:#8a8f98">{text}</span>'
    return text


def _match_name(row) -> str:
    import html

    if pd.isna(row.best_name):
        return ""
    if getattr(row, "matched", False):
        name = f"<b>{html.escape(row.best_name)}</b> ({html.escape(row.best_id)})"
        if isinstance(row.best_family, str) and row.best_family:
            name += f"<br><small>{html.escape(row.best_family)}</small>"
        return name
    return f'<span style="color:#8a8f98">not significant (closest {html.escape(row.best_name)})</span>'


def _match_numbers(row) -> tuple[str, str]:
    q = "" if pd.isna(row.best_q_value) else f"{row.best_q_value:.2g}"
    decoy_p = getattr(row, "best_decoy_p_value", np.nan)  # absent from older motif folders
    decoy = "" if pd.isna(decoy_p) else f"{row.best_p_value:.2g} vs {decoy_p:.2g}"
    return q, decoy


def _match_card(out_dir: Path, row) -> str:
    """One matched filter: its name, the numbers, and the filter drawn over the database motif."""
    import html

    q, decoy = _match_numbers(row)
    align = _png_tag(out_dir, f"logos/{row.filter}_match.png", f"{row.filter} aligned to {row.best_name}", 0)
    family = f" \u00b7 {html.escape(row.best_family)}" if isinstance(row.best_family, str) and row.best_family else ""
    return (
        f'<div class="motif-card"><div class="name"><b>{html.escape(row.best_name)}</b> '
        f"<small>{html.escape(row.best_id)}{family}</small></div>"
        f'<div class="facts">{html.escape(row.filter)} \u00b7 influence {row.influence:.3g} \u00b7 '
        f"{row.n_sites:,} sites \u00b7 q = {q} \u00b7 p {decoy}</div>{align}</div>"
    )


def write_motifs_html(out_dir: Path, model_path, fm: FilterMotifs | None, mod: ModiscoResult | None, database) -> None:
    """``motifs.html``: this run's filters and patterns, with the model, data and database used."""
    import html

    from dnacnn.report import write_page

    # this run's parts only: the folder may hold the other method's files from an earlier run
    title, body = motif_section(
        out_dir, max_filters=len(fm.n_sites) if fm is not None else 0, filters=fm is not None, patterns=mod is not None
    )
    runs = []
    if fm is not None:
        runs.append(f"filters: {fm.n_sequences:,} sequences, threshold {fm.threshold:g} x max activation")
    if mod is not None:
        runs.append(f"TF-MoDISco: {mod.n_sequences:,} sequences, {mod.attribution} attributions")
    intro = (
        f"<p>Model <code>{html.escape(str(model_path))}</code>; {'; '.join(runs)}; "
        f"database {html.escape(str(database))}.</p>"
    )
    write_page(out_dir / "motifs.html", title, f"<section><h2>{title}</h2>{intro}{body}</section>")
