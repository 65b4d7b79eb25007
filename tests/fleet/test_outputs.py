"""The NATS and Redis outputs against real brokers: delivery, restart, full spool, bad credentials."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from broker_support import Broker, make_broker, read_stream, sink_options

from secengine.alert import Alert
from secengine.priority import Priority
from secengine.sinks.base import Sink, SinkError
from secengine.sinks.nats import NatsSink
from secengine.sinks.redis import RedisSink


def _alert(n: int, node: str = "n1", rule: str = "Write below etc") -> Alert:
    return Alert(
        rule=rule,
        priority=Priority.WARNING if n % 2 else Priority.CRITICAL,
        source="syscall",
        time=1_700_000_000_000_000_000 + n,
        output=f"alert {node} {n}",
        output_fields={"node": node, "n": n},
        tags=("t",),
        hostname=node,
        message=f"alert {node} {n}",
    )


def _sink(b: Broker, spool: Path, **more: Any) -> Sink:
    cls = NatsSink if b.kind == "nats" else RedisSink
    return cls(**sink_options(b, spool, **more))


def _numbers(b: Broker, node: str) -> list[int]:
    """The alert numbers of ``node`` the broker holds, in stream order, duplicates dropped by
    id (what a consumer does: Redis may hold a resent entry twice)."""
    seen: set[str] = set()
    out = []
    for _key, mid, body in read_stream(b):
        doc = json.loads(body)
        if doc["output_fields"]["node"] != node or mid in seen:
            continue
        seen.add(mid)
        out.append(doc["output_fields"]["n"])
    return out


def test_alerts_arrive_in_order_named_by_node_rule_and_priority(
    broker: Broker, tmp_path: Path
) -> None:
    sink = _sink(broker, tmp_path / "spool", node="node-a")
    sink.start()
    for n in range(500):
        assert sink.submit(_alert(n, "node-a"))
    assert sink.stop(30)
    assert (sink.stats.delivered, sink.stats.dropped, sink.stats.failed) == (500, 0, 0)
    held = read_stream(broker)
    assert [json.loads(body)["output_fields"]["n"] for _k, _i, body in held] == list(range(500))
    # Falco's alert JSON, with an id per alert
    first = json.loads(held[0][2])
    assert first["rule"] == "Write below etc" and first["priority"] == "Critical"
    assert len({mid for _k, mid, _b in held}) == 500
    if broker.kind == "nats":
        assert held[0][0] == "secengine.alerts.node-a.Critical.Write_below_etc"
        assert held[1][0] == "secengine.alerts.node-a.Warning.Write_below_etc"


def test_a_broker_restart_loses_nothing_and_keeps_each_nodes_order(
    broker: Broker, tmp_path: Path
) -> None:
    sinks = {node: _sink(broker, tmp_path / node, node=node) for node in ("a", "b")}
    for s in sinks.values():
        s.start()
    total = 3000
    sent = threading.Event()

    def produce() -> None:
        for n in range(total):
            for node, s in sinks.items():
                assert s.submit(_alert(n, node))
            if n % 100 == 0:
                time.sleep(0.01)  # alerts keep coming while the broker is away
        sent.set()

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.3)
    broker.restart(down=1.5)
    producer.join(60)
    assert sent.is_set()
    for s in sinks.values():
        assert s.stop(60)
        assert s.stats.delivered == total and s.stats.lost == 0, s.stats
    for node in sinks:
        assert _numbers(broker, node) == list(range(total))


def test_a_full_spool_evicts_the_oldest_counts_them_and_raises_an_internal_alert(
    tmp_path: Path,
) -> None:
    b = make_broker("nats", tmp_path / "nats-data")  # not started: the broker is down
    sink = _sink(b, tmp_path / "spool", node="n", spool_max_bytes=65536)
    sink.start()
    for n in range(2000):
        sink.submit(_alert(n, "n"))
    deadline = time.monotonic() + 30
    while sink.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    alerts = sink.internal_alerts("central")
    assert len(alerts) == 1
    evicted = int(alerts[0].output_fields["n_drops"])
    assert evicted > 0
    assert (
        "spool full" in alerts[0].output and alerts[0].rule == "Falco internal: output spool full"
    )
    assert sink.internal_alerts("central") == []  # reported once
    b.start()
    try:
        assert sink.stop(60)
        assert sink.stats.dropped == evicted
        assert sink.stats.delivered == 2000 - evicted
        got = _numbers(b, "n")
        # what survived is the newest, in order
        assert got == list(range(evicted, 2000))
    finally:
        b.stop()


def test_alerts_spooled_while_the_agent_stops_go_out_at_its_next_start(tmp_path: Path) -> None:
    b = make_broker("redis", tmp_path / "redis-data")
    first = _sink(b, tmp_path / "spool", node="n")
    first.start()
    for n in range(100):
        first.submit(_alert(n, "n"))
    assert not first.stop(1.0)  # the broker is down: counted as dropped for this run...
    assert first.stats.dropped == 100
    b.start()
    try:
        second = _sink(b, tmp_path / "spool", node="n")
        second.start()  # ...and published, first, by the next run
        second.submit(_alert(100, "n"))
        assert second.stop(30)
        assert second.stats.delivered == 1
        assert _numbers(b, "n") == list(range(101))
    finally:
        b.stop()


@pytest.mark.parametrize("kind", ["nats", "redis"])
def test_bad_credentials_are_one_sentence_and_the_agent_does_not_start(
    kind: str, tmp_path: Path
) -> None:
    b = make_broker(
        kind, tmp_path / "data", password="secret", **({"user": "alice"} if kind == "nats" else {})
    )
    b.start()
    try:
        block = sink_options(b, tmp_path / "spool", enabled=True)
        if kind == "nats":
            block.update(user="alice", password="wrong")
        else:
            block.update(password="wrong")
        config = tmp_path / "agent.yaml"
        config.write_text(
            json.dumps(
                {
                    "stdout_output": {"enabled": False},
                    f"{kind}_output": block,
                    "sources": {"replay": {"inputs": [str(tmp_path / "none.jsonl")]}},
                }
            )
        )
        (tmp_path / "none.jsonl").write_text("")
        run = subprocess.run(
            [sys.executable, "-m", "secengine.cli", "run", "-c", str(config)],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        b.stop()
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    wanted = "Authorization Violation" if kind == "nats" else "invalid username-password"
    lines = [line for line in run.stderr.splitlines() if wanted in line]
    assert lines and f"output {kind}_output cannot start" in lines[0], run.stderr


def test_the_agent_sends_the_spool_full_alert_to_every_output_and_counts_it(
    tmp_path: Path,
) -> None:
    from broker_support import free_port

    from secengine.agent import Agent
    from secengine.config import AgentConfig
    from secengine.metrics import fleet_metrics, render
    from secengine.sources.replay import MemorySource, read_events

    root = Path(__file__).resolve().parents[2]
    base = list(read_events(root / "samples" / "events.jsonl"))
    events = [
        type(e)(e.source, e.ts + copy * 10**12, dict(e.fields), 0)
        for copy in range(20)
        for e in base
    ]
    cfg = AgentConfig.model_validate(
        {
            "rules_files": [str(root / "rules")],
            "stdout_output": {"enabled": False},
            "output_timeout": 200,
            "nats_output": {
                "enabled": True,
                "servers": [f"nats://127.0.0.1:{free_port()}"],  # nobody listens
                "spool_dir": str(tmp_path / "spool"),
                "spool_max_bytes": 65536,
            },
        }
    )
    seen: list[Alert] = []
    agent = Agent(cfg, sources=[MemorySource(events)], on_alert=seen.append)
    agent.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        a.rule == "Falco internal: output spool full" for a in seen
    ):
        time.sleep(0.05)
    sink = next(s for s in agent.sinks if s.label == "nats_output")
    text = render(fleet_metrics(agent.sinks, agent.sources))
    agent.stop()
    full = [a for a in seen if a.rule == "Falco internal: output spool full"]
    assert full, "no internal alert about the full spool"
    assert full[0].output_fields["output"] == "nats_output"
    assert int(full[0].output_fields["n_drops"]) > 0
    assert sink.stats.dropped >= int(full[0].output_fields["n_drops"])
    assert 'secengine_spool_evicted_total{sink="nats_output",what="alerts"}' in text


@pytest.mark.parametrize("kind", ["nats", "redis"])
def test_tls_with_the_brokers_ca_delivers_and_without_it_is_refused_in_one_sentence(
    kind: str, tmp_path: Path, pki: Any
) -> None:
    b = make_broker(kind, tmp_path / "data", tls=(pki.server_cert, pki.server_key))
    b.start()
    try:
        sink = _sink(b, tmp_path / "spool", node="n", ca_cert=str(pki.ca))
        sink.start()
        for n in range(10):
            sink.submit(_alert(n, "n"))
        assert sink.stop(30)
        assert sink.stats.delivered == 10
        untrusting = _sink(b, tmp_path / "spool2", node="n")  # the system's CAs only
        with pytest.raises(SinkError, match="certificate verify failed") as refused:
            untrusting.start()
        assert "\n" not in str(refused.value)
    finally:
        b.stop()
