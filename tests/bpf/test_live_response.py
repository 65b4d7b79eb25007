"""Responses from user space in real podman containers, through ``secengine run -c``.

Each test starts ``secengine run`` with a rule that matches a container's
read of ``/etc/data.txt`` and asks for a response, starts a container that
does that read, and checks what became of the container and which response
alerts secengine printed. The probe's in-kernel kill is not used here
(``in_kernel: never``): these are the user-space actions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.bpf

sys.path.insert(0, str(Path(__file__).parent))
import bpf_podman as pm

RULE = """- rule: i17 data read in a container
  desc: a container read /etc/data.txt
  condition: >
    evt.type in (open, openat, openat2) and evt.dir = < and fd.name = /etc/data.txt
    and container.id != host
  output: data read by %proc.name (pid %proc.pid) in %container.name (%container.type)
  priority: WARNING
  secengine_response: RESPONSE
"""

#: Reads /etc/data.txt once, then blocks for good, as the container's pid 1.
HOLD = ("sh", "-c", "exec tail -f /etc/data.txt")
#: Reads /etc/data.txt every 0.3 s, forever.
LOOP = ("sh", "-c", "while true; do cat /etc/data.txt > /dev/null; sleep 0.3; done")


@pytest.fixture(scope="module", autouse=True)
def image() -> None:
    pm.build_image()


class Secengine:
    """``secengine run --json`` with one rules file and configuration; its alerts as they come."""

    def __init__(self, response: str, config: str, extra_rules: str = "") -> None:
        from secengine.bpf.build import build
        from secengine.bpf.loader import object_path

        if not object_path().is_file():
            build(object_path())
        self.dir = tempfile.mkdtemp(prefix="i17-user-")
        rules = os.path.join(self.dir, "rules.yaml")
        Path(rules).write_text(RULE.replace("RESPONSE", response) + extra_rules)
        cfg = os.path.join(self.dir, "config.yaml")
        Path(cfg).write_text(config + "\nstdout_output: {enabled: true}\n")
        self.alerts: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "secengine.cli", "run", "--json", "-r", rules, "-c", cfg],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        seen = []
        for line in self.proc.stderr:  # log lines may come first
            seen.append(line)
            if "watching" in line:
                break
        else:
            self.proc.kill()
            raise AssertionError("secengine run did not start:\n" + "".join(seen))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.alerts.append(json.loads(line))

    def responses(self, outcome: str | None = None) -> list[dict[str, Any]]:
        return [
            a["output_fields"]
            for a in list(self.alerts)
            if a["rule"] == "secengine response"
            and (outcome is None or a["output_fields"]["response.outcome"] == outcome)
        ]

    def wait_for(self, pred: Any, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not pred():
            assert time.monotonic() < end, json.dumps(self.alerts, indent=1)[-4000:]
            time.sleep(0.05)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self._reader.join(10)
        return err


@contextmanager
def running(response: str, config: str, extra_rules: str = "") -> Iterator[Secengine]:
    se = Secengine(response, config, extra_rules)
    try:
        yield se
    finally:
        se.stop()
        shutil.rmtree(se.dir, ignore_errors=True)


@contextmanager
def container(name: str, cmd: tuple[str, ...]) -> Iterator[str]:
    """A detached container running ``cmd``; removed afterwards."""
    name = f"i17-user-{name}"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    started = subprocess.run(
        [*pm.PODMAN_RUN[:2], *pm.PODMAN_RUN[2:], "-d", "--name", name, pm.IMAGE, *cmd],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        yield name
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False)


def state(name: str) -> str:
    out = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


def wait_exited(name: str, timeout: float = 120.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = state(name)
        if st.startswith(("exited", "stopped")):
            return st
        time.sleep(0.1)
    raise AssertionError(f"container {name} still {state(name)}")


ON = "response: {enabled: true, rate: 100, max_burst: 100, per_rule_per_minute: 100}"


def test_kill_process_kills_the_containers_process() -> None:
    with (
        running("{actions: [kill_process], in_kernel: never}", ON) as se,
        container("kill", HOLD) as name,
    ):
        assert wait_exited(name).endswith(" 137")  # SIGKILL
        se.wait_for(lambda: se.responses("done"))
    (done,) = se.responses("done")
    # (the event's proc.name is "exe": busybox's shell execs tail through /proc/self/exe,
    # and tail renames itself only after its exec; the pid and its start time identify the
    # process, and that is what was verified)
    assert done["response.action"] == "kill_process" and "SIGKILL sent" in done["response.detail"]
    assert 0 < done["response.latency_us"] < 5_000_000
    print(f"user-space kill latency: {done['response.latency_us']} us")


def test_kill_process_group_ends_the_loop() -> None:
    with (
        running("{actions: [kill_process_group], in_kernel: never}", ON) as se,
        container("group", LOOP) as name,
    ):
        assert wait_exited(name).endswith(" 137")  # SIGKILL
        se.wait_for(lambda: se.responses("done"))
    assert se.responses("done")[0]["response.action"] == "kill_process_group"


@pytest.mark.parametrize("api", [False, True], ids=["podman-command", "podman-api"])
def test_stop_container_through_podman(api: bool) -> None:
    config = ON
    service = None
    if api:
        service = pm.Api()
        config += f"\ncontainer_engines: {{podman: {{sockets: [{pm.API_SOCKET}]}}}}"
    try:
        with (
            running("{actions: [stop_container: {timeout: 1}]}", config) as se,
            container("stop" + ("-api" if api else ""), LOOP) as name,
        ):
            assert wait_exited(name).startswith(("exited", "stopped"))
            se.wait_for(lambda: se.responses("done"))
    finally:
        if service is not None:
            service.close()
    done = se.responses("done")[0]
    assert done["response.action"] == "stop_container"
    via = "podman API" if api else "podman stop"
    assert via in done["response.detail"], done


def test_kill_container_through_podman() -> None:
    with running("{actions: [kill_container]}", ON) as se, container("killc", LOOP) as name:
        assert wait_exited(name).endswith(" 137")  # SIGKILL
        se.wait_for(lambda: se.responses("done"))
    assert se.responses("done")[0]["response.action"] == "kill_container"


def _still_running_after_reads(se: Secengine, name: str, reads: int) -> None:
    se.wait_for(lambda: len([a for a in se.alerts if a["rule"].startswith("i17")]) >= reads)
    assert state(name).startswith("running"), state(name)


def test_dry_run_kills_nothing() -> None:
    config = ON.replace("enabled: true", "enabled: true, dry_run: true")
    with (
        running("{actions: [kill_process_group, kill_container], in_kernel: never}", config) as se,
        container("dry", LOOP) as name,
    ):
        _still_running_after_reads(se, name, 4)
        se.wait_for(lambda: len(se.responses("dry_run")) >= 2)
    outcomes = {(r["response.action"], r["response.outcome"]) for r in se.responses()}
    assert {("kill_process_group", "dry_run"), ("kill_container", "dry_run")} <= outcomes
    # a reader that exited before its response ran is reported gone, never acted on
    assert {o for _, o in outcomes} <= {"dry_run", "gone"}, se.responses()
    assert all(r["response.dry_run"] is True for r in se.responses())


def test_the_allow_list_protects_what_it_lists() -> None:
    # busybox's shell starts cat and sleep through /proc/self/exe: each is named "exe" from
    # its exec until it renames itself, and a group kill that lists the group in that window
    # finds an "exe" (it did, in CI); the loop's processes have all four names
    config = (
        "response: {enabled: true, rate: 100, max_burst: 100, per_rule_per_minute: 100, "
        "allow: {process_names: [cat, sh, sleep, exe]}}"
    )
    with (
        running("{actions: [kill_process_group], in_kernel: never}", config) as se,
        container("allow", LOOP) as name,
    ):
        _still_running_after_reads(se, name, 3)
        se.wait_for(lambda: se.responses("refused"))
    assert "is on the allow-list (" in se.responses("refused")[0]["response.detail"]
    assert not se.responses("done")


def test_configuration_off_nothing_happens() -> None:
    with (
        running("{actions: [kill_process_group, kill_container]}", "response: {}") as se,
        container("off", LOOP) as name,
    ):
        _still_running_after_reads(se, name, 4)
    assert se.responses() == []


def test_secengines_children_are_never_hit() -> None:
    """A response program reads a file another rule kills for: that reader is spared."""
    fd, marker = tempfile.mkstemp(prefix="i17-user-marker-")
    os.close(fd)
    second = f"""- rule: i17 marker read
  desc: the marker file was read
  condition: evt.type in (open, openat, openat2) and evt.dir = < and fd.name = {marker}
  output: marker read by %proc.name (pid %proc.pid, parent %proc.pname)
  priority: WARNING
  secengine_response: {{actions: [kill_process], in_kernel: never}}
"""
    # the program's reader stays alive for its response to find it
    response = f"{{actions: [program: {{command: 'exec tail -f {marker}', timeout: 5}}]}}"
    with running(response, ON, second) as se, container("children", HOLD):
        se.wait_for(
            lambda: any(r["response.rule"] == "i17 marker read" for r in se.responses("refused"))
        )
    refused = [r for r in se.responses() if r["response.rule"] == "i17 marker read"]
    assert {r["response.outcome"] for r in refused} == {"refused"}
    assert "secengine started" in refused[0]["response.detail"]
    os.unlink(marker)
