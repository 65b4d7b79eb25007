"""Container metadata by id: the runtime's files at once, then its API in the background.

:class:`ContainerResolver` is what the state tracker and the container
fields use. On the first sight of a container id (its first event, or an
exec in it) it reads the runtime's files synchronously
(:mod:`.files`, well under a millisecond), so the container's first
process already has its name, image, privileged flag, mounts, labels and
pod; it then queues the container for the asynchronous engines
(:mod:`.engines`: Docker-compatible API, CRI...), which run on one worker
thread and fill in what only an API knows (pod labels and IP, image
digest). Files that are not there yet (a process seen before the runtime
wrote them) are read again at each exec in the container, up to
``file_attempts`` times.

Bounds: entries live in a ``cachetools.TTLCache`` (``max_entries``, ``ttl``
seconds: a longer-lived container's entry is read again from its files
after that, a cheap refresh); pods in another, by sandbox id. The queue of
the worker is bounded too (a full queue counts ``lookups_dropped``).

Exit: the tracker calls :meth:`ContainerResolver.forget` when a container's
init process (pid 1 in its pid namespace) exits, since the kernel then
kills every other process of that namespace; containers sharing the host's
or a pod's pid namespace have no such process and leave with the TTL or
the LRU bound.

Errors: a runtime file that is there but unusable is counted by
``(runtime, reason)`` (``file_errors``, the metric
``secengine_container_metadata_errors_total``) and logged once per
container; an engine that raises is counted by ``(engine, exception)``.
Neither stops the event loop: the fields fall back to what the other
stages give, or MISSING.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from cachetools import TTLCache

from secengine.state.containers.docker_api import DEFAULT_SOCKETS, DockerApiEngine
from secengine.state.containers.engines import MetadataEngine
from secengine.state.containers.files import FileError, RuntimeFiles, default_readers
from secengine.state.containers.info import ContainerInfo, PodInfo

__all__ = ["ContainerResolver"]

_log = logging.getLogger("secengine.containers")


def merge_pod(into: PodInfo, other: PodInfo) -> None:
    """Fill ``into``'s empty fields from ``other`` (labels: ``other``'s added)."""
    into.name = into.name or other.name
    into.namespace = into.namespace or other.namespace
    into.uid = into.uid or other.uid
    into.ip = into.ip or other.ip
    if other.labels:
        into.labels = {**other.labels, **into.labels}
    for stage in other.filled_by:
        if stage not in into.filled_by:
            into.filled_by.append(stage)


class ContainerResolver:
    """Container metadata by full id: files synchronously, engines asynchronously, bounded."""

    def __init__(
        self,
        sockets: Sequence[str] | None = DEFAULT_SOCKETS,
        *,
        readers: Sequence[RuntimeFiles] | None = None,
        engines: Sequence[MetadataEngine] | None = None,
        max_entries: int = 4096,
        ttl: float = 3600.0,
        timeout: float = 2.0,
        retry_first: float = 0.2,
        attempts: int = 20,
        retry_after: float = 60.0,
        file_attempts: int = 8,
    ) -> None:
        self.readers = tuple(default_readers() if readers is None else readers)
        if engines is None:
            engines = [DockerApiEngine(s, timeout=timeout) for s in sockets or ()]
        self.engines: tuple[MetadataEngine, ...] = tuple(engines)
        self.retry_first = retry_first
        self.attempts = attempts
        self.retry_after = retry_after
        self.file_attempts = file_attempts
        self._cache: TTLCache[str, ContainerInfo] = TTLCache(maxsize=max_entries, ttl=ttl)
        self._pods: TTLCache[str, PodInfo] = TTLCache(maxsize=max_entries, ttl=ttl)
        self._queue: queue.Queue[ContainerInfo | None] = queue.Queue(maxsize=max_entries)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._closed = False
        #: API enrichment attempts, those no engine answered, those the full queue refused
        self.lookups = 0
        self.lookups_failed = 0
        self.lookups_dropped = 0
        #: containers forgotten because they exited
        self.forgotten = 0
        #: unusable runtime files by (runtime, reason)
        self.file_errors: Counter[tuple[str, str]] = Counter()
        #: engines that raised, by (engine, exception type)
        self.engine_errors: Counter[tuple[str, str]] = Counter()

    def __len__(self) -> int:
        return len(self._cache)

    # -- the event loop's side -------------------------------------------------
    def get(self, full_id: str) -> ContainerInfo:
        """The container's info now (files read on first sight); schedules API enrichment."""
        info = self._cache.get(full_id)
        if info is None:
            return self._first_sight(full_id)
        if not info.enriched and not info.pending and self.engines and self._due(info):
            self._schedule(info)
        return info

    def on_exec(self, full_id: str) -> ContainerInfo:
        """An exec in the container: reads its files again if they were not there before."""
        info = self._cache.get(full_id)
        if info is None:
            return self._first_sight(full_id)
        if not info.files_found and info.file_tries < self.file_attempts:
            self._read_files(info)
        return self.get(full_id)

    def forget(self, full_id: str) -> None:
        """The container exited: drop its entry (and its pod's, for a sandbox)."""
        info = self._cache.pop(full_id, None)
        if info is not None:
            self.forgotten += 1
            if info.is_sandbox:
                self._pods.pop(full_id, None)
        for engine in self.engines:
            engine.forget(full_id)

    def resolve_now(self, full_id: str) -> ContainerInfo:
        """Read the files and ask the engines synchronously (tools and tests)."""
        info = self._cache.get(full_id) or self._first_sight(full_id, schedule=False)
        self._enrich(info)
        return info

    def _first_sight(self, full_id: str, schedule: bool = True) -> ContainerInfo:
        info = ContainerInfo(id=full_id[:12], full_id=full_id)
        self._cache[full_id] = info
        self._read_files(info)
        if schedule and self.engines:
            self._schedule(info)
        return info

    def _read_files(self, info: ContainerInfo) -> None:
        info.file_tries += 1
        for reader in self.readers:
            problems: list[FileError] = []
            try:
                found = reader.read(info.full_id, problems)
            except FileError as e:
                found = None
                problems.append(e)
            except Exception as e:  # noqa: BLE001 - a reader's fault must not stop events
                found = None
                self._file_error(info, reader.runtime, "internal", f"{type(e).__name__}: {e}")
            for problem in problems:
                self._file_error(info, reader.runtime, problem.reason, str(problem))
            if found is None:
                continue
            self._adopt(info, found)
            info.files_found = True
            return

    def _file_error(self, info: ContainerInfo, runtime: str, reason: str, text: str) -> None:
        self.file_errors[runtime, reason] += 1
        if not info.file_error_logged:
            info.file_error_logged = True
            _log.warning(
                "container %s: %s runtime files unusable (%s): %s; its fields fall back "
                "to the runtime API",
                info.id,
                runtime,
                reason,
                text,
            )

    def _adopt(self, info: ContainerInfo, found: ContainerInfo) -> None:
        """Copy a reader's result into the cached entry, sharing the pod's record."""
        for f in dataclasses.fields(found):
            if f.name not in _BOOKKEEPING:
                setattr(info, f.name, getattr(found, f.name))
        info.filled_by = [*found.filled_by]
        info.resolved = True
        pod = info.pod
        if pod is None:
            return
        known = self._pods.get(pod.sandbox_id)
        if known is None:
            for engine in self.engines:
                cached = engine.cached_pod(pod.sandbox_id)
                if cached is not None:
                    merge_pod(pod, cached)
            self._pods[pod.sandbox_id] = pod
        else:
            merge_pod(known, pod)
            info.pod = known

    def _due(self, info: ContainerInfo) -> bool:
        wait = self.retry_first if info.tries < self.attempts else self.retry_after
        return time.monotonic() - info.tried_at >= wait

    def _schedule(self, info: ContainerInfo) -> None:
        with self._lock:
            if info.pending or self._closed:
                return
            try:
                self._queue.put_nowait(info)
            except queue.Full:
                self.lookups_dropped += 1
                return
            info.pending = True
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="secengine-containers", daemon=True
                )
                self._worker.start()

    # -- the worker's side -----------------------------------------------------
    def _work(self) -> None:
        while True:
            try:
                info = self._queue.get(timeout=5.0)
            except queue.Empty:
                return
            if info is None or self._closed:
                return
            try:
                self._enrich(info)
            finally:
                with self._lock:
                    info.pending = False

    def _enrich(self, info: ContainerInfo) -> None:
        self.lookups += 1
        info.tries += 1
        info.tried_at = time.monotonic()
        for engine in self.engines:
            try:
                known = engine.enrich(info)
            except Exception as e:  # noqa: BLE001 - an engine's fault must not stop the worker
                self.engine_errors[engine.name, type(e).__name__] += 1
                if self.engine_errors[engine.name, type(e).__name__] == 1:
                    _log.warning(
                        "container engine %s failed: %s: %s", engine.name, type(e).__name__, e
                    )
                continue
            if known:
                info.enriched = True
                info.filled(f"api:{engine.name}")
                return
        self.lookups_failed += 1

    # -- reporting and shutdown ------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters for the metrics endpoint."""
        return {
            "entries": len(self._cache),
            "pods": len(self._pods),
            "lookups": self.lookups,
            "lookups_failed": self.lookups_failed,
            "lookups_dropped": self.lookups_dropped,
            "forgotten": self.forgotten,
            "file_errors": dict(self.file_errors),
            "engine_errors": self.engine_failures(),
        }

    def engine_failures(self) -> dict[tuple[str, str], int]:
        """Failed engine calls by ``(engine, reason)``: each engine's own count (``errors``:
        a socket missing, slow, answering errors) and ``exception:<type>`` for one that raised."""
        out: Counter[tuple[str, str]] = Counter()
        for engine in self.engines:
            for reason, n in (getattr(engine, "errors", None) or {}).items():
                out[engine.name, reason] += n
        for (name, exc), n in self.engine_errors.items():
            out[name, f"exception:{exc}"] += n
        return dict(out)

    def close(self) -> None:
        """Stop scheduling, let the worker end after its current lookup, close the engines."""
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None and worker.is_alive():
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass  # the worker sees _closed at its next item
        for engine in self.engines:
            try:
                engine.close()
            except Exception as e:  # noqa: BLE001 - closing is best effort
                _log.warning("container engine %s did not close: %s", engine.name, e)


#: ContainerInfo's fields that belong to the resolver, not to a stage's result
_BOOKKEEPING = frozenset(
    {
        "tries",
        "tried_at",
        "enriched",
        "pending",
        "files_found",
        "file_tries",
        "file_error_logged",
        "filled_by",
    }
)
