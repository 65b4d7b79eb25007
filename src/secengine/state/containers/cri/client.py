"""A typed client of the CRI ``runtime.v1.RuntimeService`` over a unix socket (gRPC).

containerd and CRI-O (and k3s's containerd) serve the same API, the one the
kubelet uses. :class:`CriClient` wraps the calls secengine makes: the
read-only status calls the metadata engine needs (``Version``,
``ContainerStatus``, ``PodSandboxStatus``, ``ListContainers``) and, for
tests and tools that run pods the way the kubelet does, ``RunPodSandbox``,
``CreateContainer``, ``StartContainer`` and their stop/remove calls.

Every call has a deadline (``timeout`` seconds). gRPC's exceptions are
translated here, at the boundary, into :class:`CriError`, whose ``reason``
is the lower-cased gRPC status (``unavailable`` for a missing or refusing
socket, ``deadline_exceeded`` for a slow runtime, ``not_found``...): it is
the ``reason`` label of ``secengine_container_engine_errors_total``.

The messages come from k8s.io/cri-api's ``api.proto``, compiled by
``tools/gen_cri_api.py`` into :mod:`.api_pb2` (shipped, with the proto's
version in its header). The stubs are not generated: each call is a
``unary_unary`` callable on the channel, the same thing protoc's service
stubs make, so this module stays fully typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Self, TypeVar

import grpc
from google.protobuf.message import Message

from secengine.errors import SecengineError
from secengine.state.containers.cri import api_pb2 as api

__all__ = ["CriClient", "CriError", "api"]

_Resp = TypeVar("_Resp", bound=Message)

#: the largest answer read (a verbose status is a few kB; containerd's own limit is 16 MiB)
MAX_MESSAGE: Final = 4 << 20

_SERVICE: Final = "/runtime.v1.RuntimeService/"

_CHANNEL_OPTIONS: Final = (
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    # a runtime that restarts is found again within seconds, not gRPC's default 2 minutes
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5000),
    # one process, one connection per socket: no DNS, no proxies for a unix socket
    ("grpc.enable_http_proxy", 0),
)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


class CriError(SecengineError):
    """A CRI call that failed; ``reason`` is the gRPC status in lower case."""

    def __init__(self, socket: str, method: str, reason: str, detail: str) -> None:
        super().__init__(f"{socket}: {method}: {reason}: {detail}")
        self.socket = socket
        self.method = method
        self.reason = reason
        self.detail = detail


class CriClient:
    """The RuntimeService on one unix socket; calls block for at most ``timeout`` seconds.

    The gRPC channel connects lazily (no I/O in the constructor); the
    client is thread-safe, as gRPC channels are. Use it as a context
    manager or call :meth:`close`.
    """

    def __init__(self, socket: str, *, timeout: float = 2.0) -> None:
        self.socket = socket
        self.timeout = timeout
        self._channel = grpc.insecure_channel(f"unix://{socket}", options=_CHANNEL_OPTIONS)
        self._rpcs: dict[str, Callable[..., Any]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel (calls in flight fail with ``cancelled``)."""
        self._channel.close()

    def _call(
        self, method: str, request: Message, response: type[_Resp], timeout: float | None
    ) -> _Resp:
        rpc = self._rpcs.get(method)
        if rpc is None:
            rpc = self._rpcs[method] = self._channel.unary_unary(
                _SERVICE + method,
                request_serializer=_serialize,
                response_deserializer=response.FromString,
            )
        try:
            result: _Resp = rpc(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            code = e.code() if isinstance(e, grpc.Call) else None
            reason = code.name.lower() if code is not None else "error"
            detail = (e.details() if isinstance(e, grpc.Call) else None) or str(e)
            raise CriError(self.socket, method, reason, detail) from None
        except ValueError as e:  # grpc: "Cannot invoke RPC on closed channel!"
            raise CriError(self.socket, method, "cancelled", str(e)) from None
        return result

    # -- what the metadata engine reads ------------------------------------
    def version(self, *, timeout: float | None = None) -> api.VersionResponse:
        """The runtime's name and version (``containerd``, ``cri-o``...)."""
        return self._call("Version", api.VersionRequest(), api.VersionResponse, timeout)

    def container_status(
        self, container_id: str, *, verbose: bool = True, timeout: float | None = None
    ) -> api.ContainerStatusResponse:
        """A container's status; ``verbose`` adds the runtime's ``info`` (JSON strings)."""
        req = api.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        return self._call("ContainerStatus", req, api.ContainerStatusResponse, timeout)

    def pod_sandbox_status(
        self, sandbox_id: str, *, verbose: bool = False, timeout: float | None = None
    ) -> api.PodSandboxStatusResponse:
        """A pod sandbox's status: the pod's name, namespace, uid, labels, IP, namespaces."""
        req = api.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=verbose)
        return self._call("PodSandboxStatus", req, api.PodSandboxStatusResponse, timeout)

    def list_containers(
        self, *, container_id: str = "", sandbox_id: str = "", timeout: float | None = None
    ) -> list[api.Container]:
        """Containers, optionally only the one with ``container_id`` or those of a sandbox."""
        flt = api.ContainerFilter(id=container_id, pod_sandbox_id=sandbox_id)
        req = api.ListContainersRequest(filter=flt)
        return list(
            self._call("ListContainers", req, api.ListContainersResponse, timeout).containers
        )

    # -- running pods as the kubelet does (tests, tools) ---------------------
    def run_pod_sandbox(self, config: api.PodSandboxConfig, *, timeout: float | None = None) -> str:
        """Create and start a pod sandbox; its id."""
        req = api.RunPodSandboxRequest(config=config)
        return self._call("RunPodSandbox", req, api.RunPodSandboxResponse, timeout).pod_sandbox_id

    def create_container(
        self,
        sandbox_id: str,
        config: api.ContainerConfig,
        sandbox_config: api.PodSandboxConfig,
        *,
        timeout: float | None = None,
    ) -> str:
        """Create a container in a sandbox; its id (it is not started)."""
        req = api.CreateContainerRequest(
            pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config
        )
        return self._call("CreateContainer", req, api.CreateContainerResponse, timeout).container_id

    def start_container(self, container_id: str, *, timeout: float | None = None) -> None:
        """Start a created container."""
        req = api.StartContainerRequest(container_id=container_id)
        self._call("StartContainer", req, api.StartContainerResponse, timeout)

    def stop_container(
        self, container_id: str, grace: int = 0, *, timeout: float | None = None
    ) -> None:
        """Stop a container (SIGKILL after ``grace`` seconds)."""
        req = api.StopContainerRequest(container_id=container_id, timeout=grace)
        self._call("StopContainer", req, api.StopContainerResponse, timeout)

    def remove_container(self, container_id: str, *, timeout: float | None = None) -> None:
        """Remove a stopped container."""
        req = api.RemoveContainerRequest(container_id=container_id)
        self._call("RemoveContainer", req, api.RemoveContainerResponse, timeout)

    def stop_pod_sandbox(self, sandbox_id: str, *, timeout: float | None = None) -> None:
        """Stop a sandbox and every container in it."""
        req = api.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)
        self._call("StopPodSandbox", req, api.StopPodSandboxResponse, timeout)

    def remove_pod_sandbox(self, sandbox_id: str, *, timeout: float | None = None) -> None:
        """Remove a stopped sandbox."""
        req = api.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)
        self._call("RemovePodSandbox", req, api.RemovePodSandboxResponse, timeout)
