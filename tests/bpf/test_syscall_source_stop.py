"""``SyscallSource.stop`` while a storm is being read: the probe is closed only once the reader
thread is done with it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.bpf

_STORM = (
    "import os, time\nend = time.monotonic() + 60\n"
    "while time.monotonic() < end:\n"
    "    for _ in range(1000):\n        os.close(os.open('/dev/null', os.O_RDONLY))\n"
)


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "secengine-source-syscall"]


def test_stop_during_a_storm_never_closes_the_probe_under_the_reader() -> None:
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path
    from secengine.sources.syscall import SyscallSource

    if not object_path().is_file():
        build(object_path())
    storm = subprocess.Popen([sys.executable, "-c", _STORM])
    src = SyscallSource(ring_bytes=4 * 1024 * 1024, seed=False)
    src.set_interest(None)
    seen = [0]

    def evaluate(events: object) -> None:
        seen[0] += 1

    try:
        for cycle in range(8):
            src.start_inline(evaluate)
            time.sleep(0.2)  # the reader is busy with the storm's records
            src.stop(timeout=0.001)  # gives up waiting for the reader at once
            for t in _reader_threads():
                t.join(10)
            assert not _reader_threads()
            assert src.error is None, f"cycle {cycle}: the reader failed: {src.error!r}"
            assert src.probe is None and src.reader is None  # closed, by whichever side ended
    finally:
        storm.kill()
        storm.wait()
        src.stop()
    assert seen[0] > 0
