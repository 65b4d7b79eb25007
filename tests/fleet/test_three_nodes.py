"""The issue's "done when": three nodes replay different inputs into one broker, one central
evaluator, a broker restart in the middle, and the central alerts are exactly those of a single
replay of all the inputs (per node in the same order). A fourth agent serves the Kubernetes
audit webhook and forwards what kube-apiserver (here: the test) posts, as a cluster's audit
host does. Everything through the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from broker_support import Broker, free_port, read_stream, sink_options

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "rules")
AUDIT_RULES = str(ROOT / "samples" / "k8s_audit_rules.yaml")
AUDIT_LOG = ROOT / "samples" / "k8s_audit.jsonl"
COPIES = 15  # each node's share of the samples, this many times (distinct times)


def _inputs(tmp: Path) -> list[Path]:
    lines = (ROOT / "samples" / "events.jsonl").read_bytes().splitlines()
    out = []
    for node in range(3):
        mine = lines[node::3]
        path = tmp / f"node{node}.jsonl"
        with open(path, "wb") as f:
            for copy in range(COPIES):
                for line in mine:
                    doc = orjson.loads(line)
                    doc["time"] += copy * 10**12
                    f.write(orjson.dumps(doc) + b"\n")
        out.append(path)
    return out


def _cli(*args: str, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "secengine.cli", *args], **kw)


def _replay(*inputs: Path, source: tuple[str, ...] = ()) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "secengine.cli", "replay", "--json", "-r", RULES, "-r", AUDIT_RULES]
        + [*source, "--hostname", "central", *map(str, inputs)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return run.stdout.decode().splitlines()


def _node_config(b: Broker, tmp: Path, i: int, source: dict[str, Any]) -> Path:
    block = sink_options(b, tmp / f"spool{i}", enabled=True, events=True, node=f"node{i}")
    config = tmp / f"node{i}.yaml"
    config.write_text(
        json.dumps(
            {
                "rules_files": [RULES, AUDIT_RULES],
                "stdout_output": {"enabled": False},
                "output_timeout": 120000,  # wait for the broker to come back
                f"{b.kind}_output": block,
                "sources": source,
            }
        )
    )
    return config


def _post_audit_log(port: int) -> None:
    """What kube-apiserver's webhook backend does: POST each batch, expect 200."""
    import urllib.request

    for line in AUDIT_LOG.read_bytes().splitlines():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/k8s-audit",
            data=line,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    assert answer.status == 200
                    break
            except OSError:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _central_args(b: Broker) -> list[str]:
    if b.kind == "nats":
        return ["--source", "nats", "--nats-server", b.url]
    return ["--source", "redis", "--redis-url", b.url]


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_three_nodes_and_a_central_evaluator_through_a_broker_restart(
    broker: Broker, tmp_path: Path
) -> None:
    inputs = _inputs(tmp_path)
    per_node = [_replay(p) for p in inputs]
    per_node.append(_replay(AUDIT_LOG, source=("--source", "k8s_audit")))
    expected = [line for mine in per_node for line in mine]
    assert len(expected) > 100 and per_node[-1]

    out = tmp_path / "central.jsonl"
    err = tmp_path / "central.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        central = _cli(
            "run", "--json", "-r", RULES, "-r", AUDIT_RULES, "--hostname", "central",
            *_central_args(broker),
            stdout=o, stderr=e,
        )  # fmt: skip
    nodes: list[subprocess.Popen[bytes]] = []
    started: list[subprocess.Popen[bytes]] = []  # every agent, killed at the end if still up
    at_restart = -1
    try:
        deadline = time.monotonic() + 60
        while b"started" not in err.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        for i, path in enumerate(inputs):
            config = _node_config(broker, tmp_path, i, {"replay": {"inputs": [str(path)]}})
            nodes.append(
                _cli("run", "-c", str(config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            )
            started.append(nodes[-1])
        webhook = free_port()
        audit_config = _node_config(
            broker,
            tmp_path,
            3,
            {"k8s_audit": {"open_params": f"http://127.0.0.1:{webhook}/k8s-audit"}},
        )
        audit_node = _cli(
            "run", "-c", str(audit_config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(audit_node)
        _post_audit_log(webhook)
        # the broker goes away while the nodes send and the central evaluator consumes
        while not _lines(out) and time.monotonic() < deadline:
            time.sleep(0.02)
        at_restart = len(_lines(out))
        broker.restart(down=1.5)
        for node in nodes:
            _, node_err = node.communicate(timeout=240)
            assert node.returncode == 0, node_err.decode()
            assert b"0 alerts not delivered" in node_err, node_err.decode()
        deadline = time.monotonic() + 120
        while len(_lines(out)) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a late duplicate would show now
        audit_node.send_signal(signal.SIGTERM)  # a webhook never ends by itself
        _, audit_err = audit_node.communicate(timeout=120)
        assert audit_node.returncode == 0, audit_err.decode()
        assert b"0 alerts not delivered" in audit_err, audit_err.decode()
    finally:
        central.send_signal(signal.SIGTERM)
        central.wait(60)
        for node in started:
            if node.poll() is None:
                node.kill()
    got = _lines(out)
    assert sorted(got) == sorted(expected), err.read_text()[-3000:]
    print(f"central alerts at the restart: {at_restart} of {len(expected)}")
    assert at_restart < len(expected)  # the restart came while alerts were still coming
    # each node's events are in the broker in the node's order, once (by id)
    for i, path in enumerate(inputs):
        sent = [orjson.loads(line)["time"] for line in path.read_bytes().splitlines()]
        assert _held_times(broker, f"node{i}:") == sent
    # the central agent evaluates in the stream's order, except what the broker redelivers
    # after a lost delivery: JetStream only after ack_wait (docs/fleet.md); Redis hands a
    # consumer its own unacknowledged entries first, so there each node's order holds
    if broker.kind == "redis":
        position = {line: n for n, line in enumerate(got)}
        for mine in per_node:
            assert sorted(mine, key=position.__getitem__) == mine
    assert "Traceback" not in err.read_text()


def _held_times(b: Broker, node: str) -> list[int]:
    seen: set[str] = set()
    out = []
    for _key, mid, body in read_stream(b, "events"):
        if mid.startswith(node) and mid not in seen:
            seen.add(mid)
            out.append(orjson.loads(body)["time"])
    return out
