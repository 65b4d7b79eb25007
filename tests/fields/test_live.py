"""fields/live.py: the live values of a syscall event, their one-time key resolution, the
protocols the state satisfies, and the layering (fields/ does not import state/ or bpf/)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from secengine.events import MISSING, FieldExtractionError
from secengine.fields import default_registry
from secengine.fields.live import FloodReport, LiveFieldValues
from secengine.fields.registry import live_field_names as live_fields


class _Rec:
    """A decoded record as the extractors read it: a successful openat by pid 7."""

    name = "openat"
    ts = 5_000
    tid = pid = 7
    res = 3
    args = (0,) * 6

    def arg(self, i: int) -> int:
        return self.args[i]

    def params(self, proc: Any) -> dict[str, Any]:
        return {"fd": 3, "name": "/etc/hosts", "flags": 1}

    def open_flags(self) -> int | None:
        return 1  # PPM_O_RDONLY

    def flood(self) -> FloodReport | None:
        return None


class _Proc:
    pid = vpid = 7
    ptid = 1
    sid = pgid = vpgid = 7
    comm = "cat"
    exe = exepath = "/usr/bin/cat"
    args: ClassVar[list[str]] = ["/etc/hosts"]
    cmdline = "cat /etc/hosts"
    container_id = "host"
    start_ts = 1_000
    uid = gid = 0
    loginuid = 0xFFFFFFFF


class _Procs:
    def __init__(self, chain: list[_Proc]) -> None:
        self.chain = chain

    def parent(self, proc: Any) -> Any:
        return self.chain[0] if self.chain else None

    def ancestors(self, proc: Any) -> Iterator[Any]:
        return iter(self.chain)

    def ancestor(self, proc: Any, n: int) -> Any:
        assert isinstance(n, int), "the index is parsed once, when the key is resolved"
        return proc if n == 0 else self.chain[n - 1] if n <= len(self.chain) else None

    def peek(self, pid: int) -> Any:
        return None


class _State:
    def __init__(self) -> None:
        shell = _Proc()
        shell.comm, shell.pid = "bash", 1
        self.procs = _Procs([shell])
        self.users = None
        self.containers = None


def _values(proc: Any = None) -> LiveFieldValues:
    return LiveFieldValues(_Rec(), proc if proc is not None else _Proc(), 3, None, False, _State())  # type: ignore[arg-type]


def test_live_values_read_the_record_and_the_state_through_the_protocols() -> None:
    v = _values()
    assert v["evt.type"] == "openat"
    assert v.get("proc.name") == "cat"
    assert v.get("proc.pname") == "bash"
    assert v.get("proc.aname[1]") == "bash" and v.get("proc.aname") == ["bash"]
    assert v.get("evt.is_open_read") is True
    assert v.get("evt.res") == "SUCCESS"
    assert v.get("fd.num") == 3
    assert v.get("evt.arg.name") == "/etc/hosts"


def test_process_start_times_are_live_and_missing_when_unknown() -> None:
    """``proc.pid.ts`` is what a response verifies a pid against (docs/response.md)."""
    v = _values()
    assert v.get("proc.pid.ts") == 1_000 and v.get("proc.ppid.ts") == 1_000
    unknown = _Proc()
    unknown.start_ts = 0
    assert _values(unknown)["proc.pid.ts"] is MISSING


def test_a_key_is_resolved_once_with_its_argument_parsed() -> None:
    _values().get("proc.aname[1]")
    fdef = default_registry().lookup("syscall", "proc.aname")
    assert fdef is not None
    assert LiveFieldValues.extractions["proc.aname[1]"] == (fdef.live, 1)
    _values().get("evt.arg.name")
    assert LiveFieldValues.extractions["evt.arg.name"][1] == "name"


def test_a_field_without_live_extraction_is_derived_from_live_values() -> None:
    fdef = default_registry().lookup("syscall", "proc.exeline")
    assert fdef is not None and fdef.live is None and fdef.derive is not None
    assert _values().get("proc.exeline") == "/usr/bin/cat /etc/hosts"


def test_an_unknown_key_is_missing_and_not_cached() -> None:
    v = _values()
    assert v.get("no.such.field") is None
    assert v["no.such.field"] is MISSING
    assert "no.such.field" not in dict(v)


def test_an_extractor_that_raises_names_its_field() -> None:
    class Broken(_Proc):
        @property
        def comm(self) -> str:  # type: ignore[override]
            raise KeyError("comm")

    v = _values(Broken())
    with pytest.raises(FieldExtractionError) as info:
        v.get("proc.name")
    assert info.value.key == "proc.name"
    assert isinstance(info.value.error, KeyError) and info.value.__cause__ is info.value.error
    assert "proc.name" in str(info.value) and "KeyError" in str(info.value)


def test_live_fields_are_the_fields_with_a_live_extractor() -> None:
    names = live_fields()
    assert {"proc.name", "fd.name", "evt.arg", "container.id", "flood.count"} <= names
    assert "fd.uid" not in names  # declared, not extracted live
    for cls in default_registry().classes_for("syscall"):
        for f in cls.fields:
            assert (f.name in names) == (f.live is not None)


def test_the_field_classes_do_not_import_the_state_or_the_probe() -> None:
    code = (
        "import sys, secengine.fields.catalog as c, secengine.fields.live; "
        "c.builtin_classes(); "
        "print(sorted(m for m in sys.modules if m.startswith(('secengine.state', "
        "'secengine.bpf', 'secengine.sources'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"
