"""The probe and the process-table readers work with exactly the DaemonSet's capabilities.

Each process runs as root with its capability bounding set cut to the
DaemonSet's list (``setpriv``), so it has those and no others, as in the
pod. The probe must load and capture without CAP_SYS_ADMIN (libbpf needs it
when it walks the kernel's BTF objects); and each of CAP_SYS_PTRACE and
CAP_DAC_READ_SEARCH is shown to be needed: without it, /proc of another
user's process is partly unreadable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator

import manifests as m
import pytest

pytestmark = pytest.mark.bpf

_LOAD = """
import subprocess, time
from secengine.bpf.loader import Probe
with Probe(ring_bytes=1 << 20) as probe:
    probe.set_interest({"openat"})
    reader = probe.reader()
    subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
    end = time.monotonic() + 5
    seen = 0
    while not seen and time.monotonic() < end:
        seen += len(list(reader.read()))
        reader.wait(0.05)
    reader.close()
    print("records", seen)
"""

#: what the process table reads of another process (secengine.state.procfs)
_READ = """
import json, sys
from secengine.state.procfs import read_process
p = read_process(int(sys.argv[1]))
print(json.dumps({"exe": p.exepath, "cwd": p.cwd, "fds": len(p.fds or ())}))
"""


def bounded(caps: tuple[str, ...]) -> list[str]:
    """A command prefix that runs a root process whose capabilities are only ``caps``."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    keep = "".join(f",+{c.lower()}" for c in caps)
    return ["setpriv", f"--bounding-set=-all{keep}", "--"]


def daemonset_caps() -> tuple[str, ...]:
    return m.present(m.capabilities(m.daemonset()))


def test_the_probe_loads_with_the_daemonsets_capabilities_only() -> None:
    r = subprocess.run(
        [*bounded(daemonset_caps()), sys.executable, "-c", _LOAD],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-1500:]
    assert int(r.stdout.split()[-1]) > 0, r.stdout


@pytest.fixture
def nobody_process() -> Iterator[int]:
    """A process of another user (nobody), with a file open, in its own directory."""
    proc = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"],
        stdin=subprocess.DEVNULL,
        cwd="/tmp",
    )
    yield proc.pid
    proc.kill()
    proc.wait()


def read_as(caps: tuple[str, ...], pid: int) -> dict[str, object]:
    r = subprocess.run(
        [*bounded(caps), sys.executable, "-c", _READ, str(pid)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(r.stdout)


def test_sys_ptrace_and_dac_read_search_are_each_needed(nobody_process: int) -> None:
    caps = daemonset_caps()
    full = read_as(caps, nobody_process)
    assert full["exe"].endswith("/sleep") and full["cwd"] == "/tmp" and full["fds"] >= 3, full
    # without CAP_SYS_PTRACE: the executable and directory of another user's process are hidden
    no_ptrace = read_as(tuple(c for c in caps if c != "SYS_PTRACE"), nobody_process)
    assert not no_ptrace["exe"] and not no_ptrace["cwd"], no_ptrace
    # without CAP_DAC_READ_SEARCH: its fd table (/proc/PID/fd is mode 0500, owned by it) is
    no_dac = read_as(tuple(c for c in caps if c != "DAC_READ_SEARCH"), nobody_process)
    assert no_dac["fds"] == 0 and no_dac["exe"], no_dac
