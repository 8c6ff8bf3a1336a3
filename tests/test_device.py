"""dnacnn.device: the one place that resolves device, precision, threads and glibc's malloc setting."""

import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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


# --------------------------------------------------------------------------- threads (issue 17, item 6)


@pytest.mark.parametrize("value", ["auto", "AUTO", " auto ", None])
def test_parse_threads_auto(value):
    from dnacnn.device import parse_threads

    assert parse_threads(value) == "auto"


@pytest.mark.parametrize("value, number", [(1, 1), ("2", 2), (" 3 ", 3), ("+1", 1), ("04", 4)])
def test_parse_threads_takes_a_whole_number(value, number):
    from dnacnn.device import most_threads, parse_threads

    assert most_threads() >= 4
    assert parse_threads(value) == number


@pytest.mark.parametrize("value", [0, -1, "0", "-2", "1.5", 2.0, "1e3", "", "x", True, "auto,2"])
def test_parse_threads_refuses_naming_the_setting(value):
    from dnacnn.device import parse_threads
    from dnacnn.errors import SettingError

    with pytest.raises(SettingError, match=r"^threads must be auto or a whole number from 1 to \d+") as caught:
        parse_threads(value)
    assert caught.value.setting == "threads"


def test_a_python_caller_is_told_about_threads_not_the_option(tmp_path):
    from dnacnn.train import TrainSettings, train

    with pytest.raises(DnacnnError, match="^threads must be auto"):
        train(tiny_store(tmp_path), tmp_path / "m.dnacnn", TrainSettings(model="zou2019", threads=0, progress=False))
    assert not (tmp_path / "m.dnacnn").exists()


def tiny_store(tmp_path) -> Path:
    """40 Zou sequences encoded into ``tmp_path/s.store``."""
    from conftest import DATA

    from dnacnn.encode import encode
    from dnacnn.encode_options import EncodeOptions

    lines = (DATA / "zou_sequences.txt").read_text().splitlines()[:40]
    labels = (DATA / "zou_labels.txt").read_text().splitlines()[:40]
    (tmp_path / "s.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "l.txt").write_text("\n".join(labels) + "\n")
    encode(tmp_path / "s.txt", tmp_path / "s.store", EncodeOptions(format="lines", labels=str(tmp_path / "l.txt")))
    return tmp_path / "s.store"


def test_usable_cores_honours_affinity_quota_and_omp_num_threads(monkeypatch):
    from dnacnn import device

    monkeypatch.setattr(device, "allowed_cpus", lambda: {0, 1, 2, 3, 4, 5, 6, 7})
    monkeypatch.setattr(device, "physical_cores", lambda cpus: len(cpus))
    monkeypatch.setattr(device, "cgroup_cpu_quota", lambda: None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert device.usable_cores() == 8
    monkeypatch.setattr(device, "cgroup_cpu_quota", lambda: 2.5)  # 250% of a CPU: 3 cores' worth, rounded up
    assert device.usable_cores() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # Galaxy's slots, torchrun's share
    assert device.usable_cores() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")  # not a number: ignored, as OpenMP does
    assert device.usable_cores() == 3
    monkeypatch.setattr(device, "cgroup_cpu_quota", lambda: 0.2)  # a fifth of a CPU: still one thread
    assert device.usable_cores() == 1


@pytest.mark.parametrize(
    "others, threads",
    [(0.0, 4), (0.4, 4), (1.0, 3), (2.6, 1), (3.5, 1), (12.0, 1)],
)
def test_auto_threads_leaves_the_cores_others_keep_busy(monkeypatch, others, threads):
    from dnacnn import device

    monkeypatch.setattr(device, "allowed_cpus", lambda: {0, 1, 2, 3})
    monkeypatch.setattr(device, "usable_cores", lambda: 4)
    monkeypatch.setattr(device, "busy_elsewhere", lambda cpus: others)
    assert device.auto_threads() == threads


def test_auto_threads_never_exceeds_the_usable_cores(monkeypatch):
    from dnacnn import device

    monkeypatch.setattr(device, "allowed_cpus", lambda: set(range(16)))
    monkeypatch.setattr(device, "usable_cores", lambda: 2)  # e.g. a cgroup quota of 2 CPUs on a 16-CPU node
    monkeypatch.setattr(device, "busy_elsewhere", lambda cpus: 3.0)  # 13 CPUs are still free
    assert device.auto_threads() == 2


@pytest.mark.parametrize(
    "cpu_max, quota",
    [("max 100000\n", None), ("150000 100000\n", 1.5), ("200000 100000\n", 2.0), ("garbage\n", None)],
)
def test_cgroup_v2_quota(tmp_path, cpu_max, quota):
    from dnacnn.device import cgroup_cpu_quota

    (tmp_path / "job" / "step").mkdir(parents=True)
    (tmp_path / "job" / "step" / "cpu.max").write_text(cpu_max)
    (tmp_path / "cgroup").write_text("0::/job/step\n")
    assert cgroup_cpu_quota(str(tmp_path), str(tmp_path / "cgroup")) == quota


def test_cgroup_quota_is_the_smallest_along_the_path(tmp_path):
    from dnacnn.device import cgroup_cpu_quota

    (tmp_path / "job" / "step").mkdir(parents=True)
    (tmp_path / "job" / "cpu.max").write_text("100000 100000\n")  # the job: 1 CPU
    (tmp_path / "job" / "step" / "cpu.max").write_text("400000 100000\n")  # its step asks for 4
    (tmp_path / "cgroup").write_text("0::/job/step\n")
    assert cgroup_cpu_quota(str(tmp_path), str(tmp_path / "cgroup")) == 1.0


def test_cgroup_v1_quota(tmp_path):
    from dnacnn.device import cgroup_cpu_quota

    folder = tmp_path / "cpu,cpuacct" / "docker" / "abc"
    folder.mkdir(parents=True)
    (folder / "cpu.cfs_quota_us").write_text("50000\n")
    (folder / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cgroup").write_text("4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n")
    assert cgroup_cpu_quota(str(tmp_path), str(tmp_path / "cgroup")) == 0.5
    (folder / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    assert cgroup_cpu_quota(str(tmp_path), str(tmp_path / "cgroup")) is None


def test_cgroup_quota_without_proc(tmp_path):
    from dnacnn.device import cgroup_cpu_quota

    assert cgroup_cpu_quota(str(tmp_path), str(tmp_path / "missing")) is None


def test_physical_cores_counts_hyperthread_siblings_once(tmp_path):
    from dnacnn.device import physical_cores

    for cpu, core in enumerate([0, 1, 0, 1]):  # cpu2 and cpu3 are the siblings of cpu0 and cpu1
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")
    assert physical_cores({0, 1, 2, 3}, str(tmp_path)) == 2
    assert physical_cores({0, 2}, str(tmp_path)) == 1
    assert physical_cores({0, 7}, str(tmp_path)) == 2  # sysfs silent about cpu7: count the CPUs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_busy_elsewhere_sees_busy_processes_and_not_this_one():
    from dnacnn.device import busy_elsewhere, own_running

    assert own_running() >= 1
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        time.sleep(0.3)  # started and spinning
        assert busy_elsewhere(samples=5) >= 2.5  # the three loops (and whatever else runs here)
        assert busy_elsewhere(set(os.sched_getaffinity(0)), samples=2) >= 2.5
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def test_set_threads_sets_intra_op_threads():
    import torch

    from dnacnn.device import set_threads, usable_cores

    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 and torch.get_num_threads() == 1
        chosen = set_threads("auto")
        assert 1 <= chosen <= usable_cores() and torch.get_num_threads() == chosen
    finally:
        torch.set_num_threads(before)


# OpenMP's worker thread's CPU time while the main thread sleeps between parallel operations, in
# ms per second of sleep: ~0 when it sleeps at once (passive), hundreds while it spins
SPIN_PROBE = textwrap.dedent(
    """
    import os, sys, threading, time
    from pathlib import Path
    from dnacnn.device import quiet_openmp
    assert quiet_openmp() and os.environ.get("OMP_WAIT_POLICY") == sys.argv[1]
    import torch
    assert not quiet_openmp()  # too late now: torch (and OpenMP) are loaded
    torch.set_num_threads(2)
    x = torch.ones(1 << 20)
    x.exp()
    main = threading.get_native_id()
    def others():
        tasks = [t for t in Path("/proc/self/task").iterdir() if int(t.name) != main]
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
    burnt = slept = 0.0
    for _ in range(30):
        x.exp()
        t0, c0 = time.perf_counter(), others()
        time.sleep(0.01)
        slept += time.perf_counter() - t0
        burnt += others() - c0
    print(1000 * burnt / slept)
    """
)


def spin_probe(env: dict) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | env
    policy = env.get("OMP_WAIT_POLICY", "PASSIVE")
    done = subprocess.run([sys.executable, "-c", SPIN_PROBE, policy], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return float(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="/proc")
def test_quiet_openmp_stops_waiting_threads_from_spinning():
    """The CLI's setting reaches OpenMP: its worker sleeps between operations (about 0 ms of CPU
    per second, where GNU OpenMP's default spin burns hundreds: see the slow test below)."""
    assert spin_probe({}) < 20


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="/proc")
def test_the_spin_probe_sees_spinning():
    """The probe above can tell: with libgomp's default spin count the worker burns CPU while idle
    (and a caller's own OMP_WAIT_POLICY is left as it is)."""
    spinning = spin_probe({"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": "300000"})
    assert spinning > 5 * max(1.0, spin_probe({}))


def test_the_cli_sets_the_wait_policy_before_torch_is_imported():
    code = (
        "import os, sys\n"
        "from dnacnn.cli import app\n"
        "try:\n"
        "    app(['presets'], prog_name='dnacnn')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split()[-2:] == ["PASSIVE", "False"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # a caller's choice stands
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split()[-2:] == ["ACTIVE", "False"]
