"""The wheel ships the compiled probe, and the shipped object loads and attaches."""

from __future__ import annotations

import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from secengine.bpf import syscalls

pytestmark = [pytest.mark.bpf, pytest.mark.slow]


def test_wheel_ships_a_probe_that_loads(wheel: Path, tmp_path: Path) -> None:
    assert wheel.name.endswith("-py3-none-linux_x86_64.whl")
    with zipfile.ZipFile(wheel) as z:
        obj = tmp_path / "probe.bpf.o"
        obj.write_bytes(z.read("secengine/bpf/probe.bpf.o"))
    from secengine.bpf import layout as L
    from secengine.bpf.loader import Probe

    with Probe(obj_path=obj, ring_bytes=1 << 20) as probe:
        captured = probe.set_interest({"openat"})
        assert "openat" in captured and "close" in captured  # close: the state set
        reader = probe.reader()
        try:
            # a child opens a file (the probe ignores this process): its openat is a record
            child = subprocess.Popen(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
            assert child.wait(timeout=30) == 0
            openat = next(s.nr for s in syscalls.SYSCALLS if s.name == "openat")
            seen = False
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                for rec in reader.read():
                    _ts, _tid, pid, nr, evt, *_ = L.HDR.unpack_from(rec)
                    seen = seen or (pid == child.pid and nr == openat and evt == L.EVT_SYSCALL)
                reader.wait(0.05)
        finally:
            reader.close()
        assert seen, "the wheel's probe sent no openat record for the child"
        assert probe.stats()[L.STAT_EMITTED] > 0
