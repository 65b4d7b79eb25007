"""Containers and runtimes: find a running container, name its runtime, edit a ``run`` command.

- :func:`resolve_container` turns an id or a name into the container's pid,
  runtime and image, asking docker's or podman's Docker-compatible API socket
  first and the ``podman``/``docker`` command line second;
- :func:`runtime_version` asks the OCI runtime binary for its version (the key
  of the runtime baselines);
- :func:`inject_options` adds ``--security-opt seccomp=FILE --cap-drop ALL
  --cap-add ...`` right after the ``run`` (or ``create``) of a docker/podman
  command line, which is how ``verify`` re-runs a workload under a proposal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secengine.profile.capabilities import cap_args
from secengine.profile.errors import ContainerNotFound, ProfileError
from secengine.state.containers import DEFAULT_SOCKETS, inspect_container

__all__ = [
    "ContainerRef",
    "blocked_syscalls",
    "default_runtime",
    "engine_message",
    "engine_of",
    "inject_options",
    "remove_container",
    "resolve_container",
    "runtime_of_command",
    "runtime_version",
    "tasks_in_mntns",
]

_VERSION = re.compile(r"\bversion\s+v?(\d+(?:\.\d+)+)")


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A running container, as its engine describes it."""

    id: str
    name: str
    pid: int
    runtime: str
    image: str
    engine: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "image": self.image, "engine": self.engine}


def _from_inspect(data: dict[str, Any], engine: str) -> ContainerRef:
    state = data.get("State") or {}
    host = data.get("HostConfig") or {}
    config = data.get("Config") or {}
    runtime = data.get("OCIRuntime") or host.get("Runtime") or "runc"
    return ContainerRef(
        id=data.get("Id", ""),
        name=(data.get("Name") or "").lstrip("/"),
        pid=int(state.get("Pid") or 0),
        runtime=runtime,
        image=data.get("ImageName") or config.get("Image") or "",
        engine=engine,
    )


def _api_inspect(ref: str, sockets: Sequence[str]) -> ContainerRef | None:
    data, engine = inspect_container(ref, [p for p in sockets if os.path.exists(p)])
    return None if data is None else _from_inspect(data, engine)


def _cli_inspect(ref: str, engine: str) -> ContainerRef | None:
    exe = shutil.which(engine)
    if exe is None:
        return None
    proc = subprocess.run(
        [exe, "inspect", "--type", "container", ref],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        return None
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None
    return _from_inspect(data[0], engine) if data else None


def resolve_container(ref: str, sockets: Sequence[str] = DEFAULT_SOCKETS) -> ContainerRef:
    """The running container with id (or id prefix) or name ``ref``."""
    found = _api_inspect(ref, sockets) or _cli_inspect(ref, "podman") or _cli_inspect(ref, "docker")
    if found is None:
        raise ContainerNotFound(
            f"no container {ref!r}: neither docker nor podman knows it "
            "(give its id or name as 'docker ps' / 'podman ps' show it)"
        )
    if found.pid <= 0:
        raise ProfileError(
            f"container {ref!r} is not running; 'attach' records a running "
            "container (use 'profile run' to record one from its start)"
        )
    return found


def runtime_version(runtime: str) -> str:
    """``runc --version`` -> ``1.1.5`` (the version without distribution suffixes)."""
    exe = runtime if os.path.sep in runtime else shutil.which(runtime)
    if exe is None:
        raise ProfileError(f"the OCI runtime {runtime!r} is not installed here")
    proc = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    m = _VERSION.search(proc.stdout + proc.stderr)
    if not m:
        raise ProfileError(f"cannot tell the version of {runtime!r} from '{runtime} --version'")
    return m.group(1)


def engine_of(command: Sequence[str]) -> str:
    """``podman``, ``docker`` or ``""`` for any other command."""
    name = os.path.basename(command[0]) if command else ""
    return name if name in ("podman", "docker") else ""


def run_index(command: Sequence[str]) -> int:
    """Where the ``run`` (or ``create``) subcommand is in a docker/podman command, or -1."""
    for i, arg in enumerate(command[1:], 1):
        if arg in ("run", "create"):
            return i
    return -1


def runtime_of_command(command: Sequence[str]) -> str | None:
    """The ``--runtime`` a docker/podman command line asks for, if any."""
    for i, arg in enumerate(command):
        if arg == "--runtime" and i + 1 < len(command):
            return os.path.basename(command[i + 1])
        if arg.startswith("--runtime="):
            return os.path.basename(arg.split("=", 1)[1])
    return None


def default_runtime(engine: str) -> str | None:
    """The runtime an engine uses when the command names none (podman info / docker info)."""
    exe = shutil.which(engine) if engine else None
    if exe is None:
        return None
    fmt = "{{.Host.OCIRuntime.Name}}" if engine == "podman" else "{{.DefaultRuntime}}"
    proc = subprocess.run(
        [exe, "info", "--format", fmt], capture_output=True, text=True, check=False, timeout=60
    )
    name = proc.stdout.strip()
    return name if proc.returncode == 0 and name else None


def inject_options(
    command: Sequence[str], profile: Path | None, caps: Sequence[str] | None
) -> list[str]:
    """The command with the seccomp profile and capability options after its ``run``."""
    idx = run_index(command)
    if not engine_of(command) or idx < 0:
        raise ProfileError(
            "verify re-runs a 'docker run' or 'podman run' command with the "
            "profile; give one after '--' (or pass --no-inject and add "
            "'--security-opt seccomp=FILE' and the capability options yourself)"
        )
    extra: list[str] = []
    if profile is not None:
        extra += ["--security-opt", f"seccomp={profile}"]
    if caps is not None:
        extra += cap_args(caps)
    return [*command[: idx + 1], *extra, *command[idx + 1 :]]


def with_cidfile(command: Sequence[str], path: Path) -> tuple[list[str], Path | None]:
    """A docker/podman ``run`` command that writes its container id to a file, and the file.

    The command's own ``--cidfile`` is kept; other commands come back unchanged (None).
    """
    idx = run_index(command)
    if not engine_of(command) or idx < 0:
        return list(command), None
    for i, arg in enumerate(command):
        if arg == "--cidfile" and i + 1 < len(command):
            return list(command), Path(command[i + 1])
        if arg.startswith("--cidfile="):
            return list(command), Path(arg.split("=", 1)[1])
    return [*command[: idx + 1], "--cidfile", str(path), *command[idx + 1 :]], path


def stop_container(engine: str, cidfile: Path, timeout: int = 5) -> bool:
    """``ENGINE stop -t TIMEOUT ID`` for the id in ``cidfile``; whether it was stopped."""
    try:
        cid = cidfile.read_text().strip()
    except OSError:
        return False
    if not cid:
        return False
    proc = subprocess.run(
        [engine, "stop", "-t", str(timeout), cid],
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        check=False,
    )
    return proc.returncode == 0


def remove_container(engine: str, cid: str, grace: int) -> bool:
    """Stop (SIGTERM, SIGKILL after ``grace`` seconds) and remove container ``cid``.

    Whether it is gone; one that never existed or is already removed counts as gone.
    """
    exe = shutil.which(engine) if engine else None
    if exe is None or not cid:
        return False
    if engine == "docker":  # 'docker rm' kills at once: give it its stop first
        subprocess.run(
            [exe, "stop", "-t", str(grace), cid],
            capture_output=True,
            text=True,
            timeout=grace + 60,
            check=False,
        )
        cmd = [exe, "rm", "-f", cid]
    else:
        cmd = [exe, "rm", "-f", "-t", str(grace), cid]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=grace + 60, check=False)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 or "no such container" in proc.stderr.lower()


_LOGRUS = re.compile(r'level=(?:error|fatal)\s+msg="((?:[^"\\]|\\.)*)"')
_ERROR_LINE = re.compile(r"^(?:[\w./-]+: )?(?:Error|error)(?: response from daemon)?: (.+)$")
#: The longest engine message quoted.
MESSAGE_CHARS = 400


def engine_message(output: str) -> str | None:
    """The engine's (or runtime's) last error message in ``output`` (its stderr), if any.

    podman: ``Error: ...``; docker: ``docker: Error response from daemon: ...``;
    logrus-style lines: ``level=error msg="..."``.
    """
    for line in reversed(output.splitlines()):
        line = line.strip()
        m = _LOGRUS.search(line)
        if m:
            text = m.group(1).replace('\\"', '"')
        else:
            m = _ERROR_LINE.match(line)
            if not m:
                continue
            text = m.group(1)
        text = text.strip().rstrip(".")
        return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "..."
    return None


def tasks_in_mntns(mntns: int, proc: Path = Path("/proc")) -> list[tuple[int, int]]:
    """Every (pid, tid) whose process is in mount namespace ``mntns``."""
    out = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry / "ns" / "mnt").st_ino != mntns:
                continue
            tids = [int(t.name) for t in (entry / "task").iterdir()]
        except OSError:
            continue
        out += [(int(entry.name), tid) for tid in tids]
    return out


def blocked_syscalls(tasks: Sequence[tuple[int, int]]) -> set[int]:
    """The syscalls these threads are blocked in now (``/proc/PID/task/TID/syscall``).

    A call that started before recording and has not returned (a server in
    ``accept``, a shell in ``wait4``) is never seen at syscall exit.
    """
    out = set()
    for pid, tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()
        except OSError:
            continue
        if text and text[0].isdigit():
            out.add(int(text[0]))
    return out
