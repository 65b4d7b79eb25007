"""What the webhook counts: requests, batches, rejected events and answers by status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from secengine.sources.base import SourceStats

__all__ = ["WebhookStats"]


@dataclass(slots=True)
class WebhookStats(SourceStats):
    """The source counters plus the webhook's own.

    ``events`` counts events queued; ``dropped`` events refused with 503;
    ``rejected`` requests refused (4xx) plus single events that could not be
    used (no ``stageTimestamp``...). ``responses`` counts answers by status.
    """

    requests: int = 0
    batches: int = 0
    rejected_events: int = 0
    responses: Counter[int] = field(default_factory=Counter)

    def answered(self, status: int) -> None:
        """Count a request answered with ``status`` (4xx: rejected)."""
        with self._lock:
            self.responses[status] += 1
            if 400 <= status < 500:
                self.rejected += 1

    def accepted(self, events: int) -> None:
        """Count a request answered 200 whose ``events`` were queued or evaluated."""
        with self._lock:
            self.responses[200] += 1
            if events:
                self.events += events
                self.batches += 1
