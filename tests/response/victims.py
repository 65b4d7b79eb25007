"""Processes for the response tests to act on, started and cleaned up by the test itself.

An *orphan* is a ``sleep`` whose parent shell has exited, so it is not a
descendant of the test process (which the safeties protect as "secengine
itself" when the guard is given the test's pid).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from secengine.response.proc import read_stat
from secengine.response.target import Target


def alive(pid: int) -> bool:
    st = read_stat(pid)
    return st is not None and st.state not in ("Z", "X")


def wait_dead(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.01)
    return False


@contextmanager
def orphans(n: int = 1, *, name: str = "sleep", group: bool = False) -> Iterator[list[int]]:
    """``n`` orphaned ``sleep`` processes whose name (``comm``) is ``name``, in a new process
    group if ``group`` (the kernel names a process after the path it executes: a link)."""
    with tempfile.TemporaryDirectory(prefix="i17-victims-") as tmp:
        exe = os.path.join(tmp, name)
        os.symlink(shutil.which("sleep") or "/bin/sleep", exe)
        script = " ".join(f"{exe} 300 >/dev/null 2>&1 & echo $!;" for _ in range(n))
        cmd = ["setsid", "bash", "-c", script] if group else ["bash", "-c", script]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout
        pids = [int(x) for x in out.split()]
        try:
            # a forked child runs as "bash" until its exec: wait for the name
            end = time.monotonic() + 10
            while any(getattr(read_stat(p), "comm", name) != name[:15] for p in pids):
                assert time.monotonic() < end, "the victims did not start"
                time.sleep(0.01)
            yield pids
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def target(pid: int, **kw: object) -> Target:
    """The target an event of ``pid`` would carry, now."""
    st = read_stat(pid)
    assert st is not None
    values: dict[str, object] = {
        "event_ts": time.time_ns(),
        "pid": pid,
        "start_ts": st.start_ts,
        "pgid": st.pgrp,
        "comm": st.comm,
    }
    values.update(kw)
    return Target(**values)  # type: ignore[arg-type]
