"""The agent: sources → one evaluation loop → sinks, with reload, drop accounting and shutdown.

Threads and queues, as ``ARCHITECTURE.md`` draws them::

    sources ──► EventQueue (bounded) ──► evaluation thread ──► Sink.submit ──► sink workers
                (drops counted by          (Engine)            (bounded queue
                 the source)                                    per sink)

- **Evaluation.** One thread takes event batches off the queue and runs the
  current :class:`~secengine.engine.Engine` over them. The engine is a
  single reference: a reload builds a complete new engine and swaps the
  reference, so a batch is evaluated entirely by the old rules or entirely
  by the new ones, and a reload that fails changes nothing.
- **Fan-out.** Each alert passes Falco's optional rate limiter
  (``outputs.rate``/``outputs.max_burst``, a token bucket per event source)
  and is offered to every sink; :meth:`Sink.submit` never blocks.
- **Drops.** Once a second the loop compares each source's ``dropped`` and
  ``events`` counters (plus ``kernel_stats()["dropped"]`` for a source that
  has it, as the syscall source does) with a second ago and, above
  ``syscall_event_drops.threshold``, takes Falco's actions (log; an
  ``internal`` alert "Falco internal: <source> event drop"; exit), at most
  as often as its own token bucket allows.
- **Lifecycle.** :meth:`Agent.start` returns at once; :meth:`Agent.stop`
  stops the sources, lets the loop drain the queue, then drains and flushes
  every sink (giving up after ``output_timeout``, see
  :mod:`secengine.sinks.drain`); :meth:`Agent.run` does
  both around a wait, handling SIGTERM/SIGINT (stop), SIGHUP (reload) and
  SIGUSR1 (reopen outputs) when called from the main thread; :meth:`serve`
  does the same under asyncio. When every source is finite and finished
  (replay files), the agent stops by itself.

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

import asyncio
import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from secengine.alert import Alert
from secengine.config import AgentConfig, rules_file_paths
from secengine.errors import ConfigError, RulesLoadError
from secengine.events import Event
from secengine.exit_status import ExitStatus
from secengine.internal_alerts import drop_alert
from secengine.priority import Priority
from secengine.sinks.base import Sink
from secengine.sinks.drain import drain
from secengine.sinks.memory import CallbackSink
from secengine.sinks.render import AlertRenderer
from secengine.sources.base import EventQueue, Source
from secengine.sources.syscall_interest import rule_event_types

if TYPE_CHECKING:  # pragma: no cover
    from secengine.engine import Engine
    from secengine.metrics import MetricsServer
    from secengine.plugins import PluginRegistry
    from secengine.ruleset import RuleSet

__all__ = [
    "Agent",
    "AgentCounters",
    "ExitStatus",
    "TokenBucket",
    "build_engine",
    "build_sinks",
    "build_sources",
    "load_ruleset",
]

_log = logging.getLogger("secengine.agent")

#: Default bound, in batches, of the queue between sources and the engine.
DEFAULT_EVENT_QUEUE = 1024


class TokenBucket:
    """Falco's token bucket: ``rate`` tokens a second, at most ``max_tokens``, starting full."""

    __slots__ = ("_clock", "_last", "max_tokens", "rate", "tokens")

    def __init__(self, rate: float, max_tokens: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.max_tokens = max_tokens
        self.tokens = max_tokens
        self._clock = clock
        self._last = clock()

    def claim(self) -> bool:
        """Take one token if there is one."""
        now = self._clock()
        self.tokens = min(self.max_tokens, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


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


# ---------------------------------------------------------------------------
# building blocks from a configuration
# ---------------------------------------------------------------------------

def load_ruleset(cfg: AgentConfig) -> tuple[RuleSet, float]:
    """Load ``cfg``'s rules files; returns the rule set and the seconds it took."""
    from secengine.ruleset import load_rules

    started = time.perf_counter()
    ruleset = load_rules(rules_file_paths(cfg))
    return ruleset, time.perf_counter() - started


def build_engine(cfg: AgentConfig, ruleset: RuleSet | Sequence[Any]) -> Engine:
    """An :class:`~secengine.engine.Engine` for ``ruleset`` with ``cfg``'s engine and output keys.

    Applies ``priority``, ``rule_matching``, the ``rules:`` selections, the
    ``append_output`` entries and the alert formatting keys.
    """
    from secengine.append_output import apply_append_output
    from secengine.engine import Engine, RuleSelection
    from secengine.output import AlertFormatter

    rules = apply_append_output(list(getattr(ruleset, "rules", ruleset)), cfg.append_output)
    formatter = AlertFormatter(
        time_format_iso_8601=cfg.time_format_iso_8601,
        json_include_output_property=cfg.json_include_output_property,
        json_include_tags_property=cfg.json_include_tags_property,
        json_include_message_property=cfg.json_include_message_property,
        json_include_output_fields_property=cfg.json_include_output_fields_property,
        hostname=cfg.hostname,
    )
    selections = []
    for entry in cfg.rules:
        action, match = ("enable", entry.enable) if entry.enable is not None else (
            "disable", entry.disable)
        assert match is not None
        selections.append(RuleSelection(action, rule=match.rule,  # type: ignore[arg-type]
                                        tag=match.tag))
    return Engine(rules, rule_matching=cfg.rule_matching, min_priority=cfg.min_priority,
                  selections=selections, formatter=formatter)


def _renderer(cfg: AgentConfig, formatter: Any, json_output: bool | None) -> AlertRenderer:
    return AlertRenderer(formatter, cfg.json_output if json_output is None else json_output)


def build_sinks(cfg: AgentConfig, formatter: Any = None,
                registry: PluginRegistry[Any] | None = None) -> list[Sink]:
    """The sinks ``cfg`` enables (``*_output`` blocks, then ``sinks:``), not yet started.

    Raises :class:`~secengine.errors.ConfigError` naming the block whose
    settings a sink refuses.
    """
    if registry is None:
        from secengine.plugins import sink_registry

        registry = sink_registry()
    default_queue = cfg.outputs_queue.capacity or _default_sink_queue()
    out: list[Sink] = []

    def make(key: str, plugin: str, json_output: bool | None, queue_capacity: int | None,
             settings: dict[str, Any]) -> None:
        cls = registry.get(plugin)
        if json_output is None:
            json_output = cls.default_json_output
        try:
            out.append(cls(label=key, renderer=_renderer(cfg, formatter, json_output),
                           queue_capacity=queue_capacity or default_queue,
                           buffered=cfg.buffered_outputs, **settings))
        except (ConfigError, TypeError, ValueError) as e:
            raise cfg.settings_error(tuple(key.split(".")), e, _keywords(cls),
                                     settings) from None

    common = {"enabled", "json_output", "queue_capacity", "plugin"}
    for key, plugin in (("stdout_output", "stdout"), ("syslog_output", "syslog"),
                        ("file_output", "file"), ("http_output", "http"),
                        ("program_output", "program")):
        block = getattr(cfg, key)
        if not block.enabled:
            continue
        settings = block.model_dump(exclude=common)
        make(key, plugin, block.json_output, block.queue_capacity, settings)
    for name, pblock in cfg.sinks.items():
        if pblock.enabled:
            make(f"sinks.{name}", pblock.plugin or name, pblock.json_output,
                 pblock.queue_capacity, dict(pblock.model_extra or {}))
    return out


def _keywords(cls: type) -> list[str] | None:
    """The keyword arguments ``cls`` accepts, following ``**kwargs`` up to the base
    classes' ``__init__`` (a sink passes its options on to :class:`Sink`); None when
    some ``__init__`` takes anything."""
    import inspect

    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            return None
        names += [p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                       inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return names
    return None


def _default_sink_queue() -> int:
    from secengine.config import DEFAULT_SINK_QUEUE

    return DEFAULT_SINK_QUEUE


def build_sources(cfg: AgentConfig, registry: PluginRegistry[Any] | None = None) -> list[Source]:
    """The sources ``cfg.sources`` enables, not yet started.

    A source class may provide ``from_config(settings: dict) -> Source``;
    otherwise it is called with the settings as keyword arguments.
    """
    if registry is None:
        from secengine.plugins import source_registry

        registry = source_registry()
    out: list[Source] = []
    for name, block in cfg.sources.items():
        if not block.enabled:
            continue
        cls = registry.get(block.plugin or name)
        settings = dict(block.model_extra or {})
        factory = getattr(cls, "from_config", None)
        try:
            source = factory(settings) if callable(factory) else cls(**settings)
        except (ConfigError, TypeError, ValueError) as e:
            accepted = None if callable(factory) else _keywords(cls)
            raise cfg.settings_error(("sources", name), e, accepted, settings) from None
        try:
            source.label = name  # type: ignore[attr-defined]  # metrics and logs name it so
        except AttributeError:
            pass
        out.append(source)
    return out


# ---------------------------------------------------------------------------
# the agent
# ---------------------------------------------------------------------------

class Agent:
    """Runs sources, one evaluation loop and sinks; see the module docstring.

    Give it a ``config`` to build the engine, sinks and sources from (and to
    reload rules from), and/or pass your own: ``engine`` (skips loading
    rules), ``sources``, ``sinks``, ``on_alert`` callbacks (each gets its own
    :class:`~secengine.sinks.CallbackSink`). Without a config, nothing is
    built from configuration defaults: only what is passed runs.
    ``config_loader`` re-reads the configuration on reload (the CLI passes
    one that re-reads the file with the same command-line overrides).
    """

    def __init__(self, config: AgentConfig | None = None, *, engine: Engine | None = None,
                 sources: Iterable[Source] = (), sinks: Iterable[Sink] = (),
                 on_alert: Callable[[Alert], Any] | Iterable[Callable[[Alert], Any]] = (),
                 config_loader: Callable[[], AgentConfig] | None = None,
                 event_queue_capacity: int | None = None, watch_interval: float = 1.0) -> None:
        self.config = config if config is not None else AgentConfig()
        self._from_config = config is not None
        self._config_loader = config_loader
        self._given_engine = engine
        self._engine: Engine | None = engine
        self.sources: list[Source] = list(sources)
        self.sinks: list[Sink] = list(sinks)
        callbacks = [on_alert] if callable(on_alert) else list(on_alert)
        for i, cb in enumerate(callbacks):
            self.sinks.append(CallbackSink(cb, label=f"callback{i}" if i else "callback"))
        capacity = event_queue_capacity or self.config.events_queue.capacity or DEFAULT_EVENT_QUEUE
        self.event_queue = EventQueue(capacity)
        self.counters = AgentCounters()
        self.watch_interval = watch_interval
        #: The text of the last failed reload (None after a successful one).
        self.last_reload_error: str | None = None
        self._status: ExitStatus | None = None
        self._started = False
        #: set once start() has started every source and service (``running`` waits for it)
        self._ready = False
        self._stopped = False
        self._stop_requested = threading.Event()
        self._sources_stopped = threading.Event()
        self._engine_lock = threading.Lock()
        self._wake = threading.Event()
        self._reload_requested = False
        self._reopen_requested = False
        self._reload_lock = threading.Lock()
        self._lifecycle_lock = threading.RLock()
        self._eval_thread: threading.Thread | None = None
        self._watch_thread: threading.Thread | None = None
        self._metrics: MetricsServer | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._drop_bucket: TokenBucket | None = None
        self._drop_last: dict[int, tuple[int, int]] = {}
        self._watch_start: dict[str, Any] = {}
        self.error: BaseException | None = None

    # -- properties -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine evaluating events now (replaced as a whole by a reload)."""
        if self._engine is None:
            raise RuntimeError("the agent has no engine yet: call start() first")
        return self._engine

    @property
    def status(self) -> ExitStatus | None:
        """The exit status once the agent stopped (or was asked to stop with one)."""
        return self._status

    @property
    def running(self) -> bool:
        """True from the end of start() (every source and service started) until stop()."""
        return self._ready and not self._stopped

    @property
    def healthy(self) -> bool:
        """True while the evaluation loop runs and no stop was requested."""
        return (self._eval_thread is not None and self._eval_thread.is_alive()
                and not self._stop_requested.is_set())

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where the metrics endpoint listens, when it is enabled and running."""
        return self._metrics.address if self._metrics is not None else None

    def add_source(self, source: Source) -> None:
        """Add a source (before :meth:`start`)."""
        self._before_start()
        self.sources.append(source)

    def add_sink(self, sink: Sink) -> None:
        """Add a sink (before :meth:`start`)."""
        self._before_start()
        self.sinks.append(sink)

    def _before_start(self) -> None:
        if self._started:
            raise RuntimeError("sources and sinks must be added before start()")

    # -- starting -----------------------------------------------------------------------------
    def start(self) -> None:
        """Load rules, start the sinks, the evaluation loop, the sources and the services.

        Returns at once. Raises :class:`~secengine.errors.RulesLoadError`
        (rules do not load) or :class:`~secengine.errors.ConfigError` (a sink
        or source cannot be built or started); nothing is left running then.
        """
        with self._lifecycle_lock:
            if self._started:
                return
            cfg = self.config
            # taken before the rules are read, so that a change made meanwhile is seen
            self._watch_start = self._fingerprint() if cfg.watch_config_files else {}
            if self._engine is None:
                ruleset, seconds = load_ruleset(cfg)
                if not ruleset.successful:
                    raise RulesLoadError(_load_report(ruleset), ruleset)
                self._set_engine(build_engine(cfg, ruleset), seconds)
            else:
                self.counters.rules_loaded = len(self._engine.rules)
            if self._from_config:
                formatter = self._engine.formatter  # type: ignore[union-attr]
                self.sinks = build_sinks(cfg, formatter) + self.sinks
                self.sources = build_sources(cfg) + self.sources
            renderer = AlertRenderer(self._engine.formatter,  # type: ignore[union-attr]
                                     cfg.json_output)
            for sink in self.sinks:
                sink.adopt_renderer(renderer)
            drops = cfg.syscall_event_drops
            self._drop_bucket = TokenBucket(drops.rate, drops.max_burst)
            started: list[Sink] = []
            for sink in self.sinks:
                try:
                    sink.start()
                except Exception as e:
                    for done in started:
                        done.stop(1.0)
                    raise ConfigError(f"output {sink.label} cannot start: {e}") from e
                started.append(sink)
            self.counters.started_at = time.time()
            self._started = True
            self._eval_thread = threading.Thread(target=self._evaluate, name="secengine-eval",
                                                 daemon=True)
            self._eval_thread.start()
            interest = rule_event_types(self._engine.rules)  # type: ignore[union-attr]
            for source in self.sources:
                source.use_rules(self._engine.rules)  # type: ignore[union-attr]
                source.set_interest(interest)
                self._drop_last[id(source)] = (_stat(source, "events"), _dropped(source))
                try:
                    if not source.start_inline(self._evaluate_inline):
                        source.start(self.event_queue)
                except Exception as e:
                    self._status = ExitStatus.CONFIG_ERROR
                    self.stop()
                    raise ConfigError(f"source {_label(source)} cannot start: {e}") from e
            self._start_services()
            self._ready = True

    def _start_services(self) -> None:
        web = self.config.webserver
        if web.enabled:
            from secengine.metrics import MetricsServer

            self._metrics = MetricsServer(
                self, web.listen_address, web.listen_port,
                healthz_path=web.k8s_healthz_endpoint,
                metrics_path=web.metrics_endpoint if web.prometheus_metrics_enabled else None,
                ssl_certificate=web.ssl_certificate if web.ssl_enabled else None,
                limits=web.limits())
            try:
                self._metrics.start()
            except OSError as e:
                self._metrics = None
                self._status = ExitStatus.CONFIG_ERROR
                self.stop()
                raise ConfigError(f"webserver: cannot listen on {web.listen_address}:"
                                  f"{web.listen_port}: {e.strerror or e}") from e
        if self.config.watch_config_files and self._from_config:
            self._watch_thread = threading.Thread(target=self._watch, args=(self._watch_start,),
                                                  name="secengine-watch", daemon=True)
            self._watch_thread.start()

    def _set_engine(self, engine: Engine, load_seconds: float | None = None) -> None:
        self._engine = engine  # one reference assignment: the evaluation loop sees old or new
        self.counters.rules_loaded = len(engine.rules)
        if load_seconds is not None:
            self.counters.rules_load_seconds = load_seconds

    # -- feeding events directly --------------------------------------------------------------
    def feed(self, events: Sequence[Event], source: str = "api",
             timeout: float | None = None) -> bool:
        """Queue a batch of events for evaluation (waits for room up to ``timeout``)."""
        return self.event_queue.put(source, events, timeout=timeout)

    # -- the evaluation loop ------------------------------------------------------------------
    def _evaluate(self) -> None:
        q = self.event_queue
        next_check = time.monotonic() + 1.0
        while True:
            item = q.get(timeout=0.1)
            if item is not None:
                name, batch = item
                self._process(name, batch)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1.0
                self._check_drops()
            if item is None:
                if self._sources_stopped.is_set():
                    return
                if self.sources and all(s.finished for s in self.sources) and q.depth() == 0:
                    self.request_stop()

    def _process(self, name: str, batch: Sequence[Event]) -> None:
        """Evaluate a batch and publish its alerts. Sources evaluating inline call this from
        their own threads, so the engine is used under a lock (uncontended in the common
        case of one source)."""
        with self._engine_lock:
            engine = self._engine
            assert engine is not None
            try:
                alerts = engine.process_batch(batch)
            except Exception:  # noqa: BLE001 - one bad batch must not stop detection
                _log.exception("evaluating a batch of %d events from %s failed", len(batch), name)
                alerts = []
            self.counters.events[name] += len(batch)
            if alerts:
                self._publish(alerts)

    def _evaluate_inline(self, batch: Sequence[Event]) -> None:
        if batch:
            self._process(batch[0].source, batch)

    def _publish(self, alerts: list[Alert]) -> None:
        rate = self.config.outputs.rate
        counters = self.counters
        sinks = self.sinks
        for alert in alerts:
            if rate > 0:
                bucket = self._buckets.get(alert.source)
                if bucket is None:
                    bucket = self._buckets[alert.source] = TokenBucket(
                        rate, self.config.outputs.max_burst)
                if not bucket.claim():
                    counters.rate_limited[alert.source] += 1
                    _log.debug("skipping rate-limited notification for rule %s", alert.rule)
                    continue
            counters.alerts[(alert.rule, alert.priority.title, alert.source)] += 1
            for sink in sinks:
                sink.submit(alert)

    # -- drops ----------------------------------------------------------------------------
    def _check_drops(self) -> None:
        cfg = self.config.syscall_event_drops
        for source in self.sources:
            events, dropped = _stat(source, "events"), _dropped(source)
            last_events, last_dropped = self._drop_last.get(id(source), (0, 0))
            self._drop_last[id(source)] = (events, dropped)
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
            name = _label(source)
            self.counters.drop_episodes[name] += 1
            assert self._drop_bucket is not None
            if not self._drop_bucket.claim():
                _log.debug("event drop on %s but token bucket depleted, skipping actions", name)
                continue
            self._drop_actions(source, name, d_events, d_dropped)

    def _drop_actions(self, source: Source, name: str, n_events: int, n_drops: int) -> None:
        take = getattr(source, "take_throttled", None)
        throttled = take() if callable(take) else ()
        alert = drop_alert(getattr(source, "name", name), n_drops, n_events,
                           self.engine.formatter.hostname, throttled=throttled)
        msg = alert.message
        for action in self.config.syscall_event_drops.actions:
            if action == "log":
                _log.warning("%s", msg)
            elif action == "alert":
                if self.engine.min_priority >= Priority.DEBUG:
                    for sink in self.sinks:
                        sink.submit(alert)
                    self.counters.drop_alerts[name] += 1
            elif action == "exit":
                _log.critical("%s", msg)
                _log.critical("Exiting.")
                self.request_stop(ExitStatus.DROPS_EXIT)

    # -- reload -----------------------------------------------------------------------------
    def reload(self) -> bool:
        """Load the rules again and swap engines; on failure keep the old rules and return False.

        The error is logged and kept in :attr:`last_reload_error`. Only rules
        and engine keys change; sinks and sources keep running as they are.
        """
        with self._reload_lock:
            if not self._from_config:
                self.last_reload_error = "the agent was given its engine: nothing to reload from"
                _log.error("%s", self.last_reload_error)
                self.counters.reloads_failed += 1
                return False
            try:
                cfg = self._config_loader() if self._config_loader is not None else self.config
                ruleset, seconds = load_ruleset(cfg)
                if not ruleset.successful:
                    raise RulesLoadError(_load_report(ruleset), ruleset)
                engine = build_engine(cfg, ruleset)
            except (ConfigError, RulesLoadError, OSError) as e:
                self.counters.reloads_failed += 1
                self.last_reload_error = str(e)
                _log.error("reloading rules failed; the previous rules stay active:\n%s", e)
                return False
            self._set_engine(engine, seconds)
            self._swap_engine_keys(cfg)
            self.counters.reloads_ok += 1
            self.last_reload_error = None
            interest = rule_event_types(engine.rules)
            for source in self.sources:
                source.use_rules(engine.rules)
                source.set_interest(interest)
            _log.info("rules reloaded: %d rules active", len(engine.rules))
            return True

    def replace_engine(self, engine: Engine) -> None:
        """Evaluate with ``engine`` from the next batch on (for embedders that build their own)."""
        self._set_engine(engine)
        interest = rule_event_types(engine.rules)
        for source in self.sources:
            source.use_rules(engine.rules)
            source.set_interest(interest)

    def _swap_engine_keys(self, cfg: AgentConfig) -> None:
        """Keep the new file's rule-related keys; everything else needs a restart."""
        keep = self.config.model_copy(update={
            k: getattr(cfg, k) for k in ("rules_files", "rules", "priority", "rule_matching",
                                         "append_output", "outputs")})
        keep._path = self.config.path
        keep._warnings = cfg._warnings
        if cfg.outputs != self.config.outputs:
            self._buckets = {}
        self.config = keep

    def _watched_files(self) -> list[str]:
        paths = list(self.config.rules_files) + rules_file_paths(self.config)
        if self.config.path is not None:
            paths.append(self.config.path)
        return sorted(set(paths))

    def _fingerprint(self, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """(mtime, size, inode[, listing]) of every watched path; ``known`` entries are kept."""
        out: dict[str, Any] = {}
        for path in self._watched_files():
            if known is not None and path in known:
                out[path] = known[path]
                continue
            try:
                st = os.stat(path)
                entry: Any = (st.st_mtime_ns, st.st_size, st.st_ino)
                if os.path.isdir(path):
                    entry = (entry, tuple(sorted(os.listdir(path))))
            except OSError:
                entry = None
            out[path] = entry
        return out

    def _watch(self, seen: dict[str, Any]) -> None:
        while not self._stop_requested.wait(self.watch_interval):
            now = self._fingerprint()
            if now != seen:
                _log.info("a configuration or rules file changed: reloading the rules")
                self.reload()
                # files the reload now reads start from what was seen before it read them,
                # so a change made during the reload triggers another one
                seen = self._fingerprint(known=now)

    # -- stopping -----------------------------------------------------------------------------
    def request_stop(self, status: ExitStatus | None = None) -> None:
        """Ask the agent to stop (from any thread, or a signal handler); :meth:`run` stops it."""
        if status is not None and self._status is None:
            self._status = status
        self._stop_requested.set()
        self._wake.set()

    def request_reload(self) -> None:
        """Ask :meth:`run` to reload the rules (what SIGHUP does)."""
        self._reload_requested = True
        self._wake.set()

    def request_reopen(self) -> None:
        """Ask every sink to reopen its file/program/connection (what SIGUSR1 does)."""
        self._reopen_requested = True
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a stop is requested (or the sources ran out); False on timeout."""
        return self._stop_requested.wait(timeout)

    def stop(self, timeout: float | None = None) -> ExitStatus:
        """Stop sources, drain the event queue, drain and flush the sinks; return the status.

        Sinks get ``output_timeout`` (or ``timeout``) seconds to drain;
        whatever they still hold then is dropped and counted.
        """
        with self._lifecycle_lock:
            if self._stopped or not self._started:
                self._stopped = True
                return self._final_status()
            self._stopped = True
            self._stop_requested.set()
            for source in self.sources:
                try:
                    source.stop(timeout=5.0)
                except Exception as e:  # noqa: BLE001 - keep stopping the others
                    _log.error("stopping source %s failed: %s", _label(source), e)
            self._sources_stopped.set()
            if self._eval_thread is not None:
                self._eval_thread.join()
            drain(self.sinks, timeout if timeout is not None
                  else self.config.output_timeout / 1000.0)
            if self._metrics is not None:
                self._metrics.stop()
            if self._watch_thread is not None:
                self._watch_thread.join(2.0)
            return self._final_status()

    def _final_status(self) -> ExitStatus:
        if self._status is None:
            failed = [s for s in self.sources if getattr(s, "error", None) is not None]
            for s in failed:
                _log.error("source %s failed: %s", _label(s), s.error)  # type: ignore[attr-defined]
            self._status = ExitStatus.SOURCE_FAILED if failed else ExitStatus.OK
        if (self._status == ExitStatus.OK and self._stopped
                and any(s.stats.lost for s in self.sinks)):
            self._status = ExitStatus.UNDELIVERED
        return self._status

    # -- running --------------------------------------------------------------------------
    def run(self, *, handle_signals: bool = True,
            on_started: Callable[[Agent], object] | None = None) -> ExitStatus:
        """Start, wait for a stop (signal, :meth:`request_stop`, sources done), stop; the status.

        Start-up errors are logged and kept in :attr:`error`; the status says
        which kind. Signal handlers are installed only in the main thread.
        ``on_started`` is called once everything runs (commands report there).
        """
        try:
            self.start()
        except RulesLoadError as e:
            self.error = e
            _log.error("rules failed to load:\n%s", e)
            self._status = ExitStatus.RULES_FAILED
            return self._status
        except ConfigError as e:
            self.error = e
            _log.error("%s", e)
            if self._status is None:
                self._status = ExitStatus.CONFIG_ERROR
            return self._status
        restore = self.install_signal_handlers() if handle_signals else None
        if on_started is not None:
            on_started(self)
        try:
            while True:
                self._wake.wait(0.5)
                self._wake.clear()
                if self._reload_requested:
                    self._reload_requested = False
                    self.reload()
                if self._reopen_requested:
                    self._reopen_requested = False
                    for sink in self.sinks:
                        sink.request_reopen()
                if self._stop_requested.is_set():
                    break
        finally:
            status = self.stop()
            if restore is not None:
                restore()
        return status

    def install_signal_handlers(self) -> Callable[[], None] | None:
        """SIGTERM/SIGINT stop, SIGHUP reloads, SIGUSR1 reopens outputs; returns a restorer.

        Does nothing (returns None) outside the main thread.
        """
        if threading.current_thread() is not threading.main_thread():
            return None
        actions: dict[int, Callable[[], None]] = {
            signal.SIGTERM: self.request_stop,
            signal.SIGINT: self.request_stop,
            signal.SIGHUP: self.request_reload,
            signal.SIGUSR1: self.request_reopen,
        }
        previous = {}
        for signum, action in actions.items():
            previous[signum] = signal.signal(signum, _handler(action))

        def restore() -> None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return restore

    async def serve(self) -> ExitStatus:
        """Run under asyncio: start, wait without blocking the loop, stop; cancelling stops it.

        Reload with :meth:`request_reload`/:meth:`reload`; signals are the
        application's business under asyncio (``loop.add_signal_handler``).
        """
        await asyncio.to_thread(self.start)
        try:
            while not self._stop_requested.is_set():
                await asyncio.to_thread(self._wake.wait, 0.5)
                self._wake.clear()
                if self._reload_requested:
                    self._reload_requested = False
                    await asyncio.to_thread(self.reload)
        finally:
            self.request_stop()
            status = await asyncio.to_thread(self.stop)
        return status

    # -- context managers ------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.request_stop()
        await asyncio.to_thread(self.stop)


def _handler(action: Callable[[], None]) -> Callable[[int, Any], None]:
    def handle(signum: int, frame: Any) -> None:
        action()
    return handle


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
            _log.debug("no kernel counters from %s: %s", _label(source), e)
    return n


def _label(source: Source) -> str:
    return str(getattr(source, "label", None) or getattr(source, "name", type(source).__name__))


def _load_report(ruleset: Any) -> str:
    return str(ruleset.render_text())
