"""The metrics endpoint, scraped over loopback: /healthz and counters that match what was sent."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

from secengine.agent import Agent
from secengine.alert import Alert
from secengine.config import load_config
from secengine.metrics import Metric, render
from secengine.sinks.base import Sink
from secengine.sinks.memory import MemorySink


class _Held(Sink):
    name: ClassVar[str] = "held"

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        self.release = threading.Event()
        self.entered = threading.Event()

    def deliver(self, alert: Alert) -> None:
        self.entered.set()
        self.release.wait(10)


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_scraped_counters_match_what_was_sent(rules_file: Path, events: Any, until: Any) -> None:
    cfg = load_config(
        options=[
            f"rules_files=[{rules_file}]",
            "stdout_output.enabled=false",
            "webserver={enabled: true, listen_address: 127.0.0.1, port: 0}".replace(
                "port", "listen_port"
            ),
            "syscall_event_drops.actions=[ignore]",
        ]
    )
    source = events.live()
    memory = MemorySink(label="mem")
    held = _Held(label="held", queue_capacity=2)
    agent = Agent(cfg, sources=[source], sinks=[memory, held])
    agent.start()
    try:
        host, port = agent.metrics_address  # type: ignore[misc]
        base = f"http://{host}:{port}"
        with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
            assert resp.status == 200 and resp.read() == b'{"status": "ok"}'
        source.push([events.open(0)])
        assert held.entered.wait(5)  # the held sink's worker holds the first alert
        source.push([events.open(i) for i in range(1, 7)] + [events.exec(7)])
        source.push([events.open(8, "vi")])
        source.stats.add(dropped=4)
        assert memory.wait_for(8)
        until(lambda: held.stats.submitted + held.stats.dropped == 8)
        m = _scrape(base + "/metrics")
        assert m['secengine_source_events_total{source="live"}'] == 9
        assert m['secengine_source_dropped_total{source="live"}'] == 4
        assert m['secengine_events_total{source="live"}'] == 9
        assert m['secengine_alerts_total{rule="cat_open",priority="Warning",source="syscall"}'] == 7
        assert m['secengine_alerts_total{rule="ls_exec",priority="Notice",source="syscall"}'] == 1
        assert m['secengine_sink_delivered_total{sink="mem"}'] == 8
        assert m['secengine_sink_dropped_total{sink="mem"}'] == 0
        assert m['secengine_sink_dropped_total{sink="held"}'] == held.stats.dropped == 5
        assert m['secengine_sink_queue_depth{sink="held"}'] == 2
        assert m['secengine_sink_queue_capacity{sink="held"}'] == 2
        assert m["secengine_event_queue_capacity"] == 1024
        assert m["secengine_rules_loaded"] == 2
        assert 0 < m["secengine_rules_load_seconds"] < 60
        assert m['secengine_rules_reloads_total{result="ok"}'] == 0
        assert m["process_resident_memory_bytes"] > 10_000_000
        assert m["process_cpu_seconds_total"] > 0
        try:
            urllib.request.urlopen(base + "/nothing", timeout=5)
        except urllib.error.HTTPError as e:
            assert e.code == 404
        agent.request_stop()
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5)
        except urllib.error.HTTPError as e:
            assert e.code == 503
    finally:
        held.release.set()
        agent.stop()


def test_render_escapes_label_values() -> None:
    m = Metric("x_total", "counter", "Things.").add(3, rule='a "quoted"\\ rule\n')
    assert render([m, Metric("g", "gauge", "G.").add(0.25)]) == (
        "# HELP x_total Things.\n# TYPE x_total counter\n"
        'x_total{rule="a \\"quoted\\"\\\\ rule\\n"} 3\n'
        "# HELP g G.\n# TYPE g gauge\ng 0.25\n"
    )
    assert re.match(r"^\d+$", render([Metric("n", "gauge", "N.").add(2.0)]).split()[-1])


def test_a_source_reports_what_it_did_not_send_by_reason(rules_file: Path, events: Any) -> None:
    """The syscall source's kernel counters per reason (budget, ring full, filtered...)."""
    from secengine.metrics import collect

    cfg = load_config(options=[f"rules_files=[{rules_file}]", "stdout_output.enabled=false"])
    source = events.live()
    source.drop_reasons = lambda: {"budget": 1200, "ring_full": 3, "filtered": 40}
    agent = Agent(cfg, sources=[source])
    agent.start()
    try:
        text = render(collect(agent))
    finally:
        agent.stop()
    assert 'secengine_source_not_sent_total{source="live",reason="budget"} 1200' in text
    assert 'secengine_source_not_sent_total{source="live",reason="ring_full"} 3' in text
    assert 'secengine_source_not_sent_total{source="live",reason="filtered"} 40' in text


def test_the_probes_kill_counters_are_metrics(rules_file: Path, events: Any) -> None:
    """The in-kernel kill's counters per outcome (the timing total is not a metric)."""
    from secengine.metrics import collect

    cfg = load_config(options=[f"rules_files=[{rules_file}]", "stdout_output.enabled=false"])
    source = events.live()
    source.kill_stats = lambda: {"checked": 50, "killed": 2, "protected": 1, "ns": 9}
    agent = Agent(cfg, sources=[source])
    agent.start()
    try:
        text = render(collect(agent))
    finally:
        agent.stop()
    assert 'secengine_kernel_kill_total{source="live",outcome="checked"} 50' in text
    assert 'secengine_kernel_kill_total{source="live",outcome="killed"} 2' in text
    assert 'secengine_kernel_kill_total{source="live",outcome="protected"} 1' in text
    assert 'outcome="ns"' not in text


def test_field_extraction_errors_are_counted_per_field_and_rule(
    tmp_path: Path, events: Any
) -> None:
    """A field whose value cannot be compared is a counted error, not a silent no-match."""
    from secengine.events import Event
    from secengine.metrics import collect

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- rule: Cat-like\n  desc: d\n  output: o\n  priority: INFO\n"
        "  condition: evt.type = open and proc.name startswith ca\n"
    )
    cfg = load_config(options=[f"rules_files=[{rules}]", "stdout_output.enabled=false"])
    agent = Agent(cfg, sources=[events.live()])
    agent.start()
    try:
        agent.engine.process(Event("syscall", 1, {"evt.type": "open", "proc.name": 5}))
        text = render(collect(agent))
    finally:
        agent.stop()
    assert 'secengine_field_extraction_errors_total{field="proc.name",rule="Cat-like"} 1' in text
