"""The wheel ships the recorder and the runtime baselines, and the shipped object loads."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bpf, pytest.mark.slow]


def test_wheel_ships_a_recorder_that_loads_and_the_baselines(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert "secengine/profile/baselines/runc-1.1.5.json" in names
        assert "secengine/bpf/profile.h" in names
        obj = tmp_path / "profile.bpf.o"
        obj.write_bytes(z.read("secengine/bpf/profile.bpf.o"))
    from secengine.profile import layout as L
    from secengine.profile.capabilities import opspec
    from secengine.profile.launch import HeldChild
    from secengine.profile.recorder import Recorder
    from secengine.profile.recording import Recording

    with Recorder(obj_path=obj, opspec=opspec()) as rec:
        child = HeldChild(["true"])
        slot = rec.follow(child.pid, phase=L.PHASE_WORK)
        child.release()
        assert child.wait(10) == 0
        raw = rec.read(slot)
    assert raw.stats["recorded"] > 0
    assert {"execve", "exit_group"} <= Recording.from_raw(raw, "exec").syscalls.seen()
