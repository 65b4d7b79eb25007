"""The agent's image (``Containerfile``), built offline, run as the DaemonSet runs it.

The image is built with podman from a local Debian base (``image_support``,
fixture ``agent_image``) and started with the DaemonSet's own pod settings
translated to ``podman run`` (``pod_to_podman``): its capabilities and
nothing else, the host's PID namespace, its seccomp and read-only root, its
memory limit, its ConfigMap as the configuration and its host mounts. It
must detect a ``cat /etc/shadow`` run on the host with the shipped rules,
answer the kubelet's health probe, and exit 0 on SIGTERM.
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

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

NODE = "i14-ship-node"
RULE = "Credential File Read by Unexpected Process"

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

        grace = ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        code = pod.stop(name, grace)
        logs = pod.logs(name)
        assert code == 0, logs[-3000:]
        assert "exit status 0 (ok)" in logs
        assert "Traceback" not in logs
    finally:
        pod.remove(name)
