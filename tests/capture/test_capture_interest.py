"""Replaying only the event types the rules need (the replay's speed) changes nothing else.

With an interest, :class:`~secengine.capture.replay.CaptureReplay` yields only events of
those types (a ``close`` no rule reads goes through the tracker's shortcut); every field of
the events it yields, the event count and the numbering must be what a replay of every event
gives.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path
from typing import Any

import pytest
from scapgen import capture, event, fdlist, i64, proclist, s, thread, u32
from sysdig_golden import CAPTURES, DATA, FIELDS

from secengine.bpf.syscalls import BY_NR
from secengine.capture.eventtable import EVENTS, codes_named
from secengine.capture.params import encode
from secengine.capture.replay import CaptureReplay, open_capture
from secengine.state import tracker

_INTERESTS = (
    frozenset({"open", "openat", "openat2"}),
    frozenset({"read", "write", "recvfrom", "sendto", "connect"}),
    frozenset({"execve", "clone", "procexit"}),
    frozenset({"close"}),
    frozenset(),
)


def _replay(data: bytes, interest: frozenset[str] | None) -> tuple[list[list[Any]], int, int]:
    """(each yielded event's FIELDS, events counted, last evt.num)."""
    replay = CaptureReplay(open_capture(io.BytesIO(data)), "c.scap")
    replay.set_interest(interest)
    rows = [[ev.fields.get(f) for f in FIELDS] for batch in replay.batches() for ev in batch]
    return rows, replay.events, replay.num


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("interest", _INTERESTS, ids=lambda i: ",".join(sorted(i)) or "none")
def test_an_interest_yields_the_same_events_with_the_same_fields(
    name: str, interest: frozenset[str]
) -> None:
    data = (DATA / f"{name}.scap").read_bytes()
    every, count, last = _replay(data, None)
    some, some_count, some_last = _replay(data, interest)
    assert some == [row for row in every if row[1] in interest]
    assert (some_count, some_last) == (count, last) and count == len(every)


def test_a_close_no_rule_reads_still_closes_the_fd() -> None:
    data = capture(
        proclist(thread(60, 60, 1, "cat", "/bin/cat", [])),
        fdlist(60, (3, "/etc/passwd")),
        event("PPME_SYSCALL_CLOSE_E", 60, [i64(3)]),
        event("PPME_SYSCALL_CLOSE_X", 60, [i64(0)]),
        event("PPME_SYSCALL_READ_E", 60, [i64(3), u32(10)]),
        event("PPME_SYSCALL_READ_X", 60, [i64(-9), b""]),
        # a close of a thread no table listed: the process it makes is the full path's
        event("PPME_SYSCALL_CLOSE_E", 70, [i64(4)]),
        event("PPME_SYSCALL_CLOSE_X", 70, [i64(0)]),
        event("PPME_SYSCALL_OPEN_E", 70, [s("/tmp/x"), u32(1), u32(0)]),
        event("PPME_SYSCALL_OPEN_X", 70, [i64(4), s("/tmp/x"), u32(1), u32(0), u32(0), i64(0)]),
    )
    every, _, _ = _replay(data, None)
    some, _, _ = _replay(data, frozenset({"read", "open"}))
    assert some == [row for row in every if row[1] in ("read", "open")]
    read = dict(zip(FIELDS, some[0], strict=True))
    assert read["fd.name"] in (None, "")  # fd 3 was closed before the read
    assert dict(zip(FIELDS, some[1], strict=True))["proc.pid"] == 70


def test_the_tracker_acts_by_name_only_on_the_probes_syscalls() -> None:
    """The replay skips a capture's events of other types (``read``, ``mmap``, ...) when no
    rule reads them, on the ground that the tracker only finds their process: every event
    type the tracker names must be one of the probe's syscalls."""
    probe = {spec.name for spec in BY_NR.values()}
    event_types = {e.name for e in EVENTS}
    source = Path(tracker.__file__).read_text()
    named = {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert (named & event_types) - probe == set()
    assert all(name in probe for name in tracker._RES_FD | tracker._ARG0_FD)


def _clone_child(tid: int, ptid: int, comm: str) -> bytes:
    """A clone's exit in the child (res 0) by the table's layout."""
    info = codes_named("PPME_SYSCALL_CLONE_20_X")
    values = {"res": 0, "exe": comm, "tid": tid, "pid": tid, "ptid": ptid, "comm": comm}
    return event(info.code, tid, [encode(p.type, values.get(p.name)) for p in info.params])


_MORE = (*FIELDS, "proc.ppid", "proc.pname", "user.uid", "user.loginuid", "proc.sid")


def _rows(data: bytes, interest: frozenset[str] | None) -> list[dict[str, Any]]:
    replay = CaptureReplay(io.BytesIO(data), "c.scap")
    replay.set_interest(interest)
    return [{f: ev.fields.get(f) for f in _MORE} for b in replay.batches() for ev in b]


def test_a_skipped_event_of_an_unlisted_thread_still_makes_its_process() -> None:
    # thread 80 is in no table: its read (skipped) makes its empty process entry, which the
    # clone's child then forks from
    data = capture(
        event("PPME_SYSCALL_READ_E", 80, [i64(0), u32(10)]),
        event("PPME_SYSCALL_READ_X", 80, [i64(-11), b""]),
        _clone_child(81, 80, "child"),
    )
    every = [r for r in _rows(data, None) if r["evt.type"] == "clone"]
    assert _rows(data, frozenset({"clone"})) == every


def test_a_skipped_enter_replaces_the_threads_pending_enter() -> None:
    # the open's enter is replaced by the read's (skipped): the open's exit, which lacks the
    # path, must not take it from the stale enter
    data = capture(
        proclist(thread(60, 60, 1, "cat", "/bin/cat", [])),
        event("PPME_SYSCALL_OPEN_E", 60, [s("/etc/shadow"), u32(1), u32(0)]),
        event("PPME_SYSCALL_READ_E", 60, [i64(0), u32(10)]),
        event("PPME_SYSCALL_OPEN_X", 60, [i64(3)]),
    )
    every = [r for r in _rows(data, None) if r["evt.type"] == "open"]
    assert _rows(data, frozenset({"open"})) == every
