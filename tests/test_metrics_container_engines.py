"""secengine_container_engine_errors_total: a CRI socket that is missing, counted per reason,
read from the syscall source's resolver as the metrics endpoint reads it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

from secengine.metrics import _container_engines, render
from secengine.sources.syscall import SyscallSource
from secengine.state.containers import ContainerInfo, ContainerResolver
from secengine.state.containers.cri import CriEngine
from secengine.state.tracker import StateTracker


def test_engine_errors_are_a_metric_by_engine_and_reason() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        engine = CriEngine(str(Path(tmp) / "absent.sock"), backoff=0.0)
        source = SyscallSource()
        source.label = "syscall"
        source.tracker = StateTracker(containers=ContainerResolver(readers=[], engines=[engine]))
        for _ in range(2):
            engine.enrich(ContainerInfo(id="ab" * 6, full_id="ab" * 32))
        assert source.container_engine_errors() == {("cri", "missing"): 2}
        agent = SimpleNamespace(sources=[source])
        text = render(_container_engines(agent))  # type: ignore[arg-type]
    assert (
        'secengine_container_engine_errors_total{source="syscall",engine="cri",reason="missing"} 2'
        in text
    )
