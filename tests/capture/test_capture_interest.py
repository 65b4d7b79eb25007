"""Replaying only the event types the rules need (the replay's speed) changes nothing else.

With an interest, :class:`~secengine.capture.replay.CaptureReplay` yields only events of
those types (a ``close`` no rule reads goes through the tracker's shortcut); every field of
the events it yields, the event count and the numbering must be what a replay of every event
gives.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from scapgen import capture, event, fdlist, i64, proclist, s, thread, u32
from sysdig_golden import CAPTURES, DATA, FIELDS

from secengine.capture.replay import CaptureReplay, open_capture

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
