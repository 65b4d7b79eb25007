"""What a listener refused, and why: counted for the metrics, logged with the peer, rate-limited.

A refused TLS handshake or bearer token is what an attacker probing the
agent produces, and what a misconfigured client produces for ever; neither
may pass silently, and neither may flood the log. Each refusal is counted by
reason (a small fixed set of words, never attacker text) and logged as a
warning naming the listener, the peer's address and the reason, at most
once per :data:`LOG_INTERVAL` seconds per reason, the next line saying how
many were suppressed.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from secengine.sinks.base import RateLimitedLog

__all__ = ["LOG_INTERVAL", "ListenerStats"]

#: Seconds between two log lines of one kind of refusal on one listener.
LOG_INTERVAL: Final = 10.0

_log = logging.getLogger("secengine.web")


@dataclass(slots=True)
class ListenerStats:
    """Refusals of one listener (``name``: ``k8s_audit``, ``webserver``) by reason."""

    name: str
    #: TLS handshakes that failed, by reason (``timeout``, ``no_certificates_presented``...).
    handshake_failures: Counter[str] = field(default_factory=Counter)
    #: Requests refused before the application read them (``missing_token``,
    #: ``wrong_token``, ``body_timeout``).
    rejected_requests: Counter[str] = field(default_factory=Counter)
    #: accept() failures (e.g. out of file descriptors), which granian retries.
    accept_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _limiter: RateLimitedLog = field(
        default_factory=lambda: RateLimitedLog(_log, LOG_INTERVAL), repr=False
    )

    def handshake_failed(self, reason: str, peer: str, detail: str = "") -> None:
        """Count and log a failed TLS handshake from ``peer``."""
        with self._lock:
            self.handshake_failures[reason] += 1
        self._limiter.log(
            logging.WARNING,
            f"tls:{reason}",
            f"{self.name}: TLS handshake from {peer} failed: {reason}"
            + (f" ({detail})" if detail else ""),
        )

    def request_rejected(self, reason: str, peer: str) -> None:
        """Count and log a request from ``peer`` refused for ``reason``."""
        with self._lock:
            self.rejected_requests[reason] += 1
        self._limiter.log(
            logging.WARNING,
            f"request:{reason}",
            f"{self.name}: request from {peer} refused: {reason}",
        )

    def accept_failed(self, detail: str) -> None:
        """Count and log a failed accept() (the connection waits in the kernel's queue)."""
        with self._lock:
            self.accept_errors += 1
        self._limiter.log(
            logging.WARNING, "accept", f"{self.name}: accepting a connection failed: {detail}"
        )

    def snapshot(self) -> tuple[dict[str, int], dict[str, int], int]:
        """Copies of the counters, taken together (for a metrics scrape)."""
        with self._lock:
            return dict(self.handshake_failures), dict(self.rejected_requests), self.accept_errors
