"""What became of one response action: its status, a sentence, and how long it took.

The status is a closed set (the ``outcome`` label of the metrics and the
``response.outcome`` field of response alerts); the detail is one sentence
for people.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from secengine.priority import Priority

__all__ = ["Outcome", "Status"]


class Status(enum.Enum):
    """How an action ended; the value is what metrics and alerts say."""

    #: The action was carried out (the signal sent, the runtime answered, the program ran).
    DONE = "done"
    #: The probe killed the process before the syscall returned; user space did not repeat it.
    IN_KERNEL = "in_kernel"
    #: Dry run: the checks ran, the action did not.
    DRY_RUN = "dry_run"
    #: A safety refused it: pid 1, a kernel thread, secengine itself or a child, the allow-list.
    REFUSED = "refused"
    #: The target no longer exists, or its pid now names another process.
    GONE = "gone"
    #: The event has nothing to act on (no process id, a host process for a container action).
    NO_TARGET = "no_target"
    #: Over the rate limits.
    RATE_LIMITED = "rate_limited"
    #: Too many actions in flight already.
    QUEUE_FULL = "queue_full"
    #: Tried and failed (a runtime error, a program that failed or timed out).
    FAILED = "failed"
    #: Responses are off (``response.enabled: false``): counted, nothing else.
    OFF = "off"

    @property
    def priority(self) -> Priority:
        """The priority of the response alert that reports this status."""
        return _PRIORITIES.get(self, Priority.NOTICE)


_PRIORITIES = {
    Status.DONE: Priority.WARNING,
    Status.IN_KERNEL: Priority.WARNING,
    Status.FAILED: Priority.ERROR,
    Status.GONE: Priority.INFORMATIONAL,
    Status.NO_TARGET: Priority.INFORMATIONAL,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One action's result. ``latency_ns``: event time to the action's effect (None: none)."""

    status: Status
    detail: str
    latency_ns: int | None = None
