"""Without root, BTF or the compiled object the probe and the recorder refuse with one clear
sentence (the check they share: secengine.bpf.preflight)."""

from __future__ import annotations

from pathlib import Path

import pytest

from secengine.bpf import loader, preflight
from secengine.bpf.errors import BpfUnavailableError
from secengine.profile import recorder


def test_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 1000)
    with pytest.raises(BpfUnavailableError, match="needs root.*secengine replay"):
        loader.Probe()


def test_no_btf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path / "vmlinux")
    with pytest.raises(BpfUnavailableError, match="no BTF.*CONFIG_DEBUG_INFO_BTF"):
        loader.Probe()


def test_no_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path)
    with pytest.raises(BpfUnavailableError, match="probe .* is missing; build it"):
        loader.Probe(obj_path=tmp_path / "none.bpf.o")


def test_run_command_fails_with_the_sentence(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from secengine.cli import main

    monkeypatch.setattr(loader.os, "geteuid", lambda: 1000)
    assert main(["run", "--duration", "0"]) == 2  # ExitStatus.USAGE: the environment lacks root
    err = capsys.readouterr().err
    assert "cannot start the syscall source: the syscall source needs root" in err


def test_recorder_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 1000)
    with pytest.raises(BpfUnavailableError, match="recording a profile needs root.*eBPF "
                                                  "recorder; run 'sudo secengine profile"):
        recorder.Recorder()


def test_recorder_no_btf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path / "vmlinux")
    with pytest.raises(BpfUnavailableError, match="no BTF.*CO-RE recorder needs"):
        recorder.preflight()


def test_recorder_no_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path)
    with pytest.raises(BpfUnavailableError, match="compiled recorder .* is missing; build it"):
        recorder.Recorder(obj_path=tmp_path / "none.bpf.o")
