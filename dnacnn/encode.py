"""``dnacnn encode``: read labelled sequences or genotypes and write a tensor store.

Contract: :func:`encode` reads one input (FASTA, table, one-sequence-per-line, BED + genome,
genotype matrix, VCF/BCF or PLINK) as :class:`~dnacnn.encode_options.EncodeOptions` say and
writes a store (:mod:`dnacnn.store`), returning its path; every bad input is a one-line error.
One path for every DNA input kind: :func:`dnacnn.encode_batches.dna_batches` turns reader chunks
into fixed-length code arrays with labels, optional negatives (shuffled, genome windows or a
file) are added per chunk, and a :class:`dnacnn.store.StoreWriter` streams them to disk.  The
duplicate-ID check spills its hashes to disk (:mod:`dnacnn.unique_ids`), ``--split chrom`` is
decided per chunk and a random split deals the stored labels a chunk at a time, so encode's
memory is flat in the record count.  Splits are made at the end (:mod:`dnacnn.encode_split`);
shuffled
negatives share their positive's split so no shuffle of a test sequence is trained on.  Not to
be confused with :mod:`dnacnn.codes`, the code tables.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dnacnn.codes import dna_encoding, genotype_encoding
from dnacnn.encode_batches import Batch, check_length, dna_batches, shuffled_negatives
from dnacnn.encode_labels import LabelInfo, class_names, resolve_task
from dnacnn.encode_manifest import build_manifest, in_background, sha256
from dnacnn.encode_options import EncodeOptions, check_options
from dnacnn.encode_split import SplitRows, make_folds, make_split
from dnacnn.errors import DnacnnError, InputError
from dnacnn.io import check_readable, detect_format
from dnacnn.io.outputs import refuse_inputs
from dnacnn.store import StoreWriter, check_replaceable, id_lines
from dnacnn.unique_ids import UniqueIds

__all__ = ["EncodeOptions", "encode", "sha256"]

LABEL_VALUES = 256  # distinct label values kept to resolve the task


def encode(input_path: str | os.PathLike, out: str | os.PathLike, opts: EncodeOptions | None = None) -> Path:
    """Encode ``input_path`` into a tensor store at ``out`` and return its path."""
    opts = opts or EncodeOptions()
    check_options(opts)
    check_store_out(Path(out), input_path, opts)
    input_path = check_readable(input_path)
    fmt = opts.format
    if fmt == "auto":
        from dnacnn.io.genotype import detect_genotype_format

        fmt = detect_genotype_format(input_path) or detect_format(input_path)
    if fmt in ("genotype", "vcf", "plink"):
        return _encode_genotypes(input_path, fmt, Path(out), opts)
    return _encode_dna(input_path, fmt, Path(out), opts)


def check_store_out(out: Path, input_path, opts: EncodeOptions) -> None:
    """One line, before anything is read or written, if the store ``out`` would replace one of the
    inputs (or a folder holding one), or something that is not a store."""
    inputs = [input_path, opts.phenotypes, opts.fold_file, *opts.targets]
    if opts.labels and opts.labels != "header":
        inputs.append(opts.labels)
    if opts.genome:
        inputs += [opts.genome, f"{opts.genome}.fai"]
    if opts.negatives not in (None, "shuffle", "genome"):
        inputs.append(opts.negatives)
    if Path(input_path).suffix.lower() == ".bed":  # perhaps a PLINK fileset: its other two files
        inputs += [Path(input_path).with_suffix(suffix) for suffix in (".bim", ".fam")]
    refuse_inputs(out, inputs, fix="give a new store path, e.g. data.store")
    check_replaceable(out)


def _encode_dna(path: Path, fmt: str, out: Path, opts: EncodeOptions) -> Path:
    info = LabelInfo()
    digests = {path: in_background(sha256, path)}  # hashed on the other core while we encode
    targets = _track_targets(path, fmt, opts, digests) if opts.targets else None
    batches = dna_batches(path, fmt, opts, info, targets)
    first = next(batches, None)
    if first is None:
        raise InputError(path, None, "no records found", "give a file with sequences")
    length = first.codes.shape[1]
    n_tasks = first.labels.shape[1]
    rng = np.random.default_rng(opts.seed)
    n_groups = 0
    inputs = [path, *(Path(t) for t in opts.targets)]
    background = _genome_background(path, fmt, opts, length) if opts.negatives == "genome" else None
    with StoreWriter(out, length, n_tasks) as writer, _progress(opts, path) as bar:
        rows = _Rows(opts, writer)
        for batch in _chain(first, batches):
            check_length(path, batch, length)
            own = np.arange(n_groups, n_groups + len(batch.ids))
            rows.append(batch, own)
            if opts.negatives == "shuffle":
                k = opts.negatives_per_positive
                rows.append(shuffled_negatives(batch, rng, k), np.repeat(own, k))
            if background is not None:
                background.add(batch.ids, batch.codes, own, batch.lines)
            n_groups += len(batch.ids)
            bar.update(len(batch.ids))
        if background is not None:
            for block in background.negatives(rng):
                labels = targets.values(block.ids) if targets else np.zeros((len(block.ids), n_tasks), np.float32)
                rows.append(Batch(block.ids, block.codes, labels, block.lines), block.groups)
                bar.update(len(block.ids))
        if opts.negatives and opts.negatives not in ("shuffle", "genome"):
            neg_path = check_readable(opts.negatives)
            inputs.append(neg_path)
            digests[neg_path] = in_background(sha256, neg_path)
            neg_opts = EncodeOptions(
                **{**opts.__dict__, "labels": None, "label_value": 0.0, "label_cols": [], "length": length}
            )
            for batch in dna_batches(neg_path, detect_format(neg_path), neg_opts, LabelInfo()):
                check_length(neg_path, batch, length)
                rows.append(batch, np.arange(n_groups, n_groups + len(batch.ids)))
                n_groups += len(batch.ids)
                bar.update(len(batch.ids))
        writer.flush()
        rows.unique.check(writer.tmp / "ids.txt", path)
        labels = writer.labels()  # memory-mapped: read where a split or the classes need it
        task = resolve_task("regression" if targets else opts.task, rows.label_values(), path)
        split = make_split(opts, labels, task, rows.split)
        folds = make_folds(opts, labels, task, rows.split)
        manifest = build_manifest(inputs, opts, dna_encoding(length), task, info.names or ["label"], digests)
        if task == "multiclass":
            manifest["classes"] = class_names(info, labels)
        if background is not None:
            manifest["negatives"] = background.summary.to_dict()
        if targets is not None:
            manifest["targets"] = targets.summary.to_dict()
        return writer.finish(split, manifest, folds=folds)


def _genome_background(path: Path, fmt: str, opts: EncodeOptions, length: int):
    """The sampler of ``--negatives genome``, holding the BED's intervals (read in a first pass)."""
    from dnacnn.background import GenomeBackground
    from dnacnn.io.bed import open_genome, read_intervals

    if fmt != "bed":
        raise DnacnnError(f"{path}: --negatives genome needs BED/narrowPeak input with --genome (peaks to avoid)")
    if str(path) == "-":
        raise DnacnnError("--negatives genome reads the BED file twice; give a file, not '-'")
    genome = open_genome(opts.genome)
    intervals = read_intervals(path, {name: len(rec) for name, rec in genome.records.items()})
    flank = length if opts.negative_flank is None else opts.negative_flank
    return GenomeBackground(genome, intervals, length, opts.negatives_per_positive, flank)


def _track_targets(path: Path, fmt: str, opts: EncodeOptions, digests: dict):
    """The bigWig tracks of ``--targets`` (BED input only), hashed in the background as inputs."""
    from dnacnn.io.bigwig import TrackTargets

    if fmt != "bed":
        raise DnacnnError(f"{path}: --targets labels genome windows, so it needs BED/narrowPeak input with --genome")
    tracks = TrackTargets(opts.targets, opts.target_stat, opts.target_log1p)
    for track in tracks.paths:
        digests[Path(track)] = in_background(sha256, track)
    return tracks


def _chain(first, rest):
    yield first
    yield from rest


class _Rows:
    """Each stored row written, and what encode keeps of it while records stream in: its ID's
    hash (the duplicate check), what the split needs, and the distinct label values (the task)."""

    def __init__(self, opts: EncodeOptions, writer: StoreWriter) -> None:
        self.writer = writer
        self.unique = UniqueIds(writer.tmp / "id-hashes")  # removed by the check, before the store is final
        self.split = SplitRows(opts)
        self._values = np.zeros(0, np.float32)

    def append(self, batch: Batch, group_ids: np.ndarray) -> None:
        id_bytes = batch.id_bytes if batch.id_bytes is not None else id_lines(batch.ids)
        self.writer.append(batch.codes, batch.labels, id_bytes)
        self.unique.add(batch.ids)
        self.split.add(batch.ids, group_ids, batch.split_values)
        if len(self._values) <= LABEL_VALUES:  # enough to tell binary from regression and name a bad label
            finite = batch.labels[np.isfinite(batch.labels)]
            self._values = np.union1d(self._values, finite)[: LABEL_VALUES + 1]

    def label_values(self) -> np.ndarray:
        """Distinct finite labels (the smallest few hundred where there are more)."""
        return self._values


def _encode_genotypes(path: Path, fmt: str, out: Path, opts: EncodeOptions) -> Path:
    from dnacnn.io.genotype import read_genotype_input
    from dnacnn.io.genotype_qc import GenotypeQC
    from dnacnn.io.phenotypes import read_phenotypes

    if not opts.phenotypes:
        raise DnacnnError(f"{path}: genotype input needs --phenotypes FILE (one row per individual)")
    out.parent.mkdir(parents=True, exist_ok=True)  # the spill files go beside the store
    geno = read_genotype_input(
        path,
        fmt,
        GenotypeQC(maf=opts.maf, max_missing=opts.max_missing, max_sample_missing=opts.max_sample_missing),
        multiallelic=opts.multiallelic,
        spill_dir=out.parent if fmt in ("vcf", "plink") else None,
    )
    pheno = read_phenotypes(
        opts.phenotypes,
        traits=opts.traits or None,
        n_expected=len(geno.ids),
        genotype_path=path,
        genotype_ids=geno.ids if geno.has_ids else None,
        removed_ids=geno.qc.removed_ids,
    )
    values = pheno.values  # rows in genotype order (matched by ID when both files carry IDs)
    codes = geno.codes  # a read-only memmap for VCF/PLINK (spill_dir): never make full-size temporaries of it
    marker_means = geno.marker_means  # computed chunk by chunk by the reader
    task = resolve_task("regression" if opts.task == "auto" else opts.task, values, opts.phenotypes)
    with StoreWriter(out, codes.shape[1], values.shape[1]) as writer:
        _append_in_bands(writer, codes, values, geno.ids)
        split = make_split(opts, values, task, None)
        folds = make_folds(opts, values, task, None)
        encoding = genotype_encoding(codes.shape[1], opts.genotype_scheme)
        manifest = build_manifest([path, Path(opts.phenotypes)], opts, encoding, task, pheno.names)
        manifest["markers"] = list(geno.markers)
        manifest["genotype_format"] = fmt
        if geno.counted is not None:
            manifest["counted_alleles"] = list(geno.counted)  # VCF: ALT; PLINK: A1
        manifest["genotype_qc"] = geno.qc.to_dict()
        return writer.finish(split, manifest, marker_means=marker_means.astype(np.float32), folds=folds)


def _append_in_bands(writer: StoreWriter, codes: np.ndarray, values: np.ndarray, ids: list[str]) -> None:
    """Rows ~64 MB at a time.  A memory-mapped matrix (VCF/PLINK spill file) has its pages dropped
    after each band: they are clean copies of the file, and kept they would count the whole matrix
    as resident memory (5 GB for 10k x 500k) where one band is needed."""
    import mmap

    band = max(1, (64 << 20) // max(codes.shape[1], 1))
    mapped = getattr(codes, "_mmap", None)
    for r0 in range(0, len(codes), band):
        writer.append(codes[r0 : r0 + band], values[r0 : r0 + band], ids[r0 : r0 + band])
        if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
            mapped.madvise(mmap.MADV_DONTNEED)


class _NoBar:
    def update(self, n):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        pass


def _progress(opts: EncodeOptions, path):
    if not opts.progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(desc=f"encode {Path(path).name}", unit=" rec", unit_scale=True, disable=None, leave=False)
