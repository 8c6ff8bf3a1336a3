import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dnacnn.errors import InputError
from dnacnn.io.bed import open_genome, read_bed_windows

DATA = Path(__file__).parent / "data"


def parse_fasta(path: Path) -> dict[str, str]:
    records = {}
    for block in path.read_text().split(">")[1:]:
        header, *lines = block.split("\n")
        records[header.split()[0]] = "".join(lines)
    return records


GENOME = parse_fasta(DATA / "genome_small.fa")


@pytest.fixture
def genome(tmp_path) -> Path:
    """The test genome copied to tmp_path, so pyfaidx's .fai index is not written into tests/data."""
    path = tmp_path / "genome.fa"
    shutil.copy(DATA / "genome_small.fa", path)
    return path


def bed(tmp_path, text: str, name: str = "x.bed") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def read_all(*args, **kwargs):
    chunks = list(read_bed_windows(*args, **kwargs))
    ids = [i for c in chunks for i in c.ids]
    seqs = [s for c in chunks for s in c.seqs]
    lines = [n for c in chunks for n in c.lines]
    labels = None if chunks[0].labels is None else np.concatenate([c.labels for c in chunks])
    return ids, seqs, labels, lines


def window(chrom: str, start: int, end: int, length: int) -> tuple[str, str]:
    centre = start + (end - start) // 2
    lo = centre - length // 2
    return f"{chrom}:{lo}-{lo + length}", GENOME[chrom][lo : lo + length].upper()


def test_fixture_genome_is_soft_masked():
    assert len(GENOME["chr1"]) == 3000 and len(GENOME["chr2"]) == 2000 and len(GENOME["chrM"]) == 400
    assert any(c.islower() for c in GENOME["chr1"][150:251])


def test_bed_windows_are_centred_genome_slices(genome):
    ids, seqs, labels, lines = read_all(DATA / "bed_peaks.bed", genome, 101, label_columns=[5])
    expected = [
        window("chr1", 100, 300, 101),
        window("chr1", 1000, 1101, 101),
        window("chr2", 480, 560, 101),
        window("chrM", 150, 250, 101),
        window("chr2", 1200, 1200, 101),
    ]
    assert ids == [e[0] for e in expected]
    assert ids[0] == "chr1:150-251"
    assert seqs == [e[1] for e in expected]
    assert all(len(s) == 101 and s == s.upper() for s in seqs)
    assert "N" * 30 in seqs[2]
    assert lines == [4, 5, 6, 7, 9]
    assert labels.dtype == np.float32 and labels.shape == (5, 1)
    np.testing.assert_array_equal(labels[:, 0], [5, 0.5, 2, np.nan, 1])


def test_bed_without_labels_and_even_length(genome):
    ids, seqs, labels, _ = read_all(DATA / "bed_peaks.bed", genome, 50)
    assert labels is None
    assert ids[0] == "chr1:175-225"
    assert seqs[0] == GENOME["chr1"][175:225].upper()


def test_narrowpeak_windows_centre_on_summit(genome):
    ids, seqs, labels, lines = read_all(DATA / "bed_peaks.narrowPeak", genome, 101, label_columns=[7, 9])
    assert ids == ["chr1:490-591", "chr1:2100-2201", "chr2:1649-1750"]
    assert seqs == [GENOME["chr1"][490:591].upper(), GENOME["chr1"][2100:2201].upper(), GENOME["chr2"][1649:1750]]
    np.testing.assert_allclose(labels, [[5.2, 2.0], [4.1, 1.5], [3.0, 0.5]], rtol=1e-6)
    assert lines == [1, 2, 3]


def test_ten_column_file_detected_as_narrowpeak_unless_column_10_is_a_label(genome, tmp_path):
    path = bed(tmp_path, (DATA / "bed_peaks.narrowPeak").read_text())
    ids, *_ = read_all(path, genome, 11)
    assert ids[0] == "chr1:535-546"
    ids, _, labels, _ = read_all(path, genome, 11, label_columns=[10])
    assert ids[0] == "chr1:645-656" and labels[0, 0] == 40
    ids, *_ = read_all(DATA / "bed_peaks.narrowPeak", genome, 11, summit=False)
    assert ids[0] == "chr1:645-656"


def test_chunks_are_bounded(genome):
    chunks = list(read_bed_windows(DATA / "bed_peaks.bed", genome, 21, label_columns=[5], chunk_size=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [c.labels.shape for c in chunks] == [(2, 1), (2, 1), (1, 1)]
    assert chunks[2].lines == [9]


def test_windows_line_endings_and_space_separated(genome):
    ids, seqs, labels, lines = read_all(DATA / "bed_crlf.bed", genome, 31, label_columns=[5])
    assert ids == ["chr1:185-216", "chr2:1102-1133"]
    assert seqs[1] == GENOME["chr2"][1102:1133].upper() and seqs[1] != GENOME["chr2"][1102:1133]
    np.testing.assert_array_equal(labels[:, 0], [5, 7])
    assert lines == [2, 3]


def test_gzipped_bed(genome, tmp_path):
    path = tmp_path / "peaks.bed.gz"
    path.write_bytes(gzip.compress((DATA / "bed_peaks.bed").read_bytes()))
    assert read_all(path, genome, 101)[1] == read_all(DATA / "bed_peaks.bed", genome, 101)[1]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "chr1\t100\n",
            "x.bed:1: 2 columns, a BED line needs at least 3 (chrom, start, end); separate columns with tabs",
        ),
        ("chr1\t1e2\t300\n", "x.bed:1: start '1e2' is not an integer; fix the coordinates"),
        ("chr1\t100\tend\n", "x.bed:1: end 'end' is not an integer; fix the coordinates"),
        ("chr1\t300\t100\n", "x.bed:1: start 300 is greater than end 100; swap or fix the coordinates"),
        ("chr1\t-5\t100\n", "x.bed:1: negative start -5; BED starts are 0-based and >= 0"),
        (
            "# header\nchr1\t100\t300\t1\t0\nchr9\t100\t300\n",
            "x.bed:3: chromosome 'chr9' is not in the genome (it has chr1, chr2, chrM); "
            "use the genome the intervals were called on, or remove these lines",
        ),
        (
            "chrM\t100\t500\n",
            "x.bed:1: interval ends at 500, past the end of chrM (400 bp); "
            "check that the BED file matches this genome assembly",
        ),
        (
            "chr1\t0\t60\n",
            "x.bed:1: window chr1:-20-81 (101 bp around the centre) starts before the start of chr1; "
            "use a smaller --length or filter out intervals within 51 bp of chromosome ends",
        ),
        (
            "chrM\t300\t400\n",
            "x.bed:1: window chrM:300-401 (101 bp around the centre) ends past the end (400 bp) of chrM; "
            "use a smaller --length or filter out intervals within 51 bp of chromosome ends",
        ),
        (
            "chr1\t100\t300\tp\tbig\n",
            "x.bed:1: label 'big' in column 5 is not a number; use numbers, or NA for missing",
        ),
        ("chr1\t100\t300\n", "x.bed:1: no label column 5 (the line has 3 columns); fix the label columns"),
        ("track x\n\n", "x.bed: no intervals found; give a BED file with chrom, start, end lines"),
    ],
)
def test_bed_errors(genome, tmp_path, text, message):
    path = bed(tmp_path, text)
    with pytest.raises(InputError) as e:
        read_all(path, genome, 101, label_columns=[5])
    assert str(e.value) == f"{path.parent}/{message}"


def test_narrowpeak_summit_errors(genome, tmp_path):
    path = bed(tmp_path, "chr1\t500\t800\tp\t1\t.\t1\t1\t1\tx\n", "p.narrowPeak")
    with pytest.raises(InputError, match=r"p.narrowPeak:1: summit offset \(column 10\) 'x' is not an integer"):
        read_all(path, genome, 101)
    path = bed(tmp_path, "chr1\t500\t800\tp\t1\t.\t1\t1\t1\t301\n", "p.narrowPeak")
    with pytest.raises(InputError, match=r"p.narrowPeak:1: summit offset 301 \(column 10\) lies outside the 300 bp"):
        read_all(path, genome, 101)
    assert read_all(path, genome, 101, summit=False)[0] == ["chr1:600-701"]


def test_plain_gzip_genome_is_refused(tmp_path):
    path = tmp_path / "genome.fa.gz"
    path.write_bytes(gzip.compress((DATA / "genome_small.fa").read_bytes()))
    with pytest.raises(InputError) as e:
        read_all(DATA / "bed_peaks.bed", path, 101)
    assert str(e.value) == (
        f"{path}: genome is gzip-compressed, which does not allow random access; decompress it (gunzip {path}) "
        f"or recompress it with bgzip (gunzip -c {path} | bgzip > genome.fa.gz)"
    )


def test_bgzip_genome_is_read(tmp_path):
    from Bio import bgzf

    path = tmp_path / "genome.fa.gz"
    with bgzf.BgzfWriter(str(path), "wb") as f:
        f.write((DATA / "genome_small.fa").read_bytes())
    _, seqs, _, _ = read_all(DATA / "bed_peaks.bed", path, 101)
    assert seqs[0] == GENOME["chr1"][150:251].upper()


def test_genome_errors(tmp_path):
    with pytest.raises(InputError, match="missing.fa: file not found; check the path"):
        open_genome(tmp_path / "missing.fa")
    ragged = tmp_path / "ragged.fa"
    ragged.write_text(">chr1\nACGTACGT\nACG\nACGTACGT\n")
    with pytest.raises(InputError, match=r"ragged.fa: cannot index the FASTA \(.*\); fix the FASTA file"):
        open_genome(ragged)


def test_genome_is_not_loaded_whole(genome):
    fasta = open_genome(genome)
    assert Path(str(genome) + ".fai").is_file()
    assert fasta["chr2"][495:535] == GENOME["chr2"][495:535]


@pytest.mark.skipif(shutil.which("bgzip") is None, reason="bgzip not installed")
def test_bgzip_tool_output_is_read(tmp_path):
    path = tmp_path / "genome.fa"
    shutil.copy(DATA / "genome_small.fa", path)
    subprocess.run(["bgzip", str(path)], check=True)
    _, seqs, _, _ = read_all(DATA / "bed_peaks.bed", str(path) + ".gz", 101)
    assert seqs[2] == GENOME["chr2"][470:571]
