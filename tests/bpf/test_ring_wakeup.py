"""The reader wakes on data, not on a timer (issue 15 item 10).

With the idle timeout and the batch window set to a minute, an event can only
reach the reader within the tests' deadlines if the probe woke it: an ordinary
record that finds the reader caught up (the kernel's wake-up when a record is
the first not read yet), and a priority record (an exec) while the reader lets
a batch gather (the probe forces a wake-up and the reader cuts its window
short). ``stop()`` interrupts a reader asleep in epoll. No timing is asserted:
the deadlines are far below the minute a missing wake-up would cost.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bpf.conftest import ensure_object

pytestmark = pytest.mark.bpf

#: opens the path named by each line of stdin; "exec" runs /bin/true (an exec: a priority record)
_CHILD = (
    "import os, subprocess, sys\n"
    "for line in sys.stdin:\n"
    "    line = line.strip()\n"
    "    if line == 'exec':\n"
    "        subprocess.run(['/bin/true'])\n"
    "    else:\n"
    "        os.close(os.open(line, os.O_RDONLY))\n"
    "    print('done', flush=True)\n"
)
_DEADLINE = 30.0
_MINUTE = 60.0


class _Child:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, line: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _started(batch_window: float) -> tuple[Any, queue.Queue[tuple[str, str]]]:
    from secengine.sources.syscall import SyscallSource

    ensure_object()
    src = SyscallSource(
        ring_bytes=64 * 1024 * 1024, seed=False, batch_window=batch_window, idle_timeout=_MINUTE
    )
    src.set_interest({"openat", "execve"})
    seen: queue.Queue[tuple[str, str]] = queue.Queue()

    def evaluate(events: Any) -> None:
        for ev in events:
            if ev.type == "openat":
                seen.put(("openat", str(ev.fields["fd.name"])))
            elif ev.type == "execve":
                seen.put(("execve", str(ev.fields["proc.exepath"])))

    src.start_inline(evaluate)
    return src, seen


def _wait_for(seen: queue.Queue[tuple[str, str]], want: tuple[str, str]) -> bool:
    """Whether ``want`` arrives within the deadline (a name ending with ``want``'s)."""
    end = time.monotonic() + _DEADLINE
    while time.monotonic() < end:
        try:
            kind, name = seen.get(timeout=max(0.0, end - time.monotonic()))
            if kind == want[0] and name.endswith(want[1]):
                return True
        except queue.Empty:
            break
    return False


def test_an_ordinary_record_wakes_a_reader_with_no_timer(tmp_path: Path) -> None:
    src, seen = _started(batch_window=0.0)
    child = _Child()
    try:
        for i in range(3):  # each time the reader had caught up and was asleep
            target = tmp_path / f"wake-{i}"
            target.write_text("x")
            child.do(str(target))
            assert _wait_for(seen, ("openat", str(target))), f"open {i} never reached the reader"
        assert src.reader is not None and src.reader.wakeups >= 1
    finally:
        child.close()
        src.stop()
    assert src.error is None


def test_a_priority_record_cuts_the_batch_window_short(tmp_path: Path) -> None:
    src, seen = _started(batch_window=_MINUTE)
    child = _Child()
    try:
        second = tmp_path / "second"
        second.write_text("x")
        # an exec first: it cuts short whatever window the host's own opens started, so
        # the reader has just read a batch and lets the next one gather for a minute...
        child.do("exec")
        assert _wait_for(seen, ("execve", "/true"))
        assert src.reader is not None
        cut_before = src.reader.windows_cut
        child.do(str(second))
        # ...which the exec's forced wake-up ends: both arrive
        child.do("exec")
        assert _wait_for(seen, ("openat", str(second))), "the window was not cut short"
        assert _wait_for(seen, ("execve", "/true"))
        assert src.reader.windows_cut > cut_before
    finally:
        child.close()
        src.stop()
    assert src.error is None


def test_stop_interrupts_a_reader_asleep_without_a_timer() -> None:
    src, _ = _started(batch_window=0.0)
    src.stop(timeout=_DEADLINE)  # the reader sleeps in epoll with a minute to go
    assert not [t for t in threading.enumerate() if t.name == "secengine-source-syscall"]
    assert src.error is None
