"""Shutdown of several sinks under one deadline, and the per-output delivery report.

``secengine run`` (through :meth:`secengine.agent.Agent.stop`) and
``secengine replay`` end the same way: every sink stops taking alerts and
drains its queue in parallel; whatever has not finished by the deadline
(``output_timeout``) is given up together, interrupted, allowed a short
grace, and what it still held is counted as dropped. The time this takes is
bounded by ``output_timeout`` plus :data:`~secengine.sinks.base.INTERRUPT_GRACE`,
however many sinks hang. Then :func:`report_lines` says, per output, how many
alerts were delivered, failed and dropped, in the same words for both
commands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from secengine.sinks.base import INTERRUPT_GRACE, Sink

__all__ = ["drain", "report_lines", "undelivered"]

_log = logging.getLogger("secengine.sinks")


def drain(sinks: Sequence[Sink], seconds: float | None) -> list[Sink]:
    """Stop ``sinks``, letting them drain for at most ``seconds`` (None: no limit).

    Returns the sinks that had to be given up (their remaining alerts are
    counted as dropped).
    """
    deadline = None if seconds is None else time.monotonic() + max(0.0, seconds)
    for sink in sinks:
        sink.begin_stop()
    late = [
        s
        for s in sinks
        if not s.wait_stopped(None if deadline is None else max(0.0, deadline - time.monotonic()))
    ]
    for sink in late:
        sink.give_up()
    grace_end = time.monotonic() + INTERRUPT_GRACE
    for sink in late:
        sink.settle(max(0.0, grace_end - time.monotonic()))
        _log.warning(
            "output %s still busy when the drain time ran out: what it held is "
            "counted as dropped (%d dropped in all)",
            sink.label,
            sink.stats.dropped,
        )
    return late


def undelivered(sinks: Sequence[Sink]) -> int:
    """Alerts that some output failed or dropped (an alert lost by two outputs counts twice)."""
    return sum(s.stats.lost for s in sinks)


def report_lines(sinks: Sequence[Sink]) -> list[str]:
    """One line per output: ``<label>: N delivered, N failed, N dropped``."""
    return [
        f"{s.label}: {s.stats.delivered} delivered, {s.stats.failed} failed, "
        f"{s.stats.dropped} dropped"
        for s in sinks
    ]
