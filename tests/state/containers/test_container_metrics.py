"""The container families of the metrics endpoint, from a resolver that met a hostile file."""

from __future__ import annotations

from runtime_fixtures import CTD_APP, PODMAN_ID, Roots

from secengine.metrics import container_metrics, render


class _Source:
    name = "syscall"

    def __init__(self, roots: Roots) -> None:
        self.resolver = roots.resolver()

    def container_stats(self) -> dict[str, object]:
        return self.resolver.stats()


def test_unusable_files_are_counted_by_runtime_and_reason(roots: Roots) -> None:
    (
        roots.containerd / "io.containerd.runtime.v2.task" / "k8s.io" / CTD_APP / "config.json"
    ).write_text("{")
    src = _Source(roots)
    src.resolver.get(CTD_APP)
    src.resolver.get(PODMAN_ID)
    text = render(container_metrics([src, object()]))
    assert (
        'secengine_container_metadata_errors_total{runtime="containerd",reason="not_json"} 1'
        in text
    )
    assert 'secengine_container_cache_entries{source="syscall"} 2' in text


def test_no_resolver_no_families() -> None:
    assert container_metrics([object()]) == []
