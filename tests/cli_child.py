"""Run ``secengine`` as a user does, in a child process, and write the events it replays.

For the command-line tests of the agent (``run -c``, ``replay -c``, ``validate -c``):
the command's own exit status, stdout and stderr are what they check, so it runs
as a separate process, not through ``cli.main`` in the test's.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import orjson

from secengine.events import Event

__all__ = ["SECENGINE", "run_secengine", "write_events"]

#: the command line that starts ``secengine`` with this interpreter
SECENGINE = [sys.executable, "-m", "secengine.cli"]


def run_secengine(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``secengine ARGS`` to its end (``subprocess.TimeoutExpired`` past ``timeout`` s)."""
    return subprocess.run(
        [*SECENGINE, *args], check=False, capture_output=True, text=True, timeout=timeout
    )


def write_events(path: Path, events: Iterable[Event]) -> Path:
    """``events`` as the JSON lines ``secengine replay`` reads; returns ``path``."""
    path.write_bytes(
        b"".join(
            orjson.dumps({"time": e.ts, "source": e.source, "fields": dict(e.fields)}) + b"\n"
            for e in events
        )
    )
    return path
