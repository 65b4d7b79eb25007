"""Fixtures for the live probe tests: one loaded probe per session, children to act.

These tests load the real eBPF probe (marker ``bpf``): they need root, a
kernel with BTF, ``libbpf.so.1``, and the compiled object, which the
``probe`` fixture builds with clang when it is missing. The probe ignores
this test process itself, so every behaviour under test runs in a child
process; :func:`collect` evaluates the requested fields of each event
*while* its record is applied, as the engine does in ``secengine run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from secengine.bpf.loader import object_path

REPO = Path(__file__).resolve().parents[2]


def ensure_object() -> Path:
    obj = object_path()
    if not obj.is_file():
        from secengine.bpf.build import build

        build(obj)
    return obj


@pytest.fixture(scope="session")
def source() -> Any:
    from secengine.sources.syscall import SyscallSource

    ensure_object()
    src = SyscallSource(ring_bytes=64 * 1024 * 1024)
    src.set_interest(None)
    src.open()
    yield src
    src.close()


class Snap(dict):
    """The fields of one event, read when it was produced."""

    @property
    def type(self) -> str:
        return self["evt.type"]


def collect(
    src: Any,
    action: Callable[[], Any],
    keys: Iterable[str],
    where: Callable[[Any], bool] | None = None,
    settle: float = 0.3,
    engine: Any = None,
) -> tuple[list[Snap], list[Any]]:
    """Run ``action`` (which starts children), then snapshot ``keys`` of every event.

    Events before the action are discarded. Returns the snapshots (of the
    events ``where`` accepts) and, when ``engine`` is given, its alerts.
    """
    keys = list(keys)
    # catch up with whatever earlier tests (or other load) left in the ring first
    end = time.monotonic() + 60
    while src.reader.pending_bytes() > 0 and time.monotonic() < end:
        src.read_batch()
    src.drain(0.05)
    snaps: list[Snap] = []
    alerts: list[Any] = []

    def on_event(ev: Any) -> None:
        if engine is not None:
            alerts.extend(engine.process(ev))
        if where is None or where(ev.fields):
            snap = Snap({"evt.type": ev.type})
            for k in keys:
                snap[k] = ev.fields[k]
            snaps.append(snap)

    import threading

    errors: list[BaseException] = []

    def run_action() -> None:
        try:
            action()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    # the action runs while events are read, as they would be live (a container's
    # metadata can only be looked up while the container exists)
    worker = threading.Thread(target=run_action)
    worker.start()
    while worker.is_alive():
        src.read_batch(on_event)
        src.wait_if_idle(0.01)
    worker.join()
    end = time.monotonic() + settle
    while time.monotonic() < end:
        src.read_batch(on_event)
        src.wait_if_idle(0.01)
    if errors:
        raise errors[0]
    return snaps, alerts


def child(code: str, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a child process (the probe ignores this one); fails unless it
    exits 0, so that a test never checks the events of a child that did not do its part."""
    r = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        **kw,
        check=False,
    )
    assert r.returncode == 0, f"the child failed with status {r.returncode}: {r.stderr}"
    return r


def comm_of_python() -> str:
    """What ``proc.name`` of a child Python process is (its executable's basename, cut to 15)."""
    return os.path.basename(sys.executable)[:15]


class Live:
    """What the tests use: ``live.collect(...)``, ``live.py`` (proc.name of Python)."""

    collect = staticmethod(collect)
    child = staticmethod(child)
    py = comm_of_python()


@pytest.fixture(scope="session")
def live() -> Live:
    return Live()


@pytest.fixture(scope="session")
def podman(source: Any) -> Any:
    """The test image and a podman API socket, wired into the source's container resolver."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bpf_podman as pm

    pm.build_image()
    api = pm.Api()
    from secengine.state.containers import DockerApiEngine

    resolver = source.tracker.containers
    saved = resolver.engines
    resolver.engines = (DockerApiEngine(pm.API_SOCKET),)
    yield pm
    resolver.engines = saved
    api.close()
