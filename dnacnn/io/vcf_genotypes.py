"""Genotype matrices from VCF / VCF.gz / BCF: GT calls -> dosage of the ALT allele.

Contract: :func:`read_vcf_genotypes` returns a :class:`~dnacnn.io.genotype.Genotypes` like the
numeric-matrix reader's: ``codes`` ``(individuals, markers)`` uint8 with 0, 1, 2 = copies of the
ALT allele and 3 = missing, ``ids`` = the header's sample names (``has_ids=True``), one marker
per kept record, in file order.

GT rules (the FORMAT GT field; other fields are ignored):

* ``0/0`` 0, ``0/1`` 1, ``1/1`` 2; phased (``0|1``) and unphased calls are read alike.
* Missing: ``./.``, ``.``, and a half-missing call (``./1``, ``0/.``), which is counted in the
  summary (``half_calls``).
* Haploid calls (``0``, ``1``, e.g. chrX of males, organelles, inbred lines called as haploid)
  count as homozygous: ``0`` -> 0, ``1`` -> 2, as PLINK stores them in a ``.bed``
  (``haploid_calls``).
* More than two alleles in a call (polyploid ``0/0/1/1``) is an error naming the record and sample:
  the 0/1/2 coding has no place for it.
* Multi-allelic records (ALT ``G,T``): skipped by default (``multiallelic="skip"``, counted as
  ``multiallelic_skipped``; what ``bcftools view -m2 -M2`` keeps and what a PLINK 1 fileset can
  hold), or ``"split"`` into one marker per ALT allele, coded as the dosage of that allele
  (``1/2`` is 1 for ``:G`` and 1 for ``:T``, as after ``bcftools norm -m-``).
* Records with ALT ``.`` (monomorphic) are markers with dosage 0; a MAF filter removes them.
* FILTER, QUAL and INFO are not looked at: filter with bcftools first if you want that.

Marker names: the ID column, or ``CHROM:POS:REF:ALT`` where ID is ``.``; a split record adds
``:ALT`` to its ID.  ``counted`` holds each marker's ALT allele.

Every problem (no GT in the header, a record without GT, a polyploid call, an allele index past
the record's alleles, a record htslib cannot parse, a truncated or corrupt file, no samples, no
records) raises a one-line :class:`~dnacnn.errors.InputError` naming the file and the line
(plain or bgzip VCF) or record number (BCF).  htslib prints its own diagnostic just before.

The file is read by cyvcf2 (htslib) one record at a time; GT arrays are decoded in numpy a chunk of
records at a time and QC'd (see :mod:`dnacnn.io.genotype_qc`), so memory is the kept output plus
~60 MB, or ~60 MB in all with ``spill_dir``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager

import numpy as np

from dnacnn.errors import DnacnnError, InputError
from dnacnn.ids import check_ids
from dnacnn.io import check_readable, open_binary, read_head
from dnacnn.io.genotype_qc import CHUNK_BYTES, Collector, GenotypeQC, GenotypeSummary

HTSLIB_SAYS = "see its message above"  # replaced by htslib's first error (see _htslib_messages)

MULTIALLELIC = ("skip", "split")
_MISSING = -1  # htslib's allele index for '.'
_END = -2  # htslib's vector end: the call has fewer alleles than the record's widest
_MAX_CHUNK_RECORDS = 1 << 16


def _call_table() -> np.ndarray:
    """Code of a call from its two alleles' low bytes, indexed ``256 * lo0 + lo1``.

    Alleles are htslib indices after recoding to the counted allele 1 (see ``_Reader._decode``):
    -2 vector end (a haploid call's absent second allele, low byte 0xFE), -1 missing (0xFF), 0, 1.
    The value is the code (0, 1, 2, 3 = missing) plus :data:`_HALF_FLAG` for a half-missing call
    (``./1``) and :data:`_HAPLOID_FLAG` for a called haploid one; other bytes are never looked up.
    """
    table = np.full(1 << 16, 3, np.uint8)
    byte = {-2: 0xFE, -1: 0xFF, 0: 0, 1: 1}
    for a0 in (-2, -1, 0, 1):
        for a1 in (-2, -1, 0, 1):
            if a0 < 0:
                code = 3 | (_HALF_FLAG if a1 >= 0 else 0)  # ./., ., ./1 (and a call with no allele)
            elif a1 == -2:
                code = 2 * a0 | _HAPLOID_FLAG  # haploid: homozygous, as PLINK stores it
            elif a1 == -1:
                code = 3 | _HALF_FLAG  # 0/.
            else:
                code = a0 + a1
            table[256 * byte[a0] + byte[a1]] = code
    return table


_HALF_FLAG, _HAPLOID_FLAG = 16, 32
_CALL_CODE = _call_table()


def read_vcf_genotypes(
    path: str | os.PathLike,
    qc: GenotypeQC | None = None,
    *,
    multiallelic: str = "skip",
    spill_dir: str | os.PathLike | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    threads: int | None = None,
):
    """Read a VCF, bgzipped VCF or BCF into a :class:`~dnacnn.io.genotype.Genotypes`.

    Parameters
    ----------
    path : path
        ``.vcf``, ``.vcf.gz`` (bgzip or gzip) or ``.bcf``; no index is needed.
    qc : GenotypeQC, optional
        Marker / individual filters (default: keep everything).
    multiallelic : str
        ``"skip"`` (default) or ``"split"`` records with several ALT alleles.
    spill_dir : path, optional
        Keep the kept markers in temporary files there instead of memory (see
        :func:`dnacnn.io.genotype.read_genotype_input`).
    chunk_bytes : int
        Codes decoded per chunk (records per chunk = ``chunk_bytes // samples``).
    threads : int, optional
        Extra htslib threads for BGZF decompression (default: none).

    Returns
    -------
    Genotypes
        ``codes`` ``(samples, markers)``, ``ids`` = sample names, ``counted`` = ALT alleles,
        ``marker_means``, ``qc`` (a :class:`~dnacnn.io.genotype_qc.GenotypeSummary`).
    """
    if multiallelic not in MULTIALLELIC:
        raise DnacnnError(f"unknown multiallelic={multiallelic!r}; use skip or split")
    qc = qc or GenotypeQC()
    qc.check()
    if str(path) == "-":
        raise DnacnnError("reading a VCF from standard input is not supported; give the file's path")
    path = check_readable(path)
    try:
        import cyvcf2
    except ImportError:
        raise DnacnnError(
            f"{path}: reading VCF/BCF needs cyvcf2; install it with: pip install 'dnacnn[genotypes]' "
            "(or pip install cyvcf2)"
        ) from None
    is_bcf = read_head(path, 3) == b"BCF"
    with _htslib_messages():
        try:
            vcf = cyvcf2.VCF(str(path), lazy=True, threads=threads)
        except OSError:
            raise InputError(
                path, None, "not a VCF or BCF file (htslib cannot read it)", "give a .vcf, .vcf.gz or .bcf"
            ) from None
        except Exception:  # cyvcf2 raises a bare Exception for a header htslib rejects
            raise InputError(
                path,
                None,
                f"htslib cannot parse the VCF header ({HTSLIB_SAYS}, e.g. a duplicated sample name)",
                "fix the header lines (## and #CHROM)",
            ) from None
        try:
            return _Reader(vcf, path, is_bcf, qc, multiallelic, spill_dir, chunk_bytes).read()
        finally:
            vcf.close()


@contextmanager
def _htslib_messages():
    """htslib writes its messages to file descriptor 2, around dnacnn's own line: they are gathered
    here, htslib's first error put into a refusal's one line (for :data:`HTSLIB_SAYS`) and the
    messages of a read that succeeds (warnings) written out after it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except DnacnnError as e:
            os.dup2(saved, 2)
            caught.seek(0)
            said = [x.strip() for x in caught.read(1 << 16).decode("utf-8", "replace").splitlines()]
            first = next((x for x in said if x.startswith("[E::")), next((x for x in said if x), ""))
            detail = f"htslib: {first[:200]}" if first else "htslib gave no detail"
            e.args = (str(e).replace(HTSLIB_SAYS, detail),)
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        rest = caught.read(1 << 16)
        if rest:
            os.write(2, rest)


class _Chunk:
    """Allele indices ``(k, n, 3)`` of consecutive markers (cyvcf2's layout: two alleles and a
    phasing flag, so a diploid record is one contiguous copy) with what is needed to decode them
    (the allele each row counts, the record's allele count) and to name them in errors."""

    def __init__(self, rows: int, n: int) -> None:
        self.alleles = np.empty((rows, n, 3), "<i2")  # little-endian: _decode reads the low bytes
        self.target = np.empty(rows, np.int16)
        self.n_alleles = np.empty(rows, np.int16)
        self.clear()

    def clear(self) -> None:
        self.k = 0
        self.records: list[int] = []  # 1-based record number of each row
        self.names: list[str] = []
        self.counted: list[str] = []
        self.locs: dict[int, tuple[str, int, str]] = {}  # record -> (CHROM, POS, ID)

    @property
    def capacity(self) -> int:
        return len(self.target)


class _Reader:
    """One pass over a cyvcf2.VCF: records -> chunks of allele indices -> codes -> collector."""

    def __init__(self, vcf, path, is_bcf: bool, qc: GenotypeQC, multiallelic: str, spill_dir, chunk_bytes: int):
        self.path = path
        self.samples = list(vcf.samples)
        self.n = n = len(self.samples)
        if n == 0:
            raise InputError(
                path,
                None,
                "no samples: the #CHROM line has no columns after FORMAT (a sites-only VCF)",
                "give a VCF with genotype calls",
            )
        try:
            vcf.get_header_type("GT")
        except KeyError:
            raise InputError(
                path,
                None,
                "no GT field in the header (no ##FORMAT=<ID=GT,...> line), so there are no genotype calls to read",
                "give a VCF with called genotypes (GT); dosage-only (DS) or likelihood-only files are not read",
            ) from None
        self.vcf = vcf
        self.is_bcf = is_bcf
        self.header_lines = 0 if is_bcf else _header_lines(path)
        check_ids(self.samples, path, None if is_bcf else [self.header_lines] * n, what="sample")  # the #CHROM line
        self.split = multiallelic == "split"
        self.summary = GenotypeSummary(format="vcf", qc=qc, individuals_read=n)
        self.collector = Collector(path, n, qc, self.summary, spill_dir)
        self.chunk = _Chunk(int(min(_MAX_CHUNK_RECORDS, max(1, chunk_bytes // n))), n)

    def where(self, record: int) -> str:
        return f"record {record}" if self.is_bcf else str(self.header_lines + record)

    def read(self):
        try:
            rec = 0
            for rec, v in enumerate(self._records(), 1):
                self._add(rec, v)
            self.summary.markers_read = rec
            self._decode()
            self.chunk = None  # free the allele buffer before the matrix is assembled
            if rec == 0:
                raise InputError(self.path, None, "no variant records after the header", "give a VCF with records")
            return self.collector.finish(self.samples)
        finally:
            self.collector.close()

    def _records(self):
        it = iter(self.vcf)
        rec = 0
        while True:
            try:
                v = next(it)
            except StopIteration:
                return
            except Exception:  # htslib could not read or parse the next record
                raise InputError(
                    self.path,
                    self.where(rec + 1),
                    f"htslib cannot read this record ({HTSLIB_SAYS}): wrong number of columns, "
                    "a malformed field, or a truncated or corrupt file",
                    "fix or re-create the file (bcftools view reports the same problem)",
                ) from None
            rec += 1
            yield v

    def _add(self, rec: int, v) -> None:
        alts = v.ALT
        if len(alts) > 1 and not self.split:
            self.summary.multiallelic_skipped += 1
            return
        vid = v.ID
        loc = (v.CHROM, v.POS, vid or ".")
        try:
            calls = v.genotype.array()
        except Exception:
            problem = (
                f"{_loc(loc)} has no GT in its FORMAT column ({':'.join(v.FORMAT) or 'empty'})"
                if "GT" not in v.FORMAT
                else f"{_loc(loc)} has GT in FORMAT but htslib could not read the calls"
            )
            raise InputError(self.path, self.where(rec), problem, "give every record a GT call per sample") from None
        rows = max(1, len(alts))
        chunk = self.chunk
        if chunk.k + rows > chunk.capacity:
            self._decode()
            if rows > chunk.capacity:  # a record with more ALT alleles than a chunk has rows
                chunk = self.chunk = _Chunk(rows, self.n)
        first = chunk.k
        self._put_calls(chunk.alleles[first], calls, rec, loc)
        chunk.locs[rec] = loc
        if len(alts) > 1:
            self.summary.multiallelic_split += 1
        base = vid or f"{v.CHROM}:{v.POS}:{v.REF}"
        for a, alt in enumerate(alts or ["."], 1):
            k = chunk.k
            if k > first:
                chunk.alleles[k] = chunk.alleles[first]
            chunk.target[k], chunk.n_alleles[k] = a, 1 + len(alts)
            chunk.records.append(rec)
            chunk.names.append(vid if vid and len(alts) <= 1 else f"{base}:{alt}")
            chunk.counted.append(alt)
            chunk.k += 1

    def _put_calls(self, out: np.ndarray, calls: np.ndarray, rec: int, loc) -> None:
        """Copy one record's calls ``(n, ploidy + 1)`` (last column: phasing) into ``out`` ``(n, 3)``:
        the first two alleles (vector end for a haploid call's second one), the phasing flag unused."""
        ploidy = calls.shape[1] - 1
        if ploidy == 2:
            out[:] = calls
        elif ploidy == 1:
            out[:, 0] = calls[:, 0]
            out[:, 1] = _END
        elif ploidy == 0:
            out[:] = _MISSING
        else:
            bad = np.flatnonzero((calls[:, 2:ploidy] != _END).any(axis=1))
            if bad.size:
                s = int(bad[0])
                present = [int(a) for a in calls[s, :ploidy] if a != _END]
                gt = "/".join("." if a == _MISSING else str(a) for a in present)
                raise InputError(
                    self.path,
                    self.where(rec),
                    f"{_loc(loc)}: sample {self.samples[s]!r} has a {len(present)}-allele call {gt}; "
                    "only haploid and diploid calls can be coded 0/1/2",
                    "remove polyploid samples or records first (bcftools view -s / -e)",
                )
            out[:, :2] = calls[:, :2]

    def _decode(self) -> None:
        """Codes ``(k, n)`` from the chunk's allele indices, handed to the collector."""
        chunk = self.chunk
        k = chunk.k
        if not k:
            return
        pairs = chunk.alleles[:k, :, :2]
        target, n_alleles = chunk.target[:k], chunk.n_alleles[:k]
        special = np.flatnonzero((target != 1) | (n_alleles != 2))  # split records, ALT '.'
        if special.size:  # check against the record's alleles, then recode to 0 / 1 (the counted one)
            sub = pairs[special]
            self._check_alleles(sub, n_alleles[special], chunk.records, special)
            t = target[special, None, None]
            pairs[special] = np.where(sub == t, 1, np.where(sub >= 0, 0, sub))
        if pairs[..., 0].max() > 1 or pairs[..., 1].max() > 1:  # biallelic rows: allele 2+ does not exist
            self._check_alleles(pairs, n_alleles, chunk.records, np.arange(k))
        low = chunk.alleles[:k].view(np.uint8)  # (k, n, 6): a0 low byte at 0, a1 low byte at 2
        index = low[..., 0].astype(np.uint16)
        index <<= 8
        index |= low[..., 2]
        codes = _CALL_CODE[index]
        self.summary.half_calls += int(np.count_nonzero(codes == 3 | _HALF_FLAG))
        self.summary.haploid_calls += int(np.count_nonzero(codes == _HAPLOID_FLAG))
        self.summary.haploid_calls += int(np.count_nonzero(codes == 2 | _HAPLOID_FLAG))
        codes &= 3
        self.collector.add(codes, chunk.names, chunk.counted, marker_major=True)
        chunk.clear()

    def _check_alleles(self, pairs: np.ndarray, n_alleles: np.ndarray, records: list[int], rows: np.ndarray) -> None:
        """Raise for the first allele index past its record's alleles (``pairs`` ``(r, n, 2)``)."""
        bad = pairs >= n_alleles[:, None, None]
        if not bad.any():
            return
        r, sample, _ = (int(x) for x in np.argwhere(bad)[0])
        record = records[int(rows[r])]
        top = int(n_alleles[r])
        raise InputError(
            self.path,
            self.where(record),
            f"{_loc(self.chunk.locs[record])}: sample {self.samples[sample]!r} has allele index "
            f"{int(pairs[r, sample].max())} but the record has {top} alleles (REF + {top - 1} ALT)",
            "fix the GT or the ALT column",
        )


def _header_lines(path) -> int:
    """Lines before the first record of a text VCF (htslib's header adds lines of its own)."""
    count = 0
    with open_binary(path) as f:
        for line in f:
            if not line.startswith(b"#"):
                break
            count += 1
    return count


def _loc(loc: tuple[str, int, str]) -> str:
    chrom, pos, vid = loc
    return f"{chrom}:{pos}" + (f" ({vid})" if vid and vid != "." else "")
