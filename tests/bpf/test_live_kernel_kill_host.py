"""The in-kernel kill on host processes: what the probe compares and the safeties it keeps.

Every rule here names files under this test's own temporary directory or a program it
compiled, so no other process of the machine can match. The victims run through ``sh -c``
(they are not this process's children: the probe never kills secengine's children, and this
process owns the probe).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c

from secengine.sources.base import rule_event_types
from secengine.sources.specs import load_rules

pytestmark = pytest.mark.bpf

#: opens argv[1] with a 32-bit syscall (int $0x80, ia32 open = 5) from a 64-bit process
COMPAT_OPEN = r"""
#include <stdio.h>
#include <string.h>
static char path[4096];
int main(int argc, char **argv) {
    strncpy(path, argv[1], sizeof(path) - 1);
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(5), "b"(path), "c"(0), "d"(0) : "memory");
    printf("alive %ld\n", ret);
    return 0;
}
"""


@pytest.fixture(scope="module")
def src() -> Iterator[Any]:
    from secengine.sources.syscall import SyscallSource

    s = SyscallSource(ring_bytes=16 * 1024 * 1024, producer_rate=0)
    yield s
    s.close()


def _load(src: Any, tmp: Path, rules: str, *args: Any, **kills: Any) -> None:
    f = tmp / "rules.yaml"
    f.write_text(rules)
    rs = load_rules([str(f)])
    assert rs.successful, rs.render_text()
    src.set_interest(rule_event_types(rs.rules, "syscall"))
    src.use_rules(rs.rules)
    src.use_kernel_kills(rs.rules, *args, **kills)
    if src.probe is None:
        src.open()
    src.drain(0.1)
    src.take_kills()


def _rule(condition: str, name: str = "kill it") -> str:
    return (
        f"- rule: {name}\n  desc: d\n  condition: {condition}\n  output: o\n"
        "  priority: CRITICAL\n  secengine_response:\n    actions: [kill_process]\n"
    )


def _sh(cmd: str) -> tuple[int, str]:
    """Run ``cmd`` as a grandchild; (its exit status as the shell saw it, its output)."""
    r = subprocess.run(
        ["sh", "-c", f"{cmd}; echo status=$?"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out, _, status = r.stdout.rpartition("status=")
    return int(status), out


def _kills(src: Any, expected: int) -> list[Any]:
    """The probe's kill reports, once ``expected`` came (or after 30 s: what came), and any
    that follow within a short settle."""
    got: list[Any] = []
    deadline = time.monotonic() + 30
    while len(got) < expected and time.monotonic() < deadline:
        src.drain(0.1)
        got += [k for _, k in src.take_kills()]
    src.drain(0.2)
    return got + [k for _, k in src.take_kills()]


def test_paths_are_canonical_and_relative_opens_and_symlinks_do_not_escape(
    src: Any, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-1\n")
    (tmp_path / "link").symlink_to(secret)
    (tmp_path / "x").mkdir()
    _load(src, tmp_path, _rule(f"evt.type in (open, openat, openat2) and fd.name = {secret}"))
    for how in (f"cat {secret}", f"cat {tmp_path}/link", f"cd {tmp_path} && cat ./x/../secret.txt"):
        status, out = _sh(how)
        assert status == 137 and "TOKEN" not in out, (how, status, out)
    kills = _kills(src, 3)
    assert [k.outcome for k in kills] == ["killed"] * 3
    assert {k.file for k in kills} == {str(secret)}
    # another file of the same directory is not killed
    (tmp_path / "other.txt").write_text("fine\n")
    assert _sh(f"cat {tmp_path}/other.txt") == (0, "fine\n")


def test_a_32bit_open_is_killed_too(src: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x\n")
    exe = build_c("compat_open", COMPAT_OPEN, ("-no-pie",))
    _load(src, tmp_path, _rule(f"evt.type in (open, openat) and fd.name = {secret}"))
    status, out = _sh(f"{exe} {secret}")
    assert status == 137 and "alive" not in out, (status, out)
    (k,) = _kills(src, 1)
    assert k.outcome == "killed" and k.key == 512 + 5  # the ia32 open


def test_an_exec_is_killed_before_the_new_image_runs(src: Any, tmp_path: Path) -> None:
    prog = tmp_path / "bin" / "forbidden"
    prog.parent.mkdir()
    shutil.copy("/bin/echo", prog)
    _load(src, tmp_path, _rule(f"evt.type = execve and proc.exepath startswith {prog.parent}/"))
    status, out = _sh(f"{prog} ran")
    assert status == 137 and out == "", (status, out)
    (k,) = _kills(src, 1)
    assert (k.outcome, k.exe, k.res) == ("killed", str(prog), 0)


def test_rate_limit_dry_run_and_secengine_children(src: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x\n")
    rule = _rule(f"evt.type in (open, openat, openat2) and fd.name = {secret}")
    # one kill a minute, none at once beyond it: the second open is only reported
    _load(src, tmp_path, rule, rate=1 / 60, burst=1)
    assert _sh(f"cat {secret}")[0] == 137
    assert _sh(f"cat {secret}") == (0, "x\n")
    assert [k.outcome for k in _kills(src, 2)] == ["killed", "rate_limited"]
    _load(src, tmp_path, rule, dry_run=True)
    assert _sh(f"cat {secret}") == (0, "x\n")
    assert [k.outcome for k in _kills(src, 1)] == ["dry_run"]
    # a direct child of the process that owns the probe (secengine's child) is never killed
    _load(src, tmp_path, rule)
    r = subprocess.run(["cat", str(secret)], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout == "x\n"
    assert [k.outcome for k in _kills(src, 1)] == ["protected"]
    stats = src.kill_stats()
    assert stats["killed"] >= 1 and stats["rate_limited"] >= 1 and stats["protected"] >= 1


def test_rules_the_probe_cannot_decide_are_left_to_user_space(src: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x\n")
    _load(
        src,
        tmp_path,
        _rule(f"evt.type = openat and fd.name = {secret} and proc.cmdline contains x"),
    )
    assert src.kill_plan.rules == ()
    assert "proc.cmdline" in src.kill_plan.fallback["kill it"]
    assert _sh(f"cat {secret}") == (0, "x\n")
    assert _kills(src, 0) == []
    os.unlink(secret)


def test_the_protected_pid_and_its_children_are_spared(src: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x\n")
    # an inner shell (a grandchild) that says its pid, waits, then runs cat (its child)
    outer = subprocess.Popen(
        ["sh", "-c", f"sh -c 'echo $$; read go; cat {secret}'; echo status=$?"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert outer.stdin is not None and outer.stdout is not None
    inner = int(outer.stdout.readline())
    rule = _rule(f"evt.type in (open, openat, openat2) and fd.name = {secret}")
    _load(src, tmp_path, rule, (), inner)
    out, _ = outer.communicate("go\n", timeout=60)
    assert out == "x\nstatus=0\n"
    assert [k.outcome for k in _kills(src, 1)] == ["protected"]
