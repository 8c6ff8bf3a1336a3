"""TF-MoDISco patterns of a model's attributions (``dnacnn motifs --method modisco``).

Contract: :func:`find_patterns` attributes DNA codes ``(n, L)`` with :func:`dnacnn.interpret.attributions.attribute`
(gradient x input by default; DeepLIFT or ISM), hands the one-hot sequences and their hypothetical
contributions, both ``(n, L, 4)``, to modisco-lite's ``TFMoDISco`` with settings sized for a few
thousand sequences (:func:`modisco_settings`), and returns every pattern found, positive
(supports the prediction) then negative, as a :class:`Pattern`: its seqlet count, its
position probability matrix (PPM) and contribution weight matrix (CWM), and the core columns
whose summed absolute contribution is at least :data:`TRIM_FRACTION` of the pattern's highest
(modisco-lite's own trimming before Tomtom).  Matching, tables, logos and the report section are
:mod:`dnacnn.interpret.motifs`'s, the same as for first-layer filters.

ISM gives full hypothetical contributions (each base's substitution effect, centred over the four
bases of its position); gradient x input and DeepLIFT give the reference base's contribution
only, which modisco-lite then also uses to align and compare seqlets.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.interpret.attributions import attribute

ATTRIBUTIONS = ("gradxinput", "deeplift", "ism")
DEFAULT_ATTRIBUTION = "gradxinput"  # seconds for 2,000 sequences; DeepLIFT minutes, ISM many minutes on a CPU
DEFAULT_SEQUENCES = 2000  # attributed and clustered per run (a seeded random subset of the data)
TRIM_FRACTION = 0.3  # core columns: summed |CWM| >= this x the pattern's highest (modisco-lite's report)
MIN_LENGTH = 15  # shortest sequence a seqlet window and its flanks fit in
# modisco-lite's Leiden clustering is most of its run time: 5 seeded runs on a 200-neighbour graph
# found the same REST pattern as its defaults (50 runs, 500 neighbours) in a minute instead of
# several on 2 cores for 1,500 sequences (benchmarks/results/interpret_checks.md).
LEIDEN_RUNS = 5
NEIGHBOURS = 200
MAX_SEQLETS = 5000  # per sign
MIN_SEQLETS = 100  # modisco-lite's min_metacluster_size: fewer seqlets of a sign give no pattern


@dataclass
class Pattern:
    """One TF-MoDISco pattern.

    Attributes
    ----------
    name : str
        ``pos_pattern_<i>`` or ``neg_pattern_<i>`` (modisco-lite's numbering, largest first).
    sign : int
        +1: its seqlets raise the model's output; -1: they lower it.
    n_seqlets : int
    ppm : np.ndarray, shape=(4, width)
        Base frequencies of the aligned seqlets.
    cwm : np.ndarray, shape=(4, width)
        Mean contribution of each base at each position (reference bases only).
    start, stop : int
        The core columns ``[start, stop)`` (:data:`TRIM_FRACTION`).
    """

    name: str
    sign: int
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray
    start: int
    stop: int

    @property
    def core_ppm(self) -> np.ndarray:
        return self.ppm[:, self.start : self.stop]

    @property
    def core_cwm(self) -> np.ndarray:
        return self.cwm[:, self.start : self.stop]


@dataclass
class ModiscoResult:
    patterns: list[Pattern]
    n_sequences: int
    attribution: str


def require_modiscolite() -> None:
    """Fail with one line, before any work, when modisco-lite is missing."""
    try:
        import modiscolite  # noqa: F401
    except ImportError:
        raise DnacnnError(
            "--method modisco needs modisco-lite: pip install 'dnacnn[interpret]' (or 'modisco-lite>=2.2')"
        ) from None


def check_attribution(attribution: str) -> None:
    if attribution not in ATTRIBUTIONS:
        raise DnacnnError(f"unknown --attribution {attribution!r}; use one of {', '.join(ATTRIBUTIONS)}")


def modisco_settings(length: int) -> dict:
    """Seqlet window and flank for sequences of ``length`` bp: modisco-lite's 21 + 2 x 10 from
    100 bp, a quarter and a tenth of the length below."""
    if length < MIN_LENGTH:
        raise DnacnnError(f"sequences of {length} bp are too short for TF-MoDISco (needs >= {MIN_LENGTH} bp)")
    # seqlets are only cut where the window and both flanks fit, so on short sequences wide flanks
    # drop every motif near an edge: 16 + 2 x 8 on the 50-bp primer data kept 211 of 987 sites
    window = min(21, max(5, length // 4))
    flank = min(10, max(1, length // 10))
    return {
        "sliding_window_size": window,
        "flank_size": flank,
        "trim_to_window_size": min(30, window + 2 * flank),
        "initial_flank_to_add": flank,
    }


def hypothetical_contributions(attr: np.ndarray, codes: np.ndarray, method: str) -> np.ndarray:
    """``(n, L, 4)`` hypothetical contributions from :func:`dnacnn.interpret.attributions.attribute`'s ``(n, 4, L)``.

    ISM: each base's effect ``f(mutant) - f(reference)`` centred over the four bases of its position,
    so the reference base holds minus the mean effect of changing it; N positions hold 0.  Other
    methods: the attributions themselves (non-zero at the reference base only)."""
    hyp = np.ascontiguousarray(attr.transpose(0, 2, 1), dtype=np.float32)
    if method == "ism":
        hyp = hyp - hyp.mean(axis=2, keepdims=True)
        hyp[codes >= 4] = 0.0
    return hyp


def core_columns(cwm: np.ndarray, fraction: float = TRIM_FRACTION) -> tuple[int, int]:
    """``[start, stop)`` of the columns from the first to the last whose summed |CWM| reaches
    ``fraction`` of the highest."""
    score = np.abs(cwm).sum(axis=0)
    keep = np.flatnonzero(score >= fraction * score.max()) if score.max() > 0 else np.arange(len(score))
    return int(keep[0]), int(keep[-1]) + 1


def find_patterns(
    module,
    head: str,
    codes: np.ndarray,
    *,
    attribution: str = DEFAULT_ATTRIBUTION,
    target: int = 0,
    batch_size: int = 128,
    n_shuffles: int = 10,
    seed: int = 0,
) -> ModiscoResult:
    """TF-MoDISco on the attributions of ``codes``.

    Parameters
    ----------
    module : torch.nn.Module
        A loaded DNA model in eval mode; its device is used for the attributions.
    head : str
        ``ModelMeta.head``.
    codes : np.ndarray, shape=(n, length), uint8
        DNA codes (typically the positives).
    attribution : str
        ``gradxinput``, ``deeplift`` or ``ism`` (:mod:`dnacnn.interpret.attributions`).

    Raises
    ------
    DnacnnError
        modisco-lite missing, sequences too short, or no pattern found (too few seqlets).
    """
    import torch

    require_modiscolite()
    check_attribution(attribution)
    n, length = codes.shape
    settings = modisco_settings(length)
    p = next(module.parameters())
    table = torch.cat([torch.eye(4), torch.zeros(1, 4)]).to(p.device, p.dtype)
    attr = np.concatenate(
        [
            attribute(
                module,
                head,
                table[torch.as_tensor(np.asarray(codes[s : s + batch_size]), device=p.device).long()].transpose(1, 2),
                attribution,
                target=target,
                batch_size=batch_size,
                codes=np.asarray(codes[s : s + batch_size]),
                n_shuffles=n_shuffles,
                seed=seed + s,
            )
            for s in range(0, n, batch_size)
        ]
    )
    one_hot = np.eye(5, 4, dtype=np.float32)[codes]
    hyp = hypothetical_contributions(attr, codes, attribution)
    pos, neg = _run_modisco(one_hot, hyp, settings)
    patterns = [_pattern(p, "pos", i, +1) for i, p in enumerate(pos or [])]
    patterns += [_pattern(p, "neg", i, -1) for i, p in enumerate(neg or [])]
    if not patterns:
        raise DnacnnError(
            f"TF-MoDISco found no pattern in {n:,} sequences ({attribution} attributions): it needs over "
            f"{MIN_SEQLETS} high-scoring seqlets of one sign and 20 per pattern; give more sequences "
            "(--modisco-sequences, --rows, --split) or a model that has learnt a motif"
        )
    return ModiscoResult(patterns, n, attribution)


def _run_modisco(one_hot: np.ndarray, hyp: np.ndarray, settings: dict):
    from modiscolite.tfmodisco import TFMoDISco

    if not np.isfinite(hyp).all():
        raise DnacnnError("the model's attributions hold NaN or infinite values; TF-MoDISco needs finite ones")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba / sklearn chatter on small inputs
        return TFMoDISco(
            one_hot,
            hyp,
            max_seqlets_per_metacluster=MAX_SEQLETS,
            min_metacluster_size=MIN_SEQLETS,
            n_leiden_runs=LEIDEN_RUNS,
            nearest_neighbors_to_compute=NEIGHBOURS,
            **settings,
        )


def _pattern(seqlet_set, prefix: str, index: int, sign: int) -> Pattern:
    ppm = np.asarray(seqlet_set.sequence, np.float64).T
    cwm = np.asarray(seqlet_set.contrib_scores, np.float64).T
    start, stop = core_columns(cwm)
    return Pattern(f"{prefix}_pattern_{index}", sign, len(seqlet_set.seqlets), ppm, cwm, start, stop)
