"""The agent's OCI image for the tests, built offline with podman from a local base image.

There is no registry here, so ``debian:bookworm-slim`` cannot be pulled. The
base image is made the way Debian makes its own: ``debootstrap
--variant=minbase`` of bookworm from the apt mirror into a temporary
directory, with the packages the ``Containerfile`` would otherwise install
(python3, python3-venv, libbpf1) already included, apt's caches and the
documentation removed, then ``podman import``. It is tagged by the recipe's
hash and kept in podman's storage, so a machine builds it once (about two
minutes); the agent image on top takes seconds.

The build context is what ``make image`` makes: ``wheels/`` with the
secengine wheel (its probe compiled by ``hatch_build.py``) and its
dependencies' wheels (``pip download``, before the build). ``podman build
--network none`` then proves the build itself needs no network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "Containerfile"

SUITE = "bookworm"
MIRROR = os.environ.get("SECENGINE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
#: what the Containerfile's first RUN installs when the base lacks it
PACKAGES = ("python3", "python3-venv", "libbpf1")
#: removed from the base after debootstrap: package caches and documentation
_PRUNE = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
    "usr/share/info",
)
_RECIPE = f"v1 {SUITE} minbase {' '.join(PACKAGES)} prune {' '.join(_PRUNE)}"
BASE_IMAGE = f"localhost/secengine-base:{SUITE}-{hashlib.sha256(_RECIPE.encode()).hexdigest()[:12]}"


def unavailable_reason() -> str | None:
    """Why the image cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "building the base image (debootstrap) and running the probe need root"
    for tool in ("podman", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install podman debootstrap)"
    return None


def _image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0


def build_base_image() -> str:
    """The local Debian base image (built once per machine); returns its name."""
    if _image_exists(BASE_IMAGE):
        return BASE_IMAGE
    with tempfile.TemporaryDirectory(prefix="secengine-base-") as tmp:
        root = Path(tmp) / "root"
        r = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(root),
                MIRROR,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(f"debootstrap failed: {(r.stdout + r.stderr)[-2000:]}")
        for sub in _PRUNE:
            target = root / sub
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
        )
        imported = subprocess.run(
            ["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", BASE_IMAGE],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise RuntimeError(f"podman import of the base image failed: {imported.stderr}")
    return BASE_IMAGE


def build_context(wheel: Path, context: Path) -> Path:
    """``context/wheels``: ``wheel`` and its dependencies' wheels, as ``make image`` makes it."""
    wheels = context / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, wheels)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(wheels),
            str(wheels / wheel.name),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"pip download of the dependencies failed: {r.stderr[-2000:]}")
    return context


def build_agent_image(context: Path, tag: str) -> str:
    """``podman build`` of the Containerfile on ``context`` over the local base, offline."""
    r = subprocess.run(
        [
            "podman",
            "build",
            "--network",
            "none",
            "--pull=never",
            "--build-arg",
            f"BASE={build_base_image()}",
            "-f",
            str(CONTAINERFILE),
            "-t",
            tag,
            str(context),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"podman build failed: {(r.stdout + r.stderr)[-3000:]}")
    return tag
