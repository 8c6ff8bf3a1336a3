"""Where and how PyTorch runs: the device, the autocast precision, CPU threads and glibc's malloc.

Contract: :func:`resolve_device` turns ``auto``/``cpu``/``cuda``/``cuda:N`` into a ``torch.device``
(a missing GPU is one clear error); :func:`resolve_precision` turns ``auto``/``fp32``/``bf16``/
``fp16`` into the precision a run uses on that device; :func:`set_threads` sets PyTorch's CPU
threads from ``--threads`` (``auto``: :func:`auto_threads`); :func:`quiet_openmp` keeps OpenMP's
waiting threads from spinning; :func:`reuse_freed_memory` is the one glibc malloc setting of the
process.  Every command (train, predict, evaluate, scan, explain, variants, motifs) resolves these
here and nowhere else.

Threads under load (issue 17): OpenMP's waiting threads sleep instead of spinning
(``OMP_WAIT_POLICY=PASSIVE``, set by the CLI before torch loads), so two threads on two busy
cores no longer collapse (10-30x slower than one thread while spinning); ``auto`` is the cores
this process may use (affinity mask, cgroup CPU quota, ``OMP_NUM_THREADS``) less the runnable
tasks of other processes, sampled from the kernel's run queue when the command starts
(``benchmarks/threads_bench.py``, numbers in ``benchmarks/results/threads_bench.md``).

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

import contextlib
import ctypes
import math
import os
import re
import sys
import time
from pathlib import Path

from dnacnn.errors import DnacnnError, SettingError

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
MMAP_THRESHOLD = 64 << 20  # blocks below this come from the heap and are reused
TRIM_THRESHOLD = 128 << 20  # free heap memory kept for reuse before it is returned to the OS
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_malloc = {"done": False}
_pool = {"interop": False}
THREADS_HELP = (
    "CPU threads for PyTorch: auto (the cores this process may use, fewer while other processes keep them busy) "
    "or a number."
)  # whether the inter-op pool was sized (PyTorch allows it once)


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


def set_threads(threads: int | str | None = "auto") -> int:
    """Set PyTorch's CPU threads: ``auto`` (or None) -> :func:`auto_threads`, else that many (a
    whole number from 1 to :func:`most_threads`; anything else is a :class:`SettingError` naming
    ``threads``).  The inter-op pool (``torch.jit.fork``, parallel graph branches) gets as many,
    once per process: PyTorch refuses to resize it after its first use.  Returns the count."""
    chosen = parse_threads(threads)
    count = auto_threads() if chosen == "auto" else chosen
    import torch

    torch.set_num_threads(count)
    if not _pool["interop"]:
        _pool["interop"] = True
        # PyTorch's default: one per core of the machine, whatever this process may use; it
        # refuses (RuntimeError) once the pool was used or sized, e.g. by a Python caller
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(count)
    return count


def parse_threads(value: int | str | None) -> int | str:
    """``--threads``: ``"auto"`` (None too), or a whole number of threads from 1 to
    :func:`most_threads`; else a :class:`SettingError` naming ``threads`` (the CLI: ``--threads``)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto"
    text = str(value).strip()
    number = int(text) if re.fullmatch(r"[+-]?[0-9]{1,18}", text) and not isinstance(value, bool) else None
    most = most_threads()
    if number is None or not 1 <= number <= most:
        raise SettingError(
            "threads",
            f"must be auto or a whole number from 1 to {most} (4 per CPU here), got {value!r}",
            "auto (the default) counts the cores this process may use that other processes leave free",
        )
    return number


def most_threads() -> int:
    """The largest thread count accepted: 4 per CPU of the machine (more only thrashes)."""
    return 4 * (os.cpu_count() or 1)


def auto_threads() -> int:
    """``--threads auto``: the cores this process may use (:func:`usable_cores`), fewer when other
    processes keep its CPUs busy: its CPUs less :func:`busy_elsewhere`, rounded, at least 1.

    Measured on 2 cores with OpenMP waiting passively (:func:`quiet_openmp`), ``tfbind`` and
    ``deepbind`` training, 2 threads over 1 alternated in one process: 1.6x and 0.93x with no
    other runnable task, 0.99x and 0.88x with one, 0.8x with two (``benchmarks/threads_bench.py``).
    A thread that waits for its partner sleeps, but the partner still queues behind the others
    for its time slice; and where the kernel groups tasks by session (autogroup, the default of
    most distributions) more threads win no larger share of busy cores."""
    cpus = allowed_cpus()
    free = len(cpus) - busy_elsewhere(cpus)
    return max(1, min(usable_cores(), int(free + 0.5)))


def usable_cores() -> int:
    """The cores this process may use, however busy: the physical cores of its CPU affinity mask
    (hyperthread siblings share one core's arithmetic), capped by its cgroup's CPU quota (v2
    ``cpu.max`` or v1 ``cpu.cfs_quota_us``, rounded up) and by ``OMP_NUM_THREADS`` when set (a
    scheduler's share of the node: Galaxy exports its job's slots there, torchrun 1 per process)."""
    cpus = allowed_cpus()
    cores = physical_cores(cpus)
    quota = cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if omp.isdigit() and int(omp) > 0:
        cores = min(cores, int(omp))
    return max(1, cores)


def allowed_cpus() -> set[int]:
    """The logical CPUs this process may run on (its affinity mask; every CPU where the OS has none)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def physical_cores(cpus: set[int], sysfs: str = "/sys/devices/system/cpu") -> int:
    """How many physical cores the logical CPUs ``cpus`` are (their count where sysfs does not say)."""
    cores = set()
    for cpu in cpus:
        topology = Path(sysfs) / f"cpu{cpu}" / "topology"
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            return len(cpus)
    return len(cores) or len(cpus)


def cgroup_cpu_quota(root: str = "/sys/fs/cgroup", membership: str = "/proc/self/cgroup") -> float | None:
    """CPUs' worth of time this process's cgroup may use per period (``1.5``: one and a half),
    the smallest along its cgroup path; None without a quota (or outside Linux)."""
    try:
        lines = Path(membership).read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2: <root>/<path>/cpu.max holds "max 100000" or "150000 100000"
            folders, file = [Path(root)], "cpu.max"
        elif "cpu" in controllers.split(","):  # cgroup v1: cpu.cfs_quota_us (-1: none) / cpu.cfs_period_us
            folders, file = [Path(root) / controllers, Path(root) / "cpu"], "cpu.cfs_quota_us"
        else:
            continue
        parts = [p for p in path.split("/") if p]
        for folder in folders:  # the cgroup, then its parents; a container's own root last
            quotas += [_quota(folder.joinpath(*parts[:depth]), file) for depth in range(len(parts), -1, -1)]
    quotas = [q for q in quotas if q is not None]
    return min(quotas) if quotas else None


def _quota(folder: Path, file: str) -> float | None:
    try:
        if file == "cpu.max":
            quota, period = (folder / file).read_text().split()[:2]
        else:
            quota, period = (folder / file).read_text().strip(), (folder / "cpu.cfs_period_us").read_text().strip()
        return None if quota == "max" or int(quota) <= 0 else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def busy_elsewhere(cpus: set[int] | None = None, samples: int = 10, interval: float = 0.005) -> float:
    """How many tasks of other processes are running or waiting to run, on average over
    ``samples`` readings ``interval`` seconds apart: the kernel's count of runnable tasks
    (``/proc/loadavg``) less this process's own, or, for a process held to some of the machine's
    CPUs (``cpus``: ``taskset``, a cpuset), the runnable tasks that last ran on those.  Now, not
    the 1-minute load average: that one still counts jobs that ended (a previous run of this very
    command) and misses the ones that just began.  0.0 where the kernel does not say."""
    every = cpus is None or len(cpus) >= (os.cpu_count() or 1)
    seen = []
    for i in range(samples):
        if i:
            time.sleep(interval)
        if not every:
            seen.append(runnable_on(cpus))
            continue
        try:  # "0.50 0.53 0.81 2/103 11808": runnable tasks / all tasks, this reader among them
            seen.append(max(0, int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - own_running()))
        except (OSError, ValueError, IndexError):
            return 0.0
    return sum(seen) / len(seen)


def runnable_on(cpus: set[int]) -> int:
    """Tasks of other processes that are runnable and last ran on one of ``cpus``."""
    count, me = 0, str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/task/*/stat"):
        if stat.parts[2] == me:
            continue
        try:  # "tid (name) S ... processor (field 39) ...": the name may hold spaces and parentheses
            fields = stat.read_text().rpartition(")")[2].split()
            count += fields[0] == "R" and int(fields[36]) in cpus
        except (OSError, IndexError, ValueError):
            continue
    return count


def own_running() -> int:
    """This process's threads that are running or runnable now (the caller's, at least)."""
    count = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:  # "tid (name) S ...": the name may hold spaces and parentheses
            count += stat.read_text().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return max(1, count)


def quiet_openmp() -> bool:
    """Make OpenMP's idle threads sleep at once instead of spinning (``OMP_WAIT_POLICY=PASSIVE``
    unless the caller chose a policy or ``GOMP_SPINCOUNT``).

    PyTorch's CPU threads meet at a barrier after every parallel operation, and by default GNU
    OpenMP spins there for a few milliseconds before sleeping (300,000 spins).  When other
    processes hold the cores, a spinning thread burns the time slice its partner needs to finish:
    ``dnacnn train --threads 2`` ran 3.6x slower than one thread at load 6 (issue 17), 15-30x in
    ``benchmarks/threads_bench.py``; sleeping at once costs a wake-up per operation, a few percent
    on idle cores.  OpenMP reads the variable when it is loaded, with torch, so the CLI calls
    this first of all.
    Returns whether it takes effect: False when torch was already imported (a Python caller
    sets ``OMP_WAIT_POLICY`` itself, before importing torch)."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "torch" not in sys.modules


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
