"""Genotype matrices (individuals x markers) and phenotype tables.

Contract: :func:`read_genotypes` returns dosage codes ``(n, m)`` uint8 with 0, 1, 2 = copies of the
counted allele and 3 = missing (:data:`dnacnn.encoding.GENOTYPE_MISSING`), with individual ids
and marker names; :func:`read_phenotypes` returns trait values ``(n, t)`` float32 (NaN = missing),
in genotype order when both files carry ids.

Both files are text tables, plain or gzip:

* Separator: the first line decides - a tab makes the file tab-separated, else a comma makes it
  comma-separated, else fields are separated by runs of spaces/tabs.  ``sep`` forces it.
* Missing values: ``NA``, ``NaN`` (any case), ``.`` and an empty field (only possible with tab or
  comma separators).  Nothing else: ``-9``, ``-1`` or ``3`` in a genotype matrix are errors.
* A *value* is a number or a missing token; anything else is a *name*.
* Header: the first line is a header of marker (trait) names when all its fields after the first
  are names (a one-field line: when that field is a name).  ``header=True/False`` forces it;
  numeric marker names therefore need ``header=True``.
* Ids: the first column holds individual ids when the first field of the first data line is a
  name, or when the header has one field fewer than the data lines (R's ``write.table``).
  ``ids=True/False`` forces it; numeric ids therefore need ``ids=True``.
* Defaults: ids ``ind1..indN`` and markers ``m1..mM`` (traits ``trait1..traitT``), 1-based.

Genotype values must be 0, 1 or 2 (``1.0`` is fine, ``0.5`` is not).  Every problem (an empty
file, rows of different lengths, a bad value, a trait that does not exist, phenotypes that do not
match the genotypes) raises a one-line :class:`~dnacnn.errors.InputError` naming the file, and
the line and column where there is one.  The matrix is tokenised with numpy a block of lines at
a time (pandas and ``np.loadtxt`` manage only ~1-2 M cells/s on tables 50k columns wide), so a
10k x 50k matrix needs no Python object per value and memory ~ the uint8 result.

VCF/BCF and PLINK 1 binary filesets are read by :func:`read_genotype_input` (one entry point for
all three formats, with marker/individual QC): see :mod:`dnacnn.io.vcf_genotypes`,
:mod:`dnacnn.io.plink` and :mod:`dnacnn.io.genotype_qc`.  They return the same
:class:`Genotypes` (codes 0/1/2/3 uint8, individuals x markers) with ``has_ids=True``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnacnn.encoding import GENOTYPE_MISSING
from dnacnn.errors import DnacnnError, InputError
from dnacnn.io import check_readable, open_binary, read_head
from dnacnn.io.genotype_qc import Genotypes  # defined beside the collector that builds it

MISSING_TOKENS = ("NA", "NaN", ".", "")  # NA and NaN in any case
_BLOCK_BYTES = 16 << 20  # text parsed at a time; temporaries are ~30x this
_BOM = b"\xef\xbb\xbf"
_NL = ord("\n")
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(" "), ord("\t"), ord("\r"), ord("\n")]] = True
_TRIM = np.zeros(256, dtype=bool)
_TRIM[[ord(" "), ord("\t"), ord("\r"), ord('"')]] = True
_GENOTYPE_FIX = "use 0, 1 or 2 (copies of the counted allele), or NA for missing"


GENOTYPE_FORMATS = ("genotype", "vcf", "plink")
_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
_PLINK_SUFFIXES = (".bed", ".bim", ".fam")
PLINK_MAGIC = b"\x6c\x1b"


@dataclass
class Phenotypes:
    """Trait values ``(n, t)`` float32 (NaN = missing), trait ``names`` (t) and the individual
    ``ids`` (n) when the file has them, else None."""

    values: np.ndarray
    names: list[str]
    ids: list[str] | None


@dataclass
class _Layout:
    """How a table is laid out, from its first lines (see the module docstring)."""

    sep: str | None  # None = runs of whitespace
    header: list[str] | None
    ids: bool
    first_data_line: int  # 1-based
    n_fields: int  # fields per data line, id column included

    @property
    def names(self) -> list[str] | None:
        """Column names for the value columns, from the header."""
        if self.header is None:
            return None
        return self.header[1:] if self.ids and len(self.header) == self.n_fields else self.header


def read_genotypes(
    path: str | os.PathLike, header: bool | None = None, ids: bool | None = None, sep: str | None = None
) -> Genotypes:
    """Read a genotype matrix, one individual per line and one marker per column.

    Parameters
    ----------
    path : path
        Text table (plain or gzip); see the module docstring for the accepted layouts.
    header, ids : bool, optional
        Force the presence of a header line of marker names / a first column of individual ids
        (default: detect).
    sep : str, optional
        Force the separator: ``"\\t"``, ``","`` or ``" "`` (runs of whitespace).

    Returns
    -------
    Genotypes
        ``codes`` ``(n, m)`` uint8 with 3 = missing, ``ids`` (n), ``markers`` (m).
    """
    path = check_readable(path)
    layout = _sniff(path, header, ids, sep)
    m = layout.n_fields - layout.ids
    if m < 1:
        raise InputError(path, str(layout.first_data_line), "no marker columns after the id column", "add markers")
    chunks, id_chunks = [], []
    for lineno, block in _blocks(path, layout.first_data_line):
        codes, block_ids = _parse_block(path, layout, block, lineno)
        chunks.append(codes)
        id_chunks.append(block_ids)
    codes = np.concatenate(chunks) if chunks else np.zeros((0, m), np.uint8)
    ids_out = [i for chunk in id_chunks for i in chunk] if layout.ids else [f"ind{i + 1}" for i in range(len(codes))]
    markers = layout.names or [f"m{j + 1}" for j in range(m)]
    return Genotypes(ids=ids_out, codes=codes, markers=markers, has_ids=layout.ids)


def detect_genotype_format(path: str | os.PathLike) -> str | None:
    """``"vcf"`` or ``"plink"`` when ``path`` is one, else None (then the path may still be a
    numeric matrix: see :func:`dnacnn.io.detect_format`).

    VCF/BCF: a ``.vcf``, ``.vcf.gz``, ``.vcf.bgz`` or ``.bcf`` name, or content starting with
    ``##fileformat=VCF`` or ``BCF``.  PLINK: ``X.bed``, ``X.bim``, ``X.fam`` or the prefix ``X``
    when ``X.bed`` starts with the PLINK magic bytes (so a BED file of peaks is never taken for one).
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith(_VCF_SUFFIXES):
        return "vcf"
    try:
        bed = p.with_suffix(".bed") if p.suffix.lower() in _PLINK_SUFFIXES else p.with_name(p.name + ".bed")
        if bed.is_file():
            with open(bed, "rb") as f:
                if f.read(2) == PLINK_MAGIC:
                    return "plink"
        if p.is_file() and p.stat().st_size:
            head = read_head(p, 16)
            if head.startswith((b"##fileformat=VCF", b"BCF\x02")):
                return "vcf"
    except (OSError, InputError):
        return None
    return None


def read_genotype_input(
    path: str | os.PathLike,
    fmt: str = "auto",
    qc=None,
    *,
    multiallelic: str = "skip",
    spill_dir: str | os.PathLike | None = None,
) -> Genotypes:
    """Read genotypes in any supported format, with QC: the one call ``dnacnn encode`` needs.

    Parameters
    ----------
    path : path
        A numeric matrix (``fmt="genotype"``), a VCF/VCF.gz/BCF (``"vcf"``) or a PLINK 1 binary
        fileset given by its ``.bed`` (or ``.bim``/``.fam``/prefix) (``"plink"``).
    fmt : str
        ``"auto"`` (detect with :func:`detect_genotype_format`, else a numeric matrix), or one of
        :data:`GENOTYPE_FORMATS`.
    qc : dnacnn.io.genotype_qc.GenotypeQC, optional
        MAF / missing-rate thresholds (default: keep everything).
    multiallelic : str
        VCF only: ``"skip"`` records with more than one ALT allele (default) or ``"split"`` them
        into one marker per ALT allele (the dosage of that allele).
    spill_dir : path, optional
        VCF and PLINK only: keep the markers that pass QC in temporary files in this directory
        instead of memory; ``codes`` is then a read-only memmap and memory stays ~60 MB at any
        size.  Default: in memory (peak ~ the output plus ~60 MB).

    Returns
    -------
    Genotypes
        With ``counted`` (VCF/PLINK), ``marker_means`` and ``qc`` (a
        :class:`~dnacnn.io.genotype_qc.GenotypeSummary`) filled.
    """
    from dnacnn.io.genotype_qc import GenotypeQC, apply_qc

    qc = qc or GenotypeQC()
    qc.check()
    if fmt == "auto":
        fmt = detect_genotype_format(path) or "genotype"
    if fmt == "vcf":
        from dnacnn.io.vcf_genotypes import read_vcf_genotypes

        return read_vcf_genotypes(path, qc, multiallelic=multiallelic, spill_dir=spill_dir)
    if fmt == "plink":
        from dnacnn.io.plink import read_plink_genotypes

        return read_plink_genotypes(path, qc, spill_dir=spill_dir)
    if fmt == "genotype":
        return apply_qc(read_genotypes(path), qc, path)
    raise DnacnnError(f"unknown genotype format {fmt!r}; use one of {', '.join(GENOTYPE_FORMATS)}")


def read_phenotypes(
    path: str | os.PathLike,
    traits: list[str | int] | None = None,
    n_expected: int | None = None,
    genotype_path: str | os.PathLike | None = None,
    genotype_ids: list[str] | None = None,
    header: bool | None = None,
    ids: bool | None = None,
    sep: str | None = None,
    removed_ids: Collection[str] | None = None,
) -> Phenotypes:
    """Read a phenotype table, one individual per line and one trait per column.

    Parameters
    ----------
    path : path
        Text table (plain or gzip); layout rules as for genotypes.  Values are numbers or a
        missing token (read as NaN).
    traits : list of str or int, optional
        Traits to keep, in this order: a name from the header, a 1-based trait number (``1`` or
        ``"1"``) or ``"traitK"``.  Default: all.
    n_expected : int, optional
        Individuals in the genotype matrix; without id matching the row count must equal it.
    genotype_path : path, optional
        The genotype file, named in mismatch errors.
    genotype_ids : list[str], optional
        Ids from the genotype file; pass them only when that file carried ids
        (``Genotypes.has_ids``).  When both files carry ids the rows are matched by id and
        returned in genotype order; missing or extra ids are an error.
    header, ids, sep :
        Force the layout, as in :func:`read_genotypes`.
    removed_ids : collection of str, optional
        Individuals that genotype QC removed (``Genotypes.qc.removed_ids``): their rows are
        dropped before the ids are matched.  Needs ids in this file.

    Returns
    -------
    Phenotypes
        ``values`` ``(n, t)`` float32, ``names`` (t), ``ids`` (n) or None.
    """
    path = check_readable(path)
    layout = _sniff(path, header, ids, sep)
    t = layout.n_fields - layout.ids
    if t < 1:
        raise InputError(path, str(layout.first_data_line), "no trait columns after the id column", "add traits")
    rows, row_ids = [], []
    for lineno, fields in _data_lines(path, layout):
        _check_count(path, layout, lineno, fields)
        if layout.ids:
            row_ids.append(fields[0])
        rows.append([_number(path, lineno, c + 1, tok) for c, tok in enumerate(fields) if c >= layout.ids])
    values = np.array(rows, dtype=np.float32).reshape(len(rows), t)
    names = layout.names or [f"trait{k + 1}" for k in range(t)]
    if traits:
        keep = [_trait_index(path, names, trait) for trait in traits]
        values, names = values[:, keep], [names[k] for k in keep]
    genotype_path = genotype_path or "the genotype matrix"
    if removed_ids:
        if not layout.ids:
            raise InputError(
                path,
                None,
                f"genotype QC removed {len(removed_ids)} individuals of {genotype_path}, so phenotype rows "
                "must be matched by id, and this file has no id column",
                "put individual ids in the first column, or keep every individual (no individual missing-rate filter)",
            )
        removed = set(removed_ids)
        kept_rows = [r for r, i in enumerate(row_ids) if i not in removed]
        if len(kept_rows) < len(row_ids):
            values, row_ids = values[kept_rows], [row_ids[r] for r in kept_rows]
    if layout.ids and genotype_ids is not None:
        order = _match_ids(path, row_ids, genotype_ids, genotype_path)
        return Phenotypes(values=values[order], names=names, ids=list(genotype_ids))
    if n_expected is None and genotype_ids is not None:
        n_expected = len(genotype_ids)
    if n_expected is not None and len(values) != n_expected:
        raise InputError(
            path,
            None,
            f"{len(values)} phenotype rows but {genotype_path} has {n_expected} individuals",
            "give one row per genotyped individual in the same order, or ids in the first column of both files",
        )
    return Phenotypes(values=values, names=names, ids=row_ids if layout.ids else None)


# --- layout -------------------------------------------------------------------------------


def _split(line: str, sep: str | None) -> list[str]:
    fields = line.split() if sep is None else line.split(sep)
    return [f.strip().strip('"') for f in fields]


def _is_missing(token: str) -> bool:
    return token in (".", "") or token.lower() in ("na", "nan")


def _is_value(token: str) -> bool:
    if _is_missing(token):
        return True
    try:
        float(token)
    except ValueError:
        return False
    return True


def _sniff(path, header: bool | None, ids: bool | None, sep: str | None) -> _Layout:
    first = []  # (lineno, text) of the first two non-blank lines
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
            if text.strip():
                first.append((lineno, text))
                if len(first) == 2:
                    break
    if not first:
        raise InputError(path, None, "file is empty", "give a file with one individual per line")
    if sep is None:
        sep = "\t" if "\t" in first[0][1] else "," if "," in first[0][1] else None
    elif sep.isspace():
        sep = None
    fields = _split(first[0][1], sep)
    if header is None:
        header = not any(_is_value(f) for f in (fields[1:] if len(fields) > 1 else fields))
    names = fields if header else None
    if header and len(first) < 2:
        raise InputError(path, None, "only a header line, no data", "add one line per individual")
    data = first[1] if header else first[0]
    data_fields = _split(data[1], sep)
    if ids is None:
        ids = not _is_value(data_fields[0]) or (header and len(names) == len(data_fields) - 1)
    layout = _Layout(sep=sep, header=names, ids=bool(ids), first_data_line=data[0], n_fields=len(data_fields))
    if header and len(names) not in (layout.n_fields, layout.n_fields - layout.ids):
        raise InputError(
            path,
            str(first[0][0]),
            f"header has {len(names)} names but line {data[0]} has {layout.n_fields} fields",
            "give one name per column",
        )
    return layout


def _data_lines(path, layout: _Layout) -> Iterator[tuple[int, list[str]]]:
    """``(lineno, fields)`` of each non-blank data line, in order."""
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            if lineno < layout.first_data_line:
                continue
            text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
            if text.strip():
                yield lineno, _split(text, layout.sep)


# --- errors -------------------------------------------------------------------------------


def _check_count(path, layout: _Layout, lineno: int, fields: list[str]) -> None:
    if len(fields) != layout.n_fields:
        raise InputError(
            path,
            str(lineno),
            f"{len(fields)} fields, but line {layout.first_data_line} has {layout.n_fields}",
            "give every line the same number of columns",
        )


# --- the genotype matrix, parsed with numpy a block of whole lines at a time ----------------


def _blocks(path, first_line: int) -> Iterator[tuple[int, bytes]]:
    """``(lineno, block)``: whole lines (each ending in ``\\n``) from line ``first_line`` on, about
    :data:`_BLOCK_BYTES` at a time; ``lineno`` is the 1-based number of the block's first line."""
    lineno, rest = 1, b""
    with open_binary(path) as f:
        while True:
            data = f.read(_BLOCK_BYTES)
            buf = rest + data
            if lineno == 1 and not rest:
                buf = buf.removeprefix(_BOM)
            cut = len(buf) if not data else buf.rfind(b"\n") + 1
            block, rest = buf[:cut], buf[cut:]
            if block and not block.endswith(b"\n"):
                block += b"\n"  # last line without a newline
            while block and lineno < first_line:  # header (and blank lines before it)
                block = block[block.index(b"\n") + 1 :]
                lineno += 1
            if block:
                yield lineno, block
                lineno += block.count(b"\n")
            if not data:
                return


def _parse_block(path, layout: _Layout, block: bytes, lineno: int) -> tuple[np.ndarray, list[str]]:
    """Codes ``(r, m)`` uint8 and ids of the data lines in ``block``."""
    a = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(a == _NL)
    if layout.sep is None:
        edges = np.diff(~_WHITESPACE[a], prepend=False, append=False).nonzero()[0]
        starts, ends = edges[0::2], edges[1::2]  # fields are runs of non-whitespace
    else:
        bounds = np.flatnonzero((a == ord(layout.sep)) | (a == _NL))
        starts, ends = _trim(a, np.concatenate(([0], bounds[:-1] + 1)), bounds)
    per_line = np.diff(np.searchsorted(starts, newlines, side="right"), prepend=0)  # fields per line
    blank = per_line == 0
    if layout.sep is not None:  # a blank line holds one empty field
        only = np.cumsum(per_line)[per_line == 1] - 1
        blank[per_line == 1] = starts[only] == ends[only]
    ragged = np.flatnonzero(~blank & (per_line != layout.n_fields))
    if ragged.size:
        i = ragged[0]
        _check_count(path, layout, lineno + int(i), [""] * int(per_line[i]))
    if blank.any():
        data = np.repeat(~blank, per_line)
        starts, ends = starts[data], ends[data]
    starts = starts.reshape(-1, layout.n_fields)
    ends = ends.reshape(-1, layout.n_fields)
    lines = lineno + np.flatnonzero(~blank)
    k = int(layout.ids)
    codes = _genotype_codes(path, layout, block, starts[:, k:], ends[:, k:], lines)
    if not layout.ids:
        return codes, []
    return codes, [block[s:e].decode("utf-8", errors="replace") for s, e in zip(starts[:, 0], ends[:, 0], strict=True)]


def _trim(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strip spaces, ``\\r`` and double quotes around separator-delimited fields."""
    while True:
        move = (starts < ends) & _TRIM[a[starts]]
        if not move.any():
            break
        starts = starts + move
    while True:
        move = (ends > starts) & _TRIM[a[ends - 1]]
        if not move.any():
            break
        ends = ends - move
    return starts, ends


def _genotype_codes(path, layout: _Layout, block: bytes, starts, ends, lines) -> np.ndarray:
    """Codes ``(r, m)`` for fields at ``starts``/``ends`` ``(r, m)`` of ``block``.

    The usual tokens (``0``, ``1``, ``2``, ``1.0``, ``NA``, ``NaN``, ``.``, empty) are recognised
    by their bytes in bulk; anything else goes through ``float`` one by one, and is an error
    unless it equals 0, 1 or 2.
    """
    a = np.concatenate((np.frombuffer(block, np.uint8), np.zeros(3, np.uint8)))  # look-ahead room
    n = ends - starts
    c0 = a[starts]
    digit = c0 - np.uint8(ord("0"))  # wraps to > 2 for bytes below "0"
    codes = np.where((n == 1) & (digit <= 2), digit, np.uint8(255))
    odd = np.flatnonzero(codes.ravel() == 255)
    if odd.size:  # rarer tokens, still in bulk
        s, k, c = starts.ravel()[odd], n.ravel()[odd], c0.ravel()[odd]
        c1, c2 = a[s + 1], a[s + 2]
        na = (c | 32 == ord("n")) & (c1 | 32 == ord("a"))
        missing = (k == 0) | ((k == 1) & (c == ord("."))) | ((k == 2) & na) | ((k == 3) & na & (c2 | 32 == ord("n")))
        plain = (c - np.uint8(ord("0")) <= 2) & (k == 3) & (c1 == ord(".")) & (c2 == ord("0"))
        flat = codes.reshape(-1)
        flat[odd] = np.where(missing, GENOTYPE_MISSING, np.where(plain, c - np.uint8(ord("0")), np.uint8(255)))
    for r, c in np.argwhere(codes == 255):
        token = block[starts[r, c] : ends[r, c]].decode("utf-8", errors="replace")
        codes[r, c] = _check_genotype(path, layout, int(lines[r]), int(c) + layout.ids, token)
    return codes


def _check_genotype(path, layout: _Layout, lineno: int, col: int, token: str) -> int:
    """The code of a genotype token at 0-based field ``col``; raises if it is not one."""
    if _is_missing(token):
        return GENOTYPE_MISSING
    try:
        value = float(token)
    except ValueError:
        value = None
    if value in (0.0, 1.0, 2.0):
        return int(value)
    marker = layout.names[col - layout.ids] if layout.names else f"m{col - layout.ids + 1}"
    fix = _GENOTYPE_FIX
    if col == 0 and not layout.ids:
        fix += ", or read column 1 as individual ids (ids=True)"
    raise InputError(path, str(lineno), f"column {col + 1} (marker {marker}): {token!r} is not a genotype", fix)


def _number(path, lineno: int, col: int, token: str) -> float:
    if _is_missing(token):
        return np.nan
    try:
        return float(token)
    except ValueError:
        raise InputError(
            path, str(lineno), f"column {col}: {token!r} is not a number", "use numbers, or NA for missing"
        ) from None


def _trait_index(path, names: list[str], trait: str | int) -> int:
    text = str(trait).strip()
    if text in names:
        return names.index(text)
    match = re.fullmatch(r"(?:trait)?(\d+)", text)
    if match and 1 <= int(match.group(1)) <= len(names):
        return int(match.group(1)) - 1
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    raise InputError(path, None, f"no trait {text!r}", f"choose one of {shown}, or a trait number 1..{len(names)}")


def _match_ids(path, pheno_ids: list[str], genotype_ids: list[str], genotype_path) -> np.ndarray:
    """Row order putting ``pheno_ids`` in genotype order; raises on missing, extra or repeated ids."""
    row_of = {}
    for row, i in enumerate(pheno_ids):
        if row_of.setdefault(i, row) != row:
            raise InputError(path, None, f"individual {i!r} appears more than once", "give each individual one row")
    missing = [g for g in genotype_ids if g not in row_of]
    genotyped = set(genotype_ids)
    extra = [i for i in pheno_ids if i not in genotyped]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} individuals of {genotype_path} have no row here ({_few(missing)})")
        if extra:
            parts.append(f"{len(extra)} ids here are not in {genotype_path} ({_few(extra)})")
        raise InputError(path, None, " and ".join(parts), "give both files the same individuals")
    return np.array([row_of[g] for g in genotype_ids], dtype=np.intp)


def _few(items: list[str], k: int = 3) -> str:
    return ", ".join(items[:k]) + (", ..." if len(items) > k else "")
