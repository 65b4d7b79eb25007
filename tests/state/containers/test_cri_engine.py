"""The CRI engine against a real gRPC server speaking ``runtime.v1.RuntimeService``.

The server here is grpcio's, on a unix socket, answering from tables of
messages (a sandbox, a container): the engine's gRPC client, deadlines and
error handling run for real. containerd itself is in
tests/state/containers/test_containerd_live.py.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from secengine.state.containers import ContainerInfo, ContainerResolver, Mount, PodInfo
from secengine.state.containers.cri import CriClient, CriEngine, CriError
from secengine.state.containers.cri import api_pb2 as api

SANDBOX = "5a" * 32
APP = "a1" * 32
OTHER = "0f" * 32
DIGEST = "sha256:" + "d1" * 32


@dataclass
class FakeRuntime:
    """What the fake RuntimeService answers, and how (slow, failing)."""

    delay: float = 0.0
    fail: grpc.StatusCode | None = None
    calls: list[str] = field(default_factory=list)
    #: ContainerStatus's verbose ``info`` map (the runtime's JSON documents)
    verbose: dict[str, str] = field(default_factory=dict)

    def sandbox_status(self) -> api.PodSandboxStatus:
        return api.PodSandboxStatus(
            id=SANDBOX,
            metadata=api.PodSandboxMetadata(name="web-0", uid="uid-1234", namespace="shop"),
            labels={"app": "web", "tier": "front", "long": "x" * 200},
            network=api.PodSandboxNetworkStatus(ip="10.1.2.3"),
            linux=api.LinuxPodSandboxStatus(
                namespaces=api.Namespace(
                    options=api.NamespaceOption(network=api.NODE, pid=api.POD, ipc=api.POD)
                )
            ),
        )

    def container_status(self) -> api.ContainerStatus:
        return api.ContainerStatus(
            id=APP,
            metadata=api.ContainerMetadata(name="nginx"),
            image=api.ImageSpec(image="docker.io/library/nginx:1.25"),
            image_ref=f"docker.io/library/nginx@{DIGEST}",
            created_at=1_700_000_000_123_456_789,
            labels={"io.kubernetes.container.name": "nginx", "team": "a"},
            mounts=[
                api.Mount(
                    container_path="/data",
                    host_path="/srv/data",
                    readonly=True,
                    propagation=api.PROPAGATION_HOST_TO_CONTAINER,
                )
            ],
        )


def _handlers(rt: FakeRuntime) -> grpc.GenericRpcHandler:
    def unary(
        name: str, req_type: Any, resp_type: Any, answer: Callable[[Any], Any]
    ) -> grpc.RpcMethodHandler:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            rt.calls.append(name)
            if rt.delay:
                time.sleep(rt.delay)
            if rt.fail is not None:
                context.abort(rt.fail, "the runtime is unwell")
            return answer(request)

        return grpc.unary_unary_rpc_method_handler(
            call,
            request_deserializer=req_type.FromString,
            response_serializer=resp_type.SerializeToString,
        )

    def list_containers(req: api.ListContainersRequest) -> api.ListContainersResponse:
        if req.filter.id != APP:
            return api.ListContainersResponse()
        return api.ListContainersResponse(
            containers=[api.Container(id=APP, pod_sandbox_id=SANDBOX)]
        )

    def container_status(req: api.ContainerStatusRequest) -> api.ContainerStatusResponse:
        return api.ContainerStatusResponse(status=rt.container_status(), info=rt.verbose)

    def sandbox_status(req: api.PodSandboxStatusRequest) -> api.PodSandboxStatusResponse:
        if req.pod_sandbox_id != SANDBOX:
            raise _Abort(grpc.StatusCode.NOT_FOUND)
        return api.PodSandboxStatusResponse(status=rt.sandbox_status())

    def version(req: api.VersionRequest) -> api.VersionResponse:
        return api.VersionResponse(runtime_name="containerd", runtime_version="1.6.20")

    table = {
        "Version": (api.VersionRequest, api.VersionResponse, version),
        "ListContainers": (api.ListContainersRequest, api.ListContainersResponse, list_containers),
        "ContainerStatus": (
            api.ContainerStatusRequest,
            api.ContainerStatusResponse,
            container_status,
        ),
        "PodSandboxStatus": (
            api.PodSandboxStatusRequest,
            api.PodSandboxStatusResponse,
            sandbox_status,
        ),
    }
    return grpc.method_handlers_generic_handler(
        "runtime.v1.RuntimeService",
        {name: _with_abort(name, unary(name, *spec)) for name, spec in table.items()},
    )


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code


def _with_abort(name: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    inner = handler.unary_unary
    assert inner is not None

    def call(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return inner(request, context)
        except _Abort as e:
            context.abort(e.code, f"{name}: not found")

    return grpc.unary_unary_rpc_method_handler(
        call,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="i14cri", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def runtime(sock_dir: Path) -> Iterator[tuple[FakeRuntime, str]]:
    rt = FakeRuntime()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((_handlers(rt),))
    path = str(sock_dir / "cri.sock")
    server.add_insecure_port(f"unix:{path}")
    server.start()
    yield rt, path
    server.stop(grace=None)


def _info(full_id: str, **kw: Any) -> ContainerInfo:
    return ContainerInfo(id=full_id[:12], full_id=full_id, **kw)


def test_a_sandbox_is_looked_up_at_once_and_its_pod_cached(
    runtime: tuple[FakeRuntime, str],
) -> None:
    rt, path = runtime
    engine = CriEngine(path)
    sandbox = _info(SANDBOX, type="containerd", is_sandbox=True)
    assert engine.enrich(sandbox) is True
    pod = engine.cached_pod(SANDBOX)
    assert pod is sandbox.pod and pod is not None
    assert (pod.name, pod.namespace, pod.uid, pod.ip) == ("web-0", "shop", "uid-1234", "10.1.2.3")
    # Falco drops label values longer than label_max_len (100)
    assert pod.labels == {"app": "web", "tier": "front"}
    assert (sandbox.host_network, sandbox.host_pid, sandbox.host_ipc) == (True, False, False)
    assert sandbox.ip == "10.1.2.3"
    assert rt.calls == ["Version", "PodSandboxStatus"]
    engine.close()


def test_an_application_container_gets_status_labels_digest_mounts_and_its_pod(
    runtime: tuple[FakeRuntime, str],
) -> None:
    rt, path = runtime
    engine = CriEngine(path)
    engine.enrich(_info(SANDBOX, is_sandbox=True))
    app = _info(APP)
    assert engine.enrich(app) is True
    assert app.type == "containerd"
    assert app.name == "nginx"
    assert app.image == "docker.io/library/nginx:1.25"
    assert (app.image_repository, app.image_tag) == ("docker.io/library/nginx", "1.25")
    assert app.image_digest == DIGEST
    assert app.start_ts == 1_700_000_000_123_456_789
    assert app.mounts == [Mount("/srv/data", "/data", "", False, "rslave")]
    assert app.labels == {
        "io.kubernetes.container.name": "nginx",
        "team": "a",
        "io.kubernetes.sandbox.id": SANDBOX,
        "io.kubernetes.pod.uid": "uid-1234",
        "io.kubernetes.pod.name": "web-0",
        "io.kubernetes.pod.namespace": "shop",
    }
    assert app.pod is engine.cached_pod(SANDBOX)
    assert app.ip == "10.1.2.3"
    # the sandbox was cached: the application container cost no PodSandboxStatus
    assert rt.calls.count("PodSandboxStatus") == 1
    engine.close()


def test_a_pod_record_from_the_files_is_filled_in_place(runtime: tuple[FakeRuntime, str]) -> None:
    _, path = runtime
    engine = CriEngine(path)
    shared = PodInfo(sandbox_id=SANDBOX, name="web-0", filled_by=["files:containerd"])
    app = _info(APP, type="containerd", pod=shared)
    assert engine.enrich(app)
    assert app.pod is shared
    assert shared.labels == {"app": "web", "tier": "front"}
    assert shared.filled_by == ["files:containerd", "api:cri"]
    assert engine.cached_pod(SANDBOX) is shared


def test_another_runtimes_container_is_not_asked_about(runtime: tuple[FakeRuntime, str]) -> None:
    rt, path = runtime
    engine = CriEngine(path)
    assert engine.enrich(_info(OTHER, type="podman")) is False
    assert rt.calls == []
    # unknown to this runtime: not found is no failure
    assert engine.enrich(_info(OTHER)) is False
    assert engine.errors == {}


def test_forget_drops_the_cached_pod(runtime: tuple[FakeRuntime, str]) -> None:
    _, path = runtime
    engine = CriEngine(path)
    engine.enrich(_info(SANDBOX, is_sandbox=True))
    assert len(engine) == 1
    engine.forget(SANDBOX)
    assert engine.cached_pod(SANDBOX) is None
    assert len(engine) == 0


def test_a_slow_runtime_times_out_logs_once_and_backs_off(
    runtime: tuple[FakeRuntime, str], caplog: pytest.LogCaptureFixture
) -> None:
    rt, path = runtime
    rt.delay = 2.0
    engine = CriEngine(path, timeout=0.2, backoff=0.3)
    caplog.set_level(logging.INFO, logger="secengine.containers")
    t0 = time.monotonic()
    assert engine.enrich(_info(APP)) is False
    assert time.monotonic() - t0 < 1.0
    assert engine.errors == {"deadline_exceeded": 1}
    # within the back-off the engine answers at once, without a call
    t0 = time.monotonic()
    n = len(rt.calls)
    assert engine.enrich(_info(APP)) is False
    assert time.monotonic() - t0 < 0.2 and len(rt.calls) == n  # a call waits 0.2 s at least
    time.sleep(0.35)
    assert engine.enrich(_info(APP)) is False
    assert engine.errors == {"deadline_exceeded": 2}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert path in warnings[0].getMessage() and "deadline_exceeded" in warnings[0].getMessage()
    # recovered: it answers, and says so once
    rt.delay = 0.0
    time.sleep(0.65)
    assert engine.enrich(_info(APP)) is True
    assert any("answers again" in r.getMessage() for r in caplog.records)
    engine.close()


def test_a_slow_runtime_never_stalls_the_resolver(runtime: tuple[FakeRuntime, str]) -> None:
    """The event loop's side (get) returns at once while the worker waits on the runtime."""
    rt, path = runtime
    rt.delay = 1.0
    engine = CriEngine(path, timeout=0.5)
    resolver = ContainerResolver(None, engines=[engine])
    t0 = time.monotonic()
    for i in range(50):
        resolver.get(f"{i:064x}")
    resolver.get(APP)
    assert time.monotonic() - t0 < 0.4  # one call waits for its 0.5 s deadline
    _wait(lambda: engine.errors["deadline_exceeded"] == 1)
    resolver.close()


def test_errors_from_the_runtime_are_counted_by_status(
    runtime: tuple[FakeRuntime, str],
) -> None:
    rt, path = runtime
    rt.fail = grpc.StatusCode.INTERNAL
    engine = CriEngine(path)
    assert engine.enrich(_info(APP)) is False
    assert engine.errors == {"internal": 1}


def test_a_missing_socket_degrades_with_one_log_line(
    sock_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = CriEngine(str(sock_dir / "absent.sock"), backoff=0.01)
    caplog.set_level(logging.WARNING, logger="secengine.containers")
    for _ in range(3):
        assert engine.enrich(_info(APP)) is False
        time.sleep(0.03)
    assert engine.errors == {"missing": 3}
    assert len(caplog.records) == 1
    assert "absent.sock" in caplog.records[0].getMessage()


def test_a_dead_socket_file_is_unavailable(sock_dir: Path) -> None:
    """A socket file with no server behind it (a runtime that died): ``unavailable``."""
    import socket

    path = str(sock_dir / "dead.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    engine = CriEngine(path, timeout=0.5)
    assert engine.enrich(_info(APP)) is False
    assert engine.errors == {"unavailable": 1}


def test_the_client_translates_grpc_errors(runtime: tuple[FakeRuntime, str]) -> None:
    _, path = runtime
    with CriClient(path, timeout=1.0) as client:
        assert client.version().runtime_name == "containerd"
        with pytest.raises(CriError) as err:
            client.pod_sandbox_status(OTHER)
    assert err.value.reason == "not_found"
    assert path in str(err.value) and "PodSandboxStatus" in str(err.value)


def test_pod_labels_reach_the_first_event_of_the_pods_first_container(
    runtime: tuple[FakeRuntime, str],
) -> None:
    """Through the resolver: the sandbox appears first (its pause process), the engine fetches
    its pod on the worker; the application container's first, synchronous lookup then has the
    pod's labels. The reader stands for containerd's files (sandbox id from an annotation)."""
    _, path = runtime

    class Files:
        runtime = "containerd"

        def read(self, full_id: str, problems: list[Any]) -> ContainerInfo | None:
            info = _info(full_id, type="containerd", is_sandbox=full_id == SANDBOX)
            info.pod = PodInfo(sandbox_id=SANDBOX, name="web-0")
            info.filled("files:containerd")
            return info

    engine = CriEngine(path)
    resolver = ContainerResolver(None, readers=[Files()], engines=[engine])
    resolver.get(SANDBOX)
    _wait(lambda: engine.cached_pod(SANDBOX) is not None)
    app = resolver.get(APP)
    assert app.pod is not None and app.pod.labels == {"app": "web", "tier": "front"}
    assert app.pod.ip == "10.1.2.3"
    # the sandbox exits (its init process): the engine's cached pod goes too
    resolver.forget(SANDBOX)
    assert engine.cached_pod(SANDBOX) is None
    resolver.close()


def _wait(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_calls_run_in_parallel_threads_safely(runtime: tuple[FakeRuntime, str]) -> None:
    """cached_pod (event loop) while enrich (worker) writes the cache."""
    _, path = runtime
    engine = CriEngine(path)
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            engine.cached_pod(SANDBOX)

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(20):
        assert engine.enrich(_info(SANDBOX, is_sandbox=True))
        engine.forget(SANDBOX)
    stop.set()
    t.join()


@pytest.mark.parametrize(
    "info",
    [
        "not json",
        "[]",
        '{"runtimeSpec": [], "config": {"linux": "x"}, "privileged": "yes"}',
        '{"runtimeSpec": {"annotations": ["x"]}, "config": {"image": {"image": 7}}}',
        '{"a": ' * 5000 + "1" + "}" * 5000,
        "x" * (2 << 20),
    ],
    ids=["not-json", "list", "wrong-types", "wrong-nested-types", "deep", "huge"],
)
def test_a_hostile_verbose_info_is_ignored(runtime: tuple[FakeRuntime, str], info: str) -> None:
    """The runtime's verbose JSON is read defensively: the status's own fields still count."""
    rt, path = runtime
    rt.verbose = {"info": info}
    engine = CriEngine(path)
    app = _info(APP)
    assert engine.enrich(app) is True
    assert app.name == "nginx" and app.image_digest == DIGEST
    assert app.privileged in (False, None)
    assert engine.errors == {}
    engine.close()


def test_a_closed_engine_answers_false_and_a_closed_client_raises_cri_error(
    runtime: tuple[FakeRuntime, str],
) -> None:
    rt, path = runtime
    engine = CriEngine(path)
    assert engine.enrich(_info(SANDBOX, is_sandbox=True))
    engine.close()
    n = len(rt.calls)
    assert engine.enrich(_info(APP)) is False
    assert len(rt.calls) == n and engine.errors == {}
    client = CriClient(path)
    client.close()
    with pytest.raises(CriError) as err:
        client.version()
    assert err.value.reason == "cancelled"
