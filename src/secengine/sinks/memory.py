"""The ``memory`` sink: alerts kept in a list, and the callback sink; for tests and embedders.

:class:`MemorySink` is the in-memory test double of every sink (as
httpx's ``MockTransport`` is of transports): it goes through the same
queue and worker as a real sink, so tests see the same ordering and drop
accounting. :class:`CallbackSink` hands each alert to a function on the
sink's own thread, so a slow callback delays only itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from secengine.alert import Alert
from secengine.sinks.base import Sink

__all__ = ["CallbackSink", "MemorySink"]


class MemorySink(Sink):
    """Collects delivered alerts in :attr:`alerts` (and their rendered lines in :attr:`lines`)."""

    name: ClassVar[str] = "memory"

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        self.alerts: list[Alert] = []
        self.lines: list[bytes] = []
        self._cond = threading.Condition()

    def deliver(self, alert: Alert) -> None:
        line = self.renderer.line(alert)
        with self._cond:
            self.alerts.append(alert)
            self.lines.append(line)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` alerts arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.alerts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def clear(self) -> None:
        with self._cond:
            self.alerts.clear()
            self.lines.clear()


class CallbackSink(Sink):
    """Calls ``callback(alert)`` for each alert, on this sink's worker thread."""

    name: ClassVar[str] = "callback"

    def __init__(self, callback: Callable[[Alert], Any], **common: Any) -> None:
        super().__init__(**common)
        self.callback = callback

    def deliver(self, alert: Alert) -> None:
        self.callback(alert)
