"""Former home of the glibc malloc setting, kept so that ``from dnacnn.cpu import
reuse_freed_memory`` (benchmarks, older scripts) still works; the setting lives in
:mod:`dnacnn.device` with the device, precision and thread choices."""

from __future__ import annotations

from dnacnn.device import MMAP_THRESHOLD, TRIM_THRESHOLD, reuse_freed_memory

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "reuse_freed_memory"]
