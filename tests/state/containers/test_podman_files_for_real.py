"""The podman reader on the files a real podman writes, in a store of the test's own.

podman runs with ``--root``/``--runroot`` under a temporary directory (the
``vfs`` driver: nothing stays mounted), so the host's containers are never
touched; the reader is pointed at that store, which also shows its roots and
storage driver are configurable. Then libpod's database is removed and the
fallback (bundle ``config.json`` + ``containers.json``) is read.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from podman_support import IMAGE, build_image

from secengine.state.containers import Mount
from secengine.state.containers.files import ContainersStorage, PodmanFiles

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed"),
]


class _Store:
    def __init__(self, base: Path) -> None:
        self.graph = base / "graph"
        self.run = base / "run"

    def podman(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "podman",
                "--root",
                str(self.graph),
                "--runroot",
                str(self.run),
                "--storage-driver",
                "vfs",
                "--runtime",
                "runc",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def store() -> Iterator[_Store]:
    build_image()
    base = Path(tempfile.mkdtemp(prefix="i14-files-podman-"))
    s = _Store(base)
    saved = subprocess.run(["podman", "save", IMAGE], capture_output=True, check=True).stdout
    load = subprocess.run(
        [
            "podman",
            "--root",
            str(s.graph),
            "--runroot",
            str(s.run),
            "--storage-driver",
            "vfs",
            "load",
        ],
        input=saved,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert load.returncode == 0, load.stderr
    yield s
    s.podman("rm", "-a", "-f")
    shutil.rmtree(base, ignore_errors=True)


def test_what_real_podman_wrote(store: _Store, tmp_path: Path) -> None:
    data = tempfile.mkdtemp(prefix="i14-files-vol-")
    r = store.podman(
        "run",
        "--name",
        "i14-files-real",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--privileged",
        "--label",
        "app=real",
        "-v",
        f"{data}:/data:ro",
        IMAGE,
        "true",
    )
    assert r.returncode == 0, r.stderr
    cid = store.podman("inspect", "--format", "{{.Id}}", "i14-files-real").stdout.strip()
    reader = PodmanFiles(ContainersStorage(str(store.graph), str(store.run), (), "vfs"))
    info = reader.read(cid, [])
    assert info is not None, cid
    assert (info.name, info.type, info.image) == ("i14-files-real", "podman", IMAGE)
    assert info.labels == {"app": "real"} and info.privileged is True
    assert info.mounts == [Mount(data, "/data", "", False, "rprivate")]
    # without libpod's database: the bundle and containers/storage's list
    (store.graph / "libpod" / "bolt_state.db").rename(tmp_path / "db")
    try:
        fallback = reader.read(cid, [])
    finally:
        (tmp_path / "db").rename(store.graph / "libpod" / "bolt_state.db")
    assert fallback is not None
    assert (fallback.name, fallback.image, fallback.privileged) == ("i14-files-real", IMAGE, True)
    assert Mount(data, "/data", "", False, "rprivate") in fallback.mounts
