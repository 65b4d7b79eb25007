"""The agent loop: sources → engine → sinks, auto-stop, exit statuses, isolation, rate limiting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from secengine.agent import Agent, ExitStatus, TokenBucket, build_engine, source_label
from secengine.alert import Alert
from secengine.config import load_config
from secengine.errors import ConfigError, RulesLoadError
from secengine.events import Event
from secengine.sinks.base import Sink
from secengine.sinks.memory import MemorySink
from secengine.sources.base import BatchSource
from secengine.sources.replay import MemorySource
from secengine.sources.specs import load_rules


def _cfg(rules_file: Path, *options: str) -> Any:
    return load_config(
        options=[
            f"rules_files=[{rules_file}]",
            "stdout_output.enabled=false",
            "hostname=h",
            *options,
        ]
    )


def test_memory_source_to_memory_sink_then_stops_by_itself(rules_file: Path, events: Any) -> None:
    evs = [events.open(i) for i in range(50)] + [events.exec(50), events.open(51, "vi")]
    sink = MemorySink()
    agent = Agent(_cfg(rules_file), sources=[MemorySource(evs, batch_size=7)], sinks=[sink])
    assert agent.run(handle_signals=False) is ExitStatus.OK
    assert [a.rule for a in sink.alerts] == ["cat_open"] * 50 + ["ls_exec"]
    assert sink.alerts[0].output_fields["fd.name"] == "/etc/file0"
    assert agent.counters.events["memory"] == 52
    assert agent.counters.alerts[("cat_open", "Warning", "syscall")] == 50
    assert agent.counters.alerts[("ls_exec", "Notice", "syscall")] == 1
    assert agent.counters.rules_loaded == 2 and agent.counters.rules_load_seconds > 0


def test_embedding_with_own_engine_feed_and_callback(rules_file: Path, events: Any) -> None:
    engine = build_engine(load_config(), load_rules([str(rules_file)]))
    got: list[Alert] = []
    done = threading.Event()

    def on_alert(alert: Alert) -> None:
        got.append(alert)
        if len(got) == 3:
            done.set()

    with Agent(engine=engine, on_alert=on_alert) as agent:
        assert agent.feed([events.open(i) for i in range(3)])
        assert done.wait(5)
    assert agent.status is ExitStatus.OK
    assert [a.rule for a in got] == ["cat_open"] * 3
    assert [s.label for s in agent.sinks] == ["callback"]  # no stdout: no config was given


def test_rules_that_do_not_load(tmp_path: Path, events: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(events.broken_rules)
    agent = Agent(_cfg(bad))
    with pytest.raises(RulesLoadError, match="no.such.field"):
        agent.start()
    assert Agent(_cfg(bad)).run(handle_signals=False) is ExitStatus.RULES_FAILED


def test_an_output_that_cannot_start_is_a_configuration_error(
    rules_file: Path, tmp_path: Path
) -> None:
    cfg = _cfg(
        rules_file, "file_output.enabled=true", f"file_output.filename={tmp_path}/missing/dir/x"
    )
    agent = Agent(cfg)
    assert agent.run(handle_signals=False) is ExitStatus.CONFIG_ERROR
    assert isinstance(agent.error, ConfigError)
    assert "output file_output cannot start" in str(agent.error)


class _Failing(BatchSource):
    name: ClassVar[str] = "failing"

    def __init__(self, good: list[Event]) -> None:
        self.good = good
        self.stats = type("S", (), {"events": 0, "dropped": 0, "rejected": 0})()

    def batches(self) -> Iterator[list[Event]]:
        yield self.good
        raise OSError("device went away")


def test_a_failed_source_gives_its_status(rules_file: Path, events: Any) -> None:
    sink = MemorySink()
    agent = Agent(_cfg(rules_file), sources=[_Failing([events.open(0)])], sinks=[sink])
    assert agent.run(handle_signals=False) is ExitStatus.SOURCE_FAILED
    assert len(sink.alerts) == 1  # what it delivered before failing was evaluated


class _Stuck(Sink):
    name: ClassVar[str] = "stuck"

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        self.release = threading.Event()

    def deliver(self, alert: Alert) -> None:
        self.release.wait(10)


def test_a_stuck_sink_neither_stalls_evaluation_nor_other_sinks(
    rules_file: Path, events: Any
) -> None:
    stuck = _Stuck(queue_capacity=5)
    memory = MemorySink()
    source = events.live()
    agent = Agent(_cfg(rules_file, "output_timeout=200"), sources=[source], sinks=[stuck, memory])
    agent.start()
    for i in range(0, 200, 20):
        source.push([events.open(j) for j in range(i, i + 20)])
    assert memory.wait_for(200, timeout=5)
    assert stuck.stats.dropped >= 190
    agent.request_stop()
    assert agent.stop() is ExitStatus.UNDELIVERED  # the stuck sink lost alerts: not a clean run
    stuck.release.set()
    assert source.stopped and source.interest == frozenset({"open", "execve"})
    assert stuck.stats.dropped + stuck.stats.delivered + stuck.stats.failed == 200
    assert memory.stats.delivered == 200


def test_stop_drains_queued_events_and_flushes_sinks(rules_file: Path, events: Any) -> None:
    memory = MemorySink()
    source = events.live()
    agent = Agent(_cfg(rules_file), sources=[source], sinks=[memory])
    agent.start()
    for i in range(0, 3000, 100):
        source.push([events.open(j) for j in range(i, i + 100)])
    agent.stop()
    assert len(memory.alerts) == 3000 and memory.stats.dropped == 0


def test_outputs_rate_limits_alerts_per_source(rules_file: Path, events: Any) -> None:
    memory = MemorySink()
    agent = Agent(
        _cfg(rules_file, "outputs={rate: 0.001, max_burst: 3}"),
        sources=[MemorySource([events.open(i) for i in range(10)])],
        sinks=[memory],
    )
    assert agent.run(handle_signals=False) is ExitStatus.OK
    assert len(memory.alerts) == 3
    assert agent.counters.rate_limited["syscall"] == 7
    assert agent.counters.alerts[("cat_open", "Warning", "syscall")] == 3


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, 3, clock=lambda: now[0])
    assert [bucket.claim() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back
    assert bucket.claim() and not bucket.claim()
    now[0] = 100.0  # refills to max_tokens only
    assert sum(bucket.claim() for _ in range(10)) == 3


def test_selections_priority_and_formatting_come_from_the_config(
    rules_file: Path, events: Any
) -> None:
    memory = MemorySink()
    cfg = _cfg(
        rules_file, "priority=warning", "json_include_tags_property=false", "json_output=true"
    )
    agent = Agent(cfg, sources=[MemorySource([events.open(0), events.exec(1)])], sinks=[memory])
    agent.run(handle_signals=False)
    assert [a.rule for a in memory.alerts] == ["cat_open"]  # ls_exec is Notice: not loaded
    assert b'"tags"' not in memory.lines[0] and memory.lines[0].startswith(b'{"hostname":"h"')
    memory2 = MemorySink()
    cfg = _cfg(rules_file, "rules=[{disable: {tag: filesystem}}]")
    Agent(cfg, sources=[MemorySource([events.open(0), events.exec(1)])], sinks=[memory2]).run(
        handle_signals=False
    )
    assert [a.rule for a in memory2.alerts] == ["ls_exec"]


def test_sources_and_sinks_from_the_configuration(
    rules_file: Path, tmp_path: Path, events: Any
) -> None:
    import orjson

    lines = [
        orjson.dumps({"time": e.ts, "source": "syscall", "fields": dict(e.fields)})
        for e in [events.open(i) for i in range(4)]
    ]
    inp = tmp_path / "events.jsonl"
    inp.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "alerts.txt"
    cfg = _cfg(
        rules_file,
        f"sources={{replay: {{inputs: [{inp}]}}, off: {{enabled: false}}}}",
        f"file_output={{enabled: true, filename: {out}}}",
    )
    agent = Agent(cfg)
    assert agent.run(handle_signals=False) is ExitStatus.OK
    assert [type(s).__name__ for s in agent.sources] == ["ReplaySource"]
    assert len(out.read_text().splitlines()) == 4
    bad = _cfg(rules_file, "sources={replay: {no_such_setting: 1}}")
    with pytest.raises(ConfigError, match="sources.replay: "):
        Agent(bad).start()


def test_several_configured_sources_run_together(
    rules_file: Path, tmp_path: Path, events: Any
) -> None:
    import orjson

    paths = []
    for name, proc in (("a", "cat"), ("b", "vi")):
        p = tmp_path / f"{name}.jsonl"
        p.write_bytes(
            b"".join(
                orjson.dumps({"time": e.ts, "fields": dict(e.fields)}) + b"\n"
                for e in [events.open(i, proc) for i in range(3)]
            )
        )
        paths.append(p)
    (tmp_path / "more.yaml").write_text(events.other_rules)
    memory = MemorySink()
    cfg = _cfg(
        rules_file,
        f"rules_files[]={tmp_path / 'more.yaml'}",
        f"sources={{a: {{plugin: replay, inputs: [{paths[0]}]}}, "
        f"b: {{plugin: replay, inputs: [{paths[1]}]}}}}",
    )
    agent = Agent(cfg, sinks=[memory])
    assert agent.run(handle_signals=False) is ExitStatus.OK
    assert len(agent.sources) == 2
    assert sorted(a.rule for a in memory.alerts) == ["cat_open"] * 3 + ["vi_open"] * 3
    assert agent.counters.events["replay"] == 6
    assert [source_label(s) for s in agent.sources] == ["a", "b"]
