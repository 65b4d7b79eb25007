"""The contract every event source implements, its spec, and the bounded queue it delivers into.

A :class:`SourceSpec` says what an event source *is* (Falco's
``falco_source``): its name, its field table, how its rules are indexed by
event type, its shipped rules and how its recorded files are replayed. A
:class:`Source` class carries its spec (``Source.spec``) and is registered in
the ``secengine.sources`` entry-point group, so a third-party source is an
installed package: :mod:`secengine.sources.specs` assembles the field
registry, the rules loader's sources and ``secengine replay``/``run``'s
choices from the specs it finds there.

A source (``syscall``, ``k8s_audit``, a replay file, a third-party plugin)
produces :class:`~secengine.events.Event` batches on its own thread and hands
them to an :class:`EventQueue`. The queue is bounded: when the evaluation
loop falls behind, ``offer`` refuses the batch, and the source counts those
events as dropped (never silently) and decides what to do — the syscall
source drops, the webhook answers 503 so that kube-apiserver retries.
"""

from __future__ import annotations

import abc
import argparse
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from secengine.events import Event

if TYPE_CHECKING:  # pragma: no cover
    from secengine.fields.base import FieldClass
    from secengine.lang.resolver import EventTypeIndex
    from secengine.state.containers.discovery import EngineSettings

__all__ = [
    "BatchSource",
    "EventQueue",
    "Source",
    "SourceSpec",
    "SourceStats",
    "rule_event_types",
    "source_label",
]


def source_label(source: Any) -> str:
    """How logs and metrics name a source: its configuration key, else its plugin name."""
    return str(getattr(source, "label", None) or getattr(source, "name", type(source).__name__))


def rule_event_types(rules: Iterable[Any], source: str | None) -> frozenset[str] | None:
    """The event types ``source``'s rules need (what :meth:`Source.set_interest` is told);
    None when one of them needs every type. ``source=None`` (a plugin without a spec, which
    does not say what it produces): what every rule needs."""
    types: set[str] = set()
    for rule in rules:
        if source is not None and rule.source != source:
            continue
        if rule.evttypes is None:
            return None
        types |= rule.evttypes
    return frozenset(types)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """An event source as the rule engine sees it (Falco's ``falco_source``).

    Everything is loaded lazily (callables and ``module:function`` targets),
    so reading the specs of the installed sources imports no extractor, probe
    or server.
    """

    #: The source name rules give in ``source:`` and events carry (``syscall``).
    name: str
    #: The source's field table: the field classes its rules may use (the
    #: generic ``evt`` class is added for every source).
    field_classes: Callable[[], Sequence[FieldClass]]
    #: For a source whose rules are indexed by ``evt.type`` (Falco's syscall source):
    #: its event-type index. None: the source's rules share one bucket.
    event_index: Callable[[], EventTypeIndex] | None = None
    #: The rules files shipped for this source, loaded when no ``-r``/``rules_files`` is given.
    default_rules: Callable[[], Sequence[Path]] | None = None
    #: ``module:function`` reading this source's own recorded files for ``secengine replay``:
    #: ``(inputs, *, on_error, max_line_size) -> BatchSource | None`` (None: not its files).
    #: Without one (and as the fallback), inputs are field-map JSON lines.
    replay_reader: str | None = None
    #: What one event of this source is called in messages (``audit event``).
    event_noun: str = "event"
    #: What Falco's drop alert calls lost events of this source (``system calls``)...
    drop_noun: str = "events"
    #: ...and the output fields it adds (``ebpf_enabled``) to ``n_drops``/``n_evts``.
    drop_fields: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class SourceStats:
    """Counters a source keeps; read by the agent for metrics and drop alerts."""

    events: int = 0
    dropped: int = 0
    rejected: int = 0  # malformed input, refused requests...
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, events: int = 0, dropped: int = 0, rejected: int = 0) -> None:
        with self._lock:
            self.events += events
            self.dropped += dropped
            self.rejected += rejected


#: what :meth:`EventQueue.wake` queues: no batch, a wake-up
_WAKE: Final[Any] = object()


class EventQueue:
    """A bounded queue of event batches between sources and the evaluation loop."""

    def __init__(self, max_batches: int = 1024) -> None:
        self._q: queue.Queue[tuple[str, Sequence[Event]]] = queue.Queue(maxsize=max_batches)

    def wake(self) -> None:
        """Make a waiting :meth:`get` return None now, as after its timeout: a source that
        ran out, or the sources stopping, need the evaluation loop's attention (a full queue
        wakes it anyway)."""
        try:
            self._q.put_nowait(_WAKE)
        except queue.Full:
            pass

    def offer(self, source: str, batch: Sequence[Event]) -> bool:
        """Queue a batch without blocking; False when the queue is full (the caller counts a drop)."""
        try:
            self._q.put_nowait((source, batch))
        except queue.Full:
            return False
        return True

    def put(self, source: str, batch: Sequence[Event], timeout: float | None = None) -> bool:
        """Queue a batch, waiting up to ``timeout`` for room (for sources that may wait, like replay)."""
        try:
            self._q.put((source, batch), timeout=timeout)
        except queue.Full:
            return False
        return True

    def get(self, timeout: float | None = None) -> tuple[str, Sequence[Event]] | None:
        """The next batch, or None after ``timeout`` seconds without one."""
        try:
            item = self._q.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if item is _WAKE else item

    def depth(self) -> int:
        return self._q.qsize()

    @property
    def capacity(self) -> int:
        return self._q.maxsize


class Source(abc.ABC):
    """An event source plugin. Registered in the ``secengine.sources`` entry-point group.

    Subclasses set ``self.stats`` to an object with ``events``, ``dropped`` and
    ``rejected`` counters (:class:`SourceStats` or a richer one).
    """

    #: The plugin's name (``syscall``, ``k8s_audit``, ``replay``).
    name: ClassVar[str]
    #: The event source this plugin produces, or None for readers of any source (``replay``).
    spec: ClassVar[SourceSpec | None] = None
    stats: Any

    @classmethod
    def add_flags(cls, parser: argparse.ArgumentParser) -> None:
        """Add this source's own options to ``secengine run`` (a group of them, named after it)."""

    @classmethod
    def from_flags(cls, args: argparse.Namespace) -> Source:
        """The source ``secengine run --source NAME`` starts, built from the command's flags."""
        raise NotImplementedError(f"source {cls.name!r} cannot be started from flags")

    def preflight(self) -> None:
        """Acquire what the source needs before the run starts (the syscall source opens its
        probe), so that a missing privilege fails at once: raise a
        :class:`~secengine.errors.SecengineError` whose text is one sentence."""

    def set_interest(self, evttypes: frozenset[str] | None) -> None:
        """The event types the loaded rules need (None: all). Sources may filter on it."""

    def use_rules(self, rules: Iterable[Any] | None) -> None:
        """The loaded rules themselves, for sources that can filter more finely than by
        event type (the syscall probe drops stream-socket I/O no rule can match)."""

    def use_container_engines(self, engines: Sequence[EngineSettings] | None) -> None:
        """The container engines configured (``container_engines``; None: discover them),
        for sources that resolve container metadata (the syscall source)."""

    @abc.abstractmethod
    def start(self, out: EventQueue) -> None:
        """Start producing into ``out`` (on the source's own threads); return at once."""

    def start_inline(self, evaluate: Callable[[Sequence[Event]], object]) -> bool:
        """Start producing, handing each event to ``evaluate`` before producing the next.

        For sources whose events read shared state that later records change
        (the syscall source's process and fd tables: Falco evaluates an event
        before it applies the next one, and so must we), and for sources whose
        batches are so small that waking the evaluation thread for each costs
        more than evaluating it (the audit webhook, one event per request).
        Returns False when the source has no such need, and the caller uses
        :meth:`start` instead.
        """
        return False

    @abc.abstractmethod
    def stop(self, timeout: float | None = None) -> None:
        """Stop producing; deliver what is in flight; return when done or after ``timeout``."""

    @property
    def finished(self) -> bool:
        """True when a finite source (a replay file) has delivered everything."""
        return False

    def describe_start(self, rules: int) -> str:
        """One line for people once the source runs (``secengine run`` prints it)."""
        return f"source {self.name} started with {rules} rules"

    def describe_end(self) -> str | None:
        """Lines (one per line) of this source's own counters for the end of a run, or None."""
        return None


class BatchSource(Source):
    """A source that is naturally an iterator of batches (files, in-memory events).

    ``batches()`` can be consumed directly (``secengine replay`` does, with no
    threads); :meth:`start` runs it on a thread that waits for room in the
    queue instead of dropping, because a file can always be read later.
    """

    _thread: threading.Thread | None = None
    _stopping: bool = False
    _done: bool = False
    #: The exception that ended the reading thread, if any (re-raised by :meth:`stop`).
    error: BaseException | None = None

    @abc.abstractmethod
    def batches(self) -> Iterator[list[Event]]:
        """Lists of events in delivery order; ends when the source is exhausted."""

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def start(self, out: EventQueue) -> None:
        self._stopping = False
        self._done = False
        self._thread = threading.Thread(
            target=self._pump, args=(out,), name=f"secengine-source-{self.name}", daemon=True
        )
        self._thread.start()

    def _pump(self, out: EventQueue) -> None:
        try:
            for batch in self.batches():
                while not out.put(self.name, batch, timeout=0.1):
                    if self._stopping:
                        return
                if self._stopping:
                    return
        except BaseException as e:  # noqa: BLE001 - reported by stop(); never raised through the thread
            self.error = e
        finally:
            self._done = True
            out.wake()  # the evaluation loop notices at once that this source ran out

    def stop(self, timeout: float | None = None) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def finished(self) -> bool:
        return self._done
