"""Recordings: built from the kernel's maps, saved, loaded and merged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secengine.profile import layout as L
from secengine.profile.errors import ProfileError
from secengine.profile.recorder import RawOp, RawSlot
from secengine.profile.recording import FORMAT, Op, Recording, SyscallSets, load_recording
from secengine.syscall_table import NUMBERS


def bits(*entries: tuple[int, int, str]) -> tuple[int, ...]:
    words = [0] * (L.NPHASES * L.NSETS * L.WORDS)
    for phase, outcome, name in entries:
        nr = NUMBERS[name]
        words[(phase * L.NSETS + outcome) * L.WORDS + (nr >> 6)] |= 1 << (nr & 63)
    return tuple(words)


def test_from_raw_names_syscalls_by_phase_and_outcome() -> None:
    raw = RawSlot()
    raw.bits[111] = bits((L.PHASE_INIT, L.SET_OK, "capset"), (L.PHASE_WORK, L.SET_OK, "read"))
    raw.bits[222] = bits((L.PHASE_WORK, L.SET_ENOSYS, "clone3"), (L.PHASE_PRE, L.SET_OK, "mount"))
    raw.ops.append(
        RawOp(
            L.OP_BIND, L.PHASE_WORK, 0, 0, NUMBERS["bind"], 1 << 10, (2, 80, 1024) + (0,) * 7, 3, 42
        )
    )
    raw.stats = {"recorded": 9}
    rec = Recording.from_raw(raw, "run", command=["podman", "run"])
    assert rec.syscalls.get("init", "ok") == {"capset"}
    assert rec.syscalls.get("work", "ok") == {"read"}
    assert rec.syscalls.get("work", "enosys") == {"clone3"}
    assert rec.syscalls.seen(("pre",)) == {"mount"}
    assert rec.mount_namespaces == 2
    assert rec.ops == [Op("bind", "bind", "work", 0, 1 << 10, 0, (2, 80, 1024) + (0,) * 7, 3, 42)]
    assert rec.stats == {"recorded": 9}


def sample() -> Recording:
    rec = Recording(
        mode="run",
        command=["podman", "run", "x"],
        exit_code=0,
        started=True,
        duration=1.5,
        runtime={"name": "runc", "version": "1.1.5"},
        init_source="recorded",
        notes=["n1"],
    )
    rec.syscalls.add("init", "ok", {"capset"})
    rec.syscalls.add("work", "ok", {"read", "write"})
    rec.ops = [Op("bind", "bind", "work", 0, 1024, 0, (2, 80, 1024) + (0,) * 7, 1, 7)]
    return rec


def test_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.record.json"
    rec = sample()
    rec.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    assert data["syscalls"]["work"] == {"ok": ["read", "write"]}
    back = load_recording(path)
    assert back.to_json() == rec.to_json()


def test_merge_unions_replicas() -> None:
    a = sample()
    b = sample()
    b.syscalls.add("work", "ok", {"fsync"})
    b.ops = [
        Op("bind", "bind", "work", 0, 1024, 0, (2, 80, 1024) + (0,) * 7, 2, 9),
        Op("socket", "socket", "work", 0, 0, 0, (17, 3, 768) + (0,) * 7, 1, 9),
    ]
    b.exit_code = 1
    b.notes = ["n1", "n2"]
    a.merge(b)
    assert a.syscalls.get("work", "ok") == {"read", "write", "fsync"}
    assert [(o.syscall, o.count) for o in a.ops] == [("bind", 3), ("socket", 1)]
    assert a.exit_code is None  # the runs disagree
    assert a.sources == 2 and a.notes == ["n1", "n2"] and a.duration == 3.0


def test_malformed_recordings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ProfileError, match="not a secengine recording"):
        load_recording(path)
    path.write_text(
        json.dumps({"format": FORMAT, "mode": "run", "syscalls": {"later": {"ok": ["read"]}}})
    )
    with pytest.raises(ProfileError, match="unknown phase 'later'"):
        load_recording(path)


def test_syscall_sets_helpers() -> None:
    s = SyscallSets()
    s.add("pre", "ok", {"mount"})
    assert s.phase_empty("init") and not s.phase_empty("pre")
    s.replace_phase("init", s, "pre")
    assert s.get("init", "ok") == {"mount"}
    assert s.outcome("ok", ("init",)) == {"mount"}


def test_a_recording_never_keeps_environment_values(tmp_path: Path) -> None:
    """Also one written by an older secengine: loading, merging and saving redact it."""
    rec = Recording(mode="run", command=["podman", "run", "-e", "PW=s3cret", "img"])
    data = rec.to_json()
    assert data["command"] == ["podman", "run", "-e", "PW=<redacted>", "img"]
    data["command"] = ["podman", "run", "--env=PW=s3cret", "img"]  # as an old file had it
    old = Recording.from_json(data)
    assert old.command == ["podman", "run", "--env=PW=<redacted>", "img"]
    path = tmp_path / "r.record.json"
    old.save(path)
    assert "s3cret" not in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
