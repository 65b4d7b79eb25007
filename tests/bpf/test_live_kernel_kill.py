"""The in-kernel kill in a real podman container: a shell that opens a protected file dies of
SIGKILL at the open's exit, before any ``read`` can return a byte of it.

The protected file is made by the test on the host (a random token) and bind-mounted into
the container read-only; the shell's command line never names the token, so the token can
reach the container's output only by reading the file. Each case loads rules through the
syscall source as ``secengine run`` does (``use_rules`` + ``use_kill``), runs the container
and reads what the probe reported.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secengine.sources.specs import load_rules

pytestmark = pytest.mark.bpf

NAME = "i17-kernel-kill"
RULE = """\
- rule: protected file opened in a container
  desc: a process in a container opens the protected test file
  condition: >
    evt.type in (open, openat, openat2) and fd.name = /protected/secret.txt
    and container.id != host
  output: "protected file opened (proc=%proc.name file=%fd.name)"
  priority: CRITICAL
{response}
- rule: reads in containers
  desc: every read in a container (so that a read by the shell would be seen)
  condition: evt.type = read and container.id != host
  output: "read (proc=%proc.name)"
  priority: DEBUG
"""
KILL = "  secengine_response:\n    actions: [kill_process]\n"
#: the shell reads the file through a redirection: the shell itself opens it
SCRIPT = "echo before; read -r line < /protected/secret.txt; echo got:$line; echo after"


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    d = tmp_path_factory.mktemp("protected")
    token = secrets.token_hex(16)
    (d / "secret.txt").write_text(token + "\n")
    return d, token


@pytest.fixture(scope="module")
def killsource(podman: Any) -> Iterator[Any]:
    """A syscall source of its own (the session's captures everything and loads no kill
    rule), with the session's container engines."""
    from secengine.sources.syscall import SyscallSource

    src = SyscallSource(ring_bytes=16 * 1024 * 1024, producer_rate=0)
    yield src
    src.close()


def _load(src: Any, tmp: Path, response: str, **kills: Any) -> Any:
    f = tmp / "rules.yaml"
    f.write_text(RULE.format(response=response))
    rs = load_rules([str(f)])
    assert rs.successful, rs.render_text()
    from secengine.sources.base import rule_event_types

    src.set_interest(rule_event_types(rs.rules, "syscall"))
    src.use_rules(rs.rules)
    src.use_kernel_kills(rs.rules, **kills)
    if src.probe is None:
        src.open()
        from bpf_podman import API_SOCKET

        from secengine.state.containers import DockerApiEngine

        src.tracker.containers.engines = (DockerApiEngine(API_SOCKET),)
    src.drain(0.2)
    src.take_kills()
    return rs


def _run(
    src: Any, podman: Any, live: Any, secret_dir: Path
) -> tuple[subprocess.CompletedProcess[str], list[Any]]:
    """Run the shell in a container while the source reads; (its result, its events)."""
    out: dict[str, subprocess.CompletedProcess[str]] = {}

    def action() -> None:
        out["r"] = podman.run(NAME, "sh", "-c", SCRIPT, extra=("-v", f"{secret_dir}:/protected:ro"))

    snaps, _ = live.collect(
        src,
        action,
        ["evt.ts", "proc.pid", "proc.name", "evt.rawres"],
        where=lambda f: f["container.name"] == NAME,
        settle=1.0,
    )
    return out["r"], snaps


def test_a_shell_is_killed_before_read_returns_a_byte(
    killsource: Any, podman: Any, live: Any, secret: tuple[Path, str], tmp_path: Path
) -> None:
    d, token = secret
    _load(killsource, tmp_path, KILL)
    assert killsource.kill_plan.in_kernel == {"protected file opened in a container"}
    r, events = _run(killsource, podman, live, d)
    # the shell printed before the open, and nothing after it: no byte of the file
    assert r.stdout == "before\n", r
    assert token not in r.stdout + r.stderr
    assert r.returncode == 137, r  # 128 + SIGKILL: the container's init died of the signal
    kills = killsource.take_kills()
    assert len(kills) == 1, kills
    rule, k = kills[0]
    assert rule == "protected file opened in a container"
    assert (k.outcome, k.comm, k.file, k.signal_error) == (
        "killed",
        "sh",
        "/protected/secret.txt",
        0,
    )
    assert k.res >= 0  # the open succeeded (an fd existed) and the task died before using it
    # the probe saw the open and no read of the shell after it
    opens = [e for e in events if e.type == "openat" and e["proc.pid"] == k.pid]
    assert opens, events
    reads_after = [
        e
        for e in events
        if e.type == "read" and e["proc.pid"] == k.pid and e["evt.ts"] >= opens[0]["evt.ts"]
    ]
    assert reads_after == [], reads_after
    assert killsource.kill_stats()["killed"] >= 1


def test_dry_run_kills_nothing(
    killsource: Any, podman: Any, live: Any, secret: tuple[Path, str], tmp_path: Path
) -> None:
    d, token = secret
    _load(killsource, tmp_path, KILL, dry_run=True)
    r, _ = _run(killsource, podman, live, d)
    assert r.returncode == 0 and f"got:{token}" in r.stdout, r
    kills = killsource.take_kills()
    assert [k.outcome for _, k in kills] == ["dry_run"], kills


@pytest.mark.parametrize("allow", [("sh", False), ("s", True)], ids=["exact", "prefix"])
def test_the_allow_list_protects(
    killsource: Any,
    podman: Any,
    live: Any,
    secret: tuple[Path, str],
    tmp_path: Path,
    allow: tuple[str, bool],
) -> None:
    d, token = secret
    _load(killsource, tmp_path, KILL, allow_names=[("containerd-shim", True), allow])
    r, _ = _run(killsource, podman, live, d)
    assert r.returncode == 0 and f"got:{token}" in r.stdout, r
    assert [k.outcome for _, k in killsource.take_kills()] == ["protected"]


def test_a_rule_without_the_key_kills_nothing(
    killsource: Any, podman: Any, live: Any, secret: tuple[Path, str], tmp_path: Path
) -> None:
    d, token = secret
    _load(killsource, tmp_path, "")
    assert killsource.kill_plan.rules == ()
    before = killsource.kill_stats()
    r, events = _run(killsource, podman, live, d)
    assert r.returncode == 0 and f"got:{token}" in r.stdout, r
    assert any(e.type == "openat" for e in events)  # the rule still sees the open
    assert killsource.take_kills() == []
    assert killsource.kill_stats() == before  # the probe looked at nothing


def test_secengine_run_kills_in_the_kernel_and_reports_it(
    podman: Any, secret: tuple[Path, str], tmp_path: Path
) -> None:
    """The public path: ``secengine run`` with ``response.enabled`` and a rules file whose rule
    asks for ``kill_process``: the probe kills the shell, the rule alerts, and the response
    alert says the kill was done in the kernel."""
    import json
    import signal
    import sys

    d, token = secret
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(response=KILL))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secengine.cli",
            "run",
            "--json",
            "-r",
            str(rules),
            "-o",
            "response.enabled=true",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        started = []
        for line in proc.stderr:
            started.append(line)
            if "watching" in line:
                break
        assert "watching" in started[-1], started
        assert any("killed in the kernel" in x for x in started), started
        r = podman.run(NAME, "sh", "-c", SCRIPT, extra=("-v", f"{d}:/protected:ro"))
        time.sleep(2.0)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert r.stdout == "before\n" and r.returncode == 137, r
    assert token not in r.stdout + r.stderr
    alerts = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    rule = [a for a in alerts if a["rule"] == "protected file opened in a container"]
    assert len(rule) == 1, alerts
    responses = [a for a in alerts if a["output_fields"].get("response.rule") == rule[0]["rule"]]
    assert [a["output_fields"]["response.outcome"] for a in responses] == ["in_kernel"], alerts
