"""The in-kernel stream-socket filter is derived from the rules, in three-valued logic."""

from __future__ import annotations

from pathlib import Path

from upstream_rules import UPSTREAM, needs_upstream

from secengine.ruleset import load_rules
from secengine.sources.syscall_interest import stream_skippable


def _rules(tmp_path: Path, condition: str) -> list:
    f = tmp_path / "r.yaml"
    f.write_text(f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n"
                 "  priority: WARNING\n")
    rs = load_rules([str(f)])
    assert rs.successful
    return rs.rules


@needs_upstream
def test_stable_rules_never_look_at_tcp_socket_io() -> None:
    rules = load_rules([str(UPSTREAM / "falco_rules.yaml")]).rules
    assert stream_skippable(rules) == {"sendto", "sendmsg", "recvfrom", "recvmsg"}


def test_a_rule_that_may_match_tcp_keeps_its_type(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "evt.type = sendto and proc.name = curl")
    assert "sendto" not in stream_skippable(rules)
    assert "recvfrom" in stream_skippable(rules)


def test_a_rule_restricted_to_udp_does_not(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "evt.type in (sendto, recvfrom) and fd.l4proto = udp")
    assert stream_skippable(rules) == {"sendto", "sendmsg", "recvfrom", "recvmsg"}


def test_negation_and_unknown_fields(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "evt.type = sendto and not (fd.l4proto = tcp or proc.name = x)")
    assert "sendto" in stream_skippable(rules)
    rules = _rules(tmp_path, "evt.type = sendto and not (fd.l4proto = tcp and proc.name = x)")
    assert "sendto" not in stream_skippable(rules)
