"""How a runtime API's failures are handled: :class:`EngineHealth`, shared by the engines.

An engine (CRI, Docker-compatible API) reports each call that failed with a
fixed ``reason`` word (``missing``, ``unavailable``, ``deadline_exceeded``,
``http_500``...) and each call that was answered. :class:`EngineHealth`
counts the failures by reason (the metric
``secengine_container_engine_errors_total{engine,reason}``), logs one
warning when the socket stops answering and one line when it answers
again (never one per container), and, when the engine asks for one, keeps
a back-off (``backoff`` seconds doubling up to ``max_backoff``) during
which the engine answers False at once instead of waiting on a dead or
slow runtime again, so one bad socket does not hold up the resolver's
worker for the other containers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

__all__ = ["EngineHealth"]

_log = logging.getLogger("secengine.containers")


class EngineHealth:
    """Failures of one engine on one socket: counted, logged once per outage, backed off."""

    def __init__(
        self, engine: str, socket: str, *, backoff: float = 0.0, max_backoff: float = 30.0
    ) -> None:
        self.engine = engine
        self.socket = socket
        self.backoff = backoff
        self.max_backoff = max_backoff
        #: failed calls by reason
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._down = False
        self._wait = 0.0
        self._until = 0.0

    def resting(self) -> bool:
        """Within the back-off after a failure: do not call the runtime now."""
        return time.monotonic() < self._until

    def failed(self, reason: str, detail: str) -> None:
        """A call failed: count it; the first failure of an outage logs one warning."""
        with self._lock:
            self.errors[reason] += 1
            first = not self._down
            self._down = True
            if self.backoff:
                self._wait = min(self.max_backoff, self._wait * 2 if self._wait else self.backoff)
                self._until = time.monotonic() + self._wait
        if first:
            _log.warning(
                "container engine %s at %s: %s (%s); container fields fall back to the "
                "runtime's files%s",
                self.engine,
                self.socket,
                detail,
                reason,
                f", retrying in {self._wait:.0f} s" if self.backoff else "",
            )

    def answered(self) -> None:
        """A call was answered (found or not): the outage, if any, is over."""
        with self._lock:
            was_down = self._down
            self._down = False
            self._wait = self._until = 0.0
        if was_down:
            _log.info("container engine %s at %s answers again", self.engine, self.socket)
