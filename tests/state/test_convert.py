"""Kernel values become the driver's PPM values, rendered through Falco's flag tables."""

from __future__ import annotations

import os

from secengine.fields.flags import render_flags
from secengine.state import convert


def test_open_flags_render_as_falco_does() -> None:
    assert (
        render_flags("file_flags", convert.open_flags(os.O_RDONLY | os.O_CLOEXEC))
        == "O_RDONLY|O_CLOEXEC"
    )
    text = render_flags("file_flags", convert.open_flags(os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
    assert set(text.split("|")) == {"O_WRONLY", "O_CREAT", "O_TRUNC"}
    assert render_flags("file_flags", convert.open_flags(os.O_RDWR)) == "O_RDWR"
    assert "O_TMPFILE" in render_flags("file_flags", convert.open_flags(os.O_TMPFILE | os.O_RDWR))


def test_ptrace_requests_are_renumbered() -> None:
    assert render_flags("ptrace_requests", convert.ptrace_request(16)) == "PTRACE_ATTACH"
    assert render_flags("ptrace_requests", convert.ptrace_request(0)) == "PTRACE_TRACEME"
    assert render_flags("ptrace_requests", convert.ptrace_request(0x4206)) == "PTRACE_SEIZE"
    assert render_flags("ptrace_requests", convert.ptrace_request(4)) == "PTRACE_POKETEXT"


def test_clone_flags() -> None:
    assert render_flags("clone_flags", convert.clone_flags(0x04000000)) == "CLONE_NEWUTS"
    both = render_flags("clone_flags", convert.clone_flags(0x10000 | 0x100))
    assert set(both.split("|")) == {"CLONE_THREAD", "CLONE_VM"}


def test_other_converters() -> None:
    assert render_flags("execveat_flags", convert.execveat_flags(0x1000)) == "AT_EMPTY_PATH"
    assert render_flags("file_flags", convert.dup3_flags(os.O_CLOEXEC)) == "O_CLOEXEC"
    assert render_flags("mount_flags", convert.mount_flags(1 | 4096)) in (
        "RDONLY|BIND",
        "BIND|RDONLY",
    )
