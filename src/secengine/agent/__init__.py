"""The agent: sources → one evaluation loop → sinks, with reload, drop accounting and shutdown.

Threads and queues, as ``ARCHITECTURE.md`` draws them::

    sources ──► EventQueue (bounded) ──► evaluation thread ──► Sink.submit ──► sink workers
                (drops counted by          (Engine)            (bounded queue
                 the source)                                    per sink)

The package's modules, one job each:

- :mod:`~secengine.assembly` (beside the package, so that commands reach it
  without loading the running agent): rules, engine, sinks and sources built
  from an :class:`~secengine.config.AgentConfig`; the one place sources are
  told the rules (:func:`~secengine.assembly.give_rules`).
- :mod:`~secengine.agent.evaluation`: the current engine (a single
  reference, swapped whole by a reload, so a batch is evaluated entirely by
  the old rules or entirely by the new ones), the per-source rate limiter
  (``outputs.rate``/``outputs.max_burst``) and the fan-out to the sinks
  (:meth:`Sink.submit` never blocks), and the loop on the event queue.
- :mod:`~secengine.agent.drops`: Falco's ``syscall_event_drops`` (log; an
  ``internal`` alert "Falco internal: <source> event drop"; exit).
- :mod:`~secengine.agent.reload`: what a reload keeps, and the watcher of
  ``watch_config_files``.
- :mod:`~secengine.agent.signals`: SIGTERM/SIGINT (stop), SIGHUP (reload),
  SIGUSR1 (reopen outputs).
- :mod:`~secengine.agent.lifecycle`: :class:`Agent` itself, the order of
  start and stop and the exit status. :meth:`Agent.start` returns at once;
  :meth:`Agent.stop` stops the sources, lets the loop drain the queue, then
  drains and flushes every sink (giving up after ``output_timeout``, see
  :mod:`secengine.sinks.drain`); :meth:`Agent.run` does both around a wait,
  handling signals when called from the main thread; :meth:`Agent.serve`
  does the same under asyncio. When every source is finite and finished
  (replay files), the agent stops by itself.
- :mod:`~secengine.agent.counters` and :mod:`~secengine.agent.ratelimit`:
  what the agent counts, and Falco's token bucket.

Exit statuses (:class:`~secengine.exit_status.ExitStatus`, the table every
command shares): 0 after a requested stop or when the sources ran out, 1
when the rules do not load at start, 2 for a bad configuration (or a
sink/source that cannot start), 3 when a source failed, 4 when
``syscall_event_drops`` asked to exit, 5 (``UNDELIVERED``) when the run
otherwise ended as asked but some output failed or dropped an alert
(internal alerts included; alerts held back by ``outputs.rate`` are a
policy, not a loss).
"""

from __future__ import annotations

from secengine.agent.counters import AgentCounters
from secengine.agent.drops import source_label
from secengine.agent.lifecycle import Agent
from secengine.agent.ratelimit import TokenBucket
from secengine.assembly import (
    DEFAULT_EVENT_QUEUE,
    build_engine,
    build_sinks,
    build_sources,
    load_ruleset,
)
from secengine.exit_status import ExitStatus

__all__ = [
    "DEFAULT_EVENT_QUEUE",
    "Agent",
    "AgentCounters",
    "ExitStatus",
    "TokenBucket",
    "build_engine",
    "build_sinks",
    "build_sources",
    "load_ruleset",
    "source_label",
]
