"""dnacnn.device: the one place that resolves device, precision, threads and glibc's malloc setting."""

import platform
import subprocess
import sys
import textwrap

import pytest

from dnacnn.errors import DnacnnError

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Allocates and frees a 40 MiB buffer 20 times and prints the page faults this took. 40 MiB is above
# the 32 MiB ceiling of glibc's own adaptive mmap threshold, so without dnacnn's setting every buffer is
# a fresh mmap whose pages fault in again; with it, the freed heap block is reused.
FAULTS = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    if sys.argv[1] == "on":
        from dnacnn.device import reuse_freed_memory
        assert reuse_freed_memory() and reuse_freed_memory()  # idempotent
    a = np.ones(40 << 20, np.uint8); del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        a = np.ones(40 << 20, np.uint8); del a
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_reuse_freed_memory_stops_page_faults_on_reallocation():
    def faults(setting: str) -> int:
        done = subprocess.run([sys.executable, "-c", FAULTS, setting], capture_output=True, text=True, check=True)
        return int(done.stdout)

    without, with_setting = faults("off"), faults("on")
    assert without > 100  # fresh pages each time (fewer faults with transparent huge pages, never ~0)
    assert with_setting * 10 < without


def test_resolve_device_and_precision():
    import torch

    from dnacnn.device import resolve_device, resolve_precision

    cpu = resolve_device("cpu")
    assert cpu == torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("auto", cpu) in ("fp32", "bf16")
    with pytest.raises(DnacnnError, match="fp16 needs a CUDA device"):
        resolve_precision("fp16", cpu)
    with pytest.raises(DnacnnError, match="unknown --precision 'fp8'"):
        resolve_precision("fp8", cpu)
    with pytest.raises(DnacnnError, match="unknown --device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DnacnnError, match="no CUDA GPU"):
            resolve_device("cuda")
