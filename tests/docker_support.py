"""A real Docker daemon for the tests: Debian's ``dockerd``, private to one test session.

``dockerd`` runs with its data-root, exec-root, pid file and API socket under
a temporary directory, so the host's ``/var/lib/docker`` and
``/var/run/docker.sock`` are never touched. It needs no network set-up
(``--iptables=false --bridge=none``; containers run with ``--network none``)
and no overlay support (``--storage-driver=vfs``); it starts its own
containerd under the exec-root. Its only trace outside the directory is the
empty ``/run/docker/plugins`` (dockerd's plugin directory is fixed). The image is the podman test image
(``tests/podman_support.py``), handed over with ``podman save | docker load``:
no registry is involved.

Containers get cgroups ``/docker/<id>`` (cgroupfs driver), the path the
syscall source derives ``container.type=docker`` from, and the daemon writes
``<data-root>/containers/<id>/config.v2.json`` and ``hostconfig.json``, the
files a Docker runtime-file reader reads.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from podman_support import IMAGE, build_image

__all__ = ["IMAGE", "DockerDaemon", "unavailable_reason"]


def unavailable_reason() -> str | None:
    """Why a private dockerd cannot be started here, or None when it can."""
    if os.geteuid() != 0:
        return "dockerd needs root"
    for tool in ("dockerd", "docker", "podman"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install docker.io podman)"
    return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class DockerDaemon:
    """``dockerd`` under a temporary directory; :meth:`close` stops it and removes it all."""

    def __init__(self, prefix: str = "i14-docker-") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.data_root = self.dir / "data"
        self.socket = str(self.dir / "docker.sock")
        self.log = self.dir / "dockerd.log"
        #: the image :meth:`run` runs (:meth:`load_test_image` loads it)
        self.image = IMAGE
        # the daemon's trust key, /etc/docker/key.json otherwise
        config = self.dir / "daemon.json"
        config.write_text(json.dumps({"deprecated-key-path": str(self.dir / "key.json")}))
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    "dockerd",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--bridge=none",
                    "--storage-driver=vfs",
                    f"--data-root={self.data_root}",
                    f"--exec-root={self.dir / 'exec'}",
                    f"--pidfile={self.dir / 'dockerd.pid'}",
                    # our settings, not the host's /etc/docker/daemon.json
                    f"--config-file={config}",
                    f"--host=unix://{self.socket}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(60.0)
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited ({self.proc.returncode}): {self._log_tail()}")
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not answer within {timeout:.0f} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def ping(self) -> bool:
        """True when the API answers ``GET /_ping``."""
        if not os.path.exists(self.socket):
            return False
        conn = _UnixConnection(self.socket, 2.0)
        try:
            conn.request("GET", "/_ping")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The ``docker`` client against this daemon."""
        return subprocess.run(
            ["docker", f"--host=unix://{self.socket}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def load_test_image(self) -> str:
        """The podman test image, loaded into this daemon; returns its name."""
        build_image()
        with tempfile.TemporaryDirectory(dir=self.dir) as tmp:
            tar = os.path.join(tmp, "image.tar")
            subprocess.run(
                ["podman", "save", "--format", "docker-archive", "-o", tar, IMAGE],
                check=True,
                capture_output=True,
            )
            r = self.docker("load", "-i", tar)
            if r.returncode != 0:
                raise RuntimeError(f"docker load failed: {r.stderr.strip()}")
        return IMAGE

    def run(
        self, name: str, *cmd: str, extra: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` in a new container ``name`` (no network; removed afterwards)."""
        self.docker("rm", "-f", name)
        return self.docker(
            "run", "--rm", "--network", "none", "--name", name, *extra, self.image, *cmd
        )

    def close(self) -> None:
        """Stop the daemon (its containers with it) and delete its directory."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # dockerd bind-mounts its data-root on itself and unmounts it on a clean stop;
        # after a SIGKILL the mount is left, so unmount what is under our directory
        for mountpoint in reversed(_mounts_under(self.dir)):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]
