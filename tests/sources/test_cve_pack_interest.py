"""The CVE pack keeps the probe's kernel-side filters: TCP socket I/O stays dropped.

The netlink rules (CVE-2024-1086, CVE-2022-2588/CVE-2023-3776) look at ``sendto`` and
``sendmsg``; unless their conditions say they cannot match a TCP socket, every TCP send on
the host would be captured and handed to userspace for nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from secengine.bpf import layout as L
from secengine.bpf.syscalls import SOCKETCALL_NR, interest_bytes, spec_entries
from secengine.ruleset.paths import default_rules_files
from secengine.sources.specs import load_rules
from secengine.sources.syscall_interest import (
    DIRFD_RELATIVE,
    compat_only_types,
    failed_write_only_types,
    netlink_only_types,
    stream_skippable,
)
from secengine.syscall_table import IA32_NUMBERS, NUMBERS


def test_the_shipped_rules_never_look_at_tcp_socket_io() -> None:
    rs = load_rules([str(p) for p in default_rules_files()])
    assert rs.successful, rs.render_text()
    netlink = [r for r in rs.rules if r.evttypes is not None and "sendmsg" in r.evttypes]
    assert {"CVE-2024-1086", "CVE-2022-2588"} <= {t for r in netlink for t in r.tags}
    assert stream_skippable(rs.rules) == {"sendto", "sendmsg", "recvfrom", "recvmsg"}


def test_the_shipped_rules_read_sends_only_on_netlink_sockets() -> None:
    """So the probe drops every other send in the kernel: loading the pack used to bring each
    UDP and datagram unix send of the node (DNS, syslog) to userspace."""
    rs = load_rules([str(p) for p in default_rules_files()])
    assert netlink_only_types(rs.rules) == {"sendto", "sendmsg"}


def test_a_rule_reading_other_sends_keeps_them(tmp_path: Path) -> None:
    own = tmp_path / "udp.yaml"
    own.write_text(
        "- rule: udp send\n  desc: d\n  condition: evt.type = sendto and fd.l4proto = udp\n"
        "  output: o\n  priority: NOTICE\n"
    )
    rs = load_rules([*map(str, default_rules_files()), str(own)])
    assert rs.successful, rs.render_text()
    assert netlink_only_types(rs.rules) == {"sendmsg"}


def _without_cve_2024_21626(rules: list[Any]) -> list[Any]:
    return [r for r in rules if "CVE-2024-21626" not in r.tags]


def test_the_pack_reads_failed_opens_only_for_writing_but_cve_2024_21626() -> None:
    """So the probe drops failed read-only opens in the kernel (ENOENT from library and PATH
    searches, mostly): core_pattern, release_agent and the overlayfs copy-up rules match
    refused opens only when they are for writing, and no other rule reads failures."""
    rs = load_rules([str(p) for p in default_rules_files()])
    assert failed_write_only_types(_without_cve_2024_21626(rs.rules)) == {
        "open": frozenset(),
        "openat": frozenset(),
    }


def test_cve_2024_21626_keeps_only_failed_read_only_opens_through_fd_links() -> None:
    """Its rule matches refused opens through /proc/*/fd/N/ and /dev/fd/N/ in a container,
    reads included: the probe keeps failed read-only opens whose path (as passed: the rule
    reads ``fd.nameraw``) starts with /proc/ or /dev/fd/, and drops the rest. Pinned: a
    change here changes the pack's cost (docs/performance.md, "The CVE pack's cost")."""
    rs = load_rules([str(p) for p in default_rules_files()])
    keep = frozenset({"/proc/", "/dev/fd/"})
    assert failed_write_only_types(rs.rules) == {"open": keep, "openat": keep | {DIRFD_RELATIVE}}


def test_a_refused_open_relative_to_a_directory_fd_is_kept_for_the_outside_root_check(
    tmp_path: Path,
) -> None:
    """The probe walks a refused ``openat(dirfd, "relative")``'s directory to tell whether it
    lies outside the process's root (``fd.is_outside_root``, CVE-2024-21626's leaked fd used
    without a path): a rule reading that keeps such failures (``DIRFD_RELATIVE``), and no
    other, whatever their path."""
    rules = _rule(tmp_path, "evt.type = openat and fd.is_outside_root = true")
    assert failed_write_only_types(rules) == {
        "open": frozenset(),
        "openat": frozenset({DIRFD_RELATIVE}),
    }


def _rule(tmp_path: Path, condition: str) -> list[Any]:
    own = tmp_path / "own.yaml"
    own.write_text(
        f"- rule: own\n  desc: d\n  condition: {condition}\n  output: o\n  priority: NOTICE\n"
    )
    rs = load_rules([*map(str, default_rules_files()), str(own)])
    assert rs.successful, rs.render_text()
    return _without_cve_2024_21626(rs.rules)


def test_a_rule_reading_failed_read_only_opens_keeps_them(tmp_path: Path) -> None:
    rules = _rule(tmp_path, "evt.type = openat and evt.res = ENOENT")
    assert failed_write_only_types(rules) == {"open": frozenset()}


@pytest.mark.parametrize(
    ("check", "keep"),
    [
        ("fd.nameraw startswith /srv/data/", {"/srv/data/"}),
        ('fd.nameraw glob "/srv/*/secret"', {"/srv/"}),
        ("evt.arg.name in (/etc/a, /etc/b)", {"/etc/a", "/etc/b"}),
        ("fd.nameraw pmatch (/opt/x)", {"/opt/x"}),
    ],
)
def test_a_rule_on_failed_opens_of_some_paths_keeps_those_paths(
    tmp_path: Path, check: str, keep: set[str]
) -> None:
    rules = _rule(tmp_path, f"evt.type = openat and evt.res = EACCES and {check}")
    assert failed_write_only_types(rules) == {"open": frozenset(), "openat": frozenset(keep)}


@pytest.mark.parametrize(
    "check",
    [
        # resolved names: the probe sees the path as passed (relative, "..", "//")
        "fd.name startswith /srv/",
        "fd.directory = /srv",
        # a negated path check, or one with no literal prefix, names no path to keep
        "not fd.nameraw startswith /srv/",
        'fd.nameraw glob "*secret"',
        "fd.nameraw endswith secret",
    ],
)
def test_a_rule_the_probe_cannot_filter_by_path_keeps_every_failed_open(
    tmp_path: Path, check: str
) -> None:
    rules = _rule(tmp_path, f"evt.type = openat and evt.res = EACCES and {check}")
    assert failed_write_only_types(rules) == {"open": frozenset()}


def test_the_probe_drops_other_sends_before_anything_else() -> None:
    """The pack's netlink-only sends carry their own bit in the probe's interest byte, so its
    program checks the socket first and sets nothing up for a TCP send (bench/
    probe_program_cost.py: 172 -> 119 ns a send); the other captured calls do not."""
    rs = load_rules([str(p) for p in default_rules_files()])
    types = {t for r in rs.rules if r.evttypes for t in r.evttypes}
    entries = spec_entries(types, netlink_only=netlink_only_types(rs.rules))
    want = interest_bytes(entries)
    marked = {name for name, nr in NUMBERS.items() if want[nr] & L.WANT_NETLINK_ONLY}
    assert marked == {"sendto", "sendmsg"}
    assert all(want[NUMBERS[n]] & L.WANT_NATIVE for n in marked)
    assert not interest_bytes(spec_entries(types))[NUMBERS["sendto"]] & L.WANT_NETLINK_ONLY


def test_the_shipped_rules_read_setsockopt_only_from_32_bit_calls() -> None:
    """CVE-2021-22555's rule is the pack's only reader of setsockopt, and only of a 32-bit
    one: the probe leaves the x86_64 call out of its interest, so the setsockopt every TCP
    server makes on each connection it accepts never reaches userspace."""
    rs = load_rules([str(p) for p in default_rules_files()])
    only = compat_only_types(rs.rules)
    assert only == {"setsockopt"}
    types = {t for r in rs.rules if r.evttypes for t in r.evttypes}
    want = interest_bytes(spec_entries(types, compat_only=only))
    assert want[NUMBERS["setsockopt"]] == 0
    assert want[IA32_NUMBERS["setsockopt"]] & L.WANT_COMPAT
    assert want[SOCKETCALL_NR] & L.WANT_COMPAT  # a 32-bit setsockopt through socketcall
    assert interest_bytes(spec_entries(types))[NUMBERS["setsockopt"]] & L.WANT_NATIVE


def test_a_rule_reading_native_setsockopt_keeps_it(tmp_path: Path) -> None:
    rules = _rule(tmp_path, "evt.type = setsockopt and evt.arg.level_num = 6")
    assert compat_only_types(rules) == frozenset()


def test_a_state_type_keeps_its_native_call_whatever_the_rules_read() -> None:
    """The state tracker needs every native close (the fd table): a rule reading only 32-bit
    closes does not take the native ones away."""
    entries = spec_entries({"close"}, compat_only={"close"})
    assert NUMBERS["close"] in entries
