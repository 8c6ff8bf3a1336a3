"""First-layer convolution filters as motifs: activating windows counted per filter, and filter influence.

Contract: :func:`filter_motifs` scans sequences with a model's first ``conv1d`` layer (plus the
position-wise layers right after it: batchnorm, activation, dropout) and, for every filter, counts
the bases of each input window whose activation exceeds ``threshold`` (:data:`DEFAULT_THRESHOLD`)
times that filter's maximum activation over the data (the DeepBind / Basset recipe).  A model
with ``strands: both`` scans the reverse complement too, as it does when predicting.  Windows
reaching into ``same`` padding count only their real bases.  Each filter also gets an
*influence*: the RMS change of the model's log-odds output when that filter's activation map is
replaced by its mean activation (Basset), which ranks filters by how much the model relies on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnacnn.errors import DnacnnError
from dnacnn.interpret.attributions import model_output

MAX_WINDOW_CELLS = 1 << 24  # windows x width gathered per scanning batch (bounds memory)
# A window counts towards a filter's motif above this fraction of the filter's maximum activation.
# DeepBind and Basset used 0.5; on the workflow's REST tfbind model 0.6 gave 17-21 filters with a
# calibrated REST match (6 at 0.5) and REST as the best hit of 3-4 of the 5 most influential
# filters (3 at 0.5), with no other factor named (docs/interpret.md).
DEFAULT_THRESHOLD = 0.6
MAX_INFLUENCE_ROWS = 20_000  # forward rows, (filters + 1) x sequences, spent on filter influence


@dataclass
class FirstLayer:
    """The model's first conv layer and how its outputs map to input windows.

    ``scan`` maps ``X (b, 4, L)`` to activations ``(b, filters, L_out)``; output position ``j``
    of a filter reads input positions ``j * stride - left + dilation * t`` for ``t < width``.
    ``last`` is the index in ``module.body`` of the last module of ``scan`` (where the influence
    ablation hooks in).
    """

    scan: object
    last: int
    n_filters: int
    width: int
    stride: int
    dilation: int
    left: int
    both_strands: bool

    def windows(self, length: int) -> tuple[np.ndarray, int]:
        """Input offsets ``(L_out, width)`` of every window, in a sequence N-padded by ``left``
        on the left, and the right padding needed."""
        out = _out_length(self.scan, length)
        starts = np.arange(out) * self.stride
        offsets = starts[:, None] + self.dilation * np.arange(self.width)[None, :]
        right = max(0, int(offsets.max()) + 1 - self.left - length)
        return offsets, right


def _pointwise(layer) -> bool:
    from torch import nn

    from dnacnn.models.layers import ACTIVATION_MODULES

    kinds = (nn.BatchNorm1d, nn.Dropout, nn.Identity, *{type(f()) for f in ACTIVATION_MODULES.values()})
    return isinstance(layer, kinds)


def first_layer(module) -> FirstLayer:
    """Find the first ``conv1d`` of ``module.body`` (see :class:`FirstLayer`)."""
    from torch import nn

    from dnacnn.models.layers import Conv1d

    body = module.body
    first = next((i for i, layer in enumerate(body) if isinstance(layer, Conv1d)), None)
    if first is None:
        raise DnacnnError("the model has no conv1d layer, so it has no filters to turn into motifs")
    if not all(_pointwise(layer) for layer in body[:first]):
        raise DnacnnError("the model's first conv1d layer does not read the sequence directly; motifs need it to")
    conv = body[first]
    if conv.conv.in_channels != 4:
        raise DnacnnError(f"the first conv1d layer reads {conv.conv.in_channels} channels; motifs need DNA (4)")
    last = first
    while last + 1 < len(body) and _pointwise(body[last + 1]):
        last += 1
    stride = int(conv.conv.stride[0])
    left = int(conv.conv.padding[0]) - (stride if conv.trim else 0)
    return FirstLayer(
        scan=nn.Sequential(*body[: last + 1]),
        last=last,
        n_filters=int(conv.conv.out_channels),
        width=int(conv.conv.kernel_size[0]),
        stride=stride,
        dilation=int(conv.conv.dilation[0]),
        left=left,
        both_strands=bool(getattr(module, "both_strands", False)),
    )


def _out_length(scan, length: int) -> int:
    import torch

    with torch.inference_mode():
        p = next(scan.parameters())
        return int(scan(torch.zeros(1, 4, length, device=p.device, dtype=p.dtype)).shape[2])


@dataclass
class FilterMotifs:
    """Per-filter base counts from activating windows.

    Attributes
    ----------
    counts : np.ndarray, shape=(filters, 4, width)
        A, C, G, T counts at each filter position over the windows above threshold.
    n_sites : np.ndarray, shape=(filters,)
        Windows above threshold (both strands counted for ``strands: both`` models).
    max_activation, mean_activation : np.ndarray, shape=(filters,)
        Over every window of the data.
    influence : np.ndarray, shape=(filters,)
        RMS change of the log-odds output when the filter's map is replaced by its mean (0 when
        not computed).
    effect : np.ndarray, shape=(filters,)
        Mean of (output - output with the filter at its mean): positive = the filter raises it.
    threshold : float
        Fraction of the filter's maximum activation a window had to exceed.
    n_sequences : int
    """

    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    mean_activation: np.ndarray
    influence: np.ndarray
    effect: np.ndarray
    threshold: float
    n_sequences: int

    def ppm(self, pseudocount: float = 1.0) -> np.ndarray:
        """Letter probabilities ``(filters, 4, width)``: ``(counts + pseudocount / 4) / (n + pseudocount)``."""
        return (self.counts + pseudocount / 4) / (self.counts.sum(axis=1, keepdims=True) + pseudocount)


def filter_motifs(
    module,
    codes: np.ndarray,
    head: str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 256,
    influence_sequences: int = 2000,
    seed: int = 0,
) -> FilterMotifs:
    """Count the bases of the windows that activate each first-layer filter.

    Parameters
    ----------
    module : torch.nn.Module
        A loaded DNA model (eval mode); its device is used.
    codes : np.ndarray, shape=(n, length), uint8
        Sequences to scan (typically the positives), as DNA codes.
    head : str
        ``ModelMeta.head``, for the influence (log-odds scale, first output).
    threshold : float
        A window counts when its activation exceeds ``threshold * max activation`` of its filter.
    influence_sequences : int
        Sequences (a seeded random subset) used for the influence, at most
        ``MAX_INFLUENCE_ROWS / (filters + 1)`` (but at least 20); 0 skips it.
    """
    if not 0 <= threshold < 1:
        raise DnacnnError(f"--threshold must be in [0, 1), got {threshold}")
    layer = first_layer(module)
    n, length = codes.shape
    if n == 0:
        raise DnacnnError("no sequences to scan for motifs")
    offsets, right = layer.windows(length)
    rows = max(1, min(batch_size, MAX_WINDOW_CELLS // (layer.n_filters * len(offsets) * layer.width)))
    maxima = np.full(layer.n_filters, -np.inf)
    total = np.zeros(layer.n_filters)
    cells = 0
    for _, act in _activations(layer, codes, rows):
        maxima = np.maximum(maxima, act.max(axis=(0, 2)))
        total += act.sum(axis=(0, 2), dtype=np.float64)
        cells += act.shape[0] * act.shape[2]
    cut = np.where(maxima > 0, threshold * maxima, np.inf)  # a filter that never fires has no sites
    flat = np.zeros(layer.n_filters * layer.width * 5, np.int64)
    n_sites = np.zeros(layer.n_filters, np.int64)
    for strand_codes, act in _activations(layer, codes, rows):
        padded = np.pad(strand_codes, ((0, 0), (layer.left, right)), constant_values=4)
        seq, f, j = np.nonzero(act > cut[None, :, None])
        window = padded[seq[:, None], offsets[j]]  # (sites, width)
        index = (f[:, None] * layer.width + np.arange(layer.width)) * 5 + window
        flat += np.bincount(index.ravel(), minlength=flat.size)
        n_sites += np.bincount(f, minlength=layer.n_filters)
    counts = flat.reshape(layer.n_filters, layer.width, 5)[:, :, :4].transpose(0, 2, 1).astype(np.float64)
    mean = total / max(cells, 1)
    influence, effect = np.zeros(layer.n_filters), np.zeros(layer.n_filters)
    if influence_sequences:
        rng = np.random.default_rng(seed)
        # each sequence costs filters + 1 forward passes: cap the total for wide first layers
        size = min(n, influence_sequences, max(20, MAX_INFLUENCE_ROWS // (layer.n_filters + 1)))
        pick = np.sort(rng.choice(n, size=size, replace=False))
        influence, effect = filter_influence(module, layer, np.asarray(codes[pick]), mean, head)
    return FilterMotifs(counts, n_sites, maxima, mean, influence, effect, threshold, n)


def _activations(layer: FirstLayer, codes: np.ndarray, rows: int):
    """Yield ``(codes of the scanned strand (b, L), activations (b, F, L_out) numpy)``."""
    import torch

    from dnacnn.codes import Expander, dna_encoding, reverse_complement_codes

    p = next(layer.scan.parameters())
    expand = Expander(dna_encoding(codes.shape[1]), device=p.device)
    with torch.inference_mode():
        for s in range(0, len(codes), rows):
            c = np.asarray(codes[s : s + rows])
            strands = (c, reverse_complement_codes(c)) if layer.both_strands else (c,)
            for sc in strands:
                X = expand(torch.as_tensor(np.ascontiguousarray(sc), device=p.device), p.dtype)
                yield sc, layer.scan(X).float().cpu().numpy()


def filter_influence(
    module, layer: FirstLayer, codes: np.ndarray, mean: np.ndarray, head: str, batch_rows: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Per filter: RMS and mean of ``output - output with the filter's map set to its mean``
    (log-odds scale, first output), over ``codes``.

    A forward hook on the last module of the first layer turns each batch's activations into
    ``filters + 1`` copies (the original, then one per filter with that filter replaced), so the
    first layer runs once per batch and the rest of the network once on all copies.  Copies are
    laid out strand-major, keeping the ``[forward; reverse complement]`` batch halves of a
    ``strands: both`` model paired.
    """
    import torch

    from dnacnn.codes import Expander, dna_encoding

    fn = model_output(module, head, 0)
    p = next(module.parameters())
    expand = Expander(dna_encoding(codes.shape[1]), device=p.device)
    n_f, strands = layer.n_filters, 2 if layer.both_strands else 1
    fill = torch.as_tensor(mean, dtype=p.dtype, device=p.device)[:, None, None, None]
    idx = torch.arange(n_f, device=p.device)

    def hook(_module, _inputs, output):
        out = output.unflatten(0, (strands, -1))  # (strands, b, F, L)
        copies = out.unsqueeze(1).repeat(1, n_f + 1, 1, 1, 1)  # (strands, F + 1, b, F, L)
        copies[:, idx + 1, :, idx, :] = fill.to(copies.dtype)
        return copies.flatten(0, 2)

    handle = module.body[layer.last].register_forward_hook(hook)
    sq, diff = np.zeros(n_f), np.zeros(n_f)
    rows = max(1, batch_rows // (n_f + 1))
    try:
        with torch.inference_mode():
            for s in range(0, len(codes), rows):
                c = torch.as_tensor(np.ascontiguousarray(codes[s : s + rows]), device=p.device)
                out = fn(expand(c, p.dtype)).double().reshape(n_f + 1, len(c))
                d = (out[0] - out[1:]).cpu().numpy()  # (F, b)
                sq += (d**2).sum(axis=1)
                diff += d.sum(axis=1)
    finally:
        handle.remove()
    n = max(len(codes), 1)
    return np.sqrt(sq / n), diff / n
