"""The Docker-compatible API engine: metadata from a docker or podman API socket."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from secengine.state.containers import ContainerResolver, Mount

ID = "4e683bec47a045be8aa19068abb5f51c90fa87929f3dad2e6cba62e4c46ef44a"


class _UnixHTTPServer(HTTPServer):
    address_family = socket.AF_UNIX

    def server_bind(self) -> None:
        self.socket.bind(self.server_address)

    def get_request(self):  # type: ignore[no-untyped-def]
        conn, _ = self.socket.accept()
        return conn, ("local", 0)


def _inspect_server(path: str, doc: dict) -> _UnixHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == f"/containers/{ID}/json":
                body = json.dumps(doc).encode()
                self.send_response(200)
            else:
                body = b'{"message": "no such container"}'
                self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = _UnixHTTPServer(path, Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_metadata_from_a_docker_compatible_api() -> None:
    doc = {
        "Name": "/web",
        "Image": "sha256:0267b3ed6006e3b9",
        "Config": {
            "Image": "docker.io/library/nginx:1.25",
            "Labels": {
                "io.kubernetes.pod.namespace": "kube-system",
                "io.kubernetes.pod.name": "web-0",
            },
        },
        "HostConfig": {"Privileged": True},
        "Mounts": [
            {
                "Source": "/var/run/docker.sock",
                "Destination": "/sock",
                "Mode": "",
                "RW": True,
                "Propagation": "rprivate",
            }
        ],
        "State": {"StartedAt": "2026-11-28T15:11:45.092253491Z"},
    }
    path = os.path.join(tempfile.mkdtemp(), "docker.sock")
    server = _inspect_server(path, doc)
    try:
        resolver = ContainerResolver([path])
        info = resolver.get(ID)
        end = time.monotonic() + 5
        while not info.resolved and time.monotonic() < end:
            time.sleep(0.01)
        assert info.resolved
        assert info.id == ID[:12] and info.name == "web"
        assert info.image_repository == "docker.io/library/nginx" and info.image_tag == "1.25"
        assert info.privileged is True
        assert info.labels["io.kubernetes.pod.name"] == "web-0"
        assert info.mounts == [Mount("/var/run/docker.sock", "/sock", "", True, "rprivate")]
        assert info.filled_by == ["api:docker"]
        assert info.start_ts == 1795878705092253491
        missing = resolver.resolve_now("f" * 64)
        assert not missing.resolved and resolver.lookups_failed == 1
    finally:
        server.shutdown()


def test_no_runtime_counts_failed_lookups_and_stays_bounded() -> None:
    resolver = ContainerResolver(["/nonexistent.sock"], max_entries=100)
    for i in range(1000):
        resolver.resolve_now(f"{i:064x}")
    assert resolver.lookups_failed == 1000
    assert len(resolver) == 100


def test_the_image_digest_is_the_repository_s_own_repo_digest() -> None:
    from secengine.state.containers import repo_digest

    digests = ["docker.io/library/nginx@sha256:aaa", "localhost/nginx@sha256:bbb", "no-digest"]
    assert repo_digest(digests, "localhost/nginx") == "sha256:bbb"
    assert repo_digest(digests, "elsewhere/nginx") == "sha256:aaa"  # else the first
    assert repo_digest([], "localhost/nginx") == ""
