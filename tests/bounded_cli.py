"""Run the ``secengine`` CLI in a child process with a wall-clock timeout and a memory cap.

Hostile-input tests (regex and glob blowups, YAML alias bombs, doubling macros
and lists) must show that a command *finishes* in bounded time and memory:
run in-process, a regression would hang or swap the whole test run instead of
failing one test. The cap is on the address space (``RLIMIT_AS``), set in the
child before it executes, so a blowup fails with ``MemoryError`` there.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MEMORY_CAP", "TIMEOUT", "run_cli"]

#: Generous bounds: an interpreter with secengine loaded needs a few hundred MB
#: of address space and about a second; every bomb took minutes or gigabytes.
TIMEOUT = 30.0
MEMORY_CAP = 1536 * 1024 * 1024


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(
    args: Sequence[str | Path], *, cwd: Path | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``secengine ARGS`` under the caps; ``subprocess.TimeoutExpired`` if it overruns."""
    return subprocess.run(
        [sys.executable, "-m", "secengine.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_cap_memory,
        check=False,
    )
