"""Responses through the agent: configuration on/off, recorded sources, order of alerts, metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from test_responder import RULE, event_of
from victims import alive, orphans, wait_dead

from secengine.agent import Agent
from secengine.alert import Alert
from secengine.config import AgentConfig
from secengine.metrics import collect, render
from secengine.response.alerts import RESPONSE_RULE
from secengine.sources.replay import MemorySource


def agent_for(tmp_path: Path, response: dict[str, Any], **kw: Any) -> tuple[Agent, list[Alert]]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.replace("{RESPONSE}", "{actions: [kill_process]}"))
    cfg = AgentConfig(rules_files=[str(rules)], response=response, stdout_output={"enabled": False})
    got: list[Alert] = []
    return Agent(cfg, on_alert=got.append, **kw), got


def wait_for(pred: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end
        time.sleep(0.02)


def test_a_live_event_is_answered_after_its_alert(tmp_path: Path) -> None:
    agent, got = agent_for(tmp_path, {"enabled": True})
    with agent, orphans() as (pid,):
        agent.feed([event_of(pid)])
        wait_for(lambda: len(got) == 2)
        assert wait_dead(pid)
        text = render(collect(agent))
    assert [a.rule for a in got] == ["Shadow read", RESPONSE_RULE]
    assert got[1].output_fields["response.outcome"] == "done"
    assert (
        'secengine_responses_total{rule="Shadow read",action="kill_process",outcome="done"} 1'
        in text
    )
    assert 'secengine_response_latency_seconds_count{action="kill_process"} 1' in text
    assert "secengine_response_rules 1" in text


def test_configuration_off_nothing_happens(tmp_path: Path) -> None:
    agent, got = agent_for(tmp_path, {})
    with agent, orphans() as (pid,):
        agent.feed([event_of(pid)])
        wait_for(lambda: len(got) == 1)
        time.sleep(0.3)
        assert alive(pid)
        text = render(collect(agent))
    assert [a.rule for a in got] == ["Shadow read"]
    assert 'outcome="off"} 1' in text


def test_a_recorded_source_only_reports(tmp_path: Path) -> None:
    with orphans() as (pid,):
        agent, got = agent_for(tmp_path, {"enabled": True}, sources=[MemorySource([event_of(pid)])])
        with agent:
            wait_for(lambda: len(got) == 2)
        assert alive(pid)
    assert got[1].output_fields["response.outcome"] == "dry_run"
