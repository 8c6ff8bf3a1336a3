"""The files of a ``dnacnn motifs`` folder: per-filter and per-pattern tables, MEME files, matches, logos.

Contract: :func:`filter_table` turns :class:`~dnacnn.interpret.filters.FilterMotifs` into the
``filters.tsv`` table (by influence, then information content) and the trimmed matrices of the
filters that fired; :func:`write_filters` writes ``filters.meme``, ``filters.tsv``, ``tomtom.tsv``
and the filter logos; :func:`pattern_table` and :func:`write_patterns` do the same for TF-MoDISco
patterns (``modisco_patterns.*``, ``modisco_tomtom.tsv``).  Every file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dnacnn.interpret.filters import FilterMotifs
from dnacnn.interpret.logos import cwm_figure, draw_filter_logos, draw_match_alignments, save_png
from dnacnn.interpret.modisco import ModiscoResult
from dnacnn.interpret.pwm import consensus, information_content, pattern_ppm, trim
from dnacnn.interpret.tomtom import tomtom_matches, with_best_match
from dnacnn.io.meme import write_meme
from dnacnn.io.tsv import write_table


def filter_table(fm: FilterMotifs, pseudocount: float, min_ic: float):
    """The per-filter table (sorted by influence, then information content) and the trimmed
    matrices of the filters that fired."""
    ppm = fm.ppm(pseudocount)
    ic = information_content(ppm)
    records, names, cores = [], [], []
    for f in range(len(ppm)):
        core, start = trim(ppm[f], min_ic)
        fired = fm.n_sites[f] > 0
        records.append(
            {
                "filter": f"filter_{f}",
                "n_sites": int(fm.n_sites[f]),
                "influence": float(fm.influence[f]),
                "effect": float(fm.effect[f]),
                "information_content": float(information_content(core).sum()) if fired else 0.0,
                "total_ic": float(ic[f].sum()) if fired else 0.0,
                "max_activation": float(fm.max_activation[f]),
                "core_start": start + 1,
                "core_width": core.shape[1],
                "consensus": consensus(core) if fired else "",
            }
        )
        if fired:
            names.append(f"filter_{f}")
            cores.append(core)
    table = pd.DataFrame(records).sort_values(["influence", "information_content"], ascending=False, kind="stable")
    return table.reset_index(drop=True), names, cores


def write_filters(out_dir: Path, fm: FilterMotifs, table, names, cores, db, top, pseudocount, logos, seed):
    """``filters.meme``, ``filters.tsv``, ``tomtom.tsv`` and the filter logos."""
    meme = out_dir / "filters.meme"
    write_meme(meme, names, cores, [int(fm.n_sites[int(n.split("_")[1])]) for n in names])
    matches = pd.DataFrame()
    if db is not None and names:
        matches = tomtom_matches(names, cores, db, top=top, seed=seed)
        table = with_best_match(table, "filter", matches)
        write_table(out_dir / "tomtom.tsv", matches, "%.4g")
    write_table(out_dir / "filters.tsv", table, "%.4g")
    if logos:
        drawn = draw_filter_logos(fm.ppm(pseudocount), table, out_dir / "logos")
        if db is not None:
            draw_match_alignments(dict(zip(names, cores)), table, db, out_dir / "logos", limit=len(drawn))
    return meme, table, matches


def pattern_table(mod: ModiscoResult, pseudocount: float) -> pd.DataFrame:
    """One row per pattern, positive patterns first, each sign by seqlets."""
    records = []
    for p in mod.patterns:
        ppm = pattern_ppm(p, pseudocount)
        records.append(
            {
                "pattern": p.name,
                "sign": "positive" if p.sign > 0 else "negative",
                "n_seqlets": p.n_seqlets,
                "contribution": float(p.core_cwm.sum()),
                "information_content": float(information_content(ppm).sum()),
                "core_start": p.start + 1,
                "core_width": p.stop - p.start,
                "width": p.ppm.shape[1],
                "consensus": consensus(ppm),
            }
        )
    return pd.DataFrame(records)


def write_patterns(out_dir: Path, mod: ModiscoResult, db, top, pseudocount, logos, seed):
    """``modisco_patterns.meme``, ``modisco_patterns.tsv``, ``modisco_tomtom.tsv`` and the pattern logos."""
    table = pattern_table(mod, pseudocount)
    names = [p.name for p in mod.patterns]
    cores = [pattern_ppm(p, pseudocount) for p in mod.patterns]
    write_meme(out_dir / "modisco_patterns.meme", names, cores, [p.n_seqlets for p in mod.patterns])
    matches = pd.DataFrame()
    if db is not None:
        matches = tomtom_matches(names, cores, db, top=top, seed=seed)
        table = with_best_match(table, "pattern", matches)
        write_table(out_dir / "modisco_tomtom.tsv", matches, "%.4g")
    write_table(out_dir / "modisco_patterns.tsv", table, "%.4g")
    if logos:
        folder = out_dir / "logos"
        folder.mkdir(parents=True, exist_ok=True)
        for p in mod.patterns:
            save_png(cwm_figure(p), folder / f"{p.name}.png")
        if db is not None:
            draw_match_alignments(dict(zip(names, cores)), table, db, folder, limit=len(names), key="pattern")
    return table, matches
