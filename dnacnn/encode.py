"""``dnacnn encode``: read labelled sequences or genotypes and write a tensor store.

One path for every input kind: a reader yields chunks of records, :func:`_dna_batches` turns
them into fixed-length code arrays with labels, optional dinucleotide-shuffled negatives are
added per chunk, and a :class:`dnacnn.store.StoreWriter` streams them to disk.  Only per-record
scalars (an 8-byte ID hash, labels, split) are held in memory, so peak memory stays flat as
inputs grow.  Splits are computed at the end; shuffled negatives share their positive's split so
no shuffle of a test sequence is trained on.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from dnacnn.encoding import DNA_LUT, INVALID, dna_encoding, fit_length, genotype_encoding
from dnacnn.errors import DnacnnError, InputError
from dnacnn.io import check_readable, detect_format
from dnacnn.store import SPLIT_CODE, StoreWriter, id_lines

TASKS = ("auto", "binary", "multiclass", "regression")
SPLITS = ("random", "chrom", "column", "folds", "train", "test")


@dataclass
class EncodeOptions:
    """Everything ``dnacnn encode`` can be told; defaults are the CLI's defaults."""

    format: str = "auto"
    labels: str | None = None  # a label table path, or "header"
    label_value: float | None = None  # one constant label for every record
    label_cols: list[str] = field(default_factory=list)
    seq_col: str = "seq"
    id_col: str | None = None
    genome: str | None = None
    length: int | None = None
    phenotypes: str | None = None
    traits: list[str] = field(default_factory=list)
    genotype_scheme: str = "onehot"
    maf: float = 0.0  # genotype QC (VCF, PLINK and matrix): see dnacnn.io.genotype_qc
    max_missing: float = 1.0
    max_sample_missing: float = 1.0
    multiallelic: str = "skip"  # VCF records with several ALT alleles: skip or split
    task: str = "auto"
    negatives: str | None = None  # "shuffle", "genome" (BED input) or a FASTA/table of negatives
    negatives_per_positive: int = 1
    negative_flank: int | None = None  # genome negatives keep this far from peaks (default: --length)
    targets: list[str] = field(default_factory=list)  # bigWig tracks -> regression labels (BED input)
    target_stat: str = "mean"  # per window: mean, sum or max of each track
    target_log1p: bool = False
    split: str = "random"
    valid_frac: float = 0.1
    test_frac: float = 0.1
    valid_chroms: list[str] = field(default_factory=list)
    test_chroms: list[str] = field(default_factory=list)
    split_col: str | None = None
    folds: int = 10  # --split folds: seeded folds, or
    fold_file: str | None = None  # one fold id per record, in input order (e.g. BGLR's wheat.sets)
    seed: int = 0
    progress: bool = True


@dataclass
class LabelInfo:
    """What the readers learnt about the labels: column names and multiclass class names."""

    names: list[str] = field(default_factory=list)
    classes: dict[str, int] = field(default_factory=dict)


@dataclass
class Batch:
    """Fixed-length records: ``codes`` (b, length) uint8, ``labels`` (b, tasks) float32."""

    ids: list[str]
    codes: np.ndarray
    labels: np.ndarray
    lines: np.ndarray
    split_values: list[str] | None = None
    id_bytes: bytes | None = None  # ``ids`` as newline-terminated UTF-8, when the reader has them


def encode(input_path: str | os.PathLike, out: str | os.PathLike, opts: EncodeOptions | None = None) -> Path:
    """Encode ``input_path`` into a tensor store at ``out`` and return its path."""
    opts = opts or EncodeOptions()
    _check_options(opts)
    input_path = check_readable(input_path)
    fmt = opts.format
    if fmt == "auto":
        from dnacnn.io.genotype import detect_genotype_format

        fmt = detect_genotype_format(input_path) or detect_format(input_path)
    if fmt in ("genotype", "vcf", "plink"):
        return _encode_genotypes(input_path, fmt, Path(out), opts)
    return _encode_dna(input_path, fmt, Path(out), opts)


def _check_options(opts: EncodeOptions) -> None:
    if opts.task not in TASKS:
        raise DnacnnError(f"unknown --task {opts.task!r}; use one of {', '.join(TASKS)}")
    if opts.split not in SPLITS:
        raise DnacnnError(f"unknown --split {opts.split!r}; use one of {', '.join(SPLITS)}")
    if opts.split == "chrom" and not (opts.test_chroms or opts.valid_chroms):
        raise DnacnnError("--split chrom needs --test-chroms and/or --valid-chroms (e.g. --test-chroms chr8,chr9)")
    if opts.split == "column" and not opts.split_col:
        raise DnacnnError("--split column needs --split-col NAME (a column holding train/valid/test)")
    if opts.fold_file and opts.split != "folds":
        raise DnacnnError("--fold-file needs --split folds")
    if opts.length is not None and opts.length < 1:
        raise DnacnnError(f"--length must be a positive number of bases, got {opts.length}")
    if opts.negatives == "shuffle" and opts.task in ("multiclass", "regression"):
        raise DnacnnError("--negatives shuffle makes label-0 sequences, so it needs a binary task")
    if opts.negatives_per_positive < 1:
        raise DnacnnError(f"--negatives-per-positive must be at least 1, got {opts.negatives_per_positive}")
    if opts.negative_flank is not None and opts.negative_flank < 0:
        raise DnacnnError(f"--negative-flank must be 0 or more bases, got {opts.negative_flank}")
    if opts.negative_flank is not None and opts.negatives != "genome":
        raise DnacnnError("--negative-flank applies to --negatives genome only")
    if opts.negatives == "genome" and opts.task == "multiclass":
        raise DnacnnError("--negatives genome makes label-0 windows (or track values), so it needs a binary task")
    if opts.targets:
        from dnacnn.io.bigwig import check_target_options

        check_target_options(opts)


# --------------------------------------------------------------------------- DNA inputs


def _encode_dna(path: Path, fmt: str, out: Path, opts: EncodeOptions) -> Path:
    info = LabelInfo()
    digests = {path: _in_background(sha256, path)}  # hashed on the other core while we encode
    targets = _track_targets(path, fmt, opts, digests) if opts.targets else None
    batches = _dna_batches(path, fmt, opts, info, targets)
    first = next(batches, None)
    if first is None:
        raise InputError(path, None, "no records found", "give a file with sequences")
    length = first.codes.shape[1]
    n_tasks = first.labels.shape[1]
    rng = np.random.default_rng(opts.seed)
    hashes, groups, split_values = [], [], []  # groups: the group id of each stored row, per append
    n_groups = 0
    inputs = [path, *(Path(t) for t in opts.targets)]
    background = _genome_background(path, fmt, opts, length) if opts.negatives == "genome" else None
    with StoreWriter(out, length, n_tasks) as writer, _progress(opts, path) as bar:
        for batch in _chain(first, batches):
            _check_length(path, batch, length)
            own = np.arange(n_groups, n_groups + len(batch.ids))
            _append(writer, batch, hashes, groups, own, split_values)
            if opts.negatives == "shuffle":
                k = opts.negatives_per_positive
                negatives = _shuffled_negatives(batch, rng, k)
                _append(writer, negatives, hashes, groups, np.repeat(own, k), split_values)
            if background is not None:
                background.add(batch.ids, batch.codes, own, batch.lines)
            n_groups += len(batch.ids)
            bar.update(len(batch.ids))
        if background is not None:
            for block in background.negatives(rng):
                labels = targets.values(block.ids) if targets else np.zeros((len(block.ids), n_tasks), np.float32)
                negatives = Batch(block.ids, block.codes, labels, block.lines)
                _append(writer, negatives, hashes, groups, block.groups, split_values)
                bar.update(len(block.ids))
        if opts.negatives and opts.negatives not in ("shuffle", "genome"):
            neg_path = check_readable(opts.negatives)
            inputs.append(neg_path)
            digests[neg_path] = _in_background(sha256, neg_path)
            neg_opts = EncodeOptions(
                **{**opts.__dict__, "labels": None, "label_value": 0.0, "label_cols": [], "length": length}
            )
            for batch in _dna_batches(neg_path, detect_format(neg_path), neg_opts, LabelInfo()):
                _check_length(neg_path, batch, length)
                own = np.arange(n_groups, n_groups + len(batch.ids))
                _append(writer, batch, hashes, groups, own, split_values)
                n_groups += len(batch.ids)
                bar.update(len(batch.ids))
        _check_unique_ids(writer, hashes, path)
        labels = np.asarray(writer.labels())
        task = _resolve_task("regression" if targets else opts.task, labels, path)
        split = _make_split(opts, labels, task, groups, writer, split_values)
        folds = _make_folds(opts, labels, task, groups)
        manifest = _manifest(inputs, opts, dna_encoding(length), task, info.names or ["label"], digests)
        if task == "multiclass":
            manifest["classes"] = _class_names(info, labels)
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
        digests[Path(track)] = _in_background(sha256, track)
    return tracks


def _chain(first, rest):
    yield first
    yield from rest


def _append(writer, batch: Batch, hashes, groups, group_ids: np.ndarray, split_values) -> None:
    id_bytes = batch.id_bytes if batch.id_bytes is not None else id_lines(batch.ids)
    writer.append(batch.codes, batch.labels, id_bytes)
    hashes.append(np.fromiter(map(hash, batch.ids), dtype=np.int64, count=len(batch.ids)))
    groups.append(np.asarray(group_ids, dtype=np.int64))
    if batch.split_values is not None:
        split_values.extend(batch.split_values)


def _check_length(path, batch: Batch, length: int) -> None:
    if batch.codes.shape[1] != length:
        raise InputError(
            path,
            f"{batch.lines[0]}",
            f"record '{batch.ids[0]}' is {batch.codes.shape[1]} bp but earlier records are {length} bp",
            "use --length L to centre-crop / N-pad all records to L",
        )


def _dna_batches(path: Path, fmt: str, opts: EncodeOptions, info: LabelInfo, targets=None) -> Iterator[Batch]:
    """Fixed-length coded records with numeric labels, chunk by chunk, from any DNA reader;
    ``targets`` (:class:`dnacnn.io.bigwig.TrackTargets`) labels BED windows with track values."""
    label_table = None
    if opts.labels and opts.labels != "header":
        from dnacnn.io.tabular import LabelTable

        label_table = LabelTable(opts.labels, opts.label_cols or None)
        info.names = list(label_table.names)
    elif opts.label_cols:
        info.names = list(opts.label_cols)
    if targets is not None:
        info.names = list(targets.names)
    for chunk in _read_chunks(path, fmt, opts):
        if fmt == "fasta":
            codes = _fit_ragged(path, chunk.codes, chunk.offsets, chunk.ids, chunk.lines, opts.length)
            header_labels = chunk.descriptions if opts.labels == "header" else None
            table_labels = None
        else:
            codes = _codes_from_strings(path, chunk.seqs, chunk.ids, chunk.lines, opts.length)
            header_labels = None
            table_labels = chunk.labels
            if isinstance(table_labels, np.ndarray):  # BED label columns arrive as floats already
                table_labels = pd.DataFrame(table_labels)
        if label_table is not None:
            table_labels = label_table.lookup(chunk.ids, path, chunk.lines)
        if targets is not None:
            labels = targets.values(chunk.ids)
        else:
            labels = _numeric_labels(path, chunk, table_labels, header_labels, opts, label_table, info)
        split_values = None
        if opts.split == "column":
            split_values = _split_column(path, chunk, opts.split_col)
        id_bytes = getattr(chunk, "id_bytes", None)
        yield Batch(list(chunk.ids), codes, labels, np.asarray(chunk.lines), split_values, id_bytes)
    if label_table is not None:
        label_table.check_all_used(path)


def _read_chunks(path: Path, fmt: str, opts: EncodeOptions):
    if fmt == "fasta":
        from dnacnn.io.fasta import iter_fasta

        return iter_fasta(path)
    if fmt == "tabular":
        from dnacnn.io.tabular import iter_tabular

        extra = [opts.split_col] if opts.split == "column" else []
        return iter_tabular(path, opts.seq_col, list(opts.label_cols) + extra, opts.id_col)
    if fmt == "lines":
        from dnacnn.io.tabular import iter_lines

        return iter_lines(path)
    if fmt == "bed":
        if not opts.genome:
            raise DnacnnError(f"{path}: BED input needs --genome FASTA to read the window sequences")
        if not opts.length:
            raise DnacnnError(f"{path}: BED input needs --length L (the window width centred on each peak)")
        from dnacnn.io.bed import read_bed_windows

        try:
            columns = [int(c) for c in opts.label_cols] or None
        except ValueError:
            raise DnacnnError(f"{path}: BED --label-col takes 1-based column numbers, e.g. 5") from None
        return read_bed_windows(path, opts.genome, opts.length, label_columns=columns)
    raise DnacnnError(f"unknown --format {fmt!r}; use fasta, tabular, lines, bed, genotype, vcf or plink")


def _fit_ragged(path, codes, offsets, ids, lines, length) -> np.ndarray:
    """Back-to-back records -> (b, L); equal-length blocks reshape without copying."""
    lengths = np.diff(offsets)
    target = length or int(lengths[0])
    if (lengths == target).all():
        return codes.reshape(len(lengths), target)
    if length is None:
        i = int(np.flatnonzero(lengths != target)[0])
        raise InputError(
            path,
            f"{lines[i]}",
            f"record '{ids[i]}' is {lengths[i]} bp but earlier records are {target} bp",
            "use --length L to centre-crop / N-pad all records to L",
        )
    return np.stack([fit_length(codes[s:e], length) for s, e in zip(offsets[:-1], offsets[1:])])


def _codes_from_strings(path, seqs: list[str], ids, lines, length) -> np.ndarray:
    joined = "".join(seqs).encode("ascii", errors="replace")
    codes = DNA_LUT[np.frombuffer(joined, dtype=np.uint8)]
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in seqs])))
    bad = np.flatnonzero(codes == INVALID)
    if len(bad):
        rec = int(np.searchsorted(offsets, bad[0], side="right")) - 1
        char = joined[bad[0] : bad[0] + 1].decode(errors="replace")
        raise InputError(
            path,
            f"{lines[rec]}",
            f"invalid character {char!r} in record '{ids[rec]}'",
            "sequences may hold only A, C, G, T, N and IUPAC codes",
        )
    empty = np.flatnonzero(np.diff(offsets) == 0)
    if len(empty):
        raise InputError(path, f"{lines[empty[0]]}", f"record '{ids[empty[0]]}' has an empty sequence", "remove it")
    return _fit_ragged(path, codes, offsets, ids, lines, length)


def _numeric_labels(path, chunk, table, header, opts, label_table, info: LabelInfo) -> np.ndarray:
    n = len(chunk.ids)
    if opts.label_value is not None:
        return np.full((n, 1), opts.label_value, dtype=np.float32)
    if header is not None:
        rows = [d.split(None, 1)[0].split(",") if d else [] for d in header]
        width = len(rows[0])
        for i, r in enumerate(rows):
            if len(r) != width or width == 0:
                raise InputError(
                    path,
                    f"{chunk.lines[i]}",
                    f"header of '{chunk.ids[i]}' has {len(r)} label(s), expected {width or 1}",
                    "write '>ID LABEL' (comma-separate several labels)",
                )
        table = pd.DataFrame(rows)
        info.names = info.names or [f"label{k + 1}" for k in range(width)] if width > 1 else ["label"]
        where = path
    else:
        where = label_table.path if label_table is not None else path
    if table is None or table.shape[1] == 0:
        raise DnacnnError(
            f"{path}: no labels; give --labels FILE, --labels header, --label-col NAME or --label-value V"
        )
    if opts.split == "column" and opts.split_col in table.columns and table is chunk.labels:
        table = table.drop(columns=[opts.split_col])
    if opts.task == "multiclass":
        return _class_labels(table, info)
    values = table.apply(pd.to_numeric, errors="coerce")
    raw = table.astype(str).apply(lambda c: c.str.strip().str.upper())
    na = raw.isin(["", "NA", "NAN", "."])
    bad = values.isna().to_numpy() & ~na.to_numpy()
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        line = (
            chunk.lines[i]
            if where == path
            else f"{label_table.index.get_loc(chunk.ids[i]) + 2}"
            if (label_table is not None and label_table.index is not None)
            else chunk.lines[i]
        )
        raise InputError(
            where,
            f"{line}",
            f"label {table.iat[i, j]!r} of '{chunk.ids[i]}' is not a number",
            "labels must be numeric (0/1 for classes, or use --task multiclass for class names)",
        )
    return values.to_numpy(dtype=np.float32)


def _class_labels(table: pd.DataFrame, info: LabelInfo) -> np.ndarray:
    """Multiclass labels: integer class ids as they are, other names numbered by first appearance."""
    col = table.iloc[:, 0].astype(str).str.strip()
    classes = info.classes
    codes = [int(v) if v.isdigit() else classes.setdefault(v, len(classes)) for v in col]
    return np.asarray(codes, dtype=np.float32)[:, None]


def _class_names(info: LabelInfo, labels: np.ndarray) -> list[str]:
    if info.classes:
        return sorted(info.classes, key=info.classes.get)
    return [str(k) for k in range(int(np.nanmax(labels)) + 1)]


def _split_column(path, chunk, split_col) -> list[str]:
    if chunk.labels is None or split_col not in chunk.labels.columns:
        raise DnacnnError(f"{path}: --split-col {split_col!r} is only available for tabular inputs with that column")
    return chunk.labels[split_col].astype(str).tolist()


def _shuffled_negatives(batch: Batch, rng: np.random.Generator, times: int) -> Batch:
    from dnacnn.shuffle import dinucleotide_shuffle_batch

    codes = dinucleotide_shuffle_batch(batch.codes, rng, times=times)
    ids = [f"{i}_shuf{k}" for i in batch.ids for k in range(times)]
    labels = np.zeros((len(ids), batch.labels.shape[1]), dtype=np.float32)
    return Batch(
        ids,
        codes,
        labels,
        np.repeat(batch.lines, times),
        None if batch.split_values is None else [v for v in batch.split_values for _ in range(times)],
    )


def _check_unique_ids(writer: StoreWriter, hashes: list[np.ndarray], path) -> None:
    """Duplicate IDs via sorted 64-bit hashes; the slow exact pass runs only on a hash match.

    Moves the per-batch ``hashes`` into one array (emptying the list), so the check needs no more
    than the 8 bytes per record already held."""
    flat = np.empty(sum(map(len, hashes)), dtype=np.int64)
    start = 0
    while hashes:
        h = hashes.pop(0)
        flat[start : start + len(h)] = h
        start += len(h)
    flat.sort()
    if not (flat[1:] == flat[:-1]).any():
        return
    writer.flush()
    ids = (writer.tmp / "ids.txt").read_text().splitlines()
    seen: dict[str, int] = {}
    for i, rid in enumerate(ids):
        if rid in seen:
            raise InputError(
                path,
                f"record {i + 1}",
                f"duplicated ID '{rid}' (also record {seen[rid] + 1})",
                "give each record a unique ID",
            )
        seen[rid] = i


# --------------------------------------------------------------------------- genotypes


def _encode_genotypes(path: Path, fmt: str, out: Path, opts: EncodeOptions) -> Path:
    from dnacnn.io.genotype import read_genotype_input, read_phenotypes
    from dnacnn.io.genotype_qc import GenotypeQC

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
    task = _resolve_task("regression" if opts.task == "auto" else opts.task, values, opts.phenotypes)
    with StoreWriter(out, codes.shape[1], values.shape[1]) as writer:
        _append_in_bands(writer, codes, values, geno.ids)
        groups = [np.arange(len(geno.ids))]
        split = _make_split(opts, values, task, groups, writer, [])
        folds = _make_folds(opts, values, task, groups)
        encoding = genotype_encoding(codes.shape[1], opts.genotype_scheme)
        manifest = _manifest([path, Path(opts.phenotypes)], opts, encoding, task, pheno.names)
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


# --------------------------------------------------------------------------- labels, task, split


def _resolve_task(task: str, labels: np.ndarray, path) -> str:
    finite = labels[np.isfinite(labels)]
    if task == "auto":
        return "binary" if np.isin(finite, (0.0, 1.0)).all() else "regression"
    if task == "binary" and not np.isin(finite, (0.0, 1.0)).all():
        bad = finite[~np.isin(finite, (0.0, 1.0))][0]
        raise InputError(path, None, f"binary labels must be 0 or 1, found {bad:g}", "use --task regression")
    return task


def _make_split(opts: EncodeOptions, labels, task, groups, writer, split_values) -> np.ndarray:
    """``groups``: the group id of each stored row, per append, in store order; rows of one group
    (a positive and its negatives) always share a split."""
    from dnacnn import split as splits

    n = len(labels)
    if opts.split in ("train", "test", "folds"):  # folds: each fold's split is made when it is used
        return np.full(n, SPLIT_CODE["test" if opts.split == "test" else "train"], dtype=np.uint8)
    if opts.split == "column":
        return splits.split_from_column(split_values)
    if opts.split == "chrom":
        writer.flush()
        ids = (writer.tmp / "ids.txt").read_text().splitlines()
        base_ids = [i.rsplit("_shuf", 1)[0] for i in ids] if opts.negatives == "shuffle" else ids
        return splits.chrom_split(base_ids, opts.valid_chroms, opts.test_chroms)
    groups = np.concatenate(groups) if n else np.zeros(0, np.int64)
    n_groups = int(groups.max()) + 1 if n else 0
    if n_groups == n:  # no negatives made here: stratify on the labels
        return splits.random_split(labels, task, opts.valid_frac, opts.test_frac, opts.seed)
    # negatives follow their positive, so split the positives' groups
    group_split = splits.random_split(
        np.zeros((n_groups, 1), np.float32), "regression", opts.valid_frac, opts.test_frac, opts.seed
    )
    return group_split[groups]


def _make_folds(opts: EncodeOptions, labels, task, groups) -> np.ndarray | None:
    """Fold ids 1..k per stored row for ``--split folds`` (None otherwise); a positive and its
    negatives share a fold, as they share a split."""
    from dnacnn import split as splits

    if opts.split != "folds":
        return None
    n = len(labels)
    groups = np.concatenate(groups) if n else np.zeros(0, np.int64)
    n_groups = int(groups.max()) + 1 if n else 0
    if opts.fold_file:
        lines = Path(opts.fold_file).read_text().split()
        if len(lines) != n_groups:
            raise InputError(
                opts.fold_file, None, f"{len(lines)} fold ids for {n_groups} records", "give one fold id per record"
            )
        return splits.folds_from_values(lines, opts.fold_file)[groups]
    if n_groups == n:
        return splits.kfold_assignment(labels, task, opts.folds, opts.seed)
    return splits.kfold_assignment(np.zeros(n_groups), "regression", opts.folds, opts.seed)[groups]


def _in_background(func, *args):
    """Start ``func(*args)`` in a daemon thread (hashlib and file reads release the GIL, so it runs
    on another core); returns a function that waits for the result and re-raises any error."""
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = func(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised by wait()
            result["error"] = e

    thread = threading.Thread(target=run, name="dnacnn-background", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    return wait


def sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _manifest(inputs, opts: EncodeOptions, encoding, task: str, label_names, digests: dict | None = None) -> dict:
    """``digests``: input path -> a function returning its sha256 (see :func:`_in_background`)."""
    settings = {k: v for k, v in opts.__dict__.items() if k != "progress"}
    digests = digests or {}
    if opts.fold_file:
        inputs = [*inputs, Path(opts.fold_file)]
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": [
            {"path": str(p), "sha256": digests[p]() if p in digests else sha256(p), "bytes": os.path.getsize(p)}
            for p in inputs
        ],
        "encoding": encoding.to_dict(),
        "task": task,
        "label_names": list(label_names),
        "settings": settings,
    }
    return manifest


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
