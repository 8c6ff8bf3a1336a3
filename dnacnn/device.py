"""Where and how PyTorch runs: the device, the autocast precision, CPU threads and glibc's malloc.

Contract: :func:`resolve_device` turns ``auto``/``cpu``/``cuda``/``cuda:N`` into a ``torch.device``
(a missing GPU is one clear error); :func:`resolve_precision` turns ``auto``/``fp32``/``bf16``/
``fp16`` into the precision a run uses on that device; :func:`set_threads` sets PyTorch's CPU
threads; :func:`reuse_freed_memory` is the one glibc malloc setting of the process.  Every command
(train, predict, evaluate, scan, explain, variants, motifs) resolves these here and nowhere else.

glibc's ``malloc`` serves blocks above a threshold (128 KiB at start, raised only when such a
block is freed) with a fresh ``mmap`` and returns them with ``munmap``, so the activation and
gradient buffers a training step allocates and frees (0.1-2 MB each for ``deepbind`` at batch
128) are new pages every step: page faults and zeroing cost ~30% of a small network's step
(``benchmarks/train_bench.py``: ``deepbind`` fp32 48k -> 65k samples/s); a prediction batch frees
tens of MB, which glibc's adaptive trim returned to the OS after every batch (half of ``predict``'s
CPU time was kernel time, ``benchmarks/predict_bench.py``).  PyTorch's tuning guide answers this
with jemalloc or tcmalloc through ``LD_PRELOAD``; :func:`reuse_freed_memory` gets the same effect
from glibc itself, with no preload and nothing to install.
"""

from __future__ import annotations

import ctypes
import sys

from dnacnn.errors import DnacnnError

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
MMAP_THRESHOLD = 64 << 20  # blocks below this come from the heap and are reused
TRIM_THRESHOLD = 128 << 20  # free heap memory kept for reuse before it is returned to the OS
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_malloc = {"done": False}


def resolve_device(name: str = "auto"):
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a clear error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DnacnnError("--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DnacnnError(f"unknown --device {name!r}; use auto, cpu, cuda or cuda:N") from None


def resolve_precision(precision: str, device) -> str:
    """``auto``: bf16 (else fp16) autocast on CUDA; on the CPU bf16 where the CPU computes bf16
    in hardware (AVX512-BF16 or AMX), else fp32.

    Without bf16 hardware oneDNN emulates it and training runs several times slower than fp32
    (6-10x measured on an AVX2-only AMD EPYC); with it, bf16 autocast trains 1.1-1.5x faster
    (an AVX512-BF16 AMD EPYC, ``benchmarks/train_bench.py``) at the same accuracy on the Zou
    primer and DeepBind ENCODE (``docs/accuracy.md``).  Weights and optimizer state stay fp32.
    """
    import torch

    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"
    if precision not in PRECISIONS[1:]:
        raise DnacnnError(f"unknown --precision {precision!r}; use auto, fp32, bf16 or fp16")
    if precision == "fp16" and device.type != "cuda":
        raise DnacnnError("--precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    return precision


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware (AVX512-BF16 or AMX tiles)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def set_threads(threads: int | None) -> None:
    """PyTorch's CPU threads (intra-op); ``None`` or 0 keeps PyTorch's own choice."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def reuse_freed_memory() -> bool:
    """Let glibc reuse freed tensor buffers instead of mapping fresh pages for every one.

    Called by the CLI at start (before torch is imported) and again by training and prediction
    on the CPU; idempotent.  Returns whether the setting was applied: False (and nothing changes)
    outside glibc, e.g. on macOS or musl.  The cost is memory: up to ``TRIM_THRESHOLD`` of freed
    heap stays with the process for reuse.
    """
    if _malloc["done"]:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:  # the C library already loaded into this process: no search for it at start-up
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; setting either threshold turns glibc's dynamic one off
    _malloc["done"] = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _malloc["done"]
