"""Podman for the profile tests: a busybox image built offline, ``podman run`` as used here.

The image is busybox-static with one symlink per applet, tarred and given to
``podman import`` (no registry). Containers run with runc (this host's crun
fails on its cgroup v1 layout), explicit ulimits (podman's defaults exceed the
sandbox's) and no network (loopback only).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

IMAGE = "localhost/secengine-profile-busybox:test"
PODMAN_RUN = ("podman", "--runtime", "runc", "run", "--network", "none", "--ulimit",
              "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


def build_image() -> str:
    """Import the test image (once per machine)."""
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode == 0:
        return IMAGE
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is needed to build the test image (apt-get install " \
                    "busybox-static)"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for d in ("bin", "tmp", "etc"):
            (root / d).mkdir(parents=True)
        (root / "tmp").chmod(0o1777)
        shutil.copy(busybox, root / "bin" / "busybox")
        applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                                 check=True).stdout.split()
        for applet in applets:
            if applet != "busybox":
                (root / "bin" / applet).symlink_to("busybox")
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                             "nobody:x:65534:65534:nobody:/:/bin/sh\n")
        (root / "etc" / "data.txt").write_text("hello from the image\n")
        tar = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar, "w") as t:
            for entry in sorted(root.iterdir()):
                t.add(entry, arcname=entry.name)
        subprocess.run(["podman", "import", "--change", "ENV PATH=/bin", "--change",
                        'CMD ["/bin/sh"]', str(tar), IMAGE], check=True, capture_output=True)
    return IMAGE


def podman_run(image: str, script: str, *options: str) -> list[str]:
    """``podman run --rm [options] IMAGE sh -c SCRIPT`` with this host's settings."""
    return [*PODMAN_RUN, "--rm", *options, image, "sh", "-c", script]


class Service:
    """``podman system service`` on a socket of its own: containers it starts are not
    descendants of the ``podman --url ... run`` command (as with docker's daemon)."""

    def __init__(self, socket: str = "/run/podman/secengine-profile-test.sock") -> None:
        import os
        import time

        self.socket = socket
        os.makedirs(os.path.dirname(socket), exist_ok=True)
        if os.path.exists(socket):
            os.unlink(socket)
        self.proc = subprocess.Popen(["podman", "system", "service", "--time=0",
                                      f"unix://{socket}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while not os.path.exists(socket):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("podman system service did not start")
            time.sleep(0.05)

    def run(self, image: str, script: str, *options: str) -> list[str]:
        """``podman --url SOCKET run --rm ... IMAGE sh -c SCRIPT`` (the service's runtime: runc)."""
        return ["podman", "--url", f"unix://{self.socket}", "run", "--rm", "--network", "none",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", *options, image,
                "sh", "-c", script]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
