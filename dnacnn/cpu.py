"""CPU runtime settings that PyTorch leaves to the process.

glibc's ``malloc`` serves blocks above a threshold (128 KiB at start, raised only when such a
block is freed) with a fresh ``mmap`` and returns them with ``munmap``, so the activation and
gradient buffers a training step allocates and frees (0.1-2 MB each for ``deepbind`` at batch
128) are new pages every step: page faults and zeroing cost ~30% of a small network's step
(``benchmarks/train_bench.py``: ``deepbind`` fp32 48k -> 65k samples/s).  PyTorch's tuning guide
answers this with jemalloc or tcmalloc through ``LD_PRELOAD``; :func:`reuse_freed_memory` gets
the same effect from glibc itself, with no preload and nothing to install.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
MMAP_THRESHOLD = 64 << 20  # blocks below this come from the heap and are reused
TRIM_THRESHOLD = 128 << 20  # free heap memory kept for reuse before it is returned to the OS
_done = False


def reuse_freed_memory() -> bool:
    """Let glibc reuse freed tensor buffers instead of mapping fresh pages for every one.

    Called by the CLI at start (before torch is imported) and again by training and prediction
    on the CPU; idempotent.  Returns whether the setting
    was applied: False (and nothing changes) outside glibc, e.g. on macOS or musl.  The cost is
    memory: up to ``TRIM_THRESHOLD`` of freed heap stays with the process for reuse.
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:  # the C library already loaded into this process: no search for it at start-up
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; setting either threshold turns glibc's dynamic one off
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
