"""``secengine run`` as a child process for the live tests: start it, read its JSON alerts.

The run loads the real probe (tests using this carry the ``bpf`` marker);
:func:`start` returns once it printed "watching", :func:`alerts_until`
reads alert lines until a predicate holds or a deadline passes.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["alerts_until", "start", "stop"]


def start(rules: Path | str, *extra: str) -> subprocess.Popen[bytes]:
    """``secengine run --json -r RULES EXTRA...``, once it watches."""
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    proc = subprocess.Popen(
        [sys.executable, "-m", "secengine.cli", "run", "--json", "-r", str(rules), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    if "watching" not in line:
        proc.kill()
        raise AssertionError(line + proc.stderr.read().decode())
    return proc


def alerts_until(
    proc: subprocess.Popen[bytes],
    timeout: float,
    done: Callable[[list[dict[str, Any]]], bool] = lambda alerts: False,
) -> list[dict[str, Any]]:
    """The alerts printed until ``done(alerts)`` or ``timeout`` seconds passed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out: list[dict[str, Any]] = []
    buf = b""
    until = time.monotonic() + timeout
    while time.monotonic() < until and not done(out):
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
    return out


def stop(proc: subprocess.Popen[bytes]) -> str:
    """Terminate the run; returns what it wrote on stderr."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert proc.stderr is not None
    return proc.stderr.read().decode()
