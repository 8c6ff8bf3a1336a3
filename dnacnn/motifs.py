"""``dnacnn motifs``: first-layer convolution filters as motifs, matched to JASPAR.

Contract: :func:`filter_motifs` scans sequences with a model's first ``conv1d`` layer (plus the
position-wise layers right after it: batchnorm, activation, dropout) and, for every filter, counts
the bases of each input window whose activation exceeds ``threshold`` (:data:`DEFAULT_THRESHOLD`)
times that filter's maximum activation over the data (the DeepBind / Basset recipe).  A model
with ``strands: both`` scans the reverse complement too, as it does when predicting.  Windows
reaching into ``same`` padding count only their real bases.  Each filter also gets an
*influence*: the RMS change of the model's log-odds output when that filter's activation map is
replaced by its mean activation (Basset), which ranks filters by how much the model relies on them.

:func:`motifs` writes, to one folder:

``filters.meme``  minimal MEME v4 letter-probability matrices (pseudocount added, low-information
                  edges trimmed), one per filter that fired, named ``filter_<index>``
``filters.tsv``   one row per filter: sites, information content, influence, consensus, best match
``tomtom.tsv``    the ``top`` best database matches per filter (Tomtom p, E and q-values)
``logos/``        an information-content sequence logo per filter (PNG; the 100 most influential)
``motifs.html``   a self-contained page of the same (also :func:`motif_section` for reports)

Matching uses Tomtom (memelite's implementation, complete scores, both strands) against JASPAR
2024 CORE vertebrates, read offline from the SQLite file that ``pyjaspar`` ships, or against any
MEME file, with the semantics of MEME's ``tomtom -dist pearson -min-overlap 5``: see
:func:`tomtom_matches`.  A filter is *matched* (``filters.tsv`` column ``matched``) only when its
best match has q < 0.05 and beats the filter's best match among column-shuffled decoys of the
database; names of unmatched filters are shown as "not significant".
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn.errors import DnacnnError
from dnacnn.io import write_text_atomic
from dnacnn.modisco import (
    DEFAULT_ATTRIBUTION,
    DEFAULT_SEQUENCES,
    ModiscoResult,
    check_attribution,
    find_patterns,
    require_modiscolite,
)

BASES = "ACGT"
DEFAULT_DATABASE = "JASPAR2024"
MAX_WINDOW_CELLS = 1 << 24  # windows x width gathered per scanning batch (bounds memory)
# A window counts towards a filter's motif above this fraction of the filter's maximum activation.
# DeepBind and Basset used 0.5; on the workflow's REST tfbind model 0.6 gave 17-21 filters with a
# calibrated REST match (6 at 0.5) and REST as the best hit of 3-4 of the 5 most influential
# filters (3 at 0.5), with no other factor named (docs/interpret.md).
DEFAULT_THRESHOLD = 0.6
MAX_LOGOS = 100  # logos drawn per run (the most influential filters); ~0.2 s each
MAX_INFLUENCE_ROWS = 20_000  # forward rows, (filters + 1) x sequences, spent on filter influence


# --------------------------------------------------------------------------- the first layer


@dataclass
class FirstLayer:
    """The model's first conv layer and how its outputs map to input windows.

    ``scan`` maps ``X (b, 4, L)`` to activations ``(b, filters, L_out)``; output position ``j``
    of a filter reads input positions ``j * stride - left + dilation * t`` for ``t < width``.
    ``last`` is the index in ``module.body`` of the last module of ``scan`` (where the influence
    ablation hooks in).
    """

    scan: object
    last: int
    n_filters: int
    width: int
    stride: int
    dilation: int
    left: int
    both_strands: bool

    def windows(self, length: int) -> tuple[np.ndarray, int]:
        """Input offsets ``(L_out, width)`` of every window, in a sequence N-padded by ``left``
        on the left, and the right padding needed."""
        out = _out_length(self.scan, length)
        starts = np.arange(out) * self.stride
        offsets = starts[:, None] + self.dilation * np.arange(self.width)[None, :]
        right = max(0, int(offsets.max()) + 1 - self.left - length)
        return offsets, right


def _pointwise(layer) -> bool:
    from torch import nn

    from dnacnn.models.build import ACTIVATION_MODULES

    kinds = (nn.BatchNorm1d, nn.Dropout, nn.Identity, *{type(f()) for f in ACTIVATION_MODULES.values()})
    return isinstance(layer, kinds)


def first_layer(module) -> FirstLayer:
    """Find the first ``conv1d`` of ``module.body`` (see :class:`FirstLayer`)."""
    from torch import nn

    from dnacnn.models.build import Conv1d

    body = module.body
    first = next((i for i, layer in enumerate(body) if isinstance(layer, Conv1d)), None)
    if first is None:
        raise DnacnnError("the model has no conv1d layer, so it has no filters to turn into motifs")
    if not all(_pointwise(layer) for layer in body[:first]):
        raise DnacnnError("the model's first conv1d layer does not read the sequence directly; motifs need it to")
    conv = body[first]
    if conv.conv.in_channels != 4:
        raise DnacnnError(f"the first conv1d layer reads {conv.conv.in_channels} channels; motifs need DNA (4)")
    last = first
    while last + 1 < len(body) and _pointwise(body[last + 1]):
        last += 1
    stride = int(conv.conv.stride[0])
    left = int(conv.conv.padding[0]) - (stride if conv.trim else 0)
    return FirstLayer(
        scan=nn.Sequential(*body[: last + 1]),
        last=last,
        n_filters=int(conv.conv.out_channels),
        width=int(conv.conv.kernel_size[0]),
        stride=stride,
        dilation=int(conv.conv.dilation[0]),
        left=left,
        both_strands=bool(getattr(module, "both_strands", False)),
    )


def _out_length(scan, length: int) -> int:
    import torch

    with torch.inference_mode():
        p = next(scan.parameters())
        return int(scan(torch.zeros(1, 4, length, device=p.device, dtype=p.dtype)).shape[2])


# --------------------------------------------------------------------------- filters -> counts


@dataclass
class FilterMotifs:
    """Per-filter base counts from activating windows.

    Attributes
    ----------
    counts : np.ndarray, shape=(filters, 4, width)
        A, C, G, T counts at each filter position over the windows above threshold.
    n_sites : np.ndarray, shape=(filters,)
        Windows above threshold (both strands counted for ``strands: both`` models).
    max_activation, mean_activation : np.ndarray, shape=(filters,)
        Over every window of the data.
    influence : np.ndarray, shape=(filters,)
        RMS change of the log-odds output when the filter's map is replaced by its mean (0 when
        not computed).
    effect : np.ndarray, shape=(filters,)
        Mean of (output - output with the filter at its mean): positive = the filter raises it.
    threshold : float
        Fraction of the filter's maximum activation a window had to exceed.
    n_sequences : int
    """

    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    mean_activation: np.ndarray
    influence: np.ndarray
    effect: np.ndarray
    threshold: float
    n_sequences: int

    def ppm(self, pseudocount: float = 1.0) -> np.ndarray:
        """Letter probabilities ``(filters, 4, width)``: ``(counts + pseudocount / 4) / (n + pseudocount)``."""
        return (self.counts + pseudocount / 4) / (self.counts.sum(axis=1, keepdims=True) + pseudocount)


def filter_motifs(
    module,
    codes: np.ndarray,
    head: str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 256,
    influence_sequences: int = 2000,
    seed: int = 0,
) -> FilterMotifs:
    """Count the bases of the windows that activate each first-layer filter.

    Parameters
    ----------
    module : torch.nn.Module
        A loaded DNA model (eval mode); its device is used.
    codes : np.ndarray, shape=(n, length), uint8
        Sequences to scan (typically the positives), as DNA codes.
    head : str
        ``meta["head"]``, for the influence (log-odds scale, first output).
    threshold : float
        A window counts when its activation exceeds ``threshold * max activation`` of its filter.
    influence_sequences : int
        Sequences (a seeded random subset) used for the influence, at most
        ``MAX_INFLUENCE_ROWS / (filters + 1)`` (but at least 20); 0 skips it.
    """
    if not 0 <= threshold < 1:
        raise DnacnnError(f"--threshold must be in [0, 1), got {threshold}")
    layer = first_layer(module)
    n, length = codes.shape
    if n == 0:
        raise DnacnnError("no sequences to scan for motifs")
    offsets, right = layer.windows(length)
    rows = max(1, min(batch_size, MAX_WINDOW_CELLS // (layer.n_filters * len(offsets) * layer.width)))
    maxima = np.full(layer.n_filters, -np.inf)
    total = np.zeros(layer.n_filters)
    cells = 0
    for _, act in _activations(layer, codes, rows):
        maxima = np.maximum(maxima, act.max(axis=(0, 2)))
        total += act.sum(axis=(0, 2), dtype=np.float64)
        cells += act.shape[0] * act.shape[2]
    cut = np.where(maxima > 0, threshold * maxima, np.inf)  # a filter that never fires has no sites
    flat = np.zeros(layer.n_filters * layer.width * 5, np.int64)
    n_sites = np.zeros(layer.n_filters, np.int64)
    for strand_codes, act in _activations(layer, codes, rows):
        padded = np.pad(strand_codes, ((0, 0), (layer.left, right)), constant_values=4)
        seq, f, j = np.nonzero(act > cut[None, :, None])
        window = padded[seq[:, None], offsets[j]]  # (sites, width)
        index = (f[:, None] * layer.width + np.arange(layer.width)) * 5 + window
        flat += np.bincount(index.ravel(), minlength=flat.size)
        n_sites += np.bincount(f, minlength=layer.n_filters)
    counts = flat.reshape(layer.n_filters, layer.width, 5)[:, :, :4].transpose(0, 2, 1).astype(np.float64)
    mean = total / max(cells, 1)
    influence, effect = np.zeros(layer.n_filters), np.zeros(layer.n_filters)
    if influence_sequences:
        rng = np.random.default_rng(seed)
        # each sequence costs filters + 1 forward passes: cap the total for wide first layers
        size = min(n, influence_sequences, max(20, MAX_INFLUENCE_ROWS // (layer.n_filters + 1)))
        pick = np.sort(rng.choice(n, size=size, replace=False))
        influence, effect = filter_influence(module, layer, np.asarray(codes[pick]), mean, head)
    return FilterMotifs(counts, n_sites, maxima, mean, influence, effect, threshold, n)


def _activations(layer: FirstLayer, codes: np.ndarray, rows: int):
    """Yield ``(codes of the scanned strand (b, L), activations (b, F, L_out) numpy)``."""
    import torch

    from dnacnn.encoding import reverse_complement_codes

    p = next(layer.scan.parameters())
    table = torch.cat([torch.eye(4), torch.zeros(1, 4)]).to(p.device, p.dtype)
    with torch.inference_mode():
        for s in range(0, len(codes), rows):
            c = np.asarray(codes[s : s + rows])
            strands = (c, reverse_complement_codes(c)) if layer.both_strands else (c,)
            for sc in strands:
                X = table[torch.as_tensor(np.ascontiguousarray(sc), device=p.device).long()].transpose(1, 2)
                yield sc, layer.scan(X).float().cpu().numpy()


def filter_influence(
    module, layer: FirstLayer, codes: np.ndarray, mean: np.ndarray, head: str, batch_rows: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Per filter: RMS and mean of ``output - output with the filter's map set to its mean``
    (log-odds scale, first output), over ``codes``.

    A forward hook on the last module of the first layer turns each batch's activations into
    ``filters + 1`` copies (the original, then one per filter with that filter replaced), so the
    first layer runs once per batch and the rest of the network once on all copies.  Copies are
    laid out strand-major, keeping the ``[forward; reverse complement]`` batch halves of a
    ``strands: both`` model paired.
    """
    import torch

    from dnacnn.explain import model_output

    fn = model_output(module, head, 0)
    p = next(module.parameters())
    table = torch.cat([torch.eye(4), torch.zeros(1, 4)]).to(p.device, p.dtype)
    n_f, strands = layer.n_filters, 2 if layer.both_strands else 1
    fill = torch.as_tensor(mean, dtype=p.dtype, device=p.device)[:, None, None, None]
    idx = torch.arange(n_f, device=p.device)

    def hook(_module, _inputs, output):
        out = output.unflatten(0, (strands, -1))  # (strands, b, F, L)
        copies = out.unsqueeze(1).repeat(1, n_f + 1, 1, 1, 1)  # (strands, F + 1, b, F, L)
        copies[:, idx + 1, :, idx, :] = fill.to(copies.dtype)
        return copies.flatten(0, 2)

    handle = module.body[layer.last].register_forward_hook(hook)
    sq, diff = np.zeros(n_f), np.zeros(n_f)
    rows = max(1, batch_rows // (n_f + 1))
    try:
        with torch.inference_mode():
            for s in range(0, len(codes), rows):
                c = torch.as_tensor(np.asarray(codes[s : s + rows]), device=p.device).long()
                out = fn(table[c].transpose(1, 2)).double().reshape(n_f + 1, len(c))
                d = (out[0] - out[1:]).cpu().numpy()  # (F, b)
                sq += (d**2).sum(axis=1)
                diff += d.sum(axis=1)
    finally:
        handle.remove()
    n = max(len(codes), 1)
    return np.sqrt(sq / n), diff / n


# --------------------------------------------------------------------------- matrices


def information_content(ppm: np.ndarray) -> np.ndarray:
    """Bits per column against a uniform background, shape ``ppm.shape[:-2] + (width,)``."""
    p = np.clip(ppm, 1e-12, 1.0)
    return 2.0 + (p * np.log2(p)).sum(axis=-2)


def ic_heights(ppm: np.ndarray) -> np.ndarray:
    """Letter heights of an information-content logo, shape ``(width, 4)``: p x bits per column."""
    return (ppm * information_content(ppm)[None, :]).T


def trim(ppm: np.ndarray, min_ic: float) -> tuple[np.ndarray, int]:
    """Drop edge columns below ``min_ic`` bits; returns the core ``(4, w)`` and its start column.
    A matrix with no column above ``min_ic`` is returned whole."""
    ic = information_content(ppm)
    keep = np.flatnonzero(ic >= min_ic)
    if len(keep) == 0:
        return ppm, 0
    return ppm[:, keep[0] : keep[-1] + 1], int(keep[0])


def consensus(ppm: np.ndarray, min_ic: float = 0.5) -> str:
    """Most likely base per column, lowercase below ``min_ic`` bits... ``n`` below 0.25 bits."""
    ic = information_content(ppm)
    bases = np.array(list(BASES))[ppm.argmax(axis=0)]
    return "".join(b if i >= min_ic else (b.lower() if i >= 0.25 else "n") for b, i in zip(bases, ic))


def write_meme(
    path, names: list[str], ppms: list[np.ndarray], n_sites: list[int], background=(0.25, 0.25, 0.25, 0.25)
) -> None:
    """Write letter-probability matrices ``(4, w)`` as a minimal MEME v4 file (atomically)."""
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {f:.3f}" for b, f in zip(BASES, background)),
        "",
    ]
    for name, ppm, sites in zip(names, ppms, n_sites):
        lines.append(f"MOTIF {name} {consensus(ppm)}")
        lines.append(f"letter-probability matrix: alength= 4 w= {ppm.shape[1]} nsites= {int(sites)} E= 0")
        lines += [" ".join(f"{v:.6f}" for v in column) for column in ppm.T]
        lines.append("")
    write_text_atomic(path, "\n".join(lines) + "\n")


def read_meme(path) -> tuple[list[str], list[str], list[np.ndarray]]:
    """``(ids, names, ppms (4, w))`` of a MEME file; a MOTIF line is ``MOTIF ID [NAME]``."""
    ids, names, ppms = [], [], []
    rows: list[list[float]] | None = None
    width = 0
    path = Path(path)
    if not path.is_file():
        raise DnacnnError(f"{path}: motif database not found; give a MEME file or a JASPAR release name")
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if fields[:1] == ["MOTIF"] and len(fields) >= 2:
            ids.append(fields[1])
            names.append(fields[2] if len(fields) > 2 else fields[1])
            rows = None
        elif line.startswith("letter-probability matrix") and ids:
            try:
                width = int(line.split("w=")[1].split()[0])
            except (IndexError, ValueError):
                raise DnacnnError(f"{path}:{lineno}: letter-probability line without w=; fix the MEME file") from None
            rows = []
        elif rows is not None and len(rows) < width and fields:
            try:
                rows.append([float(v) for v in fields[:4]])
            except ValueError:
                raise DnacnnError(f"{path}:{lineno}: expected 4 probabilities; fix the MEME file") from None
            if len(rows) == width:
                ppms.append(np.array(rows).T)
                rows = None
    if not ppms or len(ppms) != len(ids):
        raise DnacnnError(f"{path}: no complete letter-probability matrices found; give a MEME v4 file")
    return ids, names, ppms


# --------------------------------------------------------------------------- databases and Tomtom


@dataclass
class MotifDatabase:
    """Target motifs: ``ids``, ``names``, ``families`` (TF family or ``""``), ``ppms`` ``(4, w)``."""

    source: str
    ids: list[str]
    names: list[str]
    families: list[str]
    ppms: list[np.ndarray]


def load_database(
    database: str = DEFAULT_DATABASE, collection: str = "CORE", tax_group: str = "vertebrates", pseudocount: float = 1.0
) -> MotifDatabase:
    """A MEME file path, or a JASPAR release (``JASPAR2024``) read offline through pyjaspar."""
    if Path(database).is_file() or database.lower().endswith((".meme", ".txt")):
        ids, names, ppms = read_meme(database)
        return MotifDatabase(str(database), ids, names, [""] * len(ids), ppms)
    try:
        from pyjaspar import jaspardb
    except ImportError:
        raise DnacnnError(
            "JASPAR matching needs pyjaspar: pip install 'pyjaspar>=3'; or give --database FILE.meme"
        ) from None
    try:
        jdb = jaspardb(release=database)
    except Exception:  # pyjaspar raises plain errors for unknown releases
        raise DnacnnError(
            f"unknown motif database {database!r}; give a JASPAR release (e.g. JASPAR2024) or a MEME file"
        ) from None
    found = jdb.fetch_motifs(collection=collection, tax_group=[tax_group] if tax_group else None)
    if not found:
        raise DnacnnError(f"{database}: no {collection} motifs for tax group {tax_group!r}")
    ppms = []
    for m in found:
        c = np.array([m.counts[b] for b in BASES], dtype=np.float64)
        ppms.append((c + pseudocount / 4) / (c.sum(axis=0, keepdims=True) + pseudocount))
    return MotifDatabase(
        f"{database} {collection} {tax_group}",
        [m.matrix_id for m in found],
        [m.name for m in found],
        ["; ".join(m.tf_family or []) for m in found],
        ppms,
    )


def pearson_columns(ppm: np.ndarray) -> np.ndarray:
    """Each column centred and scaled to unit length, then mapped to ``[0, 1]`` as ``(z + 1) / 2``.

    The squared Euclidean distance of two such columns is ``(1 - r) / 2``, with ``r`` the Pearson
    correlation of the original columns, so memelite's Euclidean Tomtom on them ranks column pairs
    by Tomtom's default ``-dist pearson``.  A uniform column (no variance) becomes all ``0.5``,
    equally far from everything: it neither matches nor mismatches anything, where under plain
    Euclidean distance near-uniform columns sit close to every low-information column (which is
    what made long, GC-rich, low-information targets such as JASPAR's extended CTCF matrices the
    best hit of almost any short query).
    """
    z = np.asarray(ppm, np.float64)
    z = z - z.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(z, axis=0, keepdims=True)
    z = np.divide(z, norm, out=np.zeros_like(z), where=norm > 1e-9)
    return (z + 1.0) / 2.0


def shuffled_columns(ppms: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Decoys: every matrix with its columns in a random (seeded) order.  They keep each target's
    width, information content and the database's pool of columns (so Tomtom's column null is the
    same with or without them) but none of the real motifs' column order."""
    rng = np.random.default_rng(seed)
    return [p[:, rng.permutation(p.shape[1])] for p in ppms]


def offset_corrected(p: np.ndarray, n_offsets: np.ndarray) -> np.ndarray:
    """Sidak correction of the best offset's p-value for the offsets it was chosen from:
    ``1 - (1 - p) ** n_offsets``, computed without cancellation for tiny ``p``."""
    p = np.clip(np.asarray(p, np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(p >= 1.0, 1.0, -np.expm1(n_offsets * np.log1p(-p)))


MATCH_COLUMNS = [
    "query",
    "rank",
    "target_id",
    "target_name",
    "target_family",
    "p_value",
    "e_value",
    "q_value",
    "offset",
    "overlap",
    "strand",
    "decoy_p_value",
]


def tomtom_matches(
    names: list[str],
    ppms: list[np.ndarray],
    db: MotifDatabase,
    top: int = 5,
    threads: int | None = None,
    min_overlap: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Tomtom p-values of each query against every target; the ``top`` best per query.

    Semantics (MEME's Tomtom with ``-dist pearson -min-overlap 5``, complete scores, both
    strands): column similarity is the Pearson correlation (:func:`pearson_columns`); each query
    column's null distribution is its score against every column of the database; the best
    offset's p-value is corrected for the number of offsets tried (:func:`offset_corrected`), so a
    long target is not favoured for offering more of them; an alignment overlapping fewer than
    ``min(min_overlap, query width, target width)`` columns is no match (p = 1).  q-values are
    Benjamini-Hochberg over each query's p-values against all targets; E = p x targets.

    Every query is also compared with a column-shuffled copy of the database
    (:func:`shuffled_columns`); ``decoy_p_value`` is its best p-value there.  A match is
    *calibrated* (:func:`calibrated`) when its q-value is below 0.05 and its p-value below that.

    Returns a frame with :data:`MATCH_COLUMNS`, sorted by query then p-value.
    """
    from memelite import tomtom

    if not ppms:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    threads = threads or min(os.cpu_count() or 1, 4)
    n_targets = len(db.ppms)
    targets = db.ppms + shuffled_columns(db.ppms, seed)
    Q = [pearson_columns(p) for p in ppms]
    T = [pearson_columns(p) for p in targets]
    raw, _, offsets, overlaps, strands = tomtom(Q, T, n_jobs=threads)[:5]
    q_width = np.array([q.shape[1] for q in Q])[:, None]
    t_width = np.array([t.shape[1] for t in T])[None, :]
    p = offset_corrected(raw, q_width + t_width - 1)
    p[overlaps < np.minimum(min_overlap, np.minimum(q_width, t_width))] = 1.0
    real, decoy = p[:, :n_targets], p[:, n_targets:]
    rows = []
    for i, name in enumerate(names):
        q = bh_qvalues(real[i])
        decoy_best = float(decoy[i].min())
        for rank, j in enumerate(np.argsort(real[i], kind="stable")[:top], 1):
            rows.append(
                (
                    name,
                    rank,
                    db.ids[j],
                    db.names[j],
                    db.families[j],
                    float(real[i, j]),
                    float(real[i, j]) * n_targets,
                    float(q[j]),
                    int(offsets[i, j]),
                    int(overlaps[i, j]),
                    "+-"[int(strands[i, j])],
                    decoy_best,
                )
            )
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def calibrated(q_value, p_value, decoy_p_value, alpha: float = 0.05):
    """A match to report as a name: q < ``alpha`` and better than the query's best match among
    column-shuffled targets (works on scalars and pandas columns)."""
    return (q_value < alpha) & (p_value < decoy_p_value)


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of one set of p-values (monotone, capped at 1)."""
    p = np.asarray(p, np.float64)
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


# --------------------------------------------------------------------------- the command


METHODS = ("filters", "modisco", "both")


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
    top : int
        Matches kept per filter in ``tomtom.tsv``.
    min_ic : float
        Edge columns below this many bits are trimmed from the written and matched motifs.
    max_sequences : int
        At most this many sequences (a seeded random subset) are scanned.
    influence_sequences : int
        Sequences used to measure filter influence (0 = skip).
    method : str
        ``filters`` (first-layer filters), ``modisco`` (TF-MoDISco patterns, :mod:`dnacnn.modisco`)
        or ``both``.
    attribution : str
        Attributions TF-MoDISco clusters: ``gradxinput``, ``deeplift`` or ``ism``.
    modisco_sequences : int
        At most this many of the sequences (a seeded random subset) go to TF-MoDISco.

    Everything is computed (and every error raised) before ``out_dir`` is created or written.
    """

    from dnacnn.explain import check_dna_model
    from dnacnn.modelfile import load_model
    from dnacnn.train import resolve_device

    if method not in METHODS:
        raise DnacnnError(f"unknown --method {method!r}; use one of {', '.join(METHODS)}")
    if method != "filters":
        require_modiscolite()
        check_attribution(attribution)
        if modisco_sequences < 1:
            raise DnacnnError(f"--modisco-sequences must be at least 1, got {modisco_sequences}")
    dev = resolve_device(device)
    loaded = load_model(model_path, dev)
    check_dna_model(loaded, model_path)
    codes = _motif_sequences(
        loaded, store_or_input, rows, split, fmt, seq_col, id_col, genome, length_policy, model_path
    )
    fm = mod = None
    if method != "modisco":
        fm = filter_motifs(
            loaded.module,
            _subset(codes, max_sequences, seed),
            loaded.meta["head"],
            threshold=threshold,
            influence_sequences=influence_sequences,
            seed=seed,
        )
    if method != "filters":
        subset = _subset(codes, modisco_sequences, seed)
        mod = find_patterns(loaded.module, loaded.meta["head"], subset, attribution=attribution, seed=seed)
    table = names = cores = None
    if fm is not None:
        table, names, cores = _filter_table(fm, pseudocount, min_ic)
    db = None
    if database and (names or mod is not None):
        db = load_database(database, tax_group=tax_group, pseudocount=pseudocount)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = MotifsResult(out_dir, None, None, None, fm)
    if fm is not None:
        result.meme, result.filters, result.matches = _write_filters(
            out_dir, fm, table, names, cores, db, top, pseudocount, logos, seed
        )
    if mod is not None:
        result.modisco = mod
        result.patterns, result.pattern_matches = _write_patterns(out_dir, mod, db, top, pseudocount, logos, seed)
    if logos:
        _write_html(out_dir, model_path, fm, mod, database)
    return result


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
    """At most ``limit`` rows of ``codes``: a seeded random subset, in their original order."""
    if len(codes) <= limit:
        return codes
    rng = np.random.default_rng(seed)
    return codes[np.sort(rng.choice(len(codes), limit, replace=False))]


def _with_best_match(table: pd.DataFrame, key: str, matches: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its best database match (``best_*`` columns) and ``matched`` per ``key``."""
    best = matches[matches["rank"] == 1].set_index("query")
    for col in MATCH_COLUMNS[2:]:
        table[f"best_{col.removeprefix('target_')}"] = table[key].map(best[col])
    table["matched"] = calibrated(table.best_q_value, table.best_p_value, table.best_decoy_p_value)
    return table


def _write_filters(out_dir: Path, fm: FilterMotifs, table, names, cores, db, top, pseudocount, logos, seed):
    """``filters.meme``, ``filters.tsv``, ``tomtom.tsv`` and the filter logos."""
    meme = out_dir / "filters.meme"
    write_meme(meme, names, cores, [int(fm.n_sites[int(n.split("_")[1])]) for n in names])
    matches = pd.DataFrame()
    if db is not None and names:
        matches = tomtom_matches(names, cores, db, top=top, seed=seed)
        table = _with_best_match(table, "filter", matches)
        write_text_atomic(out_dir / "tomtom.tsv", matches.to_csv(sep="\t", index=False, float_format="%.4g"))
    write_text_atomic(out_dir / "filters.tsv", table.to_csv(sep="\t", index=False, float_format="%.4g"))
    if logos:
        drawn = draw_filter_logos(fm.ppm(pseudocount), table, out_dir / "logos")
        if db is not None:
            draw_match_alignments(dict(zip(names, cores)), table, db, out_dir / "logos", limit=len(drawn))
    return meme, table, matches


def _motif_sequences(loaded, source, rows, split, fmt, seq_col, id_col, genome, length_policy, model_path):
    from dnacnn.explain import read_sequences

    if rows not in ("positive", "all"):
        raise DnacnnError(f"unknown --rows {rows!r}; use positive or all")
    source = Path(source)
    if source.is_dir():
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
        c
        for _, c in read_sequences(
            source,
            loaded.encoding,
            fmt=fmt,
            seq_col=seq_col,
            id_col=id_col,
            genome=genome,
            length_policy=length_policy,
            model_path=model_path,
        )
    ]
    if not chunks:
        raise DnacnnError(f"{source}: no sequences to scan for motifs")
    return np.concatenate(chunks)


def _filter_table(fm: FilterMotifs, pseudocount: float, min_ic: float):
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


# --------------------------------------------------------------------------- TF-MoDISco patterns


def pattern_ppm(pattern, pseudocount: float = 1.0) -> np.ndarray:
    """A pattern's core letter probabilities ``(4, w)``, with the pseudocount filters get."""
    counts = pattern.core_ppm * pattern.n_seqlets
    return (counts + pseudocount / 4) / (counts.sum(axis=0, keepdims=True) + pseudocount)


def _pattern_table(mod: ModiscoResult, pseudocount: float) -> pd.DataFrame:
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


def _write_patterns(out_dir: Path, mod: ModiscoResult, db, top, pseudocount, logos, seed):
    """``modisco_patterns.meme``, ``modisco_patterns.tsv``, ``modisco_tomtom.tsv`` and the pattern logos."""
    table = _pattern_table(mod, pseudocount)
    names = [p.name for p in mod.patterns]
    cores = [pattern_ppm(p, pseudocount) for p in mod.patterns]
    write_meme(out_dir / "modisco_patterns.meme", names, cores, [p.n_seqlets for p in mod.patterns])
    matches = pd.DataFrame()
    if db is not None:
        matches = tomtom_matches(names, cores, db, top=top, seed=seed)
        table = _with_best_match(table, "pattern", matches)
        write_text_atomic(out_dir / "modisco_tomtom.tsv", matches.to_csv(sep="\t", index=False, float_format="%.4g"))
    write_text_atomic(out_dir / "modisco_patterns.tsv", table.to_csv(sep="\t", index=False, float_format="%.4g"))
    if logos:
        folder = out_dir / "logos"
        folder.mkdir(parents=True, exist_ok=True)
        for p in mod.patterns:
            _save_figure(cwm_figure(p), folder / f"{p.name}.png")
        if db is not None:
            draw_match_alignments(dict(zip(names, cores)), table, db, folder, limit=len(names), key="pattern")
    return table, matches


# --------------------------------------------------------------------------- logos and HTML


LOGO_COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}
_GLYPHS: dict = {}


def _glyph(letter: str):
    """The outline of ``letter`` scaled to the unit square (built once per process)."""
    if letter not in _GLYPHS:
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextPath
        from matplotlib.transforms import Affine2D

        path = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
        box = path.get_extents()
        unit = Affine2D().translate(-box.x0, -box.y0).scale(1 / box.width, 1 / box.height)
        _GLYPHS[letter] = unit.transform_path(path)
    return _GLYPHS[letter]


def draw_logo(ax, heights: np.ndarray, letters: str = BASES, width: float = 0.9) -> None:
    """Draw a sequence logo on ``ax``: ``heights`` shape ``(length, 4)``, one stack per position,
    the tallest letter on top; negative heights stack downwards from 0.

    Letter outlines are built once and placed by affine transforms, one compound path per
    colour, so a logo of hundreds of positions draws in milliseconds (logomaker re-renders the
    font outline of every letter, about 25 ms each).
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath
    from matplotlib.transforms import Affine2D

    heights = np.asarray(heights, dtype=np.float64)
    pieces: dict[str, list] = {b: [] for b in letters}
    for i, row in enumerate(heights):
        up, down = 0.0, 0.0
        for k in np.argsort(np.abs(row)):  # smallest next to the axis
            h = row[k]
            if abs(h) < 1e-9:
                continue
            bottom = up if h > 0 else down - abs(h)
            place = Affine2D().scale(width, abs(h)).translate(i - width / 2, bottom)
            pieces[letters[k]].append(place.transform_path(_glyph(letters[k])))
            if h > 0:
                up += h
            else:
                down -= abs(h)
    for letter, paths in pieces.items():
        if paths:
            color = LOGO_COLORS.get(letter, "#5b6575")
            # add_artist, not add_patch: the limits are set below, and add_patch walks every curve
            ax.add_artist(PathPatch(MplPath.make_compound_path(*paths), facecolor=color, edgecolor="none"))
    low, high = (
        min(0.0, float(np.minimum(heights, 0).sum(axis=1).min(initial=0))),
        float(np.maximum(heights, 0).sum(axis=1).max(initial=0)),
    )
    ax.set_xlim(-0.5, len(heights) - 0.5)
    ax.set_ylim(low - 0.02 * (high - low or 1), high + 0.02 * (high - low or 1))
    ax.grid(False)


def logo_figure(ppm: np.ndarray, title: str = "", width_per_column: float = 0.28, height: float = 1.6):
    """An information-content logo of one ``(4, w)`` matrix as a matplotlib Figure (no pyplot)."""
    from matplotlib.figure import Figure

    heights = ic_heights(ppm)
    width = max(2.4, ppm.shape[1] * width_per_column)
    fig = Figure(figsize=(width, height), dpi=100)
    # fixed margins: constrained layout costs more than drawing the logo
    ax = fig.add_axes((0.45 / width, 0.22, 1 - 0.55 / width, 0.62 if title else 0.72))
    draw_logo(ax, heights)
    ax.set_ylim(0, 2)
    ax.set_yticks([0, 1, 2])
    ax.set_ylabel("bits", fontsize=8)
    ax.set_xticks(range(ppm.shape[1]), [str(i + 1) for i in range(ppm.shape[1])], fontsize=6)
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=8, loc="left")
    return fig


def cwm_figure(pattern, flank: int = 2, width_per_column: float = 0.28, height: float = 1.6):
    """A contribution logo of a TF-MoDISco pattern: its CWM (mean contribution of each base) over the
    core columns and ``flank`` columns either side, the core shaded."""
    from matplotlib.figure import Figure

    start, stop = max(0, pattern.start - flank), min(pattern.cwm.shape[1], pattern.stop + flank)
    cwm = pattern.cwm[:, start:stop]
    width = max(2.4, cwm.shape[1] * width_per_column)
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.55 / width, 0.22, 1 - 0.65 / width, 0.62))
    ax.axvspan(pattern.start - start - 0.5, pattern.stop - start - 0.5, color="#f1f4f8", zorder=0)
    draw_logo(ax, cwm.T)
    ax.axhline(0, color="#9aa3af", lw=0.5)
    ax.set_ylabel("contribution", fontsize=7)
    ax.set_xticks(range(cwm.shape[1]), [str(i + start + 1) for i in range(cwm.shape[1])], fontsize=6)
    ax.tick_params(axis="y", labelsize=6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{pattern.name}  ({pattern.n_seqlets:,} seqlets)", fontsize=8, loc="left")
    return fig


def draw_filter_logos(ppm: np.ndarray, table: pd.DataFrame, folder, limit: int = MAX_LOGOS) -> list[Path]:
    """One PNG per filter that fired, ``folder/filter_<index>.png``, titled with its best match
    when that match is calibrated; the first ``limit`` filters of ``table`` (by influence) only."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for row in table.itertuples(index=False):
        if row.n_sites == 0:
            continue
        if len(paths) == limit:
            break
        f = int(row.filter.split("_")[1])
        title = f"{row.filter}  ({row.n_sites:,} sites)"
        if getattr(row, "matched", False):
            title += f"  ~ {row.best_name} (q={row.best_q_value:.2g})"
        path = folder / f"{row.filter}.png"
        _save_figure(logo_figure(ppm[f], title), path)
        paths.append(path)
    return paths


def alignment_figure(query: np.ndarray, target: np.ndarray, offset: int, strand: str, labels=("query", "target")):
    """Two information-content logos, the query above the target, columns aligned as Tomtom
    aligned them: ``offset`` = target column under the query's first column, on the target's
    reverse complement when ``strand`` is ``-``."""
    from matplotlib.figure import Figure

    if strand == "-":
        target = target[::-1, ::-1]
    start, stop = min(0, offset), max(target.shape[1], offset + query.shape[1])
    width = stop - start
    margin = max(0.9, 0.08 * max(len(label) for label in labels) + 0.2)  # inches for the row labels
    fig_width = max(3.0, width * 0.3 + margin + 0.3)
    fig = Figure(figsize=(fig_width, 2.6), dpi=100)
    for row, (ppm, at, label) in enumerate(((query, offset, labels[0]), (target, 0, labels[1]))):
        heights = np.zeros((width, 4))
        cols = np.arange(ppm.shape[1]) + at - start
        heights[cols] = ic_heights(ppm)
        ax = fig.add_axes((margin / fig_width, 0.56 - 0.46 * row, 1 - (margin + 0.2) / fig_width, 0.36))
        draw_logo(ax, heights)
        ax.set_ylim(0, 2)
        ax.set_yticks([0, 2])
        ax.tick_params(labelsize=7)
        ax.set_xticks([])
        ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
        ax.spines[["top", "right", "bottom"]].set_visible(False)
    return fig


def draw_match_alignments(
    cores: dict, table: pd.DataFrame, db: MotifDatabase, folder, limit: int = MAX_LOGOS, key: str = "filter"
):
    """``folder/<name>_match.png``: each matched motif (a filter's trimmed motif, or a pattern's
    core; ``key`` names the table's name column) aligned on its best database match (the first
    ``limit`` rows of ``table`` only)."""
    folder = Path(folder)
    paths = []
    for row in table.head(limit).itertuples(index=False):
        name = getattr(row, key)
        if not getattr(row, "matched", False) or name not in cores:
            continue
        target = db.ppms[db.ids.index(row.best_id)]
        fig = alignment_figure(cores[name], target, int(row.best_offset), row.best_strand, (name, f"{row.best_name}"))
        path = folder / f"{name}_match.png"
        _save_figure(fig, path)
        paths.append(path)
    return paths


def _png_tag(path: Path, alt: str, height: int) -> str:
    """An embedded PNG, ``height`` px high (0: as wide as its box)."""
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
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
    if (out_dir / "filters.tsv").is_file() if filters is None else filters:
        parts.append(("first-layer filters", filter_section(out_dir, max_filters)))
    if (out_dir / "modisco_patterns.tsv").is_file() if patterns is None else patterns:
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
    table = pd.read_csv(out_dir / "filters.tsv", sep="\t", keep_default_na=False, na_values=[""])
    table = table[table.n_sites > 0].head(max_filters)
    has_match = "best_name" in table.columns
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
            _png_tag(out_dir / "logos" / f"{row.filter}.png", f"{row.filter} logo", 44),
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
    table = pd.read_csv(out_dir / "modisco_patterns.tsv", sep="\t", keep_default_na=False, na_values=[""])
    tomtom = out_dir / "modisco_tomtom.tsv"
    matches = pd.read_csv(tomtom, sep="\t", keep_default_na=False, na_values=[""]) if tomtom.is_file() else None
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
            _png_tag(out_dir / "logos" / f"{row.pattern}.png", f"{row.pattern} contribution logo", 70),
            f"{row.n_seqlets:,}",
            f"<code>{html.escape(row.consensus)}</code>",
        ]
        if matches is not None:
            mine = matches[matches["query"] == row.pattern].head(n_matches)
            cells.append("<br>".join(_pattern_match(m, row) for m in mine.itertuples(index=False)))
            align = f"{row.pattern} aligned to {row.best_name}"
            cells.append(_png_tag(out_dir / "logos" / f"{row.pattern}_match.png", align, 90) if row.matched else "")
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
    align = _png_tag(out_dir / "logos" / f"{row.filter}_match.png", f"{row.filter} aligned to {row.best_name}", 0)
    family = f" \u00b7 {html.escape(row.best_family)}" if isinstance(row.best_family, str) and row.best_family else ""
    return (
        f'<div class="motif-card"><div class="name"><b>{html.escape(row.best_name)}</b> '
        f"<small>{html.escape(row.best_id)}{family}</small></div>"
        f'<div class="facts">{html.escape(row.filter)} \u00b7 influence {row.influence:.3g} \u00b7 '
        f"{row.n_sites:,} sites \u00b7 q = {q} \u00b7 p {decoy}</div>{align}</div>"
    )


def _write_html(out_dir: Path, model_path, fm: FilterMotifs | None, mod: ModiscoResult | None, database) -> None:
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


def _save_figure(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
