"""A kernel whose io_uring tracepoint has another shape still gets the probe, without io_uring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from secengine.bpf import loader
from secengine.bpf.errors import BpfError


def test_the_probe_loads_without_io_uring_when_that_program_is_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[tuple[str, ...]] = []

    def owner_init(self: Any, path: Path, programs: Any) -> None:
        attempts.append(tuple(programs))
        if loader.URING_PROGRAM in programs:
            raise BpfError("bpf_object__load failed: Invalid argument (EINVAL)")
        self.programs = tuple(programs)

    monkeypatch.setattr(loader, "_preflight", lambda path: None)
    monkeypatch.setattr(loader.BpfObjectOwner, "__init__", owner_init)
    probe = loader.Probe()
    assert attempts == [
        loader.CAPTURE_PROGRAMS,
        tuple(p for p in loader.CAPTURE_PROGRAMS if p not in loader.URING_PROGRAMS),
    ]
    assert probe.uring_unavailable.startswith("bpf_object__load failed")
    assert "io_uring operations will not be visible" in caplog.text


def test_other_load_failures_are_not_hidden(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def owner_init(self: Any, path: Path, programs: Any) -> None:
        raise BpfError("bpf_object__load failed: Operation not permitted (EPERM)")

    monkeypatch.setattr(loader, "_preflight", lambda path: None)
    monkeypatch.setattr(loader.BpfObjectOwner, "__init__", owner_init)
    with pytest.raises(BpfError, match="EPERM"):
        loader.Probe()
    with pytest.raises(BpfError, match="EPERM"):
        loader.Probe(programs=("se_sys_exit",))
    assert "io_uring" not in caplog.text  # no misleading line before the real error
