"""Which rules' kills the probe can decide, and what they compile to (no kernel needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from secengine.bpf import layout as L
from secengine.bpf.kill import PathSet, kill_report, rule_entries
from secengine.sources.specs import load_rules
from secengine.sources.syscall_kill import NotDecidable, compile_kill_rule

OPEN_READ = (
    "- macro: open_read\n"
    "  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true"
    " and fd.typechar='f' and fd.num>=0)\n"
)


def _rule(tmp_path: Path, condition: str, macros: str = OPEN_READ) -> Any:
    f = tmp_path / "r.yaml"
    f.write_text(
        f"{macros}- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n"
        "  priority: WARNING\n"
    )
    rs = load_rules([str(f)])
    assert rs.successful, rs.render_text()
    return rs.rules[0]


def test_an_open_of_a_protected_file_in_a_container(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "open_read and fd.name = /protected/secret and container.id != host"
        " and not proc.name in (backup, a_name_longer_than_a_comm)",
    )
    k = compile_kill_rule(rule, 5)
    assert k.id == 5 and k.name == "r"
    # the native and the ia32 opens
    assert {2, 257, 437} <= k.keys and L.MAX_SYSCALLS + 5 in k.keys
    assert k.flags == L.KR_READ | L.KR_REG | L.KR_SUCCESS | L.KR_CONTAINER
    assert k.files == PathSet(exact=frozenset({"/protected/secret"}))
    assert k.not_comms == {"backup"}  # a longer name is never a comm: nothing to exclude
    assert k.all_flags() & L.KR_FILE and k.all_flags() & L.KR_NOT_COMM


def test_prefixes_exe_paths_and_dry_run(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "evt.type = execve and evt.dir = < and proc.exepath startswith /tmp/"
        " and proc.name in (sh, bash) and container.id = host",
    )
    k = compile_kill_rule(rule, 1, dry_run=True)
    assert k.exes == PathSet(prefixes=frozenset({"/tmp/"}))
    assert k.comms == {"sh", "bash"}
    assert k.flags == L.KR_HOST | L.KR_DRY_RUN
    rule = _rule(tmp_path, "evt.type = openat and fd.name pmatch (/etc/ssh/)")
    assert compile_kill_rule(rule, 1).files == PathSet(
        exact=frozenset({"/etc/ssh"}), prefixes=frozenset({"/etc/ssh/"})
    )


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ("evt.type = openat and (proc.name = a or fd.name = /x)", "IOr"),
        ("evt.type = openat and proc.cmdline contains x", "proc.cmdline"),
        ("evt.type = connect and fd.name = /x", "only on opens"),
        ("evt.type = connect and evt.is_open_read = true", "only on opens"),
        ("proc.name = cat", "not bound to event types"),
        ("evt.type = openat and proc.name = cat and proc.name = dog", "twice"),
        ("evt.type = openat and fd.name = /" + "a" * 200, "longer than the probe"),
        ("evt.type = openat and proc.name = averyveryverylongname", "longer than a comm"),
        ("evt.type = openat and container.id = abc", "container.id"),
        ("evt.type = procexit and proc.name = x", "not syscalls"),
        ("evt.type = openat and fd.name glob '/x*'", "glob"),
    ],
)
def test_what_the_probe_cannot_decide_says_why(tmp_path: Path, condition: str, why: str) -> None:
    with pytest.raises(NotDecidable, match=why):
        compile_kill_rule(_rule(tmp_path, condition), 1)


def test_map_entries() -> None:
    from secengine.bpf.kill import KillRule

    rule = KillRule(
        id=9,
        name="r",
        keys=frozenset({257, L.MAX_SYSCALLS + 5}),
        comms=frozenset({"sh"}),
        files=PathSet(exact=frozenset({"/s"}), prefixes=frozenset({"/d/"})),
    )
    value, comms, paths = rule_entries(3, rule)
    rid, flags, sysmap = L.KILL_RULE.unpack(value)
    assert rid == 9 and flags == L.KR_COMM | L.KR_FILE
    assert sysmap[257 >> 3] & 1 << (257 & 7) and sysmap[(512 + 5) >> 3] & 1 << 5
    assert comms == [L.KILL_COMM_KEY.pack(3, L.KK_IN, b"sh")]
    # the exact path carries its NUL; the prefix does not
    assert [L.KILL_PATH_KEY.unpack(p)[:3] for p in paths] == [
        (16 + 3 * 8, 3, L.KK_FILE),
        (16 + 3 * 8, 3, L.KK_FILE),
    ]
    assert [L.KILL_PATH_KEY.unpack(p)[3][:3] for p in paths] == [b"/s\0", b"/d/"]


def test_kill_records_decode_and_short_ones_are_errors() -> None:
    hdr = L.HDR.pack(100, 7, 7, 257, L.EVT_KILL, 0, 0, 3, 2, L.KILL_KILLED, 9, 150, 0, 140)
    blobs = b"".join(len(x).to_bytes(2, "little") + x for x in (b"sh", b"/s", b""))
    r = kill_report(hdr + blobs)
    assert (r.slot, r.rule_id, r.outcome, r.comm, r.file, r.exe) == (2, 9, "killed", "sh", "/s", "")
    assert r.signal_ts - r.ts == 50 and r.signal_start == 140 and r.key == 257 and r.res == 3
    with pytest.raises(ValueError, match="too short|inside a section"):
        kill_report(hdr + b"\x09\x00ab")


def test_the_plan_takes_rules_that_ask_and_says_why_for_the_others(tmp_path: Path) -> None:
    from secengine.sources.syscall_kill import kill_plan

    def rule(name: str, condition: str, response: str) -> str:
        return (
            f"- rule: {name}\n  desc: d\n  condition: {condition}\n  output: o\n"
            f"  priority: WARNING\n{response}"
        )

    kill = "  secengine_response:\n    actions: [kill_process]\n"
    text = "".join(
        [
            rule("decidable", "evt.type = openat and fd.name = /s", kill),
            rule("dry", "evt.type = openat and fd.name = /d", kill + "    dry_run: true\n"),
            rule("never", "evt.type = openat and fd.name = /n", kill + "    in_kernel: never\n"),
            rule(
                "group",
                "evt.type = openat",
                "  secengine_response: {actions: [kill_process_group]}\n",
            ),
            rule("cmdline", "evt.type = openat and proc.cmdline contains x", kill),
            rule("alert only", "evt.type = openat and fd.name = /a", ""),
        ]
        + [rule(f"many{i}", f"evt.type = openat and fd.name = /m{i}", kill) for i in range(16)]
    )
    f = tmp_path / "r.yaml"
    f.write_text(text)
    rs = load_rules([str(f)])
    assert rs.successful, rs.render_text()
    plan = kill_plan(rs.rules, first_id=100)
    assert len(plan.rules) == 16
    assert {"decidable", "dry"} <= plan.in_kernel
    assert plan.rules[0].id == 100 and plan.rule_named(100) == "decidable"
    dry = next(r for r in plan.rules if r.name == "dry")
    assert dry.flags & L.KR_DRY_RUN
    assert not {"never", "group", "alert only"} & (plan.in_kernel | set(plan.fallback))
    assert "proc.cmdline" in plan.fallback["cmdline"]
    assert "16 kill rules" in plan.fallback["many14"] and "many15" in plan.fallback
