"""The agent's image (``Containerfile``), built offline, run as the DaemonSet runs it.

The image is built with podman from a local Debian base (``image_support``,
fixture ``agent_image``) and started with the DaemonSet's own pod settings
translated to ``podman run`` (``pod_to_podman``): its capabilities and
nothing else, the host's PID namespace, its seccomp and read-only root, its
memory limit, its ConfigMap as the configuration and its host mounts. It
must detect a ``cat /etc/shadow`` run on the host with the shipped rules,
answer the kubelet's health probe, name a podman container whose first
process is ``nc`` (its metadata read from podman's files through the
DaemonSet's host mounts), and exit 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import manifests as m
import pod_to_podman as pod
import pytest
from podman_support import IMAGE, IMAGE_REPOSITORY, PODMAN_RUN, build_image

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

NODE = "i14-ship-node"
RULE = "Credential File Read by Unexpected Process"
NETCAT = "Netcat-like Tool Started"

#: run inside the container: GET the URL in argv[1], print the status and the body
HTTP_GET = (
    "import urllib.request, sys; r = urllib.request.urlopen(sys.argv[1], timeout=5); "
    "print(r.status, r.read().decode())"
)


def _alerts(logs: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def test_the_image_detects_on_the_host_and_stops_on_sigterm(
    agent_image: str, tmp_path: Path
) -> None:
    ds = m.daemonset()
    c = m.container(ds)
    build_image()
    name = f"i14-ship-agent-{os.getpid()}"
    pod.start(name, agent_image, pod.run_args(ds, tmp_path, env=NODE), c["args"])
    try:
        pod.wait_for(name, "secengine run: watching", 90)
        # the kubelet's probe: GET /healthz on the metrics port, from the pod's network
        probe = c["livenessProbe"]["httpGet"]
        port = next(p["containerPort"] for p in c["ports"] if p["name"] == probe["port"])
        health = pod.python_in(name, HTTP_GET, f"http://127.0.0.1:{port}{probe['path']}")
        assert health.stdout.startswith("200 ") and '"ok"' in health.stdout, health

        # something real on the host, outside any container
        subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL, check=True)
        logs = pod.wait_for(name, RULE, 30)
        alert = next(
            a
            for a in _alerts(logs)
            if a["rule"] == RULE and a["output_fields"].get("proc.cmdline") == "cat /etc/shadow"
        )
        assert alert["hostname"] == NODE  # ${NODE_NAME} in the ConfigMap, from the env
        assert alert["output_fields"]["container.id"] == "host"
        assert "container.name" in alert["output_fields"]  # append_output: suggested_output
        assert alert["priority"] == "Warning"

        # a container whose first process is the suspicious one: its metadata is read from
        # the runtime's files (the DaemonSet's host mounts) at that first event
        container = f"i14-ship-nc-{os.getpid()}"
        subprocess.run(
            [*PODMAN_RUN, "--rm", "--name", container, IMAGE, "nc", "-h"],
            capture_output=True,
            check=False,
        )
        logs = pod.wait_for(name, NETCAT, 30)
        alert = next(a for a in _alerts(logs) if a["rule"] == NETCAT)
        fields = alert["output_fields"]
        assert fields["proc.cmdline"] == "nc -h", fields
        assert fields["container.name"] == container, fields
        assert fields["container.image.repository"] == IMAGE_REPOSITORY, fields

        grace = ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        code = pod.stop(name, grace)
        logs = pod.logs(name)
        assert code == 0, logs[-3000:]
        assert "exit status 0 (ok)" in logs
        assert "Traceback" not in logs
    finally:
        pod.remove(name)


SEARCH = "Search for Credentials on Disk"


def _users(passwd: str) -> dict[str, tuple[int, int]]:
    out = {}
    for line in passwd.splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit() and parts[3].isdigit():
            out[parts[0]] = (int(parts[2]), int(parts[3]))
    return out


def test_host_processes_carry_the_hosts_user_names(agent_image: str, tmp_path: Path) -> None:
    """``user.name`` of a host process is the host's name for its uid, not the image's."""
    image_passwd = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "--entrypoint",
            "cat",
            agent_image,
            "/etc/passwd",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    image_uids = {uid for uid, _ in _users(image_passwd).values()}
    host_only = sorted(
        (uid, gid, name)
        for name, (uid, gid) in _users(Path("/etc/passwd").read_text()).items()
        if uid not in image_uids
    )
    if not host_only:
        pytest.skip("every user of this host is also in the image: nothing to tell apart")
    uid, gid, user = host_only[0]
    ds = m.daemonset()
    name = f"i14-ship-users-{os.getpid()}"
    pod.start(name, agent_image, pod.run_args(ds, tmp_path, env=NODE), m.container(ds)["args"])
    try:
        pod.wait_for(name, "secengine run: watching", 90)
        subprocess.run(
            [
                "setpriv",
                f"--reuid={uid}",
                f"--regid={gid}",
                "--clear-groups",
                "grep",
                "-r",
                "password",
                "/nonexistent-i14-ship",
            ],
            capture_output=True,
            check=False,
        )
        logs = pod.wait_for(name, SEARCH, 30)
        alert = next(a for a in _alerts(logs) if a["rule"] == SEARCH)
        assert alert["output_fields"]["user.name"] == user, alert["output_fields"]
    finally:
        pod.remove(name)
