"""What ``dnacnn encode`` can be told, and the checks of option combinations.

Contract: :class:`EncodeOptions` holds every setting of ``dnacnn encode`` with the CLI's defaults
(the CLI, the tests and the benchmarks build one and pass it to :func:`dnacnn.encode.encode`);
each field carries its option's help, so the ``dnacnn encode`` options are generated from it
(:mod:`dnacnn.cli.options`: a ``list[str]`` field is one comma-separated option, ``cli_name`` and
``cli_type`` say where the option differs from the field); :func:`check_options` raises a
one-line :class:`~dnacnn.errors.DnacnnError` for a combination the encoder cannot honour, before
any input is read.  No numpy, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnacnn.errors import DnacnnError
from dnacnn.split import TASKS

ENCODE_TASKS = ("auto", *TASKS)
MAX_NEGATIVES_PER_POSITIVE = 1000  # each is a shuffled copy of a whole batch, held in memory
MAX_SEED = 2**32 - 1  # numpy's legacy seeding (and torch's) takes no more
SPLIT_METHODS = ("random", "chrom", "column", "folds", "train", "test")


def option(value: Any = None, help: str = "", **cli: Any) -> Any:  # noqa: A002  (the help of the option)
    """An :class:`EncodeOptions` field: its default, its ``dnacnn encode`` help and how the option
    differs from the field (``cli_name``, ``cli_type``; see :mod:`dnacnn.cli.options`)."""
    if isinstance(value, list):
        return field(default_factory=list, metadata={"help": help, **cli})
    return field(default=value, metadata={"help": help, **cli})


@dataclass
class EncodeOptions:
    """Everything ``dnacnn encode`` can be told, in the order of its options; defaults are the CLI's."""

    format: str = option("auto", "auto, fasta, tabular, lines, bed, genotype (numeric matrix), vcf (VCF/BCF) or plink.")
    labels: str | None = option(None, "Label table keyed by record ID (or one label per line), or 'header'.")
    label_cols: list[str] = option([], "Label column name(s), comma-separated (multi-task).", cli_name="label_col")
    label_value: float | None = option(None, "Give every record this label (e.g. 1 for peaks).")
    seq_col: str = option("seq", "Sequence column of a tabular input.")
    id_col: str | None = option(None, "ID column of a tabular input.")
    genome: str | None = option(None, "Reference genome FASTA for BED input.", cli_type=Path)
    length: int | None = option(None, "Centre-crop / N-pad every sequence to this length (BED: window width).")
    phenotypes: str | None = option(None, "Phenotype table for a genotype matrix.", cli_type=Path)
    traits: list[str] = option([], "Phenotype columns to use (names or 1-based numbers).")
    genotype_scheme: str = option("onehot", "onehot (3 channels) or dosage (1 channel).", cli_name="genotype_encoding")
    # genotype QC (VCF, PLINK and matrix): see dnacnn.io.genotype_qc
    maf: float = option(0.0, "Genotypes: drop markers with minor-allele frequency below this.")
    max_missing: float = option(1.0, "Genotypes: drop markers with more than this share of missing calls.")
    max_sample_missing: float = option(1.0, "Genotypes: drop individuals with more than this share of missing calls.")
    multiallelic: str = option("skip", "VCF records with several ALT alleles: skip or split.")
    task: str = option("auto", "auto, binary, multiclass or regression.")
    negatives: str | None = option(
        None,
        "'shuffle' (dinucleotide-shuffled positives), 'genome' (BED input: GC-matched genome windows "
        "away from every peak) or a file of negatives.",
    )
    negatives_per_positive: int = option(1, "Shuffled or genome negatives per positive.")
    negative_flank: int | None = option(
        None, "Genome negatives stay this many bases away from peaks (default: --length)."
    )
    targets: list[str] = option(
        [], "bigWig track(s), comma-separated: each window's signal as a regression label (BED input)."
    )
    target_stat: str = option("mean", "Per window and track: mean, sum or max.")
    target_log1p: bool = option(False, "log(1 + x) of the track values.")
    split: str = option("random", "random, chrom, column, folds, train or test.")
    valid_frac: float = option(0.1, "Validation fraction (random split).")
    test_frac: float = option(0.1, "Test fraction (random split).")
    valid_chroms: list[str] = option([], "Validation chromosomes (chrom split), e.g. chr7.")
    test_chroms: list[str] = option([], "Test chromosomes (chrom split), e.g. chr8,chr9.")
    split_col: str | None = option(None, "Column holding train/valid/test (column split).")
    # --split folds: seeded folds, or the fold file's (one id per record, in input order)
    folds: int = option(10, "Number of seeded cross-validation folds (folds split).")
    fold_file: str | None = option(
        None, "One fold id (1..k) per record, e.g. BGLR's wheat.sets (folds split).", cli_type=Path
    )
    seed: int = option(0, "Seed for splits and shuffled negatives.")
    progress: bool = option(True, "Show a progress bar.")


def check_options(opts: EncodeOptions) -> None:
    if opts.task not in ENCODE_TASKS:
        raise DnacnnError(f"unknown --task {opts.task!r}; use one of {', '.join(ENCODE_TASKS)}")
    if opts.split not in SPLIT_METHODS:
        raise DnacnnError(f"unknown --split {opts.split!r}; use one of {', '.join(SPLIT_METHODS)}")
    if opts.split == "chrom" and not (opts.test_chroms or opts.valid_chroms):
        raise DnacnnError("--split chrom needs --test-chroms and/or --valid-chroms (e.g. --test-chroms chr8,chr9)")
    if opts.split == "column" and not opts.split_col:
        raise DnacnnError("--split column needs --split-col NAME (a column holding train/valid/test)")
    for flag, frac in (("--valid-frac", opts.valid_frac), ("--test-frac", opts.test_frac)):
        if not 0 <= frac < 1:
            raise DnacnnError(f"{flag} must be a fraction in [0, 1), got {frac}")
    if opts.split == "random" and opts.valid_frac + opts.test_frac >= 1:
        raise DnacnnError(
            f"--valid-frac + --test-frac = {opts.valid_frac + opts.test_frac:g} leaves no training data; "
            "make their sum < 1"
        )
    if opts.fold_file and opts.split != "folds":
        raise DnacnnError("--fold-file needs --split folds")
    if opts.length is not None and opts.length < 1:
        raise DnacnnError(f"--length must be a positive number of bases, got {opts.length}")
    if opts.negatives == "shuffle" and opts.task in ("multiclass", "regression"):
        raise DnacnnError("--negatives shuffle makes label-0 sequences, so it needs a binary task")
    if not 1 <= opts.negatives_per_positive <= MAX_NEGATIVES_PER_POSITIVE:
        raise DnacnnError(
            f"--negatives-per-positive must be 1 to {MAX_NEGATIVES_PER_POSITIVE}, got {opts.negatives_per_positive}"
        )
    if not 0 <= opts.seed <= MAX_SEED:
        raise DnacnnError(f"--seed must be 0 to {MAX_SEED} (2**32 - 1), got {opts.seed}")
    if opts.label_value is not None and not math.isfinite(opts.label_value):
        raise DnacnnError(f"--label-value must be a finite number, got {opts.label_value}")
    if opts.negative_flank is not None and opts.negative_flank < 0:
        raise DnacnnError(f"--negative-flank must be 0 or more bases, got {opts.negative_flank}")
    if opts.negative_flank is not None and opts.negatives != "genome":
        raise DnacnnError("--negative-flank applies to --negatives genome only")
    if opts.negatives == "genome" and opts.task == "multiclass":
        raise DnacnnError("--negatives genome makes label-0 windows (or track values), so it needs a binary task")
    if opts.targets:
        from dnacnn.io.bigwig import check_target_options

        check_target_options(opts)
