"""secengine_container_engine_errors_total: a CRI socket that is missing, counted per reason,
read from the syscall source's resolver as the metrics endpoint reads it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from secengine.metrics import container_metrics, render
from secengine.sources.syscall import SyscallSource
from secengine.state.containers import ContainerInfo, ContainerResolver
from secengine.state.containers.cri import CriEngine
from secengine.state.tracker import StateTracker


class _Raising:
    name = "broken"

    def enrich(self, info: ContainerInfo) -> bool:
        raise ConnectionRefusedError("no")

    def cached_pod(self, sandbox_id: str) -> None:
        return None

    def forget(self, full_id: str) -> None:
        return None

    def close(self) -> None:
        return None


def test_engine_errors_are_a_metric_by_engine_and_reason() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        engine = CriEngine(str(Path(tmp) / "absent.sock"), backoff=0.0)
        resolver = ContainerResolver(readers=[], engines=[engine, _Raising()])
        source = SyscallSource()
        source.label = "syscall"
        source.tracker = StateTracker(containers=resolver)
        for _ in range(2):
            resolver.resolve_now("ab" * 32)
        text = render(container_metrics([source]))
    assert (
        'secengine_container_engine_errors_total{source="syscall",engine="cri",reason="missing"} 2'
        in text
    )
    assert (
        'secengine_container_engine_errors_total{source="syscall",engine="broken",'
        'reason="exception:ConnectionRefusedError"} 2' in text
    )
