"""What the probe can skip or favour, derived from the rules in three-valued logic: the
stream-socket filter, the success-only filter and the priority paths."""

from __future__ import annotations

from pathlib import Path

from upstream_rules import UPSTREAM, needs_upstream

from secengine.sources.specs import load_rules
from secengine.sources.syscall_interest import (
    priority_paths,
    stream_skippable,
    success_only_types,
)


def _rules(tmp_path: Path, condition: str) -> list:
    f = tmp_path / "r.yaml"
    f.write_text(
        f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: WARNING\n"
    )
    rs = load_rules([str(f)])
    assert rs.successful
    return rs.rules


def _stable_rules() -> list:
    """Falco's stable rules, all loaded: with none, every filter would hold vacuously."""
    rs = load_rules([str(UPSTREAM / "falco_rules.yaml")])
    assert rs.successful, rs.render_text()
    assert len(rs.rules) > 20
    return rs.rules


@needs_upstream
def test_stable_rules_never_look_at_tcp_socket_io() -> None:
    rules = _stable_rules()
    # they do look at socket I/O: UDP sends to a non-standard SSH port
    assert any(r.evttypes is not None and "sendto" in r.evttypes for r in rules)
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


# -- success only: failed calls no rule can match are dropped in the kernel ----------------


def _success_only(
    tmp_path: Path, condition: str, types: tuple[str, ...] = ("openat",)
) -> frozenset[str]:
    return success_only_types(_rules(tmp_path, condition), types)


def test_rules_requiring_success_let_failures_be_dropped(tmp_path: Path) -> None:
    assert _success_only(tmp_path, "evt.type = openat and evt.res = SUCCESS") == {"openat"}
    assert _success_only(tmp_path, "evt.type = openat and fd.num >= 0") == {"openat"}
    assert _success_only(tmp_path, "evt.type = openat and evt.rawres >= 0") == {"openat"}
    assert _success_only(tmp_path, "evt.type = openat and not evt.failed = true") == {"openat"}


def test_a_rule_that_may_see_a_failure_keeps_them(tmp_path: Path) -> None:
    # one errno is enough, including the kernel's restart codes
    assert _success_only(tmp_path, "evt.type = openat and evt.res = EACCES") == set()
    assert _success_only(tmp_path, "evt.type = openat and evt.rawres = -512") == set()
    assert _success_only(tmp_path, "evt.type = openat and proc.name = cat") == set()
    assert _success_only(tmp_path, "evt.type = openat and evt.res != SUCCESS") == set()
    # a rule on every type sees failures of every type
    assert _success_only(tmp_path, "proc.name = cat and evt.res = SUCCESS or fd.num < 0") == set()


def test_a_type_no_rule_names_is_not_affected_by_other_rules(tmp_path: Path) -> None:
    got = _success_only(tmp_path, "evt.type = connect and proc.name = nc", ("openat", "connect"))
    assert got == {"openat"}


@needs_upstream
def test_stable_rules_keep_failed_opens_for_directory_traversal() -> None:
    from secengine.bpf.syscalls import FAILURE_STATELESS

    got = success_only_types(_stable_rules(), FAILURE_STATELESS)
    assert "openat" not in got  # "Directory traversal monitored file read" looks at failures
    assert {"creat", "unlinkat", "mkdir"} <= got


def test_failures_the_state_needs_are_never_dropped() -> None:
    from secengine.bpf import layout as L
    from secengine.bpf.syscalls import entry_name, spec_entries

    entries = spec_entries(
        {"connect", "openat", "close"}, success_only=("connect", "openat", "close")
    )
    flagged = {
        entry_name(key) for key, raw in entries.items() if L.SPEC.unpack(raw)[3] & L.X_SUCCESS_ONLY
    }
    assert flagged == {"openat"}  # a non-blocking connect "fails" with EINPROGRESS


# -- priority paths: files the rules name --------------------------------------------------


def test_files_and_directories_rules_compare_opens_with(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        "evt.type = openat and (fd.name in (/etc/shadow, relative) "
        "or fd.directory = /root/.ssh or fd.name startswith /var/log/ "
        "or fd.name contains secret) and not fd.name = /etc/ok",
    )
    names, prefixes = priority_paths(rules)
    assert names == {"/etc/shadow", "/etc/ok"}
    assert prefixes == {"/root/.ssh/", "/var/log/"}


def test_rules_not_on_opens_name_no_priority_path(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "evt.type = unlinkat and evt.arg.name = /etc/shadow")
    assert priority_paths(rules) == (frozenset(), frozenset())
