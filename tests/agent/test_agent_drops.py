"""Drop accounting: Falco's syscall_event_drops actions applied to every source's drop counter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from secengine.agent import Agent, ExitStatus
from secengine.config import load_config
from secengine.sinks.memory import MemorySink
from secengine.sinks.render import AlertRenderer


def _run(rules_file: Path, events: Any, *options: str) -> tuple[Agent, Any, MemorySink]:
    cfg = load_config(
        options=[
            f"rules_files=[{rules_file}]",
            "stdout_output.enabled=false",
            "hostname=h",
            *options,
        ]
    )
    source = events.live()
    sink = MemorySink(renderer=AlertRenderer(json_output=True))
    agent = Agent(cfg, sources=[source], sinks=[sink])
    agent.start()
    return agent, source, sink


def test_drops_above_the_threshold_make_an_internal_alert(
    rules_file: Path, events: Any, until: Any
) -> None:
    agent, source, sink = _run(
        rules_file, events, "syscall_event_drops.rate=100", "syscall_event_drops.max_burst=10"
    )
    try:
        source.stats.add(events=80, dropped=20)
        until(lambda: agent.counters.drop_alerts["live"] >= 1)
        assert sink.wait_for(1)
        alert = sink.alerts[0]
        assert alert.rule == "Falco internal: live event drop" and alert.source == "internal"
        assert alert.message == "Falco internal: live event drop. 20 events dropped in last second."
        assert alert.output_fields == {"n_drops": "20", "n_evts": "100"}
        assert alert.output.endswith(
            " Debug Falco internal: live event drop. 20 events dropped "
            'in last second. (n_drops="20" n_evts="100")'
        )
        assert sink.lines[0].startswith(b'{"hostname":"h","output":"Falco internal: live event')
        assert b'"tags"' not in sink.lines[0]
    finally:
        agent.stop()


def test_drops_at_or_below_the_threshold_do_nothing(rules_file: Path, events: Any) -> None:
    agent, source, sink = _run(rules_file, events)
    try:
        source.stats.add(events=90, dropped=10)  # 10% is not above the default 0.1
        time.sleep(1.3)  # the drop check runs once a second
        assert agent.counters.drop_episodes["live"] == 0 and sink.alerts == []
    finally:
        agent.stop()


def test_no_internal_alert_above_debug_priority(rules_file: Path, events: Any, until: Any) -> None:
    agent, _source, sink = _run(
        rules_file, events, "priority=info", "syscall_event_drops.simulate_drops=true"
    )
    try:
        until(lambda: agent.counters.drop_episodes["live"] >= 1)
        assert agent.counters.drop_alerts["live"] == 0 and sink.alerts == []
    finally:
        agent.stop()


def test_the_exit_action_stops_the_agent_with_its_status(
    rules_file: Path, events: Any, until: Any
) -> None:
    agent, _source, _sink = _run(
        rules_file,
        events,
        "syscall_event_drops.simulate_drops=true",
        "syscall_event_drops.actions=[exit]",
    )
    until(lambda: agent.wait(0))
    assert agent.stop() is ExitStatus.DROPS_EXIT


def test_the_drop_alert_names_the_throttled_producers(
    rules_file: Path, events: Any, until: Any
) -> None:
    """A source that knows who its drops came from (the syscall source's producer budgets)
    says so in the drop alert, most throttled first, at most five by name."""
    agent, source, sink = _run(
        rules_file, events, "syscall_event_drops.rate=100", "syscall_event_drops.max_burst=10"
    )
    throttled = [(100 + i, f"flood-{i}", 1000 - i) for i in range(7)]
    source.take_throttled = lambda: throttled
    try:
        source.stats.add(events=10, dropped=5000)
        until(lambda: agent.counters.drop_alerts["live"] >= 1)
        assert sink.wait_for(1)
        alert = sink.alerts[0]
        named = (
            "flood-0(pid 100) 1000, flood-1(pid 101) 999, flood-2(pid 102) 998, "
            "flood-3(pid 103) 997, flood-4(pid 104) 996 and 2 more"
        )
        assert alert.output_fields["throttled"] == named
        assert alert.message.endswith(f"Throttled producers (events suppressed): {named}.")
    finally:
        agent.stop()
