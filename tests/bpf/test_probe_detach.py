"""A loaded probe detaches and attaches again, its maps and settings kept in between."""

from __future__ import annotations

import subprocess
import time

import pytest

from secengine.bpf import layout as L
from secengine.bpf import syscalls

pytestmark = pytest.mark.bpf

_OPENAT = next(s.nr for s in syscalls.SYSCALLS if s.name == "openat")


def _child_openat_seen(reader, wait: float) -> bool:
    """Whether a child's ``openat`` (cat of a file) reaches the ring within ``wait`` seconds."""
    child = subprocess.Popen(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
    assert child.wait(timeout=30) == 0
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for rec in reader.read():
            _ts, _tid, pid, nr, evt, *_ = L.HDR.unpack_from(rec)
            if pid == child.pid and nr == _OPENAT and evt == L.EVT_SYSCALL:
                return True
        reader.wait(0.05)
    return False


def test_a_detached_probe_sees_nothing_until_attached_again() -> None:
    from secengine.bpf.loader import Probe

    with Probe(ring_bytes=1 << 20) as probe:
        probe.set_interest({"openat"})
        reader = probe.reader()
        try:
            assert _child_openat_seen(reader, 5.0)
            probe.detach()
            probe.detach()  # idempotent
            assert not _child_openat_seen(reader, 0.5)
            probe.attach()
            probe.attach()  # attached once, not twice
            assert _child_openat_seen(reader, 5.0)  # the interest set before still holds
        finally:
            reader.close()
