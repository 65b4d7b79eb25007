"""A workload's pod spec as ``podman run`` options: what the kubelet would give its container.

Covered: host PID namespace, user and groups, capabilities (drop ALL, add
the listed ones this machine has), seccomp Unconfined, no privilege
escalation, read-only root, the memory limit, env (each variable set to a
given value), and volumes: ConfigMaps from the manifests or given data,
Secrets from given files, hostPaths that exist here (read-only as mounted).
Network, probes and scheduling are the kubelet's and not translated.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import manifests as m
from podman_support import PODMAN_RUN


def run_args(
    workload: dict[str, Any],
    files: Path,
    *,
    env: str,
    data: dict[str, dict[str, str | bytes]] | None = None,
) -> list[str]:
    """Options for ``podman run``; ConfigMap and Secret files are written under ``files``.

    ``data`` gives the contents of ConfigMaps and Secrets the manifests do
    not contain (the ones a user creates), by name; every env variable of
    the container is set to ``env``.
    """
    data = data or {}
    pod = workload["spec"]["template"]["spec"]
    pod_ctx = pod.get("securityContext", {})
    c = m.container(workload)
    ctx = c.get("securityContext", {})
    args: list[str] = []
    if pod.get("hostPID"):
        args.append("--pid=host")
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    group = ctx.get("runAsGroup", pod_ctx.get("runAsGroup"))
    if user is not None:
        args += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if "fsGroup" in pod_ctx:
        args += ["--group-add", str(pod_ctx["fsGroup"])]
    caps = ctx.get("capabilities", {})
    if caps.get("drop") == ["ALL"]:
        args.append("--cap-drop=all")
    args += [f"--cap-add={cap}" for cap in m.present(tuple(caps.get("add", ())))]
    seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile", {})).get("type")
    if seccomp == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    if ctx.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    if ctx.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    args += ["--memory", c["resources"]["limits"]["memory"].replace("Gi", "g").replace("Mi", "m")]
    for var in c.get("env", []):
        args += ["--env", f"{var['name']}={env}"]
    vols = m.volumes(workload)
    for mount in c.get("volumeMounts", []):
        vol = vols[mount["name"]]
        if "hostPath" in vol:
            source = vol["hostPath"]["path"]
            if not os.path.exists(source):
                continue  # a runtime this machine does not have; the kubelet would create it
        else:
            ref = vol.get("configMap", {}).get("name") or vol["secret"]["secretName"]
            contents = data.get(ref)
            if contents is None:
                contents = dict(m.config_map_data(ref))
            source_dir = files / mount["name"]
            source_dir.mkdir()
            for key, value in contents.items():
                target = source_dir / key
                if isinstance(value, bytes):
                    target.write_bytes(value)
                else:
                    target.write_text(value)
                target.chmod(0o644)
            source = str(source_dir)
        mode = "ro" if mount.get("readOnly") else "rw"
        args += ["--volume", f"{source}:{mount['mountPath']}:{mode}"]
    return args


def start(name: str, image: str, options: list[str], args: list[str]) -> None:
    """Start container ``name`` detached with this host's podman settings and ``options``."""
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    r = subprocess.run(
        [*PODMAN_RUN, "-d", "--name", name, *options, image, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr


def logs(name: str) -> str:
    r = subprocess.run(["podman", "logs", name], capture_output=True, text=True, check=False)
    return r.stdout + r.stderr


def wait_for(name: str, text: str, timeout: float) -> str:
    """The container's output once ``text`` is in it."""
    end = time.monotonic() + timeout
    out = ""
    while time.monotonic() < end:
        out = logs(name)
        if text in out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {name}'s output within {timeout:.0f} s:\n{out}")


def python_in(name: str, code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` inside the running container (its python3)."""
    return subprocess.run(
        ["podman", "exec", name, "python3", "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stop(name: str, grace: int) -> int:
    """SIGTERM (then SIGKILL after ``grace`` s), as the kubelet stops a pod; the exit code."""
    r = subprocess.run(
        ["podman", "stop", "--time", str(grace), name], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    code = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.ExitCode}}", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return int(code)


def remove(name: str) -> None:
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
