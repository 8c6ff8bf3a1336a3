"""``dnacnn motifs``: first-layer convolution filters, or TF-MoDISco patterns, as motifs matched to JASPAR.

Contract: :func:`motifs` writes, to one folder:

``filters.meme``  minimal MEME v4 letter-probability matrices (pseudocount added, low-information
                  edges trimmed), one per filter that fired, named ``filter_<index>``
``filters.tsv``   one row per filter: sites, information content, influence, consensus, best match
``tomtom.tsv``    the ``top`` best database matches per filter (Tomtom p, E and q-values)
``logos/``        an information-content sequence logo per filter (PNG; the 100 most influential)
``motifs.html``   a self-contained page of the same (also :func:`motif_section` for reports)

Filters are scanned by :mod:`dnacnn.interpret.filters`, patterns found by :mod:`dnacnn.interpret.modisco`, matched by
:mod:`dnacnn.interpret.tomtom`, written by :mod:`dnacnn.interpret.motif_files` and rendered by
:mod:`dnacnn.interpret.motif_report`; this module loads the inputs and runs them in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn.codes import DNA_N
from dnacnn.errors import DnacnnError
from dnacnn.interpret.filters import DEFAULT_THRESHOLD, FilterMotifs, filter_motifs
from dnacnn.interpret.inputs import load_dna_model, read_sequences
from dnacnn.interpret.modisco import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_SEQUENCES,
    ModiscoResult,
    check_attribution,
    find_patterns,
    require_modiscolite,
)
from dnacnn.interpret.motif_files import filter_table, write_filters, write_patterns
from dnacnn.interpret.motif_report import best_matched, write_motifs_html
from dnacnn.interpret.tomtom import DEFAULT_DATABASE, load_database
from dnacnn.io.outputs import check_output_folder
from dnacnn.store_files import is_archive

MOTIF_METHODS = ("filters", "modisco", "both")


@dataclass
class MotifsResult:
    """What :func:`motifs` wrote; the filter fields are None for ``method="modisco"``, the pattern
    fields None for ``method="filters"``."""

    out_dir: Path
    meme: Path | None
    filters: pd.DataFrame | None
    matches: pd.DataFrame | None
    motifs: FilterMotifs | None
    patterns: pd.DataFrame | None = None
    pattern_matches: pd.DataFrame | None = None
    modisco: ModiscoResult | None = None


def motifs(
    model_path,
    store_or_input,
    out_dir,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    rows: str = "positive",
    split: str = "all",
    fmt: str = "auto",
    seq_col: str = "seq",
    id_col: str | None = None,
    genome: str | None = None,
    length_policy: str = "strict",
    database: str | None = DEFAULT_DATABASE,
    tax_group: str = "vertebrates",
    top: int = 5,
    min_ic: float = 0.2,
    pseudocount: float = 1.0,
    max_sequences: int = 50_000,
    influence_sequences: int = 2000,
    logos: bool = True,
    method: str = "filters",
    attribution: str = DEFAULT_ATTRIBUTION,
    modisco_sequences: int = DEFAULT_SEQUENCES,
    device: str = "auto",
    seed: int = 0,
) -> MotifsResult:
    """Turn a model's first-layer filters, or the TF-MoDISco patterns of its attributions, into
    motifs, match them and write them to ``out_dir``.

    Parameters
    ----------
    model_path : path
        DNA model from ``dnacnn train``.
    store_or_input : path
        A store from ``dnacnn encode`` (its ``split`` rows; with ``rows="positive"`` only rows
        with a label >= 0.5 in any task of a binary store) or a sequence file (every record).
    threshold : float
        Activation fraction of the filter's maximum for a window to count (DeepBind, Basset: 0.5).
    database : str or None
        ``JASPAR2024`` (or another pyjaspar release), a MEME file, or None to skip matching.
    tax_group : str
        JASPAR taxonomic group (``vertebrates``, ``plants``, ``insects``, ...).
    top, min_ic : int, float
        Matches kept per motif in ``tomtom.tsv``; edge columns below ``min_ic`` bits are trimmed.
    max_sequences, modisco_sequences : int
        At most this many sequences (seeded random subsets) are scanned / go to TF-MoDISco.
    influence_sequences : int
        Sequences used to measure filter influence (0 = skip).
    method, attribution : str
        ``filters``, ``modisco`` (:mod:`dnacnn.interpret.modisco`) or ``both``; the attributions
        TF-MoDISco clusters: ``gradxinput``, ``deeplift`` or ``ism``.

    Everything is computed (and every error raised) before ``out_dir`` is created or written.
    """
    _check_method(method, attribution, modisco_sequences)
    inputs = [model_path, store_or_input, genome, genome and f"{genome}.fai", database]
    check_output_folder(out_dir, [p for p in inputs if p and Path(p).exists()])
    _, loaded = load_dna_model(model_path, device)
    codes = _motif_sequences(
        loaded, store_or_input, rows, split, fmt, seq_col, id_col, genome, length_policy, model_path
    )
    module, head = loaded.module, loaded.meta.head
    fm = mod = filters = db = None
    if method != "modisco":
        sample = _subset(codes, max_sequences, seed)
        fm = filter_motifs(
            module, sample, head, threshold=threshold, influence_sequences=influence_sequences, seed=seed
        )
    if method != "filters":
        mod = find_patterns(module, head, _subset(codes, modisco_sequences, seed), attribution=attribution, seed=seed)
    if fm is not None:
        filters = filter_table(fm, pseudocount, min_ic)
    if database and ((filters and filters[1]) or mod is not None):
        db = load_database(database, tax_group=tax_group, pseudocount=pseudocount)
    return _write(Path(out_dir), fm, filters, mod, db, model_path, database, top, pseudocount, logos, seed)


def _check_method(method: str, attribution: str, modisco_sequences: int) -> None:
    """Refuse an unknown ``method`` and, for TF-MoDISco, a missing modisco-lite or bad options."""
    if method not in MOTIF_METHODS:
        raise DnacnnError(f"unknown --method {method!r}; use one of {', '.join(MOTIF_METHODS)}")
    if method != "filters":
        require_modiscolite()
        check_attribution(attribution)
        if modisco_sequences < 1:
            raise DnacnnError(f"--modisco-sequences must be at least 1, got {modisco_sequences}")


def _write(
    out_dir: Path,
    fm: FilterMotifs | None,
    filters,
    mod: ModiscoResult | None,
    db,
    model_path,
    database,
    top,
    pseudocount,
    logos,
    seed,
) -> MotifsResult:
    """Create ``out_dir`` and write this run's files: filters, patterns, then ``motifs.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous_run(out_dir)
    result = MotifsResult(out_dir, None, None, None, fm)
    if fm is not None:
        table, names, cores = filters
        result.meme, result.filters, result.matches = write_filters(
            out_dir, fm, table, names, cores, db, top, pseudocount, logos, seed
        )
    if mod is not None:
        result.modisco = mod
        result.patterns, result.pattern_matches = write_patterns(out_dir, mod, db, top, pseudocount, logos, seed)
    if logos:
        write_motifs_html(out_dir, model_path, fm, mod, database)
    return result


# what a run writes into its folder: an earlier run's are removed first, so that none of them
# (logos, motifs.html of another model) is left beside this run's; every other file is left alone
MOTIF_FILES = (
    "filters.meme",
    "filters.tsv",
    "tomtom.tsv",
    "modisco_patterns.meme",
    "modisco_patterns.tsv",
    "modisco_tomtom.tsv",
    "motifs.html",
)
LOGO_NAME = re.compile(r"(filter_\d+|(pos|neg)_pattern_\d+)(_match)?\.png")


def _remove_previous_run(out_dir: Path) -> None:
    """Remove the files an earlier ``dnacnn motifs`` run wrote into ``out_dir`` (by name)."""
    for name in MOTIF_FILES:
        path = out_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink()
    logos = out_dir / "logos"
    if logos.is_dir() and not logos.is_symlink():
        for path in logos.iterdir():
            if LOGO_NAME.fullmatch(path.name) and (path.is_symlink() or path.is_file()):
                path.unlink()
        if not any(logos.iterdir()):
            logos.rmdir()


def run_summary(result: MotifsResult) -> str:
    """One line on what :func:`motifs` found (the CLI prints it after ``wrote DIR:``)."""
    parts = []
    if result.filters is not None:
        fired = result.filters[result.filters.n_sites > 0]
        line = f"{len(fired)} of {len(result.filters)} filters fired on {result.motifs.n_sequences:,} seqs"
        if "best_name" in fired and len(fired):
            best = best_matched(fired)
            line += (
                f"; most influential matched {best['filter']} ~ {best['best_name']} (q={best['best_q_value']:.2g})"
                if best is not None
                else "; no filter has a significant database match"
            )
        parts.append(line)
    if result.patterns is not None:
        t = result.patterns
        line = f"{len(t)} TF-MoDISco patterns in {result.modisco.n_sequences:,} seqs"
        if "matched" in t:
            named = t[t.matched.astype(bool)]
            line += (
                f"; largest matched {named.iloc[0]['pattern']} ({named.iloc[0]['n_seqlets']:,} seqlets) ~ "
                f"{named.iloc[0]['best_name']} (q={named.iloc[0]['best_q_value']:.2g})"
                if len(named)
                else "; no pattern has a significant database match"
            )
        parts.append(line)
    return "; ".join(parts)


def _subset(codes: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` rows of ``codes``: a seeded random subset, in their original order, with a
    code above N (written by no encoder: a damaged store) read as N."""
    if len(codes) > limit:
        codes = codes[np.sort(np.random.default_rng(seed).choice(len(codes), limit, replace=False))]
    return np.minimum(codes, np.uint8(DNA_N))


def _motif_sequences(loaded, source, rows, split, fmt, seq_col, id_col, genome, length_policy, model_path):
    if rows not in ("positive", "all"):
        raise DnacnnError(f"unknown --rows {rows!r}; use positive or all")
    source = Path(source)
    if source.is_dir() or is_archive(source):  # a store folder or archive; other files hold sequences
        from dnacnn.store import Store

        store = Store.open(source)
        want, have = loaded.encoding, store.encoding
        if (want.kind, want.length) != (have.kind, have.length):
            raise DnacnnError(
                f"{source}: store holds {have.kind} x {have.length} but {model_path} expects "
                f"{want.kind} x {want.length}; give the store the model was trained on"
            )
        idx = store.indices(split)
        if rows == "positive" and store.task == "binary":
            labels = np.asarray(store.labels[idx])
            idx = idx[np.nan_to_num(labels, nan=0.0).max(axis=1) >= 0.5]
        if len(idx) == 0:
            raise DnacnnError(f"{source}: no {rows} rows in split {split!r} to scan for motifs")
        return np.asarray(store.codes[idx])
    chunks = [
        c for _, c in read_sequences(source, loaded.encoding, fmt, seq_col, id_col, genome, length_policy, model_path)
    ]
    if not chunks:
        raise DnacnnError(f"{source}: no sequences to scan for motifs")
    return np.concatenate(chunks)
