"""What the responder counts: outcomes by rule, action and status, and latencies by action.

:mod:`secengine.metrics` renders it (``secengine_responses_total``,
``secengine_response_latency_seconds_*``) and the run summary reads it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Latency", "ResponseStats"]


@dataclass(slots=True)
class Latency:
    """Event-to-effect latencies of one action kind: count, sum and maximum (ns)."""

    count: int = 0
    total_ns: int = 0
    max_ns: int = 0

    def add(self, ns: int) -> None:
        self.count += 1
        self.total_ns += ns
        self.max_ns = max(self.max_ns, ns)


@dataclass(slots=True)
class ResponseStats:
    """Counters of the responder, safe to update from its threads."""

    #: Outcomes by (rule, action, status).
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: Latencies by action, of the outcomes that carry one.
    latency: dict[str, Latency] = field(default_factory=dict)
    #: Rules of the loaded rule set that ask for a response.
    rules_asking: int = 0
    #: Actions handed to the worker and not finished yet.
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, rule: str, action: str, status: str, latency_ns: int | None) -> None:
        with self._lock:
            self.outcomes[(rule, action, status)] += 1
            if latency_ns is not None:
                self.latency.setdefault(action, Latency()).add(latency_ns)

    def started(self, n: int) -> None:
        """``n`` actions were handed to the worker."""
        with self._lock:
            self.in_flight += n

    def finished(self) -> None:
        """One action handed to the worker ended."""
        with self._lock:
            self.in_flight -= 1

    def by_status(self) -> Counter[str]:
        """Outcomes summed over rules and actions."""
        with self._lock:
            out: Counter[str] = Counter()
            for (_, _, status), n in self.outcomes.items():
                out[status] += n
            return out
