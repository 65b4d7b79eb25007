"""Stop or kill the event's container through the runtime that runs it.

The container's runtime is the one its metadata came from (``container.type``):

- ``docker`` and ``podman``: the Docker-compatible API (``POST
  /containers/ID/stop?t=N``, ``/kill?signal=KILL``) on the sockets the
  ``container_engines`` configuration names for that kind (or the default
  ones that exist); podman without an API service: the ``podman`` command
  (``podman stop -t N ID``, ``podman kill ID``), as podman has no daemon;
- ``containerd`` and ``cri-o``: the CRI ``StopContainer`` on the CRI sockets
  (a kill is a stop with no grace: the runtime sends SIGKILL at once).

A socket that does not know the container is skipped; a runtime that is
down, slow or refuses is a ``failed`` outcome with one sentence, never a
traceback. The calls block (a stop waits out its grace period), so the
responder runs them off the evaluation thread.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Final

from secengine.response.outcome import Outcome, Status
from secengine.response.target import Target
from secengine.state.containers.discovery import DEFAULT_ENGINE_SOCKETS, EngineSettings
from secengine.state.containers.docker_api import api_post

__all__ = ["ContainerRuntimes"]

_API_KINDS: Final = {"docker": ("docker",), "podman": ("podman",)}
_CRI_KINDS: Final = {"containerd": ("cri", "containerd"), "cri-o": ("cri",)}
#: Seconds a podman command may take beyond the stop's grace period.
_CLI_SLACK: Final = 30.0


class ContainerRuntimes:
    """The runtime clients of the container actions, on the configured or default sockets."""

    def __init__(
        self,
        engines: Sequence[EngineSettings] | None = None,
        *,
        timeout: float = 15.0,
        exists: Callable[[str], bool] = os.path.exists,
        podman: str | None = None,
    ) -> None:
        self.timeout = timeout
        self._exists = exists
        self._settings = {e.kind: e for e in engines or ()}
        self._podman = podman if podman is not None else (shutil.which("podman") or "")

    def sockets(self, kinds: Sequence[str]) -> list[str]:
        """The sockets of the engine ``kinds``: configured ones, else the defaults that exist."""
        out: list[str] = []
        for kind in kinds:
            entry = self._settings.get(kind)
            if entry is not None and not entry.enabled:
                continue
            if entry is not None and entry.sockets is not None:
                found = [s.removeprefix("unix://") for s in entry.sockets]
            else:
                found = [s for s in DEFAULT_ENGINE_SOCKETS[kind] if self._exists(s)]
            out.extend(s for s in found if s not in out)
        return out

    def stop(self, target: Target, grace: int) -> Outcome:
        """Stop the container: SIGTERM, then SIGKILL after ``grace`` seconds."""
        return self._act(target, grace, kill=False)

    def kill(self, target: Target) -> Outcome:
        """Kill the container: SIGKILL to its processes now."""
        return self._act(target, 0, kill=True)

    def _act(self, target: Target, grace: int, *, kill: bool) -> Outcome:
        if not target.in_container:
            return Outcome(Status.NO_TARGET, "the process is not in a container")
        ref = target.container_full_id or target.container_id
        runtime = target.container_type
        verb = "killed" if kill else "stopped"
        if runtime in _API_KINDS:
            outcome = self._api(ref, runtime, grace, kill)
            if outcome is None and runtime == "podman" and self._podman:
                outcome = self._podman_cli(ref, grace, kill)
            if outcome is None:
                return Outcome(
                    Status.FAILED, f"no {runtime} API socket knows container {target.container_id}"
                )
        elif runtime in _CRI_KINDS:
            outcome = self._cri(ref, runtime, grace)
        else:
            return Outcome(
                Status.NO_TARGET,
                f"container {target.container_id} has runtime {runtime or 'unknown'}, "
                "which secengine cannot stop",
            )
        if outcome.status is Status.DONE:
            latency = time.time_ns() - target.event_ts
            detail = f"container {target.container_name or target.container_id} {verb} ({outcome.detail})"
            return Outcome(Status.DONE, detail, latency)
        return outcome

    # -- the Docker-compatible API ---------------------------------------------------------------
    def _api(self, ref: str, runtime: str, grace: int, kill: bool) -> Outcome | None:
        path = (
            f"/containers/{ref}/kill?signal=KILL" if kill else f"/containers/{ref}/stop?t={grace}"
        )
        problems = []
        for sock in self.sockets(_API_KINDS[runtime]):
            try:
                status, body = api_post(sock, path, self.timeout + grace)
            except OSError as e:
                problems.append(f"{sock}: {e.strerror or e}")
                continue
            if status in (200, 204):
                return Outcome(Status.DONE, f"{runtime} API on {sock}")
            if status == 304:
                return Outcome(Status.GONE, f"the container had already stopped ({sock})")
            if status == 404:
                continue
            if status == 409:
                return Outcome(Status.GONE, f"the container is not running ({sock})")
            text = body.decode("utf-8", "replace").strip()[:200]
            return Outcome(Status.FAILED, f"{runtime} API on {sock} answered {status}: {text}")
        if problems:
            return Outcome(Status.FAILED, "; ".join(problems))
        return None

    def _podman_cli(self, ref: str, grace: int, kill: bool) -> Outcome:
        cmd = (
            [self._podman, "kill", "--signal", "KILL", ref]
            if kill
            else [self._podman, "stop", "--time", str(grace), ref]
        )
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=grace + _CLI_SLACK,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return Outcome(
                Status.FAILED, f"{' '.join(cmd[1:3])} took more than {grace + _CLI_SLACK:.0f}s"
            )
        except OSError as e:
            return Outcome(Status.FAILED, f"cannot run {self._podman}: {e.strerror or e}")
        if done.returncode == 0:
            return Outcome(Status.DONE, "podman " + cmd[1])
        err = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        if "no such container" in err[0] or "not running" in err[0] or "improper" in err[0]:
            return Outcome(Status.GONE, f"podman {cmd[1]}: {err[0][:200]}")
        return Outcome(Status.FAILED, f"podman {cmd[1]}: {err[0][:200]}")

    # -- the CRI -------------------------------------------------------------------------------
    def _cri(self, ref: str, runtime: str, grace: int) -> Outcome:
        from secengine.state.containers.cri.client import CriClient, CriError

        problems = []
        for sock in self.sockets(_CRI_KINDS[runtime]):
            client = CriClient(sock, timeout=self.timeout + grace)
            try:
                client.stop_container(ref, grace)
            except CriError as e:
                if e.reason == "not_found":
                    continue
                problems.append(f"{sock}: {e.reason}: {e.detail[:200]}")
                continue
            finally:
                client.close()
            return Outcome(Status.DONE, f"CRI StopContainer on {sock}")
        if problems:
            return Outcome(Status.FAILED, "; ".join(problems))
        return Outcome(Status.FAILED, f"no CRI socket knows container {ref[:12]}")
