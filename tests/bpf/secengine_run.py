"""``secengine run --json`` as a child process for the live tests: start it, read its alerts.

The one helper for every live test that runs the public command (tests using it carry the
``bpf`` marker: the run loads the real probe). The CVE live tests prove each rule end to end
with no ``-r`` (the shipped rules and the CVE pack), as a user runs it. Three ways to use it:

- :func:`start`, :func:`read_alerts`, :func:`stop`: a run the test drives itself
  (``start`` returns once it printed "watching");
- :func:`alerts_during`: a run around one action, and every alert it printed;
  :func:`alerts_seen`: the same, failing with the run's drop counts when the alerts a test
  waits for are missing from a run that lost events (a run is never repeated: a retry would
  let a real miss pass);
- :class:`Run`: one run shared by a module's tests, each waiting for alerts of its own.

Tests outside ``tests/bpf`` import it by name too (``pyproject.toml``'s ``pythonpath``).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "Drops",
    "Run",
    "alerts_during",
    "alerts_seen",
    "drops_of",
    "of_rule",
    "read_alerts",
    "start",
    "stop",
]


def start(rules: Path | str | None = None, *extra: str) -> subprocess.Popen[bytes]:
    """``secengine run --json [-r RULES] EXTRA...``, once it watches; no ``rules``: the
    shipped rules and the CVE pack."""
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    rules_args = [] if rules is None else ["-r", str(rules)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "secengine.cli", "run", "--json", *rules_args, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    if "watching" not in line:
        proc.kill()
        raise AssertionError(line + proc.stderr.read().decode())
    return proc


def read_alerts(
    proc: subprocess.Popen[bytes],
    timeout: float,
    done: Callable[[list[dict[str, Any]]], bool] = lambda alerts: False,
) -> list[dict[str, Any]]:
    """The alerts ``proc`` printed until ``done(alerts)`` or ``timeout`` seconds passed."""
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


class Drops(NamedTuple):
    """What a run lost: its kernel drops (the exit summary's count, and its per-reason line)
    and the internal drop alerts it printed (user-space losses are reported that way)."""

    kernel: int
    internal_alerts: int
    detail: str

    def __bool__(self) -> bool:
        return self.kernel > 0 or self.internal_alerts > 0

    def __str__(self) -> str:
        return (
            f"{self.kernel} events dropped in the kernel, {self.internal_alerts} internal drop "
            f"alerts ({self.detail or 'no per-reason line'})"
        )


_KERNEL_DROPPED = re.compile(r"(\d+) dropped in the kernel")


def drops_of(stderr: str, alerts: list[dict[str, Any]]) -> Drops:
    """The drops a run reported: the exit summary on ``stderr`` and its internal alerts."""
    kernel = sum(int(n) for n in _KERNEL_DROPPED.findall(stderr))
    detail = "; ".join(
        line.split(": ", 1)[-1] for line in stderr.splitlines() if "kernel drops:" in line
    )
    internal = [a for a in alerts if "event drop" in str(a.get("rule", ""))]
    return Drops(kernel, len(internal), detail)


def _run_during(action: Callable[[], None], settle: float) -> tuple[list[dict[str, Any]], Drops]:
    proc = start()
    try:
        action()
        time.sleep(settle)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    alerts = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
    return alerts, drops_of(err.decode(), alerts)


def alerts_during(action: Callable[[], None], settle: float = 1.0) -> list[dict[str, Any]]:
    """Start a run with the shipped rules, run ``action`` once it watches, stop it (SIGINT, as
    Ctrl-C would), check it exited with status 0 and return every alert it printed."""
    return _run_during(action, settle)[0]


def of_rule(alerts: list[dict[str, Any]], cve: str) -> list[dict[str, Any]]:
    """The alerts of the rules tagged with ``cve``."""
    return [a for a in alerts if cve in a.get("tags", [])]


def alerts_seen(
    action: Callable[[], None],
    seen: Callable[[list[dict[str, Any]]], bool],
    settle: float = 2.0,
) -> list[dict[str, Any]]:
    """:func:`alerts_during`, once; when ``seen`` does not hold and the run lost events, fail
    with the drop counts (the miss may be the drop's, and says nothing either way). A run
    without drops returns its alerts whatever ``seen`` says, for the test's own assertions to
    judge; drops that did not hide the awaited alerts are not a failure (look-alikes are
    judged on the same run, and a drop can only hide an alert, never make one)."""
    alerts, drops = _run_during(action, settle)
    if not seen(alerts) and drops:
        raise AssertionError(
            f"the awaited alerts are missing and the run lost events: {drops}; "
            f"alerts: {[a.get('rule') for a in alerts]}"
        )
    return alerts


class Run:
    """One run with the shipped rules for a module's tests; every alert it printed, whichever
    test was waiting when it came. Stop it with ``stop(run.proc)``."""

    def __init__(self) -> None:
        self.proc = start()
        self.alerts: list[dict[str, Any]] = []

    def cve_alerts(self, token: str, want: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The pack's alerts for commands carrying ``token``, once ``want`` of them came
        (or ``timeout`` passed), and whatever followed them within a second."""

        def mine(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                a
                for a in alerts
                if "cve" in a.get("tags", ())
                and token in (a["output_fields"].get("proc.cmdline") or "")
            ]

        self.alerts += read_alerts(
            self.proc, timeout, lambda new: len(mine(self.alerts + new)) >= want
        )
        # a second more: an alert that should not be there (a look-alike's, one too many)
        self.alerts += read_alerts(self.proc, 1.0)
        return mine(self.alerts)
