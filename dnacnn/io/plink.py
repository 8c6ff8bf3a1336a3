"""Genotype matrices from PLINK 1 binary filesets (``.bed`` + ``.bim`` + ``.fam``).

Contract: :func:`read_plink_genotypes` returns a :class:`~dnacnn.io.genotype.Genotypes` like the
numeric-matrix reader's: ``codes`` ``(individuals, markers)`` uint8, 3 = missing, in ``.fam`` /
``.bim`` order, with ``has_ids=True``.

Which allele is counted: **A1**, column 5 of the ``.bim`` (``counted`` holds it per marker), the
PLINK 1 convention (``plink --recode A`` counts it too).  Which allele A1 is depends on the tool
that wrote the fileset: plink2 ``--make-bed`` and ``plink --keep-allele-order`` write A1 = ALT and
A2 = REF, so the codes equal the ALT dosage read from the VCF they came from; plink 1.9 without
``--keep-allele-order`` makes A1 the minor allele of its own data.

Individual ids: the IID (column 2 of the ``.fam``) when the IIDs are unique, else ``FID_IID`` for
every individual (then a phenotype table must use those ids); still-duplicated ids are an error.
Marker names: the ``.bim`` ID (column 2), or ``CHROM:POS:A2:A1`` where it is ``.``.

The ``.bed`` size is checked against the ``.fam`` and ``.bim`` line counts before reading, so a
truncated ``.bed`` or a ``.fam``/``.bim`` from another fileset is a one-line error that says which.
(A ``.fam`` off by fewer individuals than fill the last byte of a marker - up to 3 - cannot be
seen from the sizes, by PLINK either.)  Every other problem (a missing file, a short
``.fam``/``.bim`` line, not a ``.bed``) is a one-line :class:`~dnacnn.errors.InputError` too.

Genotypes are read by bed-reader a chunk of markers at a time and QC'd (see
:mod:`dnacnn.io.genotype_qc`), so memory is the kept output plus ~60 MB, or ~60 MB in all with
``spill_dir``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dnacnn.errors import DnacnnError, InputError
from dnacnn.ids import FIX, check_ids
from dnacnn.io import check_readable
from dnacnn.io.genotype_qc import CHUNK_BYTES, Collector, GenotypeQC, GenotypeSummary

MAGIC = b"\x6c\x1b"
SNP_MAJOR, INDIVIDUAL_MAJOR = 1, 0
_MISSING_INT8 = -127  # bed-reader's missing value for int8 reads


def plink_files(path: str | os.PathLike) -> tuple[Path, Path, Path]:
    """``(bed, bim, fam)`` for ``X.bed``, ``X.bim``, ``X.fam`` or the prefix ``X``."""
    p = Path(path)
    prefix = p.with_suffix("") if p.suffix.lower() in (".bed", ".bim", ".fam") else p
    return tuple(prefix.with_name(prefix.name + ext) for ext in (".bed", ".bim", ".fam"))  # type: ignore[return-value]


def read_plink_genotypes(
    path: str | os.PathLike,
    qc: GenotypeQC | None = None,
    *,
    spill_dir: str | os.PathLike | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    num_threads: int | None = None,
):
    """Read a PLINK 1 binary fileset into a :class:`~dnacnn.io.genotype.Genotypes`.

    Parameters
    ----------
    path : path
        The ``.bed`` (or ``.bim``, ``.fam``, or the common prefix); the three files sit together.
    qc : GenotypeQC, optional
        Marker / individual filters (default: keep everything).
    spill_dir : path, optional
        Keep the kept markers in temporary files there instead of memory (see
        :func:`dnacnn.io.genotype.read_genotype_input`).
    chunk_bytes : int
        Codes read per chunk (markers per chunk = ``chunk_bytes // individuals``).
    num_threads : int, optional
        bed-reader's threads (default: its own, all cores).

    Returns
    -------
    Genotypes
        ``codes`` ``(individuals, markers)`` counting A1, ``ids`` (IID or FID_IID), ``counted`` =
        A1 alleles, ``marker_means``, ``qc`` (a :class:`~dnacnn.io.genotype_qc.GenotypeSummary`).
    """
    qc = qc or GenotypeQC()
    qc.check()
    bed, bim, fam = plink_files(path)
    for f in (bed, bim, fam):
        if not f.exists():
            raise InputError(
                f, None, "file not found (a PLINK 1 fileset is X.bed + X.bim + X.fam)", "put the three files together"
            )
        check_readable(f)
    try:
        from bed_reader import open_bed
    except ImportError:
        raise DnacnnError(
            f"{bed}: reading PLINK needs bed-reader; install it with: pip install 'dnacnn[genotypes]' "
            "(or pip install bed-reader)"
        ) from None
    ids = _read_fam(fam)
    markers, counted = _read_bim(bim)
    n, m = len(ids), len(markers)
    mode = _check_bed(bed, bim, fam, n, m)
    summary = GenotypeSummary(format="plink", qc=qc, individuals_read=n, markers_read=m)
    collector = Collector(bed, n, qc, summary, spill_dir)
    step = max(1, chunk_bytes // n)
    if mode == INDIVIDUAL_MAJOR:  # every chunk reads the whole file: take bigger ones
        step = max(step, -(-m // 8))
    try:
        with open_bed(bed, iid_count=n, sid_count=m, count_A1=True, num_threads=num_threads) as reader:
            for j0 in range(0, m, step):
                j1 = min(m, j0 + step)
                try:
                    values = reader.read(index=np.s_[:, j0:j1], dtype=np.int8, order="C")
                except (ValueError, OSError) as e:
                    raise InputError(
                        bed,
                        None,
                        f"bed-reader cannot read markers {j0 + 1}-{j1} ({e})",
                        "re-create the fileset with plink --make-bed",
                    ) from None
                values[values == _MISSING_INT8] = 3
                collector.add(values.view(np.uint8), markers[j0:j1], counted[j0:j1], marker_major=False)
        return collector.finish(ids)
    finally:
        collector.close()


FID_FIX = "rename the family: " + FIX.removeprefix("rename it: ")


def _read_fam(fam: Path) -> list[str]:
    """Individual ids: IID, or FID_IID for all when IIDs repeat."""
    fids, iids, lines = [], [], []
    with open(fam, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 6:
                raise InputError(
                    fam,
                    str(lineno),
                    f"{len(fields)} fields, but a .fam line has 6 (FID IID father mother sex phenotype)",
                    "write the .fam with plink, or fill the missing columns with 0",
                )
            fids.append(fields[0])
            iids.append(fields[1])
            lines.append(lineno)
    if not iids:
        raise InputError(fam, None, "no individuals (only blank lines)", "give one line per individual")
    check_ids(iids, fam, lines, what="individual")  # then FID_IID too: FIDs are checked below
    if len(set(iids)) == len(iids):
        return iids
    check_ids(fids, fam, lines, what="the family (FID, column 1) of individual", fix=FID_FIX)
    ids = [f"{fid}_{iid}" for fid, iid in zip(fids, iids)]
    first: dict[str, int] = {}
    for i, name in enumerate(ids):
        if name in first:
            raise InputError(
                fam,
                str(lines[i]),
                f"individual {fids[i]} {iids[i]} (FID IID) also on line {lines[first[name]]}",
                "give each individual one line",
            )
        first[name] = i
    return ids


def _read_bim(bim: Path) -> tuple[list[str], list[str]]:
    """Marker names and A1 alleles."""
    names, a1s = [], []
    with open(bim, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 6:
                raise InputError(
                    bim,
                    str(lineno),
                    f"{len(fields)} fields, but a .bim line has 6 (chromosome ID cM position A1 A2)",
                    "write the .bim with plink",
                )
            chrom, vid, _, pos, a1, a2 = fields[:6]
            names.append(vid if vid != "." else f"{chrom}:{pos}:{a2}:{a1}")
            a1s.append(a1)
    if not names:
        raise InputError(bim, None, "no markers (only blank lines)", "give one line per marker")
    return names, a1s


def _check_bed(bed: Path, bim: Path, fam: Path, n: int, m: int) -> int:
    """The .bed's mode (SNP- or individual-major) after checking its size against n and m."""
    with open(bed, "rb") as f:
        head = f.read(3)
    if head[:2] != MAGIC or len(head) < 3 or head[2] not in (SNP_MAJOR, INDIVIDUAL_MAJOR):
        raise InputError(
            bed,
            None,
            f"not a PLINK 1 .bed file (starts with {head.hex()}, not 6c1b01)",
            "convert it with plink --make-bed (PLINK 2 .pgen and text .ped files are not read)",
        )
    mode = head[2]
    size = bed.stat().st_size - 3
    if mode == SNP_MAJOR:
        per, count, per_what, count_what, per_file, count_file = -(-n // 4), m, "marker", "markers", fam, bim
    else:
        per, count, per_what, count_what, per_file, count_file = -(-m // 4), n, "individual", "individuals", bim, fam
    expected = per * count
    if size == expected:
        return mode
    layout = f"{n} individuals (.fam) x {m} markers (.bim) take {expected + 3} bytes"
    if size % count == 0:  # the record count fits: bytes per record say the other file is wrong
        held = size // count
        low, high = 4 * held - 3, 4 * held
        which = "individuals" if mode == SNP_MAJOR else "markers"
        raise InputError(
            bed,
            None,
            f"{per_file.name} lists {n if mode == SNP_MAJOR else m} {which} but the .bed holds {held} bytes per "
            f"{per_what}, i.e. {low}-{high} {which} ({layout}, the .bed has {size + 3})",
            f"{per_file.name} is not from the same fileset as the .bed"
            + (" (or the .bed is truncated)" if size < expected else "")
            + "; re-create them together",
        )
    if size % per == 0:  # whole records, but not as many as listed
        held = size // per
        what = "truncated, or " if held < count else ""
        raise InputError(
            bed,
            None,
            f"holds {held} {count_what} but {count_file.name} lists {count} ({layout}, the .bed has {size + 3})",
            f"the .bed is {what}not from the same fileset as {count_file.name}; re-create them together",
        )
    if size < expected:
        raise InputError(
            bed,
            None,
            f"truncated: {size + 3} bytes but {layout}",
            "re-copy or re-create the .bed (plink --make-bed)",
        )
    raise InputError(
        bed,
        None,
        f"{size + 3} bytes but {layout}",
        "the .bed, .bim and .fam are not from the same fileset; re-create them together",
    )
