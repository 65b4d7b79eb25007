"""Podman for the live tests: one busybox image built offline, and a private API service.

The image is busybox-static with a symlink per applet, plus a few files the
tests read, tarred and given to ``podman import`` (no registry). Containers
run with runc (this host's crun fails on its cgroup layout), explicit ulimits
(podman's defaults exceed the sandbox's) and no network (loopback only). The
Docker-compatible API (``podman system service`` on a socket of our own)
answers the container metadata lookups of the syscall source, and starts
containers that are not descendants of the client, as docker's daemon does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

IMAGE_REPOSITORY = "localhost/secengine-test-busybox"
#: the tag names the image content: change it whenever build_image changes what it puts in
IMAGE = f"{IMAGE_REPOSITORY}:v2"
#: ``podman run`` with this host's settings (append ``--rm``/``--name``..., the image, a command)
PODMAN_RUN = (
    "podman",
    "--runtime",
    "runc",
    "run",
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
)


def busybox() -> str:
    path = shutil.which("busybox") or next(
        (p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)), None
    )
    if path is None:
        raise RuntimeError("busybox-static is not installed (apt-get install busybox-static)")
    return path


def build_image() -> str:
    """Import the test image (once per machine); returns its name."""
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode == 0:
        return IMAGE
    bb = busybox()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for d in ("bin", "tmp", "etc", "proc", "sys", "dev", "root"):
            (root / d).mkdir(parents=True)
        (root / "tmp").chmod(0o1777)
        shutil.copy(bb, root / "bin" / "busybox")
        applets = subprocess.run(
            [bb, "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        for applet in applets:
            if applet != "busybox":
                (root / "bin" / applet).symlink_to("busybox")
        (root / "etc" / "passwd").write_text(
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
        )
        (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
        (root / "etc" / "data.txt").write_text("hello from the image\n")
        tar = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar, "w") as t:
            for entry in sorted(root.iterdir()):
                t.add(entry, arcname=entry.name)
        subprocess.run(
            [
                "podman",
                "import",
                "--change",
                "ENV PATH=/bin",
                "--change",
                'CMD ["/bin/sh"]',
                str(tar),
                IMAGE,
            ],
            check=True,
            capture_output=True,
        )
    return IMAGE


class PodmanService:
    """``podman system service`` on a socket of its own, stopped by :meth:`close`."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        os.makedirs(os.path.dirname(socket), exist_ok=True)
        if os.path.exists(socket):
            os.unlink(socket)
        self.proc = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + 20
        while not os.path.exists(socket):
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
