"""The program sink: alerts on a command's stdin; a dead long-running program is restarted."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from secengine.sinks.program import ProgramSink


def _until(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_process_per_alert_by_default(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "out.txt"
    with ProgramSink(f"cat >> {out}") as sink:
        for i in range(3):
            sink.submit(alert(i))
    assert out.read_text().splitlines() == [alert(i).output for i in range(3)]
    assert sink.spawned == 3


def test_keep_alive_program_gets_every_line(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "out.txt"
    with ProgramSink(f"cat > {out}", keep_alive=True) as sink:
        for i in range(5):
            sink.submit(alert(i))
    assert out.read_text().splitlines() == [alert(i).output for i in range(5)]
    assert sink.spawned == 1


def test_a_dead_program_is_restarted(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "out.txt"
    sink = ProgramSink(f"cat >> {out}", keep_alive=True, restart_backoff=0.01)
    sink.start()
    sink.submit(alert(0))
    _until(lambda: out.exists() and out.read_text().count("\n") == 1)
    first = sink.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _until(lambda: sink._proc is not None and sink._proc.poll() is not None)
    sink.submit(alert(1))
    sink.submit(alert(2))
    sink.stop(timeout=5)
    assert out.read_text().splitlines() == [alert(i).output for i in range(3)]
    assert sink.spawned == 2 and sink.stats.retries == 1
    assert sink.stats.delivered == 3 and sink.stats.failed == 0
