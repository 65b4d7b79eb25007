"""An idle sink's worker sleeps until there is work: an always-on agent should not wake a
thread ten times a second per output for nothing."""

from __future__ import annotations

import time
from pathlib import Path

from secengine.sinks.file import FileSink


def _wakeups(native_id: int) -> int:
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    return int(status.split("voluntary_ctxt_switches:")[1].split()[0])


def test_an_idle_sinks_worker_wakes_about_once_a_second(tmp_path: Path) -> None:
    sink = FileSink(str(tmp_path / "alerts.txt"))
    sink.start()
    try:
        assert sink._thread is not None and sink._thread.native_id is not None
        time.sleep(0.2)
        before = _wakeups(sink._thread.native_id)
        time.sleep(3.0)
        assert _wakeups(sink._thread.native_id) - before <= 6  # 1 s backstop; was 30 (0.1 s)
    finally:
        t0 = time.monotonic()
        assert sink.stop(timeout=5.0)
        assert time.monotonic() - t0 < 1.0  # begin_stop's None wakes it, no timeout waited
