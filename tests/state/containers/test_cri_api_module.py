"""The shipped CRI messages: generated from the proto in tools/cri_api by tools/gen_cri_api.py,
current, and naming the cri-api version they came from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from secengine.state.containers.cri import api_pb2

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_module_is_what_the_generator_makes() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_cri_api.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_its_header_names_the_proto_version_and_the_command() -> None:
    head = Path(api_pb2.__file__).read_text().splitlines()[:2]
    assert head[0].startswith("# k8s.io/cri-api v0.36.3 (commit 1733b6a9")
    assert "python tools/gen_cri_api.py" in head[1]


def test_the_service_is_runtime_v1() -> None:
    service = api_pb2.DESCRIPTOR.services_by_name["RuntimeService"]
    assert service.full_name == "runtime.v1.RuntimeService"
    for method in ("Version", "ContainerStatus", "PodSandboxStatus", "ListContainers"):
        assert method in service.methods_by_name
