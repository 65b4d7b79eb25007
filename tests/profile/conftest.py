"""Fixtures for the profile tests that load the recorder and run containers (marker ``bpf``).

They need root, a kernel with BTF, ``libbpf.so.1``, the compiled recorder
(built here with clang when missing or older than its source), and for the
container tests podman with runc and ``busybox-static`` (``make test``
installs them; the image is built by :mod:`profile_podman`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from secengine.profile.recorder import object_path


@pytest.fixture(scope="session")
def recorder_object() -> Path:
    obj = object_path()
    sources = [obj.with_name("profile.bpf.c"), obj.with_name("profile.h")]
    if not obj.is_file() or any(s.stat().st_mtime > obj.stat().st_mtime for s in sources):
        from secengine.bpf.build import build

        build(obj, source=sources[0])
    return obj


@pytest.fixture(scope="session")
def busybox_image() -> str:
    from profile_podman import build_image

    return build_image()
