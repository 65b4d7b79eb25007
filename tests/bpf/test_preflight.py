"""Without root, BTF or the compiled object the probe and the recorder refuse with one clear
sentence (the check they share: secengine.bpf.preflight)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from secengine.bpf import loader, preflight
from secengine.bpf.errors import BpfUnavailableError
from secengine.profile import recorder

#: (what is loaded, its name in the sentences, how a user without root is told)
LOADERS = pytest.mark.parametrize(
    ("load", "what", "not_root"),
    [
        (loader.Probe, "probe", "the syscall source needs root.*secengine replay"),
        (
            recorder.Recorder,
            "recorder",
            "recording a profile needs root.*eBPF recorder; run 'sudo secengine profile",
        ),
    ],
    ids=["probe", "recorder"],
)


@LOADERS
def test_not_root(
    monkeypatch: pytest.MonkeyPatch, load: Callable[..., Any], what: str, not_root: str
) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 1000)
    with pytest.raises(BpfUnavailableError, match=not_root):
        load()


@LOADERS
def test_no_btf(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    load: Callable[..., Any],
    what: str,
    not_root: str,
) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path / "vmlinux")
    with pytest.raises(
        BpfUnavailableError, match=f"no BTF.*CO-RE {what} needs.*CONFIG_DEBUG_INFO_BTF"
    ):
        load()


@LOADERS
def test_no_object(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    load: Callable[..., Any],
    what: str,
    not_root: str,
) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path)
    with pytest.raises(BpfUnavailableError, match=f"compiled {what} .* is missing; build it"):
        load(obj_path=tmp_path / "none.bpf.o")


def test_the_profile_command_checks_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loader.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "BTF_PATH", tmp_path / "vmlinux")
    with pytest.raises(BpfUnavailableError, match="no BTF.*CO-RE recorder needs"):
        recorder.preflight()


def test_run_command_fails_with_the_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from secengine.cli import main

    monkeypatch.setattr(loader.os, "geteuid", lambda: 1000)
    assert main(["run", "--duration", "0"]) == 2  # ExitStatus.USAGE: the environment lacks root
    err = capsys.readouterr().err
    assert "cannot start the syscall source: the syscall source needs root" in err
