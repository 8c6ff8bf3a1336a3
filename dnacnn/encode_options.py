"""What ``dnacnn encode`` can be told, and the checks of option combinations.

Contract: :class:`EncodeOptions` holds every setting of ``dnacnn encode`` with the CLI's defaults
(the CLI, the tests and the benchmarks build one and pass it to :func:`dnacnn.encode.encode`);
:func:`check_options` raises a one-line :class:`~dnacnn.errors.DnacnnError` for a combination the
encoder cannot honour, before any input is read.  No numpy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dnacnn.errors import DnacnnError

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


def check_options(opts: EncodeOptions) -> None:
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
