"""The ``program`` action: a command run with the alert's JSON on its stdin, bounded in time.

The command runs with ``/bin/sh -c`` in a session of its own (so that a
timeout kills everything it started), with no inherited file descriptors
and its output discarded but for the last line of stderr, which the
outcome quotes when the command fails. It is secengine's child, so no
response can ever act on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from secengine.response.outcome import Outcome, Status

__all__ = ["run_program"]


def run_program(command: str, stdin: bytes, timeout: float, event_ts: int) -> Outcome:
    """Run ``command`` with ``stdin``; ``done`` when it exits 0 within ``timeout`` seconds."""
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as e:
        return Outcome(Status.FAILED, f"cannot start /bin/sh: {e.strerror or e}")
    try:
        _, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(proc)
        return Outcome(Status.FAILED, f"program killed after {timeout:g}s: {command[:100]}")
    latency = time.time_ns() - event_ts
    if proc.returncode == 0:
        return Outcome(Status.DONE, f"program exited 0: {command[:100]}", latency)
    last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    how = (
        f"killed by signal {-proc.returncode}"
        if proc.returncode < 0
        else f"exited {proc.returncode}"
    )
    said = f" ({last[0][:200]})" if last[0] else ""
    return Outcome(Status.FAILED, f"program {how}{said}: {command[:100]}", latency)


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()
    if proc.stdin is not None:
        proc.stdin.close()
