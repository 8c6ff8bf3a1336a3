"""Signal targets from bigWig tracks: one regression label per window and track.

``dnacnn encode PEAKS.bed --genome FA --length L --targets a.bw,b.bw`` labels each window
``chrom:start-end`` (0-based, half-open, as the BED reader names it) with the ``mean`` (default),
``sum`` or ``max`` of each track over exactly those bases (pyBigWig ``stats(..., exact=True)``;
bases without data do not count towards a mean), then ``log1p`` if asked.  One task per track,
named after the file.  A window on a chromosome the track lacks, or with no data at all, gets NaN
(a missing label, left out of the loss and the metrics); :class:`TargetSummary` counts both and the
encoder reports them.  Genomic negatives (``--negatives genome``) are labelled the same way.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dnacnn.errors import DnacnnError, InputError
from dnacnn.io import check_readable
from dnacnn.io.bed import window_coordinates

STATS = ("mean", "sum", "max")


def check_target_options(opts) -> None:
    """The ``--targets`` options of ``EncodeOptions``: one clear error for each careless combination."""
    if opts.target_stat not in STATS:
        raise DnacnnError(f"unknown --target-stat {opts.target_stat!r}; use {', '.join(STATS)}")
    if opts.task not in ("auto", "regression"):
        raise DnacnnError(f"--targets gives regression labels (track values); drop --task {opts.task}")
    if opts.labels or opts.label_cols or opts.label_value is not None:
        raise DnacnnError("--targets labels each window with its track values; drop --labels/--label-col/--label-value")
    if opts.negatives not in (None, "genome"):
        raise DnacnnError(f"--targets labels genome windows; use --negatives genome (or none), not {opts.negatives!r}")
    for path in opts.targets:
        check_readable(path)


@dataclass
class TargetSummary:
    """What labelling from tracks met, as recorded in the store's manifest."""

    tracks: list[str]
    stat: str = "mean"
    log1p: bool = False
    windows: int = 0
    missing_chrom: dict[str, int] = field(default_factory=dict)  # track -> windows on chromosomes it lacks
    no_data: dict[str, int] = field(default_factory=dict)  # track -> windows without any data

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        names = ", ".join(Path(t).name for t in self.tracks)
        line = f"targets: {self.stat}{' then log1p' if self.log1p else ''} of {names} over {self.windows:,} windows"
        gaps = [
            f"{Path(t).name}: {self.missing_chrom.get(t, 0):,} on chromosomes it lacks, "
            f"{self.no_data.get(t, 0):,} without data"
            for t in self.tracks
            if self.missing_chrom.get(t) or self.no_data.get(t)
        ]
        return line + (f"; NaN labels ({'; '.join(gaps)})" if gaps else "")


class TrackTargets:
    """Open bigWig tracks that label windows; ``names`` are the task names."""

    def __init__(self, paths: list[str | os.PathLike], stat: str = "mean", log1p: bool = False) -> None:
        try:
            import pyBigWig
        except ImportError:
            raise DnacnnError(
                "--targets needs pyBigWig: pip install 'dnacnn[tracks]' (or pip install pyBigWig)"
            ) from None
        self.paths = [str(check_readable(p)) for p in paths]
        self.tracks = []
        for path in self.paths:
            bw = pyBigWig.open(path) if _is_bigwig(path) else None
            if bw is None or not bw.isBigWig():
                raise InputError(
                    path, None, "not a bigWig file", "give bigWig tracks (.bw), e.g. from bedGraphToBigWig"
                )
            self.tracks.append(bw)
        self.names = _task_names(self.paths)
        self.stat, self.log1p = stat, log1p
        self.summary = TargetSummary(tracks=self.paths, stat=stat, log1p=log1p)

    def values(self, ids: list[str]) -> np.ndarray:
        """``(len(ids), tracks)`` float32 labels of windows named ``chrom:start-end``."""
        out = np.full((len(ids), len(self.tracks)), np.nan, dtype=np.float32)
        for j, (path, bw) in enumerate(zip(self.paths, self.tracks)):
            chroms = bw.chroms()
            for i, window in enumerate(ids):
                chrom, start, end = window_coordinates(window)
                if chrom not in chroms:
                    self.summary.missing_chrom[path] = self.summary.missing_chrom.get(path, 0) + 1
                    continue
                value = bw.stats(chrom, start, min(end, chroms[chrom]), type=self.stat, exact=True)[0]
                if value is None:
                    self.summary.no_data[path] = self.summary.no_data.get(path, 0) + 1
                else:
                    out[i, j] = value
        if self.log1p:
            with np.errstate(invalid="ignore"):
                out = np.log1p(out)
        self.summary.windows += len(ids)
        return out


def _is_bigwig(path: str) -> bool:
    """bigWig magic number 0x888FFC26, either byte order (pyBigWig would print to stderr otherwise)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head in (bytes.fromhex("26FC8F88"), bytes.fromhex("888FFC26"))


def _task_names(paths: list[str]) -> list[str]:
    """File names without .bw/.bigWig; the whole name where two would clash."""
    stems = [Path(p).name.removesuffix(".bw").removesuffix(".bigWig").removesuffix(".bigwig") for p in paths]
    return stems if len(set(stems)) == len(stems) else [str(p) for p in paths]
