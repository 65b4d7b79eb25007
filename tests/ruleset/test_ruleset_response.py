"""The ``secengine_response`` rule key: its shapes, its compiled plan, and Falco files unchanged.

Every error message of the key has a located case in test_ruleset_messages.py;
this file checks what a valid key compiles to and that rules without it are
exactly what they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruleset_helpers import load

from secengine.ruleset.response import (
    ActionKind,
    InKernel,
    KillContainer,
    KillProcess,
    KillProcessGroup,
    ResponsePlan,
    RunProgram,
    StopContainer,
    Tag,
)
from secengine.sources.specs import load_rules

RULE = """- rule: r
  desc: d
  condition: evt.type = open and fd.name = /etc/shadow
  output: o %proc.name
  priority: WARNING
"""


def plan_of(text: str) -> ResponsePlan:
    rs = load(RULE + text)
    assert rs.successful, rs.render_text()
    assert rs.results[0].warnings == [], rs.render_text()
    assert rs.results[0].schema_warnings == ["ok"]
    plan = rs.rule("r").response
    assert plan is not None
    return plan


def test_every_action_in_both_spellings() -> None:
    plan = plan_of(
        "  secengine_response:\n"
        "    actions:\n"
        "      - kill_process\n"
        "      - kill_process_group:\n"
        "      - stop_container: {timeout: 3}\n"
        "      - program: {command: ' logger -t x ', timeout: 1.5}\n"
        "      - program: {command: cat}\n"
        "      - tag: {name: quarantine}\n"
        "      - tag: {name: 'team:sec/pager'}\n"
    )
    assert plan.actions == (
        KillProcess(),
        KillProcessGroup(),
        StopContainer(3),
        RunProgram("logger -t x", 1.5),
        RunProgram("cat", 5.0),
        Tag("quarantine"),
        Tag("team:sec/pager"),
    )
    assert plan.in_kernel is InKernel.AUTO and plan.dry_run is False
    assert plan.tags == ("quarantine", "team:sec/pager")
    assert plan.kernel_kill_candidate


def test_options() -> None:
    plan = plan_of(
        "  secengine_response: {actions: [kill_container: {}], in_kernel: never, dry_run: yes}\n"
    )
    assert plan == ResponsePlan((KillContainer(),), InKernel.NEVER, dry_run=True)
    assert not plan.kernel_kill_candidate
    assert plan.kinds == {ActionKind.KILL_CONTAINER}


def test_in_kernel_needs_kill_process() -> None:
    plan = plan_of("  secengine_response: {actions: [kill_process_group, tag: {name: t}]}\n")
    assert not plan.kernel_kill_candidate


def test_defaults() -> None:
    assert plan_of("  secengine_response: {actions: [stop_container]}\n").actions == (
        StopContainer(10),
    )


def test_a_rule_without_the_key_asks_nothing() -> None:
    rs = load(RULE)
    assert rs.rule("r").response is None


def test_the_key_is_known_no_unknown_key_warning() -> None:
    rs = load(RULE + "  secengine_response: {actions: [kill_process]}\n")
    assert rs.render_text() == "rules.yaml: Ok"


def test_attach_a_response_to_a_rule_from_another_file() -> None:
    """A Falco rules file stays unmodified; a second file adds the response by override."""
    rs = load(
        RULE,
        "- rule: r\n"
        "  secengine_response: {actions: [kill_process]}\n"
        "  override: {secengine_response: replace}\n",
    )
    assert rs.successful, rs.render_text()
    plan = rs.rule("r").response
    assert plan is not None and plan.actions == (KillProcess(),)
    assert rs.rule("r").condition_compiled == "(evt.type = open and fd.name = /etc/shadow)"


def test_a_later_definition_drops_the_response() -> None:
    rs = load(RULE + "  secengine_response: {actions: [kill_process]}\n", RULE)
    assert rs.rule("r").response is None


def test_an_append_keeps_the_response() -> None:
    rs = load(
        RULE + "  secengine_response: {actions: [kill_process]}\n",
        "- rule: r\n  condition: and proc.name = cat\n  override: {condition: append}\n",
    )
    assert rs.successful, rs.render_text()
    assert rs.rule("r").response == ResponsePlan((KillProcess(),))


def test_program_and_tag_suit_any_source() -> None:
    rs = load(
        "- rule: k\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: INFO\n"
        "  source: k8s_audit\n"
        "  secengine_response: {actions: [program: {command: cat}, tag: {name: t}]}\n"
    )
    assert rs.successful, rs.render_text()


@pytest.mark.parametrize("name", ["falco_rules.yaml", "falco-incubating_rules.yaml"])
def test_falco_files_load_as_before(upstream_dir: Path, name: str) -> None:
    """No upstream rule asks for a response, and the validation text has no trace of the key."""
    rs = load_rules([upstream_dir / name])
    assert all(rule.response is None for rule in rs.rules)
    assert "secengine_response" not in rs.render_text()
