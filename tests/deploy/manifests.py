"""The Kubernetes manifests of ``deploy/kubernetes/``, read for the tests, and what the
agent itself reads on a node (to check the two agree)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"


def manifest_files() -> list[Path]:
    """The manifests (every ``*.yaml`` but the kustomization)."""
    return sorted(p for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of one file, as plain data."""
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d is not None]


def all_documents() -> list[dict[str, Any]]:
    return [d for p in manifest_files() for d in documents(p)]


def find(kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` called ``name``."""
    (obj,) = (d for d in all_documents() if d["kind"] == kind and d["metadata"]["name"] == name)
    return obj


def daemonset() -> dict[str, Any]:
    return find("DaemonSet", "secengine")


def container(workload: dict[str, Any]) -> dict[str, Any]:
    """The workload's one container."""
    (c,) = workload["spec"]["template"]["spec"]["containers"]
    return c


def volumes(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}


def host_mounts(workload: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(host path, mount path, read-only)`` of every hostPath volume the container mounts."""
    vols = volumes(workload)
    out = []
    for m in container(workload).get("volumeMounts", []):
        host = vols[m["name"]].get("hostPath")
        if host is not None:
            out.append((host["path"], m["mountPath"], bool(m.get("readOnly", False))))
    return out


def config_map_data(name: str) -> dict[str, str]:
    return dict(find("ConfigMap", name)["data"])


def capabilities(workload: dict[str, Any]) -> tuple[str, ...]:
    """The capabilities the container adds (after dropping ALL)."""
    caps = container(workload)["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"], caps
    return tuple(caps["add"])


#: capability numbers (linux/capability.h) of the capabilities the manifests name
_CAP_NUMBERS = {
    "DAC_READ_SEARCH": 2,
    "SYS_PTRACE": 19,
    "SYS_RESOURCE": 24,
    "PERFMON": 38,
    "BPF": 39,
}


def present(caps: tuple[str, ...]) -> tuple[str, ...]:
    """``caps`` minus those this machine's root does not have itself.

    A sandboxed CI machine may withhold one (this one has no CAP_SYS_RESOURCE,
    which only kernels before 5.11 need for BPF memory); a container cannot
    be given a capability its runtime does not hold.
    """
    with open("/proc/self/status") as f:
        bounding = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    return tuple(c for c in caps if bounding >> _CAP_NUMBERS[c] & 1)


def _path_constants(value: Any) -> Iterator[str]:
    if isinstance(value, str | Path) and str(value).startswith("/"):
        yield str(value)
    elif isinstance(value, tuple | list | frozenset):
        for item in value:
            yield from _path_constants(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _path_constants(item)


def agent_host_paths() -> set[str]:
    """Every host path the agent reads container metadata from, at its defaults.

    The convention: a runtime path the agent reads is a module-level
    ``DEFAULT_*`` constant (a path, or a sequence of paths) somewhere in
    :mod:`secengine.state.containers`; this walks them all, so a new reader
    with a new default path is found without touching the test.
    """
    pkg = importlib.import_module("secengine.state.containers")
    modules = [pkg]
    if hasattr(pkg, "__path__"):
        modules += [
            importlib.import_module(m.name)
            for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
        ]
    paths: set[str] = set()
    for mod in modules:
        for name, value in vars(mod).items():
            if name.startswith("DEFAULT_"):
                paths.update(_path_constants(value))
    return paths


def agent_host_files() -> set[str]:
    """The host's files the agent reads besides the runtimes': the account databases that
    name host processes' users and groups (``state/users.py``)."""
    from secengine.state.users import UserDb

    return set(UserDb("/")._paths())


def host_form(path: str) -> str:
    """``/var/run/...`` is ``/run/...`` on every distribution Kubernetes runs on."""
    return "/run" + path[len("/var/run") :] if path.startswith("/var/run/") else path


def covers(mount: str, path: str) -> bool:
    """``path`` is ``mount`` or lies under it."""
    mount, path = host_form(mount).rstrip("/"), host_form(path)
    return path == mount or path.startswith(mount + "/")


def related(mount: str, path: str) -> bool:
    """The mount gives the agent ``path`` (``path`` under it), or the part of the runtime
    root ``path`` that its reader reads (the mount under ``path``: e.g. only
    ``/var/lib/docker/containers`` of Docker's root ``/var/lib/docker``)."""
    return covers(mount, path) or covers(path, mount)
