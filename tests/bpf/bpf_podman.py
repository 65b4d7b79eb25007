"""A real podman container for the live tests: an image built offline, the API socket.

The image is busybox-static imported with ``podman import`` (no registry);
containers run with ``runc`` and explicit ulimits (this machine's crun
fails, and podman's default ulimits exceed the sandbox's). The Docker-
compatible API (``podman system service``) answers the container metadata
lookups of the state tracker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

IMAGE = "localhost/secengine-test-busybox:latest"
IMAGE_REPOSITORY = "localhost/secengine-test-busybox"
API_SOCKET = "/run/podman/secengine-test.sock"
RUN = ["podman", "--runtime", "runc", "run", "--network", "none", "--ulimit", "nofile=1024:1024",
       "--ulimit", "nproc=1024:1024"]
APPLETS = ("sh", "ls", "cat", "ln", "sleep", "id", "true", "nc", "insmod", "cp", "chmod", "echo")


def busybox() -> str:
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(path):
            return path
    raise RuntimeError("busybox-static is not installed (apt-get install busybox-static)")


def build_image() -> str:
    """Import the test image (once per machine)."""
    have = subprocess.run(["podman", "image", "exists", IMAGE], check=False)
    if have.returncode == 0:
        return IMAGE
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for d in ("bin", "tmp", "etc", "proc", "sys", "dev", "root"):
            (root / d).mkdir(parents=True)
        shutil.copy(busybox(), root / "bin" / "busybox")
        for applet in APPLETS:
            (root / "bin" / applet).symlink_to("busybox")
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                             "nobody:x:65534:65534:nobody:/:/bin/sh\n")
        (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
        tar = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar, "w") as tf:
            tf.add(root, arcname=".")
        subprocess.run(["podman", "import", str(tar), IMAGE], check=True, capture_output=True)
    return IMAGE


class Api:
    """``podman system service`` on a socket of our own, stopped by :meth:`close`."""

    def __init__(self) -> None:
        os.makedirs(os.path.dirname(API_SOCKET), exist_ok=True)
        if os.path.exists(API_SOCKET):
            os.unlink(API_SOCKET)
        self.proc = subprocess.Popen(["podman", "system", "service", "--time=0",
                                      f"unix://{API_SOCKET}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while not os.path.exists(API_SOCKET):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("podman system service did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run(name: str, *cmd: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in a new container called ``name`` (removed afterwards)."""
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    return subprocess.run([*RUN, "--rm", "--name", name, *extra, IMAGE, *cmd],
                          capture_output=True, text=True, timeout=120, check=False)
