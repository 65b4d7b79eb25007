"""secengine: Falco-compatible runtime security detection as a Python library.

Importing this package has no side effects: it configures no logging, prints
nothing and reads no environment. The public API is re-exported lazily from
the modules below on first use. The whole flow::

    import secengine
    rules = secengine.load_rules(["rules.yaml"])          # every diagnostic is collected
    if not rules.successful:
        print(rules.render_text())
    engine = secengine.Engine(rules)
    for alert in engine.process(secengine.Event("syscall", ts, {"evt.type": "openat", ...})):
        print(engine.formatter.text(alert))                  # or .json(alert)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "MISSING",
    # the agent: sources, sinks, configuration (docs/embedding.md)
    "Agent",
    "AgentConfig",
    # output
    "Alert",
    "AlertFormatter",
    "AlertRenderer",
    "BatchSource",
    "CallbackSink",
    "ConditionCompileError",
    "ConditionError",
    "ConditionSyntaxError",
    "ConfigError",
    # evaluation
    "Engine",
    "Event",
    "EventFormatError",
    "EventQueue",
    "ExitStatus",
    "FieldValues",
    "LoadResult",
    "MemorySink",
    "MemorySource",
    "OutputFormatError",
    "Priority",
    "ReplaySource",
    "Rule",
    "RuleSelection",
    "RuleSet",
    "RulesLoadError",
    # errors
    "SecengineError",
    "Sink",
    "SinkError",
    "SinkStats",
    "Source",
    "SourceStats",
    "__version__",
    "load_config",
    # rules
    "load_rules",
]

_LAZY = {
    "load_rules": ("secengine.sources.specs", "load_rules"),
    "RuleSet": ("secengine.ruleset", "RuleSet"),
    "Rule": ("secengine.ruleset", "Rule"),
    "LoadResult": ("secengine.ruleset", "LoadResult"),
    "Engine": ("secengine.engine", "Engine"),
    "RuleSelection": ("secengine.engine", "RuleSelection"),
    "Event": ("secengine.events", "Event"),
    "FieldValues": ("secengine.events", "FieldValues"),
    "MISSING": ("secengine.events", "MISSING"),
    "Priority": ("secengine.priority", "Priority"),
    "Alert": ("secengine.alert", "Alert"),
    "AlertFormatter": ("secengine.output", "AlertFormatter"),
    **{
        name: ("secengine.errors", name)
        for name in (
            "SecengineError",
            "ConditionError",
            "ConditionSyntaxError",
            "ConditionCompileError",
            "RulesLoadError",
            "EventFormatError",
            "OutputFormatError",
            "ConfigError",
        )
    },
    "Agent": ("secengine.agent", "Agent"),
    "ExitStatus": ("secengine.exit_status", "ExitStatus"),
    "AgentConfig": ("secengine.config", "AgentConfig"),
    "load_config": ("secengine.config", "load_config"),
    **{
        name: ("secengine.sources.base", name)
        for name in ("Source", "BatchSource", "EventQueue", "SourceStats")
    },
    "MemorySource": ("secengine.sources.replay", "MemorySource"),
    "ReplaySource": ("secengine.sources.replay", "ReplaySource"),
    **{
        name: ("secengine.sinks", name)
        for name in (
            "Sink",
            "SinkStats",
            "SinkError",
            "MemorySink",
            "CallbackSink",
            "AlertRenderer",
        )
    },
}

if TYPE_CHECKING:  # pragma: no cover
    from secengine.agent import Agent
    from secengine.alert import Alert
    from secengine.config import AgentConfig, load_config
    from secengine.engine import Engine, RuleSelection
    from secengine.errors import (
        ConditionCompileError,
        ConditionError,
        ConditionSyntaxError,
        ConfigError,
        EventFormatError,
        OutputFormatError,
        RulesLoadError,
        SecengineError,
    )
    from secengine.events import MISSING, Event, FieldValues
    from secengine.exit_status import ExitStatus
    from secengine.output import AlertFormatter
    from secengine.priority import Priority
    from secengine.ruleset import LoadResult, Rule, RuleSet
    from secengine.sinks import AlertRenderer, CallbackSink, MemorySink, Sink, SinkError, SinkStats
    from secengine.sources.base import BatchSource, EventQueue, Source, SourceStats
    from secengine.sources.replay import MemorySource, ReplaySource
    from secengine.sources.specs import load_rules


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'secengine' has no attribute {name!r}") from None

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
