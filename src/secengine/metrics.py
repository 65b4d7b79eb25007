"""The health and metrics endpoint: ``/healthz`` and Prometheus text metrics of a running agent.

Off by default (``webserver.enabled``). It runs on the same granian server
as the Kubernetes audit webhook (:mod:`secengine.web`), on its own thread,
with the same connection limit and timeouts: a client that connects and
says nothing, or a slow TLS handshake, must not keep a kubelet's probe of
``/healthz`` from being answered (``http.server`` did its TLS handshakes on
the accepting thread, had a listen backlog of 5 and no idle timeout).
TLS (``webserver.ssl_enabled``) is done by granian, in Rust.

:func:`collect` reads an agent's counters into :class:`Metric` families and
:func:`render` writes them in the Prometheus text exposition format 0.0.4;
both are usable without the server (an embedder can expose them through its
own web stack). Metric names:

==========================================  =======  ===============================
``secengine_source_events_total``           counter  events a source produced {source}
``secengine_source_dropped_total``          counter  events a source dropped {source}
``secengine_source_rejected_total``         counter  malformed input refused {source}
``secengine_source_not_sent_total``         counter  events a source did not deliver, by
                                                     reason {source, reason}: ring_full,
                                                     ring_busy, priority_headroom, budget,
                                                     filtered (no rule could match),
                                                     queue_full
``secengine_kernel_kill_total``             counter  the probe's kill rules {source,
                                                     outcome}: checked, killed, dry_run,
                                                     rate_limited, failed, protected


``secengine_process_table_entries``         gauge    processes in a source's table {source}
``secengine_process_table_removed_total``   counter  entries removed {source, reason=exited|
                                                     evicted_full|evicted_inactive}
``secengine_process_table_orphans_total``   counter  orphans given their new parent {source}
``secengine_container_metadata_errors_total`` counter  unusable runtime files of containers
                                                     {runtime, reason} (docs/containers.md)
``secengine_container_engine_errors_total`` counter  failed container runtime API calls
                                                     {source, engine=cri|docker|podman,
                                                     reason}: missing, unavailable, timeout,
                                                     deadline_exceeded (or another gRPC
                                                     status), http_<status>, not_json,
                                                     exception:<type> (an engine that raised)
``secengine_container_cache_entries``       gauge    containers whose metadata is cached
``secengine_container_lookups_failed_total`` counter API lookups no engine answered
``secengine_events_total``                  counter  events evaluated {source}
``secengine_alerts_total``                  counter  alerts {rule, priority, source}
``secengine_alerts_rate_limited_total``     counter  alerts held back by ``outputs.rate`` {source}
``secengine_field_extraction_errors_total`` counter  rule evaluations where a field's extractor
                                                     raised or gave a value of the wrong type
                                                     {field, rule} (since the last rules load)
``secengine_drop_alerts_total``             counter  internal drop alerts emitted {source}
``secengine_sink_delivered_total``          counter  alerts delivered {sink}
``secengine_sink_dropped_total``            counter  alerts dropped (queue full) {sink}
``secengine_sink_failed_total``             counter  deliveries failed for good {sink}
``secengine_sink_retries_total``            counter  retries and restarts {sink}
``secengine_sink_queue_depth``              gauge    alerts queued {sink}
``secengine_sink_queue_capacity``           gauge    queue bound {sink}
``secengine_spool_records``                 gauge    records a broker output's spool holds
                                                     {sink, what=alerts|events}
``secengine_spool_bytes``                   gauge    bytes of those records {sink, what}
``secengine_spool_evicted_total``           counter  records evicted unsent, spool full
                                                     {sink, what} (docs/fleet.md)
``secengine_broker_published_total``        counter  records the broker acknowledged {sink, what}
``secengine_broker_connected``              gauge    1 while connected to the broker {sink, what}
``secengine_broker_duplicates_total``       counter  redelivered events skipped by id {source}
``secengine_broker_redelivered_total``      counter  messages delivered more than once {source}
``secengine_event_queue_depth``             gauge    event batches queued for the engine
``secengine_event_queue_capacity``          gauge    bound of that queue
``secengine_rules_loaded``                  gauge    rules the engine evaluates
``secengine_rules_load_seconds``            gauge    duration of the last successful rules load
``secengine_rules_reloads_total``           counter  reloads {result="ok"|"failed"}
``process_resident_memory_bytes``           gauge    resident set size
``process_cpu_seconds_total``               counter  user + system CPU time
``process_start_time_seconds``              gauge    when the agent started (Unix time)
``secengine_http_tls_handshake_failures_total`` counter  failed TLS handshakes {listener, reason}
``secengine_http_rejected_requests_total``  counter  requests refused {listener, reason}
``secengine_http_accept_errors_total``      counter  failed accept() calls {listener}
``secengine_responses_total``               counter  response actions {rule, action, outcome}
``secengine_response_latency_seconds_count`` counter responses with a latency {action}
``secengine_response_latency_seconds_sum``  counter  event-to-effect delays summed {action}
``secengine_response_latency_seconds_max``  gauge    the longest such delay {action}
``secengine_response_rules``                gauge    loaded rules that ask for a response
``secengine_responses_in_flight``           gauge    container actions and programs under way
==========================================  =======  ===============================

``listener`` is ``k8s_audit`` or ``webserver`` (``unknown`` for a failure
granian reported from a thread no listener claimed, see
:mod:`secengine.web.handshakes`); ``reason`` is a fixed word
(``timeout``, ``no_certificates_presented``, ``invalid_message``,
``wrong_token``, ``missing_token``, ``body_timeout``, ``slow_body_shed``...).

``source`` is the source's configuration key (its plugin name otherwise) in
the ``secengine_source_*`` families, and the plugin name the source delivers
under in ``secengine_events_total``; ``source`` of ``secengine_alerts_total``
is the event source of the rule (``syscall``, ``k8s_audit``).
"""

from __future__ import annotations

import json
import logging
import os
import resource
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from secengine.sources.base import source_label
from secengine.web.handshakes import monitor
from secengine.web.server import EmbeddedHttpServer
from secengine.web.stats import ListenerStats
from secengine.web.threaded import ThreadedHttpServer

if TYPE_CHECKING:  # pragma: no cover
    from secengine.engine import Engine
    from secengine.sinks.base import Sink
    from secengine.sources.base import EventQueue
    from secengine.web.limits import HttpLimits

__all__ = [
    "CONTENT_TYPE",
    "AgentStats",
    "CounterStats",
    "Metric",
    "MetricsServer",
    "collect",
    "listener_metrics",
    "process_rss_bytes",
    "render",
]

#: The Prometheus text format's media type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_log = logging.getLogger("secengine.metrics")


class CounterStats(Protocol):
    """The agent's own counters that become metrics (:class:`secengine.agent.AgentCounters`)."""

    events: Counter[str]
    alerts: Counter[tuple[str, str, str]]
    rate_limited: Counter[str]
    drop_alerts: Counter[str]
    reloads_ok: int
    reloads_failed: int
    rules_loaded: int
    rules_load_seconds: float
    started_at: float


class AgentStats(Protocol):
    """What :func:`collect` and :class:`MetricsServer` read of a running agent.

    :class:`secengine.agent.Agent` satisfies it; the Protocol keeps this
    module from importing the agent (which starts the metrics server).
    """

    @property
    def counters(self) -> CounterStats: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def sources(self) -> Sequence[Any]: ...
    @property
    def sinks(self) -> Sequence[Sink]: ...
    @property
    def event_queue(self) -> EventQueue: ...
    @property
    def healthy(self) -> bool: ...
    @property
    def http_listeners(self) -> list[ListenerStats]: ...


@dataclass(slots=True)
class Metric:
    """One metric family: a name, its type and help, and labelled samples."""

    name: str
    type: str  # "counter" or "gauge"
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Metric:
        self.samples.append((labels, value))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return repr(float(value))


def render(metrics: list[Metric]) -> str:
    """The families in Prometheus text format (``# HELP``, ``# TYPE``, one line per sample)."""
    lines: list[str] = []
    for m in metrics:
        lines.append(f"# HELP {m.name} {m.help}")
        lines.append(f"# TYPE {m.name} {m.type}")
        for labels, value in m.samples:
            if labels:
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
                lines.append(f"{m.name}{{{inner}}} {_number(value)}")
            else:
                lines.append(f"{m.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def process_rss_bytes() -> int:
    """Resident set size of this process (``/proc/self/statm``; peak RSS where that is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def collect(agent: AgentStats) -> list[Metric]:
    """The agent's counters as metric families (see the module docstring for the names)."""
    c = agent.counters
    src_events = Metric("secengine_source_events_total", "counter", "Events a source produced.")
    src_dropped = Metric(
        "secengine_source_dropped_total",
        "counter",
        "Events a source dropped (engine queue full, kernel buffer full).",
    )
    src_rejected = Metric(
        "secengine_source_rejected_total", "counter", "Malformed input a source refused."
    )
    not_sent = Metric(
        "secengine_source_not_sent_total",
        "counter",
        "Events a source did not deliver, by reason (filtered: no loaded rule could match them).",
    )
    kernel_kill = Metric(
        "secengine_kernel_kill_total",
        "counter",
        "The probe's kill rules: syscalls they checked (outcome=checked) and their matches by "
        "what the probe did (killed, dry_run, rate_limited, failed, protected).",
    )
    for src in agent.sources:
        name = source_label(src)
        stats = src.stats
        src_events.add(getattr(stats, "events", 0), source=name)
        src_dropped.add(getattr(stats, "dropped", 0), source=name)
        src_rejected.add(getattr(stats, "rejected", 0), source=name)
        reasons = getattr(src, "drop_reasons", None)
        if callable(reasons):
            for reason, n in sorted(reasons().items()):
                not_sent.add(n, source=name, reason=reason)
        kills = getattr(src, "kill_stats", None)
        if callable(kills):
            for outcome, n in sorted(kills().items()):
                if outcome != "ns":
                    kernel_kill.add(n, source=name, outcome=outcome)

    table = _process_table(agent)
    containers = container_metrics(agent.sources)
    evaluated = Metric("secengine_events_total", "counter", "Events evaluated by the engine.")
    for name, n in sorted(c.events.items()):
        evaluated.add(n, source=name)
    alerts = Metric("secengine_alerts_total", "counter", "Alerts sent to the outputs.")
    for (rule, priority, source), n in sorted(c.alerts.items()):
        alerts.add(n, rule=rule, priority=priority, source=source)
    limited = Metric(
        "secengine_alerts_rate_limited_total", "counter", "Alerts not sent because of outputs.rate."
    )
    for source, n in sorted(c.rate_limited.items()):
        limited.add(n, source=source)
    field_errors = Metric(
        "secengine_field_extraction_errors_total",
        "counter",
        "Rule evaluations on which a field's extractor raised or gave a value "
        "of the wrong type (the rule did not match there).",
    )
    for (key, rule), n in sorted(agent.engine.stats.field_errors.items()):
        field_errors.add(n, field=key, rule=rule)
    drop_alerts = Metric(
        "secengine_drop_alerts_total", "counter", "Internal event-drop alerts emitted."
    )
    for source, n in sorted(c.drop_alerts.items()):
        drop_alerts.add(n, source=source)
    sink_families = {
        "delivered": Metric("secengine_sink_delivered_total", "counter", "Alerts delivered."),
        "dropped": Metric(
            "secengine_sink_dropped_total",
            "counter",
            "Alerts dropped by an output (queue full or shutdown).",
        ),
        "failed": Metric(
            "secengine_sink_failed_total", "counter", "Alerts whose delivery failed for good."
        ),
        "retries": Metric(
            "secengine_sink_retries_total", "counter", "Delivery retries and program restarts."
        ),
    }
    depth = Metric("secengine_sink_queue_depth", "gauge", "Alerts waiting in an output's queue.")
    capacity = Metric("secengine_sink_queue_capacity", "gauge", "Bound of an output's queue.")
    for sink in agent.sinks:
        for attr, family in sink_families.items():
            family.add(getattr(sink.stats, attr), sink=sink.label)
        depth.add(sink.depth(), sink=sink.label)
        capacity.add(sink.queue_capacity, sink=sink.label)
    queue = agent.event_queue
    reloads = Metric("secengine_rules_reloads_total", "counter", "Rules reloads.")
    reloads.add(c.reloads_ok, result="ok").add(c.reloads_failed, result="failed")
    cpu = os.times()
    return [
        src_events,
        src_dropped,
        src_rejected,
        not_sent,
        kernel_kill,
        *table,
        *containers,
        evaluated,
        alerts,
        limited,
        field_errors,
        drop_alerts,
        *sink_families.values(),
        depth,
        capacity,
        *fleet_metrics(agent.sinks, agent.sources),
        Metric("secengine_event_queue_depth", "gauge", "Event batches waiting for the engine.").add(
            queue.depth()
        ),
        Metric("secengine_event_queue_capacity", "gauge", "Bound of the engine's event queue.").add(
            queue.capacity
        ),
        Metric("secengine_rules_loaded", "gauge", "Rules the engine evaluates.").add(
            c.rules_loaded
        ),
        Metric(
            "secengine_rules_load_seconds", "gauge", "Duration of the last successful rules load."
        ).add(c.rules_load_seconds),
        reloads,
        Metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.").add(
            process_rss_bytes()
        ),
        Metric("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.").add(
            cpu.user + cpu.system
        ),
        Metric(
            "process_start_time_seconds",
            "gauge",
            "Start time of the agent since the Unix epoch in seconds.",
        ).add(c.started_at),
        *listener_metrics(_listeners(agent)),
        *response_metrics(getattr(agent, "responder", None)),
    ]


def response_metrics(responder: Any) -> list[Metric]:
    """The responder's counters (:class:`secengine.response.stats.ResponseStats`), if it runs."""
    stats = getattr(responder, "stats", None)
    if stats is None:
        return []
    outcomes = Metric(
        "secengine_responses_total",
        "counter",
        "Response actions by rule, action and outcome (done, in_kernel, dry_run, refused, "
        "gone, no_target, rate_limited, queue_full, failed, off).",
    )
    for (rule, action, outcome), n in sorted(stats.outcomes.items()):
        outcomes.add(n, rule=rule, action=action, outcome=outcome)
    count = Metric(
        "secengine_response_latency_seconds_count", "counter", "Responses with a latency."
    )
    total = Metric(
        "secengine_response_latency_seconds_sum",
        "counter",
        "Sum of the delays from the event to the response's effect (the signal sent, the "
        "runtime's answer).",
    )
    worst = Metric(
        "secengine_response_latency_seconds_max", "gauge", "The longest of those delays."
    )
    for action, lat in sorted(stats.latency.items()):
        count.add(lat.count, action=action)
        total.add(lat.total_ns / 1e9, action=action)
        worst.add(lat.max_ns / 1e9, action=action)
    return [
        outcomes,
        count,
        total,
        worst,
        Metric("secengine_response_rules", "gauge", "Loaded rules that ask for a response.").add(
            stats.rules_asking
        ),
        Metric(
            "secengine_responses_in_flight", "gauge", "Container actions and programs under way."
        ).add(stats.in_flight),
    ]


def _listeners(agent: AgentStats) -> list[ListenerStats]:
    return [*agent.http_listeners, monitor().unknown]


def listener_metrics(listeners: Iterable[ListenerStats]) -> list[Metric]:
    """What the HTTP listeners refused (see :mod:`secengine.web.stats`), as metric families."""
    handshakes = Metric(
        "secengine_http_tls_handshake_failures_total",
        "counter",
        "TLS handshakes that failed, by reason.",
    )
    rejected = Metric(
        "secengine_http_rejected_requests_total",
        "counter",
        "Requests refused before the application took them, by reason.",
    )
    accepts = Metric(
        "secengine_http_accept_errors_total",
        "counter",
        "accept() calls that failed (e.g. out of file descriptors).",
    )
    for stats in listeners:
        failed, refused, accept_errors = stats.snapshot()
        for reason, n in sorted(failed.items()):
            handshakes.add(n, listener=stats.name, reason=reason)
        for reason, n in sorted(refused.items()):
            rejected.add(n, listener=stats.name, reason=reason)
        accepts.add(accept_errors, listener=stats.name)
    return [handshakes, rejected, accepts]


def _process_table(agent: AgentStats) -> list[Metric]:
    """The families of the sources that keep a process table (``table_stats()``)."""
    entries = Metric(
        "secengine_process_table_entries", "gauge", "Processes in a source's process table."
    )
    removed = Metric(
        "secengine_process_table_removed_total",
        "counter",
        "Process table entries removed: the process exited, the table was full, "
        "or the entry was inactive and its process gone.",
    )
    reparented = Metric(
        "secengine_process_table_orphans_total",
        "counter",
        "Orphans given their new parent (reaper or pid-namespace init).",
    )
    for src in agent.sources:
        table_stats = getattr(src, "table_stats", None)
        t = table_stats() if callable(table_stats) else None
        if not t:
            continue
        name = source_label(src)
        entries.add(t["entries"], source=name)
        for reason in ("exited", "evicted_full", "evicted_inactive"):
            removed.add(t[reason], source=name, reason=reason)
        reparented.add(t["reparented"], source=name)
    return [entries, removed, reparented] if entries.samples else []


def fleet_metrics(sinks: Sequence[Any], sources: Sequence[Any]) -> list[Metric]:
    """The families of the broker outputs' spools (``spool_stats()``) and of the broker
    sources (``BrokerSourceStats``), when there are any (docs/fleet.md)."""
    gauges = {
        "records": Metric(
            "secengine_spool_records", "gauge", "Records a broker output's spool holds."
        ),
        "bytes": Metric("secengine_spool_bytes", "gauge", "Bytes of a broker output's spool."),
        "evicted": Metric(
            "secengine_spool_evicted_total",
            "counter",
            "Records evicted from a full spool before the broker took them.",
        ),
        "published": Metric(
            "secengine_broker_published_total", "counter", "Records the broker acknowledged."
        ),
        "connected": Metric(
            "secengine_broker_connected", "gauge", "1 while the output is connected to its broker."
        ),
    }
    for sink in sinks:
        spool_stats = getattr(sink, "spool_stats", None)
        for row in spool_stats() if callable(spool_stats) else ():
            for key, family in gauges.items():
                family.add(row[key], sink=sink.label, what=row["what"])
    dups = Metric(
        "secengine_broker_duplicates_total", "counter", "Redelivered events skipped by event id."
    )
    again = Metric(
        "secengine_broker_redelivered_total", "counter", "Messages delivered more than once."
    )
    for src in sources:
        stats: Any = getattr(src, "stats", None)
        if hasattr(stats, "duplicates") and hasattr(stats, "redelivered"):
            dups.add(stats.duplicates, source=source_label(src))
            again.add(stats.redelivered, source=source_label(src))
    out = [f for f in gauges.values() if f.samples]
    return out + ([dups, again] if dups.samples else [])


def container_metrics(sources: Sequence[Any]) -> list[Metric]:
    """The families of the sources that resolve container metadata (``container_stats()``,
    :meth:`secengine.state.containers.ContainerResolver.stats`)."""
    errors = Metric(
        "secengine_container_metadata_errors_total",
        "counter",
        "Runtime files of containers that were there but unusable (too large, not JSON, "
        "symlinked, outside the runtime's root, wrong types), by runtime and reason.",
    )
    engines = Metric(
        "secengine_container_engine_errors_total",
        "counter",
        "Container runtime API calls that failed (the fields fell back to the runtime's "
        "files), by engine and reason.",
    )
    entries = Metric(
        "secengine_container_cache_entries", "gauge", "Containers whose metadata is cached."
    )
    failed = Metric(
        "secengine_container_lookups_failed_total",
        "counter",
        "Container API lookups that no engine answered.",
    )
    for src in sources:
        container_stats = getattr(src, "container_stats", None)
        stats = container_stats() if callable(container_stats) else None
        if not stats:
            continue
        entries.add(stats["entries"], source=source_label(src))
        failed.add(stats["lookups_failed"], source=source_label(src))
        for (runtime, reason), n in sorted(stats["file_errors"].items()):
            errors.add(n, runtime=runtime, reason=reason)
        for (engine, reason), n in sorted(stats["engine_errors"].items()):
            engines.add(n, source=source_label(src), engine=engine, reason=reason)
    return [errors, engines, entries, failed] if entries.samples else []


_JSON = [("content-type", "application/json")]
_TEXT = [("content-type", "text/plain; charset=utf-8")]


class MetricsServer:
    """Serves ``healthz_path`` and ``metrics_path`` for ``agent`` on its own thread.

    ``ssl_certificate`` is a PEM file holding the certificate and its key
    (Falco's ``webserver.ssl_certificate``). Binding happens in :meth:`start`
    (OSError when the address is taken).
    """

    def __init__(
        self,
        agent: AgentStats,
        host: str = "0.0.0.0",
        port: int = 8765,
        *,
        healthz_path: str = "/healthz",
        metrics_path: str | None = "/metrics",
        ssl_certificate: str | None = None,
        limits: HttpLimits | None = None,
    ) -> None:
        self.agent = agent
        self._healthz_path = healthz_path
        self._metrics_path = metrics_path
        #: Failed handshakes on this listener, for the metrics it serves.
        self.listener_stats = ListenerStats("webserver")
        self._server = ThreadedHttpServer(
            EmbeddedHttpServer(
                self._app,
                host=host,
                port=port,
                tls_cert=ssl_certificate,
                limits=limits,
                stats=self.listener_stats,
            ),
            name="secengine-metrics",
            shutdown_timeout=2.0,
        )

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually listened on (useful with port 0)."""
        return self._server.address

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(5.0)

    async def _app(self, scope: Any, proto: Any) -> None:
        """The RSGI application: two GET paths, answered without reading any body."""
        path = scope.path
        if scope.method not in ("GET", "HEAD"):
            proto.response_bytes(405, [*_TEXT, ("allow", "GET")], b"method not allowed\n")
        elif path == self._healthz_path:
            healthy = self.agent.healthy
            body = json.dumps({"status": "ok" if healthy else "unhealthy"}).encode()
            proto.response_bytes(200 if healthy else 503, _JSON, body)
        elif self._metrics_path is not None and path == self._metrics_path:
            try:
                text = render(collect(self.agent))
            except Exception:  # noqa: BLE001 - a scrape must not kill the server
                _log.exception("collecting metrics failed")
                proto.response_bytes(500, _TEXT, b"collecting metrics failed\n")
                return
            proto.response_bytes(200, [("content-type", CONTENT_TYPE)], text.encode("utf-8"))
        else:
            proto.response_bytes(404, _TEXT, b"not found\n")
