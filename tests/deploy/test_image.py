"""The agent's image (``Containerfile``), built offline, run as the DaemonSet runs it.

The image is built with podman from a local Debian base (``image_support``)
and started with the DaemonSet's own pod settings translated to ``podman
run``: its capabilities (and nothing else), the host's PID namespace, its
seccomp and read-only root, its ConfigMap as the configuration and its
host mounts. It must detect a ``cat /etc/shadow`` run on the host with the
shipped rules, answer the kubelet's health probe, and exit 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import image_support
import manifests as m
import pytest
from podman_support import PODMAN_RUN

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

NODE = "i14-ship-node"


@pytest.fixture(scope="module")
def agent_image(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = image_support.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    context = image_support.build_context(wheel, tmp_path_factory.mktemp("image-context"))
    tag = image_support.build_agent_image(context, f"localhost/i14-ship-agent:{os.getpid()}")
    yield tag
    subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, check=False)


def daemonset_run_args(ds: dict[str, Any], config_dir: Path) -> list[str]:
    """``podman run`` options that give a container what the DaemonSet's pod spec gives it
    (added to this host's settings, ``PODMAN_RUN``: runc, ulimits, no network)."""
    spec = ds["spec"]["template"]["spec"]
    c = m.container(ds)
    ctx = c["securityContext"]
    args: list[str] = []
    if spec.get("hostPID"):
        args.append("--pid=host")
    args += ["--cap-drop=all", *(f"--cap-add={cap}" for cap in m.present(m.capabilities(ds)))]
    if ctx["seccompProfile"]["type"] == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    if ctx.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    if ctx.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    args += ["--user", str(ctx["runAsUser"])]
    args += ["--memory", c["resources"]["limits"]["memory"].replace("Gi", "g")]
    for env in c.get("env", []):
        args += ["--env", f"{env['name']}={NODE}"]
    vols = m.volumes(ds)
    for mount in c["volumeMounts"]:
        vol = vols[mount["name"]]
        if "configMap" in vol:
            for key, text in m.config_map_data(vol["configMap"]["name"]).items():
                (config_dir / key).write_text(text)
            source = str(config_dir)
        elif os.path.exists(vol["hostPath"]["path"]):
            source = vol["hostPath"]["path"]
        else:
            continue  # a runtime this machine does not have; the kubelet would create it
        args += ["--volume", f"{source}:{mount['mountPath']}:ro"]
    return args


#: run inside the container: GET the URL in argv[1], print the status and the body
_HTTP_GET = (
    "import urllib.request, sys; r = urllib.request.urlopen(sys.argv[1], timeout=5); "
    "print(r.status, r.read().decode())"
)


def _logs(name: str) -> str:
    r = subprocess.run(["podman", "logs", name], capture_output=True, text=True, check=False)
    return r.stdout + r.stderr


def _wait_for(name: str, what: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        logs = _logs(name)
        if what in logs:
            return logs
        time.sleep(0.2)
    raise AssertionError(f"{what!r} not in the agent's output within {timeout:.0f} s:\n{logs}")


def _alerts(logs: str) -> list[dict[str, Any]]:
    out = []
    for line in logs.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_the_image_detects_on_the_host_and_stops_on_sigterm(
    agent_image: str, tmp_path: Path
) -> None:
    ds = m.daemonset()
    name = f"i14-ship-agent-{os.getpid()}"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    args = daemonset_run_args(ds, tmp_path)
    c = m.container(ds)
    started = subprocess.run(
        [*PODMAN_RUN, "-d", "--name", name, *args, agent_image, *c["args"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        _wait_for(name, "secengine run: watching", 90)
        # the kubelet's probe: GET /healthz on the metrics port, from the pod's network
        probe = c["livenessProbe"]["httpGet"]
        port = next(p["containerPort"] for p in c["ports"] if p["name"] == probe["port"])
        health = subprocess.run(
            [
                "podman",
                "exec",
                name,
                "python3",
                "-c",
                _HTTP_GET,
                f"http://127.0.0.1:{port}{probe['path']}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert health.stdout.startswith("200 ") and '"ok"' in health.stdout, health

        # something real on the host, outside any container
        subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL, check=True)
        logs = _wait_for(name, "Credential File Read by Unexpected Process", 30)
        alert = next(
            a
            for a in _alerts(logs)
            if a["rule"] == "Credential File Read by Unexpected Process"
            and a["output_fields"].get("proc.cmdline") == "cat /etc/shadow"
        )
        assert alert["hostname"] == NODE  # ${NODE_NAME} in the ConfigMap, from the env
        assert alert["output_fields"]["container.id"] == "host"
        assert alert["priority"] == "Warning"

        stop = subprocess.run(
            [
                "podman",
                "stop",
                "--time",
                str(ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]),
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert stop.returncode == 0, stop.stderr
        state = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.ExitCode}}", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        logs = _logs(name)
        assert state == "0", logs[-3000:]
        assert "exit status 0 (ok)" in logs
        assert "Traceback" not in logs
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
