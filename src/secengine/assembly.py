"""Building the agent's parts from a configuration: rules, engine, sinks and sources.

Everything here is a function of an :class:`~secengine.config.AgentConfig`
(and a plugin registry): the agent calls them at start and on reload, and
commands that need only a part (``validate``, ``replay``) call them alone.
:func:`give_rules` is the one place sources learn the rules they serve.

It sits beside the :mod:`secengine.agent` package, not in it: importing a
module of the package runs the package's ``__init__``, which loads the
running agent (metrics, the HTTP server); ``secengine validate`` and
``replay`` need only these functions.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from secengine.append_output import apply_append_output
from secengine.config import DEFAULT_SINK_QUEUE, AgentConfig, rules_file_paths
from secengine.engine import Engine, RuleSelection
from secengine.errors import ConfigError, RulesLoadError
from secengine.output import AlertFormatter
from secengine.plugins import PluginRegistry, sink_registry, source_registry
from secengine.ruleset import RuleSet
from secengine.sinks.base import Sink
from secengine.sinks.render import AlertRenderer
from secengine.sources.base import Source, rule_event_types
from secengine.sources.specs import load_rules

__all__ = [
    "DEFAULT_EVENT_QUEUE",
    "FORMATTER_KEYS",
    "build_engine",
    "build_sinks",
    "build_sources",
    "engine_from_config",
    "give_rules",
    "load_ruleset",
]

#: Default bound, in batches, of the queue between sources and the engine.
DEFAULT_EVENT_QUEUE = 1024

#: The configuration keys that are :class:`~secengine.output.AlertFormatter` arguments.
FORMATTER_KEYS = (
    "time_format_iso_8601",
    "json_include_output_property",
    "json_include_tags_property",
    "json_include_message_property",
    "json_include_output_fields_property",
    "hostname",
)


def load_ruleset(cfg: AgentConfig) -> tuple[RuleSet, float]:
    """Load ``cfg``'s rules files; returns the rule set and the seconds it took."""
    started = time.perf_counter()
    ruleset = load_rules(rules_file_paths(cfg))
    return ruleset, time.perf_counter() - started


def engine_from_config(cfg: AgentConfig) -> tuple[Engine, float]:
    """Load ``cfg``'s rules and build their engine; the engine and the seconds loading took.

    Raises :class:`~secengine.errors.RulesLoadError` with the load report when
    the rules do not load.
    """
    ruleset, seconds = load_ruleset(cfg)
    if not ruleset.successful:
        raise RulesLoadError(str(ruleset.render_text()), ruleset)
    return build_engine(cfg, ruleset), seconds


def build_engine(cfg: AgentConfig, ruleset: RuleSet | Sequence[Any]) -> Engine:
    """An :class:`~secengine.engine.Engine` for ``ruleset`` with ``cfg``'s engine and output keys.

    Applies ``priority``, ``rule_matching``, the ``rules:`` selections, the
    ``append_output`` entries and the alert formatting keys.
    """
    rules = apply_append_output(list(getattr(ruleset, "rules", ruleset)), cfg.append_output)
    formatter = AlertFormatter(**{key: getattr(cfg, key) for key in FORMATTER_KEYS})
    selections = []
    for entry in cfg.rules:
        action: Literal["enable", "disable"] = "enable" if entry.enable is not None else "disable"
        match = entry.enable if entry.enable is not None else entry.disable
        assert match is not None
        selections.append(RuleSelection(action, rule=match.rule, tag=match.tag))
    return Engine(
        rules,
        rule_matching=cfg.rule_matching,
        min_priority=cfg.min_priority,
        selections=selections,
        formatter=formatter,
    )


def give_rules(sources: Iterable[Source], engine: Engine) -> None:
    """Tell every source the rules now evaluated and the event types they can match."""
    for source in sources:
        spec = getattr(source, "spec", None)
        source.use_rules(engine.rules)
        # each source hears the event types of its own rules (its spec names the source)
        source.set_interest(rule_event_types(engine.rules, None if spec is None else spec.name))


def build_sinks(
    cfg: AgentConfig, formatter: Any = None, registry: PluginRegistry[Any] | None = None
) -> list[Sink]:
    """The sinks ``cfg`` enables (``*_output`` blocks, then ``sinks:``), not yet started.

    Raises :class:`~secengine.errors.ConfigError` naming the block whose
    settings a sink refuses.
    """
    plugins = sink_registry() if registry is None else registry
    default_queue = cfg.outputs_queue.capacity or DEFAULT_SINK_QUEUE
    out: list[Sink] = []

    def make(
        key: str,
        plugin: str,
        json_output: bool | None,
        queue_capacity: int | None,
        settings: dict[str, Any],
    ) -> None:
        cls = plugins.get(plugin)
        if json_output is None:
            json_output = cls.default_json_output
        renderer = AlertRenderer(formatter, cfg.json_output if json_output is None else json_output)
        try:
            out.append(
                cls(
                    label=key,
                    renderer=renderer,
                    queue_capacity=queue_capacity or default_queue,
                    buffered=cfg.buffered_outputs,
                    **settings,
                )
            )
        except (ConfigError, TypeError, ValueError) as e:
            raise cfg.settings_error(tuple(key.split(".")), e, _keywords(cls), settings) from None

    common = {"enabled", "json_output", "queue_capacity", "plugin"}
    for key, plugin in (
        ("stdout_output", "stdout"),
        ("syslog_output", "syslog"),
        ("file_output", "file"),
        ("http_output", "http"),
        ("program_output", "program"),
        ("nats_output", "nats"),
        ("redis_output", "redis"),
    ):
        block = getattr(cfg, key)
        if not block.enabled:
            continue
        settings = block.model_dump(exclude=common)
        make(key, plugin, block.json_output, block.queue_capacity, settings)
    for name, pblock in cfg.sinks.items():
        if pblock.enabled:
            make(
                f"sinks.{name}",
                pblock.plugin or name,
                pblock.json_output,
                pblock.queue_capacity,
                dict(pblock.model_extra or {}),
            )
    return out


def build_sources(cfg: AgentConfig, registry: PluginRegistry[Any] | None = None) -> list[Source]:
    """The sources ``cfg.sources`` enables, not yet started.

    A source class may provide ``from_config(settings: dict) -> Source``;
    otherwise it is called with the settings as keyword arguments.
    """
    plugins = source_registry() if registry is None else registry
    out: list[Source] = []
    for name, block in cfg.sources.items():
        if not block.enabled:
            continue
        cls = plugins.get(block.plugin or name)
        settings = dict(block.model_extra or {})
        factory = getattr(cls, "from_config", None)
        try:
            source = factory(settings) if callable(factory) else cls(**settings)
        except (ConfigError, TypeError, ValueError) as e:
            accepted = None if callable(factory) else _keywords(cls)
            raise cfg.settings_error(("sources", name), e, accepted, settings) from None
        try:
            source.label = name  # metrics and logs name it so
        except AttributeError:
            pass
        out.append(source)
    return out


def _keywords(cls: type) -> list[str] | None:
    """The keyword arguments ``cls`` accepts, following ``**kwargs`` up to the base
    classes' ``__init__`` (a sink passes its options on to :class:`Sink`); None when
    some ``__init__`` takes anything."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            return None
        names += [
            p.name
            for p in params
            if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return names
    return None
