"""SIGINT and SIGTERM during a recording: noted, then acted on where it is safe to.

A signal handler that raises (Python's default for SIGINT) can cut cleanup
code in half and leave a container running; SIGTERM's default kills
secengine outright, with the same result. :class:`Interrupts` replaces both
for the length of a recording with a handler that only records the first
signal; the session checks :attr:`Interrupts.signum` between steps, stops
and removes what it started, and raises :class:`~.errors.Interrupted`.
Further signals while it cleans up are counted, not acted on: the cleanup
is bounded by its own timeouts.

Signal handlers can only be set from the main thread; elsewhere (a library
caller's worker thread) this does nothing and signals keep their handlers.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Final, Self

from secengine.exit_status import ExitStatus
from secengine.profile.errors import Interrupted

__all__ = ["SIGNALS", "Interrupts", "exit_status"]

#: what signal.signal returns: a Python handler, SIG_DFL/SIG_IGN, or None (set outside Python)
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

#: The signals that interrupt a recording.
SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> ExitStatus:
    """The shell's convention for a command ended by a signal: 128 + its number
    (:attr:`~ExitStatus.INTERRUPTED` for SIGINT, :attr:`~ExitStatus.TERMINATED` for SIGTERM)."""
    return ExitStatus(128 + signum)


class Interrupts:
    """Context manager: note SIGINT/SIGTERM instead of acting on them."""

    def __init__(self) -> None:
        self.signum = 0
        self.count = 0
        self._old: dict[int, _Handler] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if not self.signum:
            self.signum = signum

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for s, h in self._old.items():
            if h is not None:  # None: a handler not installed from Python, which cannot be put back
                signal.signal(s, h)
        self._old.clear()

    def __bool__(self) -> bool:
        return bool(self.signum)

    def error(self, done: str) -> Interrupted:
        """The error to raise once the cleanup is ``done`` (a clause: what was stopped)."""
        name = signal.Signals(self.signum).name
        return Interrupted(self.signum, f"interrupted by {name}: {done}; nothing was written")
