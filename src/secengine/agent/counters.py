"""What the agent itself counts; :mod:`secengine.metrics` and the run summary read it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["AgentCounters"]


@dataclass(slots=True)
class AgentCounters:
    """What the agent itself counts (sources and sinks keep their own stats)."""

    #: Events evaluated, by source plugin name.
    events: Counter[str] = field(default_factory=Counter)
    #: Alerts sent to the sinks, by (rule, priority name, event source).
    alerts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: Alerts held back by ``outputs.rate``, by event source.
    rate_limited: Counter[str] = field(default_factory=Counter)
    #: Internal drop alerts emitted, by source plugin name.
    drop_alerts: Counter[str] = field(default_factory=Counter)
    #: Seconds with drops above the threshold, by source plugin name.
    drop_episodes: Counter[str] = field(default_factory=Counter)
    reloads_ok: int = 0
    reloads_failed: int = 0
    rules_loaded: int = 0
    rules_load_seconds: float = 0.0
    started_at: float = 0.0
