"""Runtime files for the container tests: the fixtures, copied under a temporary root by
:func:`copy_fixtures`.

``fixtures/`` holds what each runtime writes, trimmed: podman's from a real
``podman run --privileged --label app=web --label tier=front -v
/tmp:/hostdata:ro`` on this machine (its libpod record is written into a
BoltDB by :mod:`bolt_writer`), containerd's, CRI-O's and Docker's from their
file formats (containerd 1.6 CRI annotations, cri-o's ``pkg/annotations``,
dockerd's ``config.v2.json``/``hostconfig.json``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bolt_writer import write

from secengine.state.containers import ContainerResolver
from secengine.state.containers.files import default_readers

FIXTURES = Path(__file__).parent / "fixtures"

PODMAN_ID = "1749e8550cb87ed6b197ce78faea9dab396ba20d8fc9378a000a031a03b08510"
CTD_SANDBOX = "63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a"
CTD_APP = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e"
CRIO_SANDBOX = "b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184"
CRIO_APP = "591785b794601e212b260e25925636fd591785b794601e212b260e25925636fd"
DOCKER_ID = "8f4b3f0c2c1e4d5a9b7e6f5d4c3b2a1908f4b3f0c2c1e4d5a9b7e6f5d4c3b2a1"


@dataclass
class Roots:
    """The runtimes' roots under one temporary directory."""

    base: Path

    @property
    def docker(self) -> Path:
        return self.base / "docker"

    @property
    def containerd(self) -> Path:
        return self.base / "containerd"

    @property
    def graph(self) -> Path:
        return self.base / "graph"

    @property
    def run(self) -> Path:
        return self.base / "run"

    @property
    def runc(self) -> Path:
        return self.base / "runc"

    def readers(self) -> list:
        return default_readers(
            docker_root=str(self.docker),
            containerd_state_dirs=[str(self.containerd)],
            graph_root=str(self.graph),
            run_root=str(self.run),
            runtime_roots=[str(self.runc)],
        )

    def resolver(self, **kw: object) -> ContainerResolver:
        kw.setdefault("engines", [])
        return ContainerResolver(readers=self.readers(), **kw)  # type: ignore[arg-type]

    def libpod_db(self) -> Path:
        return self.graph / "libpod" / "bolt_state.db"

    def write_libpod(self, records: dict[str, bytes]) -> None:
        self.libpod_db().parent.mkdir(parents=True, exist_ok=True)
        write(
            str(self.libpod_db()),
            {b"ctr": {cid.encode(): {b"config": raw} for cid, raw in records.items()}},
        )


def copy_fixtures(base: Path) -> Roots:
    """The fixtures under ``base``, podman's libpod record written into its BoltDB."""
    r = Roots(base)
    shutil.copytree(FIXTURES / "docker", r.docker)
    shutil.copytree(FIXTURES / "containerd", r.containerd)
    shutil.copytree(FIXTURES / "podman" / "graph", r.graph)
    shutil.copytree(FIXTURES / "podman" / "runc", r.runc)
    shutil.copytree(FIXTURES / "crio" / "run", r.run)
    record = json.loads((FIXTURES / "podman" / "libpod-config.json").read_text())
    r.write_libpod({PODMAN_ID: json.dumps(record).encode()})
    return r
