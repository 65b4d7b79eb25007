"""The probe loads and captures with exactly the capabilities the DaemonSet grants, not as
full root: libbpf must not need CAP_SYS_ADMIN (it does when it walks the kernel's BTF objects)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.bpf

CAPABILITIES = ("BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_RESOURCE")

_LOAD = """
import subprocess, time
from secengine.bpf import layout as L
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


def bounded(caps: tuple[str, ...]) -> list[str]:
    """A command prefix that runs a root process whose capabilities are only ``caps``."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    keep = ",".join(f"+{c.lower()}" for c in caps)
    return ["setpriv", f"--bounding-set=-all,{keep}", "--"]


#: capability numbers (linux/capability.h)
_NUMBERS = {"DAC_READ_SEARCH": 2, "SYS_PTRACE": 19, "SYS_RESOURCE": 24, "PERFMON": 38, "BPF": 39}


def present(caps: tuple[str, ...]) -> tuple[str, ...]:
    """``caps`` minus those this machine's root does not have itself (a sandbox may withhold
    CAP_SYS_RESOURCE); without them the probe must load all the same."""
    with open("/proc/self/status") as f:
        bounding = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    return tuple(c for c in caps if bounding >> _NUMBERS[c] & 1)


def test_the_probe_loads_with_the_daemonsets_capabilities_only() -> None:
    r = subprocess.run(
        [*bounded(present(CAPABILITIES)), sys.executable, "-c", _LOAD],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-1500:]
    assert int(r.stdout.split()[-1]) > 0, r.stdout
