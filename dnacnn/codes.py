"""The uint8 codes a store holds: DNA and genotype code tables, and their expansion to network input.

Contract: every sequence and genotype is held as one uint8 *code* per base or marker (tables
below); this module translates text to codes (:func:`dna_to_codes`, :func:`codes_from_strings`,
with the file and line of a bad byte), fits codes to a fixed length (:func:`fit_length`,
:func:`fit_ragged`), and expands codes to the network input ``X`` shape ``(n, channels, length)``
as an :class:`Encoding` says (:func:`one_hot` in numpy, :class:`Expander` in torch).  Not to be
confused with :mod:`dnacnn.encode`, the ``dnacnn encode`` command that writes a store.

DNA is stored as one uint8 *code* per base and expanded to one-hot only per batch, which keeps
the on-disk store 4x smaller than uint8 one-hot and 16x smaller than float32 one-hot.

DNA codes (channel order A, C, G, T):

=====  ====  ===================================================
code   base  one-hot column
=====  ====  ===================================================
0      A     (1, 0, 0, 0)
1      C     (0, 1, 0, 0)
2      G     (0, 0, 1, 0)
3      T     (0, 0, 0, 1)
4      N     (0, 0, 0, 0)  also every IUPAC ambiguity code
               (R Y S W K M B D H V) and the padding added by ``--length``
=====  ====  ===================================================

Lowercase (soft-masked) bases are read as uppercase; ``U`` is read as ``T``.  Any other byte
(digits, ``*``, ``-``, ...) is invalid and reported with its file and line.

A code above 4 is written by no encoder; every reader here takes it as N (a forged or damaged
store then reads as ambiguous bases, never as an index out of range).

Genotype codes: 0, 1, 2 = dosage of the counted allele, 3 = missing.  Two schemes:
``onehot`` gives 3 channels (missing = all zeros); ``dosage`` gives 1 channel with missing values
replaced by the marker's mean dosage over the stored individuals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from dnacnn.errors import InputError

DNA_ALPHABET = "ACGT"
DNA_N = 4
GENOTYPE_MISSING = 3
INVALID = 255

# byte -> DNA code lookup table (vectorised translation, no per-base Python loop)
DNA_LUT = np.full(256, INVALID, dtype=np.uint8)
for _code, _bases in enumerate(("Aa", "Cc", "Gg", "TtUu")):
    for _b in _bases:
        DNA_LUT[ord(_b)] = _code
for _b in "NRYSWKMBDHVnryswkmbdhv":
    DNA_LUT[ord(_b)] = DNA_N

# code -> complement code, for reverse complements
COMPLEMENT = np.full(256, DNA_N, dtype=np.uint8)  # every byte: a code above 4 complements to N
COMPLEMENT[:4] = [3, 2, 1, 0]
_DNA_LETTERS = np.full(256, ord("N"), dtype=np.uint8)
_DNA_LETTERS[:4] = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass(frozen=True)
class Encoding:
    """How stored codes become network input: ``kind`` dna or genotype, ``scheme`` onehot or
    dosage, ``channels`` and ``length`` of the network input ``X`` shape ``(n, channels, length)``."""

    kind: str
    scheme: str
    channels: int
    length: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Encoding:
        return cls(d["kind"], d["scheme"], int(d["channels"]), int(d["length"]))


def dna_encoding(length: int) -> Encoding:
    return Encoding("dna", "onehot", 4, length)


def genotype_encoding(length: int, scheme: str = "onehot") -> Encoding:
    if scheme not in ("onehot", "dosage"):
        raise ValueError(f"unknown genotype scheme {scheme!r}")
    return Encoding("genotype", scheme, 3 if scheme == "onehot" else 1, length)


def dna_to_codes(seq: bytes | str) -> np.ndarray:
    """Translate one sequence to codes, shape ``(len(seq),)`` uint8 (``INVALID`` for bad bytes)."""
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    return DNA_LUT[np.frombuffer(seq, dtype=np.uint8)]


def fit_length(codes: np.ndarray, length: int) -> np.ndarray:
    """Centre-crop or N-pad one code vector to ``length`` (extra base on the right when odd)."""
    n = codes.shape[0]
    if n == length:
        return codes
    if n > length:
        start = (n - length) // 2
        return codes[start : start + length]
    out = np.full(length, DNA_N, dtype=np.uint8)
    start = (length - n) // 2
    out[start : start + n] = codes
    return out


def fit_ragged(path, codes: np.ndarray, offsets: np.ndarray, ids, lines, length: int | None) -> np.ndarray:
    """Back-to-back records -> ``(b, L)``; equal-length blocks reshape without copying.

    ``codes`` holds the records end to end, record ``i`` at ``offsets[i]:offsets[i + 1]``;
    ``length`` None keeps the records' own length and makes a record of another length an
    :class:`~dnacnn.errors.InputError` naming ``path`` and its line (from ``lines``)."""
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


def codes_from_strings(path, seqs: list[str], ids, lines, length: int | None) -> np.ndarray:
    """Sequence strings -> codes ``(b, L)`` (see :func:`fit_ragged`); an invalid character or an
    empty sequence is an :class:`~dnacnn.errors.InputError` naming ``path`` and the record's line."""
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
    return fit_ragged(path, codes, offsets, ids, lines, length)


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of DNA codes, shape ``(..., length)``."""
    return COMPLEMENT[codes[..., ::-1]]


def codes_to_dna(codes: np.ndarray) -> str:
    """Codes back to a string (code 4 and above -> ``N``)."""
    return _DNA_LETTERS[np.asarray(codes, dtype=np.uint8)].tobytes().decode()


def expansion_table(encoding: Encoding) -> np.ndarray:
    """Code -> channel vector table, shape ``(n_codes, channels)`` float32, for one-hot schemes."""
    if encoding.kind == "dna":
        return np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])
    if encoding.scheme == "onehot":
        return np.vstack([np.eye(3, dtype=np.float32), np.zeros((1, 3), np.float32)])
    raise ValueError("dosage encoding has no lookup table")


def one_hot(codes: np.ndarray, encoding: Encoding, marker_means: np.ndarray | None = None) -> np.ndarray:
    """Expand codes ``(n, length)`` uint8 to network input ``X`` ``(n, channels, length)`` float32."""
    codes = np.asarray(codes)
    if encoding.scheme == "dosage":
        X = codes.astype(np.float32)
        missing = codes == GENOTYPE_MISSING
        if missing.any():
            if marker_means is None:
                raise ValueError("dosage encoding with missing values needs marker_means")
            X[missing] = np.broadcast_to(marker_means, codes.shape)[missing]
        return X[:, None, :]
    table = expansion_table(encoding)  # its last row is all zeros: N, or a missing genotype
    codes = np.minimum(codes, np.uint8(len(table) - 1))  # a code above it reads as that row
    return np.ascontiguousarray(table[codes].transpose(0, 2, 1))


class Expander:
    """Torch-side batch expansion of codes to ``X`` ``(b, channels, length)``, on any device.

    Built once per run; ``__call__`` takes a uint8 tensor ``(b, length)``.  One-hot schemes
    compare the codes with ``arange(channels)`` in one broadcast: the result is channels-first
    with no int64 index tensor, gather or transposing copy (3-5x faster than a table lookup on
    the CPU), and out-of-range codes (N, missing genotype) come out all zeros as in the table.
    """

    def __init__(self, encoding: Encoding, marker_means: np.ndarray | None = None, device=None) -> None:
        import torch

        self.encoding = encoding
        self.dosage = encoding.scheme == "dosage"
        if self.dosage:
            means = np.zeros(encoding.length, np.float32) if marker_means is None else marker_means
            self.means = torch.as_tensor(np.asarray(means, np.float32), device=device)
        else:
            self.table = torch.as_tensor(expansion_table(encoding), device=device)
            self.channel_codes = torch.arange(encoding.channels, dtype=torch.uint8, device=device).view(1, -1, 1)

    def to(self, device) -> Expander:
        if self.dosage:
            self.means = self.means.to(device)
        else:
            self.table = self.table.to(device)
            self.channel_codes = self.channel_codes.to(device)
        return self

    def __call__(self, codes, dtype=None):
        """``codes`` uint8 ``(b, length)`` -> ``X`` ``(b, channels, length)`` of ``dtype`` (float32)."""
        import torch

        dtype = dtype or torch.float32
        if self.dosage:
            codes = codes.long()
            X = codes.float()
            X = torch.where(codes == GENOTYPE_MISSING, self.means.expand_as(X), X)
            return X.unsqueeze(1).to(dtype)
        return (codes.to(torch.uint8).unsqueeze(1) == self.channel_codes).to(dtype)
