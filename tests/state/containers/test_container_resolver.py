"""The resolver: files first, engines on a worker thread, pods shared, bounded, never stalling."""

from __future__ import annotations

import threading
import time

from runtime_fixtures import CRIO_APP, CRIO_SANDBOX, CTD_APP, CTD_SANDBOX, PODMAN_ID, Roots

from secengine.state.containers import ContainerInfo, ContainerResolver, PodInfo


class FakeEngine:
    """A MetadataEngine that answers from a table, optionally slowly or by raising."""

    def __init__(
        self,
        name: str = "fake",
        *,
        known: set[str] | None = None,
        delay: float = 0.0,
        error: Exception | None = None,
        pods: dict[str, PodInfo] | None = None,
    ) -> None:
        self._name = name
        self.known = known
        self.delay = delay
        self.error = error
        self.pods = pods or {}
        self.asked: list[str] = []
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    def enrich(self, info: ContainerInfo) -> bool:
        self.asked.append(info.full_id)
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        if self.known is not None and info.full_id not in self.known:
            return False
        info.image_digest = "sha256:feed"
        if info.pod is not None:
            info.pod.labels = {**info.pod.labels, "from": "api"}
            info.pod.ip = "10.0.0.7"
        return True

    def cached_pod(self, sandbox_id: str) -> PodInfo | None:
        return self.pods.get(sandbox_id)

    def close(self) -> None:
        self.closed = True


def _wait(cond: object, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_files_at_once_then_the_engine_in_the_background(roots: Roots) -> None:
    engine = FakeEngine()
    resolver = roots.resolver(engines=[engine])
    info = resolver.get(CTD_APP)
    assert info.resolved and info.name == "nginx"  # before any engine ran
    assert _wait(lambda: info.enriched)
    assert info.image_digest == "sha256:feed"
    assert info.filled_by == ["files:containerd", "api:fake"]


def test_a_slow_engine_never_stalls_get(roots: Roots) -> None:
    engine = FakeEngine(delay=2.0)
    resolver = roots.resolver(engines=[engine])
    t = time.perf_counter()
    for cid in (CTD_APP, CTD_SANDBOX, PODMAN_ID):
        for _ in range(100):
            resolver.get(cid)
    assert time.perf_counter() - t < 1.5  # a stall would wait for the engine's 2 s
    assert resolver.get(CTD_APP).name == "nginx"


def test_an_engine_that_raises_is_counted_and_the_next_one_asked(roots: Roots) -> None:
    broken = FakeEngine("broken", error=ConnectionRefusedError("no socket"))
    good = FakeEngine("good")
    resolver = roots.resolver(engines=[broken, good])
    info = resolver.get(PODMAN_ID)
    assert _wait(lambda: info.enriched)
    assert resolver.engine_errors == {("broken", "ConnectionRefusedError"): 1}
    assert info.filled_by[-1] == "api:good"


def test_no_engine_knows_it_retries_quickly_then_slowly(roots: Roots) -> None:
    engine = FakeEngine(known=set())
    resolver = roots.resolver(engines=[engine], retry_first=0.01, attempts=3, retry_after=60)
    info = resolver.get(CTD_APP)
    for _ in range(200):
        resolver.get(CTD_APP)
        time.sleep(0.005)
    assert _wait(lambda: not info.pending)
    assert len(engine.asked) == 3 and resolver.lookups_failed == 3
    assert info.resolved  # the files' fields stay


def test_the_pod_record_is_shared_so_the_sandbox_s_enrichment_reaches_its_containers(
    roots: Roots,
) -> None:
    engine = FakeEngine()
    resolver = roots.resolver(engines=[engine])
    sandbox = resolver.get(CTD_SANDBOX)
    app = resolver.get(CTD_APP)
    assert app.pod is sandbox.pod
    assert _wait(lambda: sandbox.enriched and app.enriched)
    assert app.pod is not None and app.pod.labels["from"] == "api"
    assert app.pod.ip == "10.0.0.7"


def test_an_engine_s_cached_pod_labels_are_there_at_the_first_event(roots: Roots) -> None:
    cached = PodInfo(CTD_SANDBOX, labels={"app": "web"}, ip="10.1.2.3", filled_by=["api:cri"])
    engine = FakeEngine(delay=1.0, pods={CTD_SANDBOX: cached})
    resolver = roots.resolver(engines=[engine])
    app = resolver.get(CTD_APP)  # the sandbox was never seen by this resolver
    assert app.pod is not None and app.pod.labels == {"app": "web"} and app.pod.ip == "10.1.2.3"
    assert (app.pod.name, app.pod.namespace) == ("web-0", "shop")  # the files' part kept


def test_crio_s_sandbox_gives_the_pod_labels_without_any_engine(roots: Roots) -> None:
    resolver = roots.resolver()
    resolver.get(CRIO_SANDBOX)
    app = resolver.get(CRIO_APP)
    assert app.pod is not None and app.pod.labels["app"] == "api"


def test_bounded_and_forgotten(roots: Roots) -> None:
    resolver = roots.resolver(max_entries=10)
    for i in range(100):
        resolver.get(f"{i:064x}")
    assert len(resolver) == 10
    resolver.get(CTD_SANDBOX)
    resolver.forget(CTD_SANDBOX)
    assert CTD_SANDBOX not in resolver._pods and resolver.forgotten == 1


def test_entries_expire_with_the_ttl_and_are_read_again(roots: Roots) -> None:
    resolver = roots.resolver(ttl=0.05)
    first = resolver.get(PODMAN_ID)
    time.sleep(0.1)
    again = resolver.get(PODMAN_ID)
    assert again is not first and again.name == first.name == "i14-files-fx"


def test_files_written_after_the_first_event_are_read_at_the_next_exec(roots: Roots) -> None:
    config = roots.containerd / "io.containerd.runtime.v2.task" / "k8s.io" / CTD_APP / "config.json"
    saved = config.read_bytes()
    config.unlink()
    resolver = roots.resolver()
    assert not resolver.get(CTD_APP).resolved
    config.write_bytes(saved)
    assert not resolver.get(CTD_APP).resolved  # get() alone does not read again
    assert resolver.on_exec(CTD_APP).name == "nginx"


def test_the_worker_is_one_thread_and_close_closes_the_engines(roots: Roots) -> None:
    engine = FakeEngine(delay=0.01)
    resolver = roots.resolver(engines=[engine])
    before = set(threading.enumerate())
    for cid in (CTD_APP, CTD_SANDBOX, PODMAN_ID, CRIO_APP):
        resolver.get(cid)
    new = [t for t in threading.enumerate() if t not in before]
    assert len(new) == 1 and new[0].name == "secengine-containers"
    resolver.close()
    assert engine.closed
    new[0].join(timeout=5)
    assert not new[0].is_alive()


def test_stats(roots: Roots) -> None:
    resolver = ContainerResolver(readers=roots.readers(), engines=[])
    (roots.docker / "containers").rename(roots.base / "gone")
    resolver.get(PODMAN_ID)
    stats = resolver.stats()
    assert stats["entries"] == 1 and stats["file_errors"] == {}
