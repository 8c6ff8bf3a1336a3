#!/usr/bin/env python3
"""Make a small peaks + genome example from the bundled REST sequences, the same bytes every run.

dnacnn reads ChIP-seq peaks (BED / narrowPeak) together with a reference genome, but a genome is
too big to ship. This script builds a stand-in that behaves like one: nine synthetic chromosomes
(``chr1`` ... ``chr9``) of random background sequence (41% GC, as the human genome) into which the
1,500 bundled REST ChIP-seq positives
(``data/deepbind/REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz``, 101 bp each) are inserted at
recorded positions, and a narrowPeak file whose summits are the centres of the inserted sequences.
Each chromosome ends in 100 kb without peaks whose G+C varies from 30% to 70% in 2-kb blocks (as
isochores do), so that ``--negatives genome`` finds GC-matched background windows.
It writes, into ``OUT`` (default ``example/``)::

    genome.fa           the nine chromosomes, 60 bases a line (~2.2 Mb; pyfaidx indexes it on first use)
    peaks.narrowPeak    one peak per inserted sequence: the interval reaches 20-120 bp past the
                        insert on each side; column 10 (summit offset) points at the insert's centre
                        base; signalValue, pValue and qValue fall with the REST rank
    candidates.bed      20 regions to score with a trained model: 10 inserted REST sequences
                        (name ``peak_N``) and 10 background stretches (name ``background_N``)
    inserts.tsv         where each REST sequence went: chrom, start, end (BED coordinates), EventID

Usage (from the repository root)::

    python scripts/make_example_peaks.py              # writes example/
    dnacnn encode example/peaks.narrowPeak --genome example/genome.fa --length 200 --label-value 1 \\
        --negatives genome --split chrom --valid-chroms chr7 --test-chroms chr8,chr9 -o peaks.store

Only the Python standard library is used, and its seeded ``random.Random`` (stable across Python
versions), so the files are identical on every machine and every run.
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO / "data" / "deepbind" / "REST_GM12878_NRSF_HudsonAlpha_AC.top1500.seq.gz"
CHROMS = [f"chr{i}" for i in range(1, 10)]
# human-like base composition: A, C, G, T
BACKGROUND_WEIGHTS = (0.295, 0.205, 0.205, 0.295)
EDGE = 1000  # background before the first and after the last insert: room for windows up to 2 kb
GAP = (300, 1200)  # background between two inserts, bp
FLANK = (20, 120)  # how far a peak interval reaches past its insert on each side, bp
N_CANDIDATES = 10  # peaks and background regions each in candidates.bed
TAIL = 100_000  # background without peaks at each chromosome's end, bp
TAIL_BLOCK = 2_000  # its G+C is drawn anew for every block of this many bases
TAIL_GC = (0.30, 0.70)


def read_positives(path: Path) -> list[tuple[str, str]]:
    """``(EventID, seq)`` of every row of a DeepBind table (FoldID, EventID, seq, Bound), in file order."""
    with gzip.open(path, "rt") as f:
        header = f.readline().rstrip("\n").split("\t")
        col_id, col_seq = header.index("EventID"), header.index("seq")
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return [(row[col_id], row[col_seq].upper()) for row in rows]


def background(rng: random.Random, n: int) -> str:
    return "".join(rng.choices("ACGT", weights=BACKGROUND_WEIGHTS, k=n))


def varied_background(rng: random.Random, n: int) -> str:
    """``n`` bases whose G+C fraction is drawn from ``TAIL_GC`` for each block of ``TAIL_BLOCK``."""
    blocks = []
    for _ in range(0, n, TAIL_BLOCK):
        gc = rng.uniform(*TAIL_GC)
        blocks.append("".join(rng.choices("ACGT", weights=((1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2), k=TAIL_BLOCK)))
    return "".join(blocks)[:n]


def build(positives: list[tuple[str, str]], seed: int):
    """The chromosomes (name -> sequence), the inserts (chrom, start, end, EventID, rank) and the
    background stretches usable as negative candidates (chrom, start, end)."""
    rng = random.Random(seed)
    # every chromosome gets a random share of the ranks, so a chromosome split is not a rank split
    order = list(range(len(positives)))
    rng.shuffle(order)
    per_chrom = {c: sorted(order[i :: len(CHROMS)]) for i, c in enumerate(CHROMS)}
    genome, inserts, gaps = {}, [], []
    for chrom in CHROMS:
        parts, pos = [background(rng, EDGE)], EDGE
        for k, rank in enumerate(per_chrom[chrom]):
            if k:
                gap = rng.randint(*GAP)
                parts.append(background(rng, gap))
                gaps.append((chrom, pos, pos + gap))
                pos += gap
            event_id, seq = positives[rank]
            parts.append(seq)
            inserts.append((chrom, pos, pos + len(seq), event_id, rank))
            pos += len(seq)
        parts.append(background(rng, EDGE))
        parts.append(varied_background(rng, TAIL))
        genome[chrom] = "".join(parts)
    return genome, inserts, gaps, rng


def write_fasta(path: Path, genome: dict[str, str]) -> None:
    with open(path, "w", newline="\n") as f:
        for chrom, seq in genome.items():
            f.write(f">{chrom}\n")
            f.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))


def narrowpeak_lines(inserts, rng: random.Random, n_total: int) -> list[str]:
    lines = []
    for i, (chrom, start, end, _event_id, rank) in enumerate(inserts, 1):
        left, right = rng.randint(*FLANK), rng.randint(*FLANK)
        p_start, p_end = start - left, end + right
        summit = start + (end - start) // 2 - p_start  # the insert's centre base, as an offset
        strength = 1.0 - rank / n_total  # REST rank 0 (strongest) -> 1.0
        signal = 5.0 + 95.0 * strength
        p_value = 10.0 + 290.0 * strength
        q_value = p_value - 2.0
        score = int(round(200 + 800 * strength))
        lines.append(
            f"{chrom}\t{p_start}\t{p_end}\tpeak_{i}\t{score}\t.\t{signal:.3f}\t{p_value:.3f}\t{q_value:.3f}\t{summit}\n"
        )
    return lines


def candidate_lines(inserts, gaps, rng: random.Random) -> list[str]:
    """BED4: some inserts (their exact coordinates) and some background stretches of the same width."""
    lines = []
    for i, (chrom, start, end, _event_id, _rank) in enumerate(rng.sample(inserts, N_CANDIDATES), 1):
        lines.append((chrom, start, end, f"peak_{i}"))
    wide = [g for g in gaps if g[2] - g[1] >= 600]  # >= 250 bp of background on each side of 101 bp
    for i, (chrom, start, end) in enumerate(rng.sample(wide, N_CANDIDATES), 1):
        mid = (start + end) // 2
        lines.append((chrom, mid - 50, mid + 51, f"background_{i}"))
    lines.sort(key=lambda r: (CHROMS.index(r[0]), r[1]))
    return [f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in lines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--out", default="example", help="folder to write (default: example)")
    parser.add_argument(
        "--input", default=str(DEFAULT_INPUT), help="DeepBind table of positives (default: the bundled REST file)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the background and the layout (default: 0)")
    args = parser.parse_args(argv)

    src = Path(args.input)
    if not src.is_file():
        print(
            f"make_example_peaks: {src}: no such file; run it in a clone of the repository or give --input",
            file=sys.stderr,
        )
        return 1
    positives = read_positives(src)
    genome, inserts, gaps, rng = build(positives, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_fasta(out / "genome.fa", genome)
    # a stale index of an earlier genome.fa would be trusted by other tools (pyfaidx rebuilds it)
    (out / "genome.fa.fai").unlink(missing_ok=True)
    with open(out / "peaks.narrowPeak", "w", newline="\n") as f:
        f.writelines(narrowpeak_lines(inserts, rng, len(positives)))
    with open(out / "candidates.bed", "w", newline="\n") as f:
        f.writelines(candidate_lines(inserts, gaps, rng))
    with open(out / "inserts.tsv", "w", newline="\n") as f:
        f.write("chrom\tstart\tend\tEventID\n")
        f.writelines(f"{c}\t{s}\t{e}\t{event}\n" for c, s, e, event, _ in inserts)
    size = sum(map(len, genome.values()))
    print(
        f"wrote {out}/genome.fa ({len(genome)} chromosomes, {size:,} bp), {out}/peaks.narrowPeak "
        f"({len(inserts):,} peaks), {out}/candidates.bed ({2 * N_CANDIDATES} regions), {out}/inserts.tsv",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
