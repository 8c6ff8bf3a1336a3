import gzip
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dnacnn.codes import codes_to_dna, dna_to_codes
from dnacnn.shuffle import dinucleotide_shuffle, dinucleotide_shuffle_batch

DEEPBIND = Path(__file__).resolve().parents[2] / "shared" / "data" / "deepbind-encode"  # ../shared beside the checkout
REAL = sorted(DEEPBIND.glob("*_AC.seq.gz"))


def dinucleotide_counts(codes: np.ndarray) -> np.ndarray:
    """Counts ``(n, 25)`` of every ordered pair of codes 0..4 in each row of ``codes`` ``(n, L)``."""
    pairs = codes[:, :-1].astype(np.intp) * 5 + codes[:, 1:]
    rows = np.repeat(np.arange(len(codes)), pairs.shape[1])
    return np.bincount(rows * 25 + pairs.ravel(), minlength=len(codes) * 25).reshape(len(codes), 25)


def assert_shuffle_of(original: np.ndarray, shuffled: np.ndarray) -> None:
    assert shuffled.shape == original.shape and shuffled.dtype == np.uint8
    np.testing.assert_array_equal(dinucleotide_counts(shuffled), dinucleotide_counts(original))
    np.testing.assert_array_equal(shuffled[:, 0], original[:, 0])
    np.testing.assert_array_equal(shuffled[:, -1], original[:, -1])


def real_sequences(per_file: int = 500) -> np.ndarray:
    """The first ``per_file`` peaks of each DeepBind training file, ``(n, 101)`` codes."""
    if not REAL:
        pytest.skip("shared DeepBind data not present")
    seqs = []
    for path in REAL:
        with gzip.open(path, "rt") as f:
            seqs += [line.split("\t")[2] for line in itertools.islice(f, 1, per_file + 1)]
    return np.stack([dna_to_codes(s) for s in seqs])


@pytest.mark.parametrize("n", [1, 5, 100, 9000])  # the Python path, the numpy path, and several chunks
def test_random_sequences_keep_dinucleotides(n):
    rng = np.random.default_rng(n)
    codes = rng.integers(0, 5, size=(n, 60), dtype=np.uint8)
    assert_shuffle_of(codes, dinucleotide_shuffle_batch(codes, rng))


def test_real_sequences_keep_dinucleotides_and_change():
    codes = real_sequences()
    assert codes.shape == (500 * len(REAL), 101)
    shuffled = dinucleotide_shuffle_batch(codes, np.random.default_rng(0))
    assert_shuffle_of(codes, shuffled)
    assert not (shuffled == codes).all(axis=1).any()  # every 101-bp peak is changed
    assert (shuffled == codes).mean() < 0.4  # ~0.3 by chance for GC-rich 101-mers
    for row in codes[:20]:
        one = dinucleotide_shuffle(row, np.random.default_rng(1))
        assert_shuffle_of(row[None], one[None])
        assert not np.array_equal(one, row)


def test_n_is_a_fifth_letter():
    seq = dna_to_codes("ACGNNTACGNATTGCANNGGCTA")
    out = dinucleotide_shuffle_batch(seq[None], np.random.default_rng(3), times=50)
    assert_shuffle_of(np.repeat(seq[None], 50, axis=0), out)
    assert len({codes_to_dna(r) for r in out}) > 10


def test_seeded():
    codes = np.random.default_rng(0).integers(0, 4, size=(50, 40), dtype=np.uint8)
    a = dinucleotide_shuffle_batch(codes, np.random.default_rng(7), times=2)
    b = dinucleotide_shuffle_batch(codes, np.random.default_rng(7), times=2)
    c = dinucleotide_shuffle_batch(codes, np.random.default_rng(8), times=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    one = dinucleotide_shuffle(codes[0], np.random.default_rng(7))
    np.testing.assert_array_equal(one, dinucleotide_shuffle(codes[0], np.random.default_rng(7)))


def test_times_orders_shuffles_by_sequence():
    codes = np.random.default_rng(5).integers(0, 4, size=(2, 40), dtype=np.uint8)
    codes[1, 0] = 4  # tell the sequences apart by their first letter
    out = dinucleotide_shuffle_batch(codes, np.random.default_rng(0), times=3)
    assert (out[:3, 0] != 4).all() and (out[3:, 0] == 4).all()
    assert out.shape == (6, 40)
    assert_shuffle_of(np.repeat(codes, 3, axis=0), out)
    assert len({bytes(r) for r in out[:3]}) == 3 and len({bytes(r) for r in out[3:]}) == 3  # independent


@pytest.mark.parametrize("seq", ["", "A", "AC", "ACG", "AAAAAAAA", "NNNNN", "CCCCG"])
def test_short_and_single_letter_sequences_are_unchanged(seq):
    codes = dna_to_codes(seq)
    out = dinucleotide_shuffle(codes, np.random.default_rng(0))
    assert codes_to_dna(out) == seq
    assert dinucleotide_shuffle_batch(np.zeros((3, 0), np.uint8), np.random.default_rng(0)).shape == (3, 0)
    assert dinucleotide_shuffle_batch(np.zeros((0, 10), np.uint8), np.random.default_rng(0)).shape == (0, 10)


def brute_force_candidates(seq: str) -> set[str]:
    """All sequences with the same first/last letter and dinucleotide counts as ``seq``."""
    pairs = Counter(zip(seq, seq[1:], strict=False))
    found = set()
    for middle in set(itertools.permutations(seq[1:-1])):
        s = seq[0] + "".join(middle) + seq[-1]
        if Counter(zip(s, s[1:], strict=False)) == pairs:
            found.add(s)
    return found


@pytest.mark.parametrize("single", [True, False])  # the plain-Python path and the vectorised path
def test_every_candidate_is_equally_likely(single):
    seq = "ACAGTACGGTA"
    candidates = brute_force_candidates(seq)
    assert len(candidates) == 12
    rng = np.random.default_rng(0)
    codes = dna_to_codes(seq)
    if single:
        draws = 3000
        out = [dinucleotide_shuffle(codes, rng) for _ in range(draws)]
    else:
        draws = 12000
        out = dinucleotide_shuffle_batch(codes[None], rng, times=draws)
    counts = Counter(codes_to_dna(r) for r in out)
    assert set(counts) == candidates
    expected = draws / len(candidates)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 40  # 11 degrees of freedom: P(chi2 > 40) ~ 3e-5


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="codes must lie in 0..4"):
        dinucleotide_shuffle(np.array([0, 1, 7, 2], np.uint8), rng)
    with pytest.raises(ValueError, match="shape"):
        dinucleotide_shuffle(np.zeros((2, 3), np.uint8), rng)
    with pytest.raises(ValueError, match="times"):
        dinucleotide_shuffle_batch(np.zeros((2, 3), np.uint8), rng, times=0)


def read_fasta(path: Path) -> list[tuple[str, str]]:
    blocks = path.read_text().split(">")[1:]
    return [(b.split("\n", 1)[0], b.split("\n", 1)[1].replace("\n", "")) for b in blocks]


def test_shuffle_fasta_keeps_order_names_and_dinucleotides(tmp_path):
    records = [("r1", "ACGTTGCAACGTAGCTAGCTAGGATCCA"), ("r2", "acgtnNACGT"), ("r3", "ACGTTGCAACGTAGCTAGCTAGGATCCT")]
    source = tmp_path / "in.fa"
    source.write_text("".join(f">{i} description\n{s[:10]}\n{s[10:]}\n" for i, s in records))
    out = tmp_path / "sub" / "shuf.fa"
    from dnacnn.shuffle import shuffle_fasta

    assert shuffle_fasta(source, out, times=2, seed=4) == 6
    written = read_fasta(out)
    assert [i for i, _ in written] == ["r1_shuf0", "r1_shuf1", "r2_shuf0", "r2_shuf1", "r3_shuf0", "r3_shuf1"]
    for (_, original), (_, shuffled) in zip([r for r in records for _ in range(2)], written, strict=True):
        a, b = dna_to_codes(original)[None], dna_to_codes(shuffled)[None]
        assert_shuffle_of(a, b)
    assert written[0][1] != written[1][1]
    first = out.read_text()
    shuffle_fasta(source, out, times=2, seed=4)
    assert out.read_text() == first
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind
