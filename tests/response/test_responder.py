"""The responder through the engine: the switch, dry run, rate limits, tags, programs, alerts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from victims import alive, orphans, wait_dead

from secengine.agent.ratelimit import TokenBucket
from secengine.alert import Alert
from secengine.engine import Engine
from secengine.events import Event
from secengine.response.alerts import RESPONSE_RULE, RESPONSE_TAG
from secengine.response.proc import read_stat
from secengine.response.responder import Responder
from secengine.response.safety import Guard
from secengine.response.settings import AllowList, ResponseSettings
from secengine.sources.specs import load_rules

RULE = """- rule: Shadow read
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name
  priority: WARNING
  tags: [t1]
  secengine_response: {RESPONSE}
"""


def engine_for(response: str) -> Engine:
    rs = load_rules([("rules.yaml", RULE.replace("{RESPONSE}", response))])
    assert rs.successful, rs.render_text()
    return Engine(rs)


def event_of(pid: int, **extra: Any) -> Event:
    st = read_stat(pid)
    assert st is not None
    fields = {
        "evt.type": "openat",
        "fd.name": "/etc/shadow",
        "proc.pid": pid,
        "proc.pid.ts": st.start_ts,
        "proc.pgid": st.pgrp,
        "proc.name": st.comm,
        "container.id": "host",
        **extra,
    }
    return Event("syscall", time.time_ns(), fields)


class Harness:
    """An engine whose responder publishes into a list, as the agent's evaluator does."""

    def __init__(self, response: str, **settings: Any) -> None:
        self.engine = engine_for(response)
        self.published: list[Alert] = []
        opts: dict[str, Any] = {"enabled": True, **settings}
        self.responder = Responder(
            ResponseSettings(**opts),
            bucket=TokenBucket,
            render_json=self.engine.formatter.json,
            publish=self.published.extend,
            guard=Guard(opts.get("allow", AllowList()), self_pid=-1, own_container="host"),
        )
        self.engine.on_response = self.responder.on_match

    def run(self, event: Event) -> tuple[list[Alert], list[Alert]]:
        """(the rule's alerts, the response alerts made inline)."""
        alerts = self.engine.process(event)
        return alerts, self.responder.flush()

    def close(self) -> list[Alert]:
        self.responder.close()
        return self.published

    def outcomes(self) -> dict[tuple[str, str], int]:
        return {(a, o): n for (_, a, o), n in self.responder.stats.outcomes.items()}


def test_kill_and_its_alert() -> None:
    h = Harness("{actions: [kill_process]}")
    with orphans() as (pid,):
        alerts, responses = h.run(event_of(pid))
        assert wait_dead(pid)
    assert [a.rule for a in alerts] == ["Shadow read"]
    (resp,) = responses
    assert resp.rule == RESPONSE_RULE and resp.tags == (RESPONSE_TAG,)
    assert resp.output_fields["response.rule"] == "Shadow read"
    assert resp.output_fields["response.action"] == "kill_process"
    assert resp.output_fields["response.outcome"] == "done"
    assert resp.output_fields["proc.pid"] == pid
    assert resp.output_fields["response.latency_us"] >= 0
    assert resp.priority.title == "Warning" and "Response kill_process" in resp.output
    assert h.outcomes() == {("kill_process", "done"): 1}
    assert h.responder.stats.latency["kill_process"].count == 1
    h.close()


def test_off_means_nothing_happens() -> None:
    h = Harness("{actions: [kill_process, tag: {name: q}]}", enabled=False)
    with orphans() as (pid,):
        alerts, responses = h.run(event_of(pid))
        time.sleep(0.2)
        assert alive(pid)
    assert responses == [] and alerts[0].tags == ("t1",)
    assert h.outcomes() == {("kill_process", "off"): 1, ("tag", "off"): 1}
    assert h.close() == []


@pytest.mark.parametrize("where", ["config", "rule"])
def test_dry_run_kills_nothing(where: str) -> None:
    response = "{actions: [kill_process, kill_process_group, tag: {name: q}]"
    response += ", dry_run: true}" if where == "rule" else "}"
    h = Harness(response, dry_run=where == "config")
    with orphans(group=True) as (pid,):
        alerts, responses = h.run(event_of(pid))
        time.sleep(0.2)
        assert alive(pid)
    assert [r.output_fields["response.outcome"] for r in responses] == ["dry_run"] * 3
    assert all(r.output_fields["response.dry_run"] is True for r in responses)
    assert "would send SIGKILL" in responses[0].output_fields["response.detail"]
    assert alerts[0].tags == ("t1",)
    h.close()


def test_events_of_a_recorded_source_are_dry_runs() -> None:
    h = Harness("{actions: [kill_process]}")
    h.responder.recorded_batch = True
    with orphans() as (pid,):
        _, (resp,) = h.run(event_of(pid))
        assert alive(pid)
    assert resp.output_fields["response.outcome"] == "dry_run"
    h.close()


def test_tag_reaches_the_alert_the_sinks_get() -> None:
    h = Harness("{actions: [tag: {name: quarantine}, tag: {name: a-first}]}")
    with orphans() as (pid,):
        (alert,), responses = h.run(event_of(pid))
    assert alert.tags == ("a-first", "quarantine", "t1")
    assert [r.output_fields["response.outcome"] for r in responses] == ["done", "done"]
    h.close()


def test_rate_limits_report_once_and_count_all() -> None:
    h = Harness("{actions: [kill_process]}", rate=1000.0, max_burst=1000, per_rule_per_minute=2)
    with orphans(4) as pids:
        reported = [h.run(event_of(pid))[1] for pid in pids]
        assert not alive(pids[0]) or wait_dead(pids[0])
        assert all(alive(p) for p in pids[2:])
    assert [len(r) for r in reported] == [1, 1, 1, 0]
    assert reported[2][0].output_fields["response.outcome"] == "rate_limited"
    assert h.outcomes() == {("kill_process", "done"): 2, ("kill_process", "rate_limited"): 2}
    h.close()


def test_the_global_rate_limit() -> None:
    h = Harness("{actions: [tag: {name: q}]}", rate=0.001, max_burst=1)
    with orphans() as (pid,):
        h.run(event_of(pid))
        h.run(event_of(pid))
    assert h.outcomes() == {("tag", "done"): 1, ("tag", "rate_limited"): 1}
    h.close()


def test_program_gets_the_alert_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "alert.json"
    command = f"cat > {out}"
    h = Harness(f"{{actions: [tag: {{name: q}}, program: {{command: '{command}', timeout: 10}}]}}")
    with orphans() as (pid,):
        h.run(event_of(pid))
    published = h.close()
    (resp,) = published
    assert resp.output_fields["response.action"] == "program"
    assert resp.output_fields["response.outcome"] == "done", resp.output
    doc = json.loads(out.read_text())
    assert doc["rule"] == "Shadow read" and doc["tags"] == ["q", "t1"]
    assert doc["output_fields"]["proc.name"] == "sleep"


def test_a_failing_or_slow_program_is_reported() -> None:
    h = Harness(
        "{actions: [program: {command: 'echo no >&2; exit 3'}, "
        "program: {command: 'sleep 30', timeout: 0.5}]}"
    )
    with orphans() as (pid,):
        h.run(event_of(pid))
    failed, slow = h.close()
    assert failed.output_fields["response.outcome"] == "failed"
    assert "exited 3 (no)" in failed.output_fields["response.detail"]
    assert slow.output_fields["response.outcome"] == "failed"
    assert "killed after 0.5s" in slow.output_fields["response.detail"]


def test_container_actions_need_a_container() -> None:
    h = Harness("{actions: [stop_container]}")
    with orphans() as (pid,):
        h.run(event_of(pid))
    (resp,) = h.close()
    assert resp.output_fields["response.outcome"] == "no_target"


def test_an_allow_listed_container_is_not_stopped() -> None:
    h = Harness("{actions: [kill_container]}", allow=AllowList(containers=("keep*",)))
    with orphans() as (pid,):
        h.run(
            event_of(
                pid,
                **{
                    "container.id": "0123456789ab",
                    "container.name": "keeper",
                    "container.type": "podman",
                },
            )
        )
    (resp,) = h.close()
    assert resp.output_fields["response.outcome"] == "refused"
    assert "allow-list (keep*)" in resp.output_fields["response.detail"]


def test_kernel_kills_are_reported_not_repeated() -> None:
    class Probe:
        def killed(self, rule: Any, event: Event) -> bool:
            return True

    h = Harness("{actions: [kill_process]}")
    h.responder.kernel_kills = Probe()
    with orphans() as (pid,):
        _, (resp,) = h.run(event_of(pid))
        assert alive(pid)  # the fake probe killed nothing: user space did not either
    assert resp.output_fields["response.outcome"] == "in_kernel"
    h.close()
