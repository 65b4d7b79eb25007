"""The :class:`Agent`: starts sources, the evaluation loop, sinks and services; reloads; stops.

The parts it runs live beside it: :mod:`~secengine.assembly` builds
them from the configuration, :mod:`~secengine.agent.evaluation` evaluates
and fans out, :mod:`~secengine.agent.drops` watches for lost events,
:mod:`~secengine.agent.reload` decides what a reload keeps and watches the
files, :mod:`~secengine.agent.signals` maps signals to requests. This module
holds only the order in which they start and stop and the exit status.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self

from secengine.agent.counters import AgentCounters
from secengine.agent.drops import DropMonitor, source_label
from secengine.agent.evaluation import Evaluator, evaluation_loop
from secengine.agent.ratelimit import TokenBucket
from secengine.agent.reload import FileWatcher, kept_config
from secengine.agent.signals import SignalHandlers, Waker, install_handlers
from secengine.alert import Alert
from secengine.assembly import (
    DEFAULT_EVENT_QUEUE,
    build_sinks,
    build_sources,
    engine_from_config,
    give_rules,
)
from secengine.config import AgentConfig
from secengine.errors import ConfigError, RulesLoadError
from secengine.events import Event
from secengine.exit_status import ExitStatus
from secengine.metrics import MetricsServer
from secengine.response.containers import ContainerRuntimes
from secengine.response.kernel import give_kernel_kills
from secengine.response.responder import Responder
from secengine.sinks.base import Sink
from secengine.sinks.drain import drain
from secengine.sinks.memory import CallbackSink
from secengine.sinks.render import AlertRenderer
from secengine.sources.base import BatchSource, EventQueue, Source

if TYPE_CHECKING:  # pragma: no cover
    from secengine.engine import Engine
    from secengine.web.stats import ListenerStats

__all__ = ["Agent"]

_log = logging.getLogger("secengine.agent")


class Agent:
    """Runs sources, one evaluation loop and sinks; see :mod:`secengine.agent`.

    Give it a ``config`` to build the engine, sinks and sources from (and to
    reload rules from), and/or pass your own: ``engine`` (skips loading
    rules), ``sources``, ``sinks``, ``on_alert`` callbacks (each gets its own
    :class:`~secengine.sinks.CallbackSink`). Without a config, nothing is
    built from configuration defaults: only what is passed runs.
    ``config_loader`` re-reads the configuration on reload (the CLI passes
    one that re-reads the file with the same command-line overrides).
    """

    def __init__(
        self,
        config: AgentConfig | None = None,
        *,
        engine: Engine | None = None,
        sources: Iterable[Source] = (),
        sinks: Iterable[Sink] = (),
        on_alert: Callable[[Alert], Any] | Iterable[Callable[[Alert], Any]] = (),
        config_loader: Callable[[], AgentConfig] | None = None,
        event_queue_capacity: int | None = None,
        watch_interval: float = 1.0,
    ) -> None:
        self.config = config if config is not None else AgentConfig()
        self._from_config = config is not None
        self._config_loader = config_loader
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
        self._evaluator = Evaluator(self.counters, self.config.outputs, engine)
        self._status: ExitStatus | None = None
        self._started = False
        #: set once start() has started every source and service (``running`` waits for it)
        self._ready = False
        self._stopped = False
        self._stop_requested = threading.Event()
        self._sources_stopped = threading.Event()
        #: wakes run()'s loop; safe to set from a signal handler (see agent/signals.py)
        self._wake = Waker()
        self._reload_requested = False
        self._reopen_requested = False
        self._reload_lock = threading.Lock()
        self._lifecycle_lock = threading.RLock()
        self._eval_thread: threading.Thread | None = None
        self._watcher = FileWatcher(
            lambda: self.config, self.reload, self._stop_requested, watch_interval
        )
        self._metrics: MetricsServer | None = None
        self._drops: DropMonitor | None = None
        #: Carries out the responses rules ask for (``response:`` in the configuration).
        self.responder: Responder | None = None
        self.error: BaseException | None = None

    # -- properties -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine evaluating events now (replaced as a whole by a reload)."""
        return self._evaluator.engine

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
        return (
            self._eval_thread is not None
            and self._eval_thread.is_alive()
            and not self._stop_requested.is_set()
        )

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where the metrics endpoint listens, when it is enabled and running."""
        return self._metrics.address if self._metrics is not None else None

    @property
    def http_listeners(self) -> list[ListenerStats]:
        """What the agent's HTTP listeners (sources and the metrics endpoint) count."""
        found = [s for s in (getattr(src, "listener_stats", None) for src in self.sources) if s]
        if self._metrics is not None:
            found.append(self._metrics.listener_stats)
        return found

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
            watch_start = self._watcher.snapshot() if cfg.watch_config_files else {}
            evaluator = self._evaluator
            if evaluator.engine_or_none is None:
                evaluator.set_engine(*engine_from_config(cfg))
            else:
                self.counters.rules_loaded = len(evaluator.engine.rules)
            engine = evaluator.engine
            if self._from_config:
                self.sinks = build_sinks(cfg, engine.formatter) + self.sinks
                self.sources = build_sources(cfg) + self.sources
            renderer = AlertRenderer(engine.formatter, cfg.json_output)
            for sink in self.sinks:
                sink.adopt_renderer(renderer)
            evaluator.sinks = self.sinks
            self._start_responder(cfg)
            self._drops = DropMonitor(
                cfg.syscall_event_drops, self.counters, evaluator, self.request_stop
            )
            self._start_sinks()
            self.counters.started_at = time.time()
            self._started = True
            self._eval_thread = threading.Thread(
                target=self._evaluate, name="secengine-eval", daemon=True
            )
            self._eval_thread.start()
            for source in self.sources:
                source.use_container_engines(cfg.container_engines.settings())
            give_rules(self.sources, engine)
            self._give_kernel_kills(engine)
            for source in self.sources:
                self._drops.baseline(source)
                try:
                    if not source.start_inline(evaluator.process_inline):
                        source.start(self.event_queue)
                except Exception as e:
                    self._status = ExitStatus.CONFIG_ERROR
                    self.stop()
                    raise ConfigError(f"source {source_label(source)} cannot start: {e}") from e
            self._start_services(watch_start)
            self._ready = True

    def _start_responder(self, cfg: AgentConfig) -> None:
        """The responder, from ``response:``; matches of recorded sources are dry runs."""
        evaluator = self._evaluator
        settings = cfg.response.settings()
        self.responder = Responder(
            settings,
            bucket=TokenBucket,
            render_json=lambda alert: evaluator.engine.formatter.json(alert),
            publish=evaluator.publish_locked,
            runtimes=ContainerRuntimes(
                cfg.container_engines.settings(), timeout=settings.runtime_timeout
            ),
        )
        evaluator.recorded_sources = frozenset(
            s.name for s in self.sources if isinstance(s, BatchSource)
        )
        evaluator.use_responder(self.responder)

    def _give_kernel_kills(self, engine: Engine) -> None:
        """Let a source that can kill in the kernel do so for the rules it may kill for."""
        if self.responder is not None:
            self.responder.kernel_kills = give_kernel_kills(
                self.sources, engine.rules, self.responder.settings, os.getpid()
            )

    def _start_sinks(self) -> None:
        started: list[Sink] = []
        for sink in self.sinks:
            try:
                sink.start()
            except Exception as e:
                for done in started:
                    done.stop(1.0)
                raise ConfigError(f"output {sink.label} cannot start: {e}") from e
            started.append(sink)

    def _start_services(self, watch_start: dict[str, Any]) -> None:
        web = self.config.webserver
        if web.enabled:
            self._metrics = MetricsServer(
                self,
                web.listen_address,
                web.listen_port,
                healthz_path=web.k8s_healthz_endpoint,
                metrics_path=web.metrics_endpoint if web.prometheus_metrics_enabled else None,
                ssl_certificate=web.ssl_certificate if web.ssl_enabled else None,
                limits=web.limits(),
            )
            try:
                self._metrics.start()
            except OSError as e:
                self._metrics = None
                self._status = ExitStatus.CONFIG_ERROR
                self.stop()
                raise ConfigError(
                    f"webserver: cannot listen on {web.listen_address}:"
                    f"{web.listen_port}: {e.strerror or e}"
                ) from e
        if self.config.watch_config_files and self._from_config:
            self._watcher.start(watch_start)

    # -- feeding events directly --------------------------------------------------------------
    def feed(
        self, events: Sequence[Event], source: str = "api", timeout: float | None = None
    ) -> bool:
        """Queue a batch of events for evaluation (waits for room up to ``timeout``)."""
        return self.event_queue.put(source, events, timeout=timeout)

    def _evaluate(self) -> None:
        drops = self._drops
        assert drops is not None
        evaluator = self._evaluator

        def every_second() -> None:
            drops.check(self.sources)
            evaluator.publish_sink_alerts()  # a broker output's full spool

        evaluation_loop(
            self._evaluator,
            self.event_queue,
            self.sources,
            sources_stopped=self._sources_stopped,
            every_second=every_second,
            exhausted=self.request_stop,
        )

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
                engine, seconds = engine_from_config(cfg)
            except (ConfigError, RulesLoadError, OSError) as e:
                self.counters.reloads_failed += 1
                self.last_reload_error = str(e)
                _log.error("reloading rules failed; the previous rules stay active:\n%s", e)
                return False
            self._evaluator.set_engine(engine, seconds)
            self._evaluator.set_outputs(cfg.outputs)
            self.config = kept_config(self.config, cfg)
            self.counters.reloads_ok += 1
            self.last_reload_error = None
            give_rules(self.sources, engine)
            self._give_kernel_kills(engine)
            _log.info("rules reloaded: %d rules active", len(engine.rules))
            return True

    def replace_engine(self, engine: Engine) -> None:
        """Evaluate with ``engine`` from the next batch on (for embedders that build their own)."""
        self._evaluator.set_engine(engine)
        give_rules(self.sources, engine)
        self._give_kernel_kills(engine)

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
                    _log.error("stopping source %s failed: %s", source_label(source), e)
            self._sources_stopped.set()
            self.event_queue.wake()
            if self._eval_thread is not None:
                self._eval_thread.join()
            if self.responder is not None:
                # the actions under way finish, and their alerts reach the sinks below
                self.responder.close()
            drain(
                self.sinks, timeout if timeout is not None else self.config.output_timeout / 1000.0
            )
            if self._metrics is not None:
                self._metrics.stop()
            self._watcher.join(2.0)
            return self._final_status()

    def _final_status(self) -> ExitStatus:
        if self._status is None:
            failed = [s for s in self.sources if getattr(s, "error", None) is not None]
            for s in failed:
                _log.error("source %s failed: %s", source_label(s), s.error)  # type: ignore[attr-defined]
            self._status = ExitStatus.SOURCE_FAILED if failed else ExitStatus.OK
        if (
            self._status == ExitStatus.OK
            and self._stopped
            and any(s.stats.lost for s in self.sinks)
        ):
            self._status = ExitStatus.UNDELIVERED
        return self._status

    # -- running --------------------------------------------------------------------------
    def run(
        self, *, handle_signals: bool = True, on_started: Callable[[Agent], object] | None = None
    ) -> ExitStatus:
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
        handlers = self.install_signal_handlers() if handle_signals else None
        if on_started is not None:
            on_started(self)
        try:
            while True:
                self._wake.wait(0.5)
                self._wake.clear()
                if handlers is not None:
                    handlers.dispatch()
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
            if handlers is not None:
                handlers.restore()
        return status

    def install_signal_handlers(self) -> SignalHandlers | None:
        """SIGTERM/SIGINT stop, SIGHUP reloads, SIGUSR1 reopens outputs, acted on by
        :meth:`run`'s loop (``dispatch()``; ``restore()`` puts the previous handlers back).

        Does nothing (returns None) outside the main thread.
        """
        return install_handlers(
            self.request_stop, self.request_reload, self.request_reopen, self._wake
        )

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
