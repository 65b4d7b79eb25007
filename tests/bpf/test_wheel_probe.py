"""The wheel ships the compiled probe, and the shipped object loads and attaches."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_a_probe_that_loads(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (whl,) = tmp_path.glob("secengine-*.whl")
    assert whl.name.endswith("-py3-none-linux_x86_64.whl")
    with zipfile.ZipFile(whl) as z:
        obj = tmp_path / "probe.bpf.o"
        obj.write_bytes(z.read("secengine/bpf/probe.bpf.o"))
    from secengine.bpf.loader import Probe

    with Probe(obj_path=obj, ring_bytes=1 << 20) as probe:
        captured = probe.set_interest({"openat"})
        assert "openat" in captured and "close" in captured  # close: the state set
        assert probe.stats()[0] >= 0
