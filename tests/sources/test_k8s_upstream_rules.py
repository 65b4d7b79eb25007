"""Falco's upstream k8s_audit_rules.yaml, unmodified, over hand-written audit events.

Every rule listed in :data:`k8s_audit_cases.RULE_CASES` is checked with an
event that must trigger it and a near-miss that must not (with
``rule_matching: all``, so that other rules matching too do not hide it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from k8s_audit_cases import (
    K8S_RULES,
    RULE_CASES,
    UPSTREAM,
    audit_event,
    create_pod,
    exec_into,
    pod,
)
from upstream_rules import needs_upstream, require

from secengine.engine import Engine
from secengine.output import AlertFormatter
from secengine.sources.k8s_audit import make_event
from secengine.sources.specs import load_rules

Matching = Callable[[dict[str, Any]], set[str]]


@needs_upstream
def test_the_rules_file_loads_with_no_error_and_no_warning() -> None:
    rs = load_rules([str(K8S_RULES)])
    assert rs.successful
    assert [str(d) for r in rs.results for d in r.errors] == []
    assert [str(d) for r in rs.results for d in r.warnings] == []
    assert len(rs.rules) == 48
    assert {r.source for r in rs.rules} == {"k8s_audit"}


@needs_upstream
def test_loads_together_with_the_syscall_rules() -> None:
    rs = load_rules([str(UPSTREAM / "falco_rules.yaml"), str(K8S_RULES)])
    assert rs.successful
    assert [str(d) for r in rs.results for d in r.errors] == []
    sources = {r.source for r in rs.rules}
    assert sources == {"syscall", "k8s_audit"}


def test_at_least_twenty_rules_are_covered() -> None:
    assert len({c.rule for c in RULE_CASES}) >= 20


@pytest.mark.parametrize("case", RULE_CASES, ids=lambda c: f"{c.rule} ({c.why})")
def test_rule_positive_and_negative(case: Any, matching: Matching) -> None:
    assert case.rule in matching(case.positive)
    assert case.rule not in matching(case.negative), case.why


def _alert_text(doc: dict[str, Any]) -> list[str]:
    """The alert lines of every rule the event triggers (``time: Priority message``)."""
    engine = Engine(
        load_rules([str(require("k8s_audit_rules.yaml"))]),
        rule_matching="all",
        formatter=AlertFormatter(hostname="node-1"),
    )
    return [a.output for a in engine.process(make_event(doc))]


def test_privileged_pod_output() -> None:
    doc = create_pod(
        pod(
            containers=[
                {"name": "web", "image": "nginx:1.25.4", "securityContext": {"privileged": True}}
            ]
        )
    )
    outputs = [o.split(": ", 1)[1] for o in _alert_text(doc)]
    assert (
        "Warning Pod started with privileged container (user=alice@example.com pod=web-7f9c "
        "resource=pods ns=default images=(nginx:1.25.4) init_images=<NA> "
        "ephemeral_images=<NA>)"
    ) in outputs


def test_exec_output_reads_the_command_parameter() -> None:
    outputs = _alert_text(exec_into("web-7f9c", command=("cat", "/etc/shadow")))
    assert [o.split(": ", 1)[1] for o in outputs] == [
        (
            "Notice Attach/Exec to pod (user=alice@example.com pod=web-7f9c resource=pods "
            "ns=default action=exec command=cat)"
        )
    ]


@needs_upstream
def test_alert_time_is_the_stage_timestamp() -> None:
    doc = exec_into("web-7f9c", stage_timestamp="2024-05-02T10:15:30.987654321Z")
    engine = Engine(load_rules([str(K8S_RULES)]), formatter=AlertFormatter(hostname="node-1"))
    (alert,) = engine.process(make_event(doc))
    assert alert.time == 1714644930987654321
    assert alert.source == "k8s_audit"
    assert b'"time":"2024-05-02T10:15:30.987654321Z"' in engine.formatter.json(alert)


def test_sensitive_mount_output_prints_the_volumes_json(matching: Matching) -> None:
    doc = create_pod(pod(volumes=[{"name": "root", "hostPath": {"path": "/", "type": ""}}]))
    assert "Create Sensitive Mount Pod" in matching(doc)
    outputs = _alert_text(doc)
    assert any('volumes=[{"name":"root","hostPath":{"path":"/","type":""}}]' in o for o in outputs)


def test_first_match_mode_reports_the_first_rule_in_file_order(k8s_ruleset: Any) -> None:
    engine = Engine(k8s_ruleset)
    doc = create_pod(pod(hostNetwork=True), user="mallory")
    assert [a.rule for a in engine.process(make_event(doc))] == ["Disallowed K8s User"]


@needs_upstream
def test_user_overrides_enable_the_rules_disabled_by_default(tmp_path: Any) -> None:
    """The always-true/never-true macros are meant to be overridden by users."""
    local = tmp_path / "k8s_local.yaml"
    local.write_text(
        "- macro: allowed_k8s_containers\n"
        "  condition: (ka.req.pod.containers.image.repository in (registry.example.com/shop))\n"
        "  override:\n    condition: replace\n"
        "- macro: allowed_full_admin_users\n"
        "  condition: (ka.user.name=kubernetes-admin)\n"
        "  override:\n    condition: replace\n"
        "- macro: consider_all_events\n"
        "  condition: (k8s_audit_always_true)\n"
        "  override:\n    condition: replace\n"
    )
    rs = load_rules([str(K8S_RULES), str(local)])
    assert rs.successful
    engine = Engine(rs, rule_matching="all")

    def names(doc: dict[str, Any]) -> set[str]:
        return {r.name for r in engine.matching_rules(make_event(doc))}

    unknown = create_pod(pod(containers=[{"name": "x", "image": "docker.io/evil/miner:1"}]))
    known = create_pod(pod(containers=[{"name": "x", "image": "registry.example.com/shop:2.1"}]))
    assert "Create Disallowed Pod" in names(unknown)
    assert "Create Disallowed Pod" not in names(known)
    admin = audit_event(
        verb="get",
        resource="pods",
        name="p",
        namespace="default",
        user="kubernetes-admin@cluster.local",
    )
    assert "Full K8s Administrative Access" in names(admin)
    assert "All K8s Audit Events" in names(admin)
