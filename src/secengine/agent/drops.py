"""Falco's ``syscall_event_drops``: notice when a source loses events, and act on it.

Once a second the evaluation loop asks :class:`DropMonitor` to compare each
source's ``dropped`` and ``events`` counters (plus ``kernel_stats()["dropped"]``
for a source that has it, as the syscall source does) with a second ago.
Above ``threshold`` it takes the configured actions (log; an ``internal``
alert "Falco internal: <source> event drop"; exit), at most as often as its
own token bucket allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from secengine.agent.counters import AgentCounters
from secengine.agent.evaluation import Evaluator
from secengine.agent.ratelimit import TokenBucket
from secengine.config import SyscallEventDrops
from secengine.exit_status import ExitStatus
from secengine.internal_alerts import drop_alert
from secengine.priority import Priority
from secengine.sources.base import Source, source_label

__all__ = ["DropMonitor", "source_label"]

_log = logging.getLogger("secengine.agent")


class DropMonitor:
    """Watches the sources' drop counters and takes ``settings.actions`` above the threshold.

    ``evaluator`` gives the engine (hostname, minimum priority) and the sinks
    an internal alert goes to; ``exit`` asks the agent to stop with a status.
    """

    def __init__(
        self,
        settings: SyscallEventDrops,
        counters: AgentCounters,
        evaluator: Evaluator,
        exit: Callable[[ExitStatus], None],
    ) -> None:
        self.settings = settings
        self._counters = counters
        self._evaluator = evaluator
        self._exit = exit
        self._bucket = TokenBucket(settings.rate, settings.max_burst)
        self._last: dict[int, tuple[int, int]] = {}

    def baseline(self, source: Source) -> None:
        """Remember ``source``'s counters now (before it starts), so old drops do not count."""
        self._last[id(source)] = (_stat(source, "events"), _dropped(source))

    def check(self, sources: Iterable[Source]) -> None:
        """Compare every source with the last check and act on a drop ratio above threshold."""
        cfg = self.settings
        for source in sources:
            events, dropped = _stat(source, "events"), _dropped(source)
            last_events, last_dropped = self._last.get(id(source), (0, 0))
            self._last[id(source)] = (events, dropped)
            d_events, d_dropped = events - last_events, dropped - last_dropped
            threshold = cfg.threshold
            if cfg.simulate_drops:
                d_dropped += 1
                threshold = 0.0
            if d_dropped <= 0:
                continue
            ratio = d_dropped / max(d_events + d_dropped, 1)
            if ratio <= threshold:
                continue
            name = source_label(source)
            self._counters.drop_episodes[name] += 1
            if not self._bucket.claim():
                _log.debug("event drop on %s but token bucket depleted, skipping actions", name)
                continue
            self._act(source, name, d_events, d_dropped)

    def _act(self, source: Source, name: str, n_events: int, n_drops: int) -> None:
        take = getattr(source, "take_throttled", None)
        throttled = take() if callable(take) else ()
        engine = self._evaluator.engine
        spec = getattr(source, "spec", None)
        alert = drop_alert(
            getattr(source, "name", name),
            n_drops,
            n_events,
            engine.formatter.hostname,
            throttled=throttled,
            **({} if spec is None else {"noun": spec.drop_noun, "extra": spec.drop_fields}),
        )
        msg = alert.message
        for action in self.settings.actions:
            if action == "log":
                _log.warning("%s", msg)
            elif action == "alert":
                if engine.min_priority >= Priority.DEBUG:
                    for sink in self._evaluator.sinks:
                        sink.submit(alert)
                    self._counters.drop_alerts[name] += 1
            elif action == "exit":
                _log.critical("%s", msg)
                _log.critical("Exiting.")
                self._exit(ExitStatus.DROPS_EXIT)


def _stat(source: Source, name: str) -> int:
    return int(getattr(getattr(source, "stats", None), name, 0) or 0)


def _dropped(source: Source) -> int:
    """Events the source lost: its own count, plus the kernel's when it reports one."""
    n = _stat(source, "dropped")
    kernel = getattr(source, "kernel_stats", None)
    if callable(kernel):
        try:
            n += int(kernel().get("dropped", 0))
        except Exception as e:  # noqa: BLE001 - a closed probe has no counters to read
            _log.debug("no kernel counters from %s: %s", source_label(source), e)
    return n
