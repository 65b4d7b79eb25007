"""End to end with real podman and runc: record, propose, prove (marker ``bpf``).

The image is busybox imported offline (conftest). Each test records a
workload, writes the proposal and re-runs the workload under it, as a user
would with ``secengine profile run`` and ``secengine profile verify``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from profile_podman import PODMAN_RUN, Service, podman_run

from secengine.cli import main
from secengine.profile.capabilities import Context, infer
from secengine.profile.recording import load_recording
from secengine.profile.seccomp import build_profile, policy, write_profile
from secengine.profile.session import record_attach, record_command, verify

pytestmark = pytest.mark.bpf

#: reads a file, writes to /tmp, talks to itself over a loopback socket; deterministic (the
#: listener's subshell outlives the client, so 'wait' always blocks). The listener echoes (-e cat) what the client sends, which the client writes to /tmp/got, and
#: the client retries while the listener starts (up to 5 s; a refused connect makes the syscalls
#: a successful one makes). Both were races that a loaded machine lost 1 run in 4: a fixed
#: 0.5 s pause for the listener, and a listener whose stdin (/dev/null) ended at once, whose
#: half-close could make the client exit before it sent anything.
WORKLOAD = """set -e
cat /etc/data.txt > /tmp/copy
grep -q hello /tmp/copy
(nc -l -p 8080 -e cat; sleep 0.5) &
i=0
until echo ping | nc 127.0.0.1 8080 > /tmp/got; do
  [ $i -lt 50 ] || exit 9
  i=$((i+1)); sleep 0.1
done
wait $!
grep -q ping /tmp/got"""
#: the same, then one syscall the recording never saw
WITH_MKDIR = WORKLOAD + "\nmkdir /tmp/new"
#: binds port 80 (below ip_unprivileged_port_start=1024 in podman's containers)
PORT_80 = """(nc -l -p 80 -e cat; sleep 0.5) &
i=0
until echo ping | nc 127.0.0.1 80 > /tmp/got; do
  [ $i -lt 50 ] || exit 9
  i=$((i+1)); sleep 0.1
done
wait $!
grep -q ping /tmp/got"""


@pytest.fixture
def recorded(
    busybox_image: str, recorder_object: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    """``secengine profile run -o P.json -- podman run ... WORKLOAD``; returns P.json."""
    out = tmp_path / "p.json"
    rc = main(
        [
            "profile",
            "run",
            "--runtime",
            "runc",
            "-o",
            str(out),
            "--json",
            "--",
            *podman_run(busybox_image, WORKLOAD),
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["started"] and summary["exit_code"] == 0, (summary, captured.err)
    return out


def test_run_records_init_and_workload_and_the_proposal_runs(
    recorded: Path, busybox_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = load_recording(recorded.with_name("p.record.json"))
    assert rec.init_source == "recorded" and rec.runtime["name"] == "runc"
    init = rec.syscalls.seen(("init",))
    assert {"capset", "setgroups", "execve"} <= init  # runc init under the filter
    assert not {"mount", "pivot_root"} & init  # its setup before the filter is not in it
    work = rec.syscalls.seen(("work",))
    assert {"openat", "read", "write", "socket", "bind", "listen", "accept", "connect"} <= work
    assert rec.mount_namespaces == 1
    # re-run under the profile and the proposed capabilities (none): it succeeds
    rc = main(
        [
            "profile",
            "verify",
            "--profile",
            str(recorded),
            "--json",
            "--",
            *podman_run(busybox_image, WORKLOAD),
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert rc == 0, result
    assert result["ok"] and result["started"] and result["exit_code"] == 0
    assert result["denied"] == []
    assert "--cap-drop" in result["command"] and "--cap-add" not in result["command"]


def test_a_syscall_never_recorded_is_denied_and_named(
    recorded: Path, busybox_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "profile",
            "verify",
            "--profile",
            str(recorded),
            "--",
            *podman_run(busybox_image, WITH_MKDIR),
        ]
    )
    report = capsys.readouterr().out
    assert rc == 1
    assert "denied by the profile (EPERM at syscall exit) (1):\n    mkdir\n" in report
    assert "exit code 1 (recorded: 0): DIFFERENT" in report
    assert "Result: FAIL" in report


def test_the_profile_is_much_smaller_than_the_default(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prof = json.loads(recorded.read_text())
    allowed = prof["syscalls"][0]["names"]
    assert prof["defaultAction"] == "SCMP_ACT_ERRNO"
    rc = main(
        [
            "profile",
            "merge",
            str(recorded.with_name("p.record.json")),
            "-o",
            str(recorded.with_name("again.json")),
            "--json",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["allowed"] == allowed  # the recording reproduces the profile
    default = summary["default_allowed"]
    assert summary["default_profile"] and default > 250
    assert len(allowed) * 4 < default
    with capsys.disabled():
        print(
            f"\n[profile size] proposed {len(allowed)} syscalls, the default profile "
            f"({summary['default_profile']}) allows {default} on x86_64: "
            f"{len(summary['removed'])} removed"
        )


def test_port_80_needs_exactly_net_bind_service(
    busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    rec = record_command(podman_run(busybox_image, PORT_80), mode="run")
    assert rec.exit_code == 0
    caps = infer(rec.ops, Context.from_host())
    assert caps.required == ["CAP_NET_BIND_SERVICE"]
    assert [f.op.syscall for f in caps.findings] == ["bind"]
    profile = tmp_path / "p.json"
    write_profile(profile, build_profile(policy(rec)))
    with_cap = verify(
        podman_run(busybox_image, PORT_80), profile, ["CAP_NET_BIND_SERVICE"], reference=rec
    )
    assert with_cap.ok and with_cap.recording.exit_code == 0
    assert "NET_BIND_SERVICE" in with_cap.command
    without = verify(podman_run(busybox_image, PORT_80), profile, [], reference=rec)
    assert not without.ok and without.recording.exit_code != 0
    assert without.denied == []  # seccomp allowed bind: the capability check refused it
    assert [f.need.capability for f in without.cap_denials] == ["CAP_NET_BIND_SERVICE"]


def test_attach_to_a_running_container_and_restart_it_under_the_proposal(
    busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    name = f"secengine-attach-{int(time.time() * 1000)}"
    loop = (
        "i=0; while [ $i -lt 30 ]; do cat /etc/data.txt > /dev/null; echo $i > /tmp/n; "
        "i=$((i+1)); sleep 0.2; done"
    )
    started = subprocess.run(
        [*PODMAN_RUN, "-d", "--name", name, busybox_image, "sh", "-c", loop],
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        time.sleep(1.0)  # running before secengine looks at it
        rec = record_attach(name, 2.0)
        assert rec.container["name"] == name
        assert rec.init_source == "baseline runc-1.1.5"
        assert {"capset", "execve"} <= rec.syscalls.seen(("init",))
        assert {"openat", "write", "execve", "wait4"} <= rec.syscalls.seen(("work",))
        # it was not restarted: same process, still running
        state = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Running}}", name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        assert state == "true"
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False)
    profile = tmp_path / "attach.json"
    write_profile(profile, build_profile(policy(rec)))
    again = verify(
        [*PODMAN_RUN, "--rm", "--name", name, busybox_image, "sh", "-c", loop],
        profile,
        [],
        reference=rec,
    )
    assert again.ok, (again.denied, again.recording.exit_code)
    assert again.started and again.recording.exit_code == 0


def test_replicas_merge_into_one_profile_that_runs_both(
    busybox_image: str, recorder_object: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    branch = 'if [ "$ROLE" = a ]; then ls / > /dev/null; else mkdir /tmp/d; rmdir /tmp/d; fi'
    paths = []
    for role in ("a", "b"):
        rec = record_command(podman_run(busybox_image, branch, "-e", f"ROLE={role}"), mode="run")
        assert rec.exit_code == 0
        paths.append(tmp_path / f"{role}.record.json")
        rec.save(paths[-1])
    merged = tmp_path / "merged.json"
    assert main(["profile", "merge", *map(str, paths), "-o", str(merged)]) == 0
    capsys.readouterr()
    allowed = set(json.loads(merged.read_text())["syscalls"][0]["names"])
    assert {"getdents64", "mkdir", "rmdir"} <= allowed
    reference = load_recording(tmp_path / "merged.record.json")
    for role in ("a", "b"):
        result = verify(
            podman_run(busybox_image, branch, "-e", f"ROLE={role}"), merged, [], reference=reference
        )
        assert result.ok, (role, result.denied)


def test_recording_without_seccomp_still_lets_the_container_start(
    busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    rec = record_command(
        podman_run(
            busybox_image, "cat /etc/data.txt > /dev/null", "--security-opt", "seccomp=unconfined"
        ),
        mode="run",
    )
    assert rec.init_source.startswith("recorded without seccomp")
    assert rec.notes
    profile = tmp_path / "p.json"
    write_profile(profile, build_profile(policy(rec)))
    result = verify(
        podman_run(busybox_image, "cat /etc/data.txt > /dev/null"), profile, [], reference=rec
    )
    assert result.ok, result.denied


def test_audit_mode_logs_what_it_would_deny(
    busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    rec = record_command(podman_run(busybox_image, "cat /etc/data.txt; echo done"), mode="run")
    profile = tmp_path / "audit.json"
    write_profile(profile, build_profile(policy(rec), audit=True))
    result = verify(
        podman_run(busybox_image, "cat /etc/data.txt; mkdir /tmp/x; echo done"),
        profile,
        [],
        reference=rec,
    )
    assert result.recording.exit_code == 0  # nothing was denied...
    assert result.would_deny == ["mkdir"]  # ...but mkdir would have been
    assert not result.ok


def test_a_service_is_recorded_for_a_while_then_stopped_and_verified_the_same_way(
    busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    service = "trap 'exit 0' TERM; while true; do cat /etc/data.txt > /dev/null; sleep 0.2; done"
    rec = record_command(podman_run(busybox_image, service), mode="run", duration=3.0)
    assert rec.started and rec.exit_code == 0  # stopped with 'podman stop', not killed
    assert len(rec.container["id"]) == 64
    assert "--cidfile" not in rec.command
    profile = tmp_path / "service.json"
    write_profile(profile, build_profile(policy(rec)))
    result = verify(podman_run(busybox_image, service), profile, [], reference=rec, duration=3.0)
    assert result.ok, (result.denied, result.recording.exit_code)


def test_a_profile_missing_a_runtime_init_syscall_is_caught_at_start(
    busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    rec = record_command(podman_run(busybox_image, "true"), mode="run")
    assert "capset" in rec.syscalls.seen(("init",))
    pol = policy(rec)
    pol.allowed.discard("capset")  # what other tools miss: the runtime's own syscalls
    profile = tmp_path / "broken.json"
    write_profile(profile, build_profile(pol))
    result = verify(podman_run(busybox_image, "true"), profile, [], reference=rec)
    assert not result.started and not result.ok
    assert result.denied == ["capset"]


@pytest.fixture
def service(busybox_image: str) -> Iterator[Service]:
    svc = Service()
    yield svc
    svc.close()


def test_a_container_started_by_a_daemon_is_caught_at_its_runtime(
    service: Service, busybox_image: str, recorder_object: Path, tmp_path: Path
) -> None:
    """As with docker: the runtime is the daemon's child, not the command's."""
    # long enough for the other container to start meanwhile on a loaded machine
    slow = "sleep 3\n" + WORKLOAD
    # the other container starts once the recorded one runs, so that the recording sees it
    # (a fixed 0.5 s head start lost the race in CI: the other had run before the recording)
    wait_then_run = (
        'i=0; until [ -n "$(podman --url "$0" ps -q)" ] || [ $i -ge 300 ]; do '
        'i=$((i+1)); sleep 0.2; done; exec "$@"'
    )
    other = subprocess.Popen(
        [
            "sh",
            "-c",
            wait_then_run,
            f"unix://{service.socket}",
            *service.run(busybox_image, "mkdir /tmp/other; sleep 0.5"),
        ]
    )
    try:
        rec = record_command(service.run(busybox_image, slow), mode="run")
    finally:
        other.wait(90)
    assert rec.exit_code == 0 and rec.started and rec.init_source == "recorded"
    assert {"capset", "execve"} <= rec.syscalls.seen(("init",))
    assert {"socket", "bind", "accept", "connect"} <= rec.syscalls.seen(("work",))
    assert "mkdir" not in rec.syscalls.seen()  # the other container's, set apart
    assert len(rec.container["id"]) == 64
    assert any("1 other container" in n for n in rec.notes), rec.notes
    profile = tmp_path / "p.json"
    write_profile(profile, build_profile(policy(rec)))
    result = verify(service.run(busybox_image, slow), profile, [], reference=rec)
    assert result.ok, (result.denied, result.recording.exit_code)
