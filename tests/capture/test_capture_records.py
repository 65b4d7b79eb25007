"""The record builders compiled per syscall: every syscall the probe captures has one, and
its record is what the probe's bytes for the same call decode to."""

from __future__ import annotations

import pytest

from secengine.bpf import layout as L
from secengine.bpf.syscalls import BY_NR, SyscallSpec
from secengine.capture import records as R
from secengine.state import convert
from secengine.state.decode import Rec
from secengine.state.threads import Process

_SPECS = sorted({s.name: s for s in BY_NR.values()}.values(), key=lambda s: s.name)


@pytest.mark.parametrize("spec", _SPECS, ids=lambda s: s.name)
def test_every_probe_syscall_builds_a_record_of_its_spec(spec: SyscallSpec) -> None:
    values = {"res": 0, "fd": 3, "name": "/etc/x", "path": "/tmp", "flags": 1, "uid": 7}
    rec = R.RecordBuilder(None)._syscall(5, 41, spec, 40, 0, values, Process(40))
    assert rec.spec is spec and rec.name == spec.name and rec.evt == L.EVT_SYSCALL
    assert (rec.ts, rec.tid, rec.pid, rec.nr) == (5, 41, 40, spec.nr)
    assert len(rec.args) == L.NARGS
    # a blob for every argument that is not an integer, as the probe's record has
    assert sorted(rec.sec.blobs) == [i for i, k in enumerate(spec.args) if k != L.ARG_INT]


def test_an_openat_record_carries_linux_flags_the_path_and_the_result() -> None:
    spec = R._BY_NAME["openat"]
    values = {"fd": 5, "dirfd": -100, "name": "/etc/passwd", "flags": 1 | 4096, "mode": 0}
    rec = R.RecordBuilder(None)._syscall(9, 60, spec, 60, 5, values, None)
    assert isinstance(rec, Rec)
    assert rec.arg(0) == -100 and rec.args[2] == convert.open_flags_to_linux(1 | 4096)
    assert rec.sec.text(1) == "/etc/passwd" and rec.res == 5
    failed = R.RecordBuilder(None)._syscall(9, 60, spec, 60, -2, {"name": b"\xff"}, None)
    assert failed.res == -2 and failed.args[0] == 0 and failed.sec.blobs[1] == b"\xff"


def test_a_value_of_the_wrong_type_is_zero_and_a_long_path_is_cut() -> None:
    spec = R._BY_NAME["openat"]
    values = {"dirfd": b"\x01", "name": "x" * (L.ARGS_MAX + 10), "flags": None}
    rec = R.RecordBuilder(None)._syscall(1, 2, spec, 2, 0, values, None)
    assert rec.args[0] == 0 and rec.args[2] == convert.open_flags_to_linux(0)
    assert len(rec.sec.blobs[1]) == L.ARGS_MAX
