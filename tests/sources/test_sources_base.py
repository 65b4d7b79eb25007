"""The Source contract: bounded queue with refusals, and batch sources pumped on a thread."""

from __future__ import annotations

import time

from secengine.events import Event, FieldValues
from secengine.sources.base import EventQueue
from secengine.sources.replay import MemorySource


def _events(n: int) -> list[Event]:
    return [Event("syscall", i, FieldValues({"evt.type": "open", "evt.num": i})) for i in range(n)]


def test_queue_refuses_when_full() -> None:
    q = EventQueue(max_batches=2)
    assert q.offer("s", _events(1)) and q.offer("s", _events(1))
    assert not q.offer("s", _events(1))
    assert q.depth() == 2 and q.capacity == 2
    assert q.get(timeout=0.1) is not None


def test_batch_source_waits_for_room_and_loses_nothing() -> None:
    q = EventQueue(max_batches=1)
    src = MemorySource(_events(50), batch_size=7)
    src.start(q)
    seen: list[int] = []
    deadline = time.monotonic() + 5
    while not (src.finished and q.depth() == 0) and time.monotonic() < deadline:
        item = q.get(timeout=0.05)
        if item is not None:
            seen.extend(e.ts for e in item[1])
    src.stop(timeout=1)
    assert seen == list(range(50))
    assert src.error is None


def test_batch_source_stop_interrupts_a_blocked_pump() -> None:
    q = EventQueue(max_batches=1)
    src = MemorySource(_events(50), batch_size=1)
    src.start(q)
    time.sleep(0.05)
    src.stop(timeout=2)
    assert not src._thread.is_alive()  # type: ignore[union-attr]
