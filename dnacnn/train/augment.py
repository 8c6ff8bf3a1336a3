"""Random perturbations of training batches, drawn from torch's global generator.

Contract: each function takes DNA codes ``(b, length)`` uint8 (or a one-hot ``X`` of shape
``(b, 4, length)``) and returns a perturbed copy of the same shape and dtype, or the input itself
when the amount is 0; the seed the training loop sets each epoch fixes every draw.
"""

from __future__ import annotations

from dnacnn.codes import DNA_N


def mutate_codes(codes, rate: float):
    """Random point mutations of DNA codes ``(b, length)``: each A/C/G/T becomes one of the three
    other bases with probability ``rate`` (torch's global generator); N stays N."""
    import torch

    if not rate:
        return codes
    hit = (torch.rand(codes.shape, device=codes.device) < rate) & (codes < DNA_N)
    step = torch.randint(1, 4, codes.shape, device=codes.device, dtype=codes.dtype)  # to a different base
    return torch.where(hit, (codes + step) % 4, codes)


def shift_codes(codes, max_shift: int):
    """Random shifts of DNA codes ``(b, length)``: each row moves right by an offset drawn from
    ``-max_shift..max_shift`` (torch's global generator); the bases that come in are N."""
    import torch

    if not max_shift:
        return codes
    n, length = codes.shape
    offset = torch.randint(-max_shift, max_shift + 1, (n, 1), device=codes.device)
    pos = torch.arange(length, device=codes.device)[None, :] - offset
    inside = (pos >= 0) & (pos < length)
    return torch.where(inside, codes.gather(1, pos.clamp(0, length - 1)), torch.full_like(codes, DNA_N))


def flip_strands(X):
    """Random reverse complements of one-hot DNA ``X`` ``(b, 4, length)``: each row flipped with
    probability 1/2 (torch's global generator)."""
    import torch

    flip = torch.rand(X.shape[0], device=X.device) < 0.5
    return torch.where(flip[:, None, None], X.flip(1, 2), X)
