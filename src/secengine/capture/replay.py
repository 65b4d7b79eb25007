"""Replaying a capture: blocks → state tables and events → the live state machine → events.

:class:`CaptureReplay` reads one capture stream (plain or gzip, the caller
opens it) and yields batches of :class:`~secengine.events.Event` of the
``syscall`` source whose fields are the live extractors'
(:class:`~secengine.fields.live.LiveFieldValues`), exactly as the probe's
events are. Block and event errors stop the capture with a
:class:`~secengine.capture.blocks.CaptureFormatError` (the events before it
have been yielded); what the reader does not know (a block type, an event
type of a newer libs, a parameter past the table's layout) is skipped, counted
in :attr:`CaptureReplay.unknown` and announced once through ``on_unknown``.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, Final

from secengine.bpf.syscalls import BY_NR
from secengine.capture import blocks as B
from secengine.capture import tables as T
from secengine.capture.cursor import Cursor
from secengine.capture.events import decode_params, event_layout
from secengine.capture.eventtable import EF_USES_FD, EVENTS, EventInfo
from secengine.capture.records import RecordBuilder, stands_alone
from secengine.capture.state import (
    CaptureTracker,
    seed_fds,
    seed_threads,
    seed_users,
    unknown_process,
)
from secengine.events import Event
from secengine.fields._ppm_events import PPM_SC_NAMES
from secengine.fields.live import LiveFieldValues
from secengine.state.fds import format_addr

__all__ = ["SOURCE", "CaptureReplay", "is_capture", "open_capture", "sniff"]

#: The event source of replayed capture events.
SOURCE: Final = "syscall"
GZIP_MAGIC: Final = b"\x1f\x8b"
SCAP_MAGIC: Final = B.SHB_BLOCK_TYPE.to_bytes(4, "little")

UnknownHandler = Callable[[str, int], None]
#: after this many event blocks with no event to yield, an empty batch is yielded (the
#: caller's progress and counters move on)
_QUIET: Final = 4096


def is_capture(head: bytes) -> bool:
    """Whether the first (decompressed) bytes of an input are a capture's section header."""
    return head[:4] == SCAP_MAGIC


def sniff(raw: IO[bytes]) -> bool:
    """Whether a seekable input is a capture, plain or gzip-compressed, by its magic; the
    position is restored. A gzip stream that does not inflate is not a capture here (the
    line reader reports it)."""
    start = raw.tell()
    try:
        head = raw.read(4)
        if head[:2] == GZIP_MAGIC:
            raw.seek(start)
            try:
                head = gzip.GzipFile(fileobj=raw, mode="rb").read(4)
            except (OSError, EOFError, zlib.error):
                return False
        return is_capture(head)
    finally:
        raw.seek(start)


def open_capture(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` itself, or a gzip reader over it when it starts with gzip's magic."""
    start = raw.tell()
    head = raw.read(2)
    raw.seek(start)
    return gzip.GzipFile(fileobj=raw, mode="rb") if head == GZIP_MAGIC else raw  # type: ignore[return-value]


_GENERIC: Final = frozenset({0, 1})  # PPME_GENERIC_E/X: evt.type is the syscall's own name


def _generic_name(values: dict[str, Any]) -> str:
    """A generic event's ``evt.type``: its syscall's name (``ID`` is a ``ppm_sc`` code)."""
    sc = values.get("ID")
    if isinstance(sc, int) and 0 <= sc < len(PPM_SC_NAMES) and PPM_SC_NAMES[sc]:
        return str(PPM_SC_NAMES[sc])
    return "syscall"


#: whether events of each type are evaluated by themselves (see records.stands_alone)
_ALONE: Final = tuple(stands_alone(e) for e in EVENTS)
_RESULT_TYPES: Final = frozenset({"ERRNO", "FD", "PID", "FD32", "PID32"})
#: events that make their own process entry (exec, clone) or need none (exit)
_PROCESS_EVENTS: Final = frozenset({"execve", "execveat", "clone", "fork", "vfork", "clone3"})


#: event types whose record the state machine acts on (the probe's syscalls: the tracker
#: acts only on those, tests/capture/test_capture_interest.py checks it) or that make or
#: end a process
_STATEFUL: Final = frozenset({*(s.name for s in BY_NR.values()), *_PROCESS_EVENTS, "procexit"})


@functools.cache
def _skippable(interest: frozenset[str] | None) -> tuple[bool, ...]:
    """Per event type number: whether its events can skip decoding, the record and the
    tracker (no rule reads them, the state machine only finds their process). A generic
    event's type is its syscall's name, known only from its parameters: never skipped."""
    return tuple(
        interest is not None
        and e.name not in interest
        and e.name not in _STATEFUL
        and e.code not in _GENERIC
        for e in EVENTS
    )


# what becomes of an event, by its type (and the interest): skipped (:func:`_skippable`),
# kept for its exit (an enter), nothing (an internal exit), an exit, an event with no exit,
# a close no rule reads
_SKIP, _KEEP, _NOTHING, _EXIT, _ALONE_ENTER, _FAST_CLOSE = range(6)


@functools.cache
def _kinds(interest: frozenset[str] | None) -> tuple[int, ...]:
    """Per event type number: what becomes of its events under ``interest``."""
    skip = _skippable(interest)
    fast_close = interest is not None and "close" not in interest
    out = []
    for e in EVENTS:
        if skip[e.code]:
            kind = _SKIP
        elif not _ALONE[e.code]:
            kind = _KEEP if e.direction == ">" else _NOTHING
        elif e.direction == ">":
            kind = _ALONE_ENTER
        else:
            kind = _FAST_CLOSE if fast_close and e.name == "close" else _EXIT
        out.append(kind)
    return tuple(out)


@functools.cache
def _covers(code: int, n: int, enter_code: int, n_enter: int) -> bool:
    """Whether an exit (type number ``code``) with ``n`` parameters has every one of its
    enter's ``n_enter`` (then the enter's values, which the exit's replace, need not be
    decoded)."""
    have = {p.name for p in EVENTS[code].params[:n]}
    return all(p.name in have for p in EVENTS[enter_code].params[:n_enter])


_NPARAMS: Final = tuple(len(e.params) for e in EVENTS)
#: per exit type number: whether its whole layout covers its enter's (the common case)
_FULL_COVERS: Final = tuple(
    c > 0 and _covers(c, _NPARAMS[c], c - 1, _NPARAMS[c - 1]) for c in range(len(EVENTS))
)
#: per event type number: the name of its result parameter (``evt.rawres``: an exit
#: event's first parameter when it is a result, an errno, fd or pid, as libsinsp has it),
#: or None
_RESULT_PARAM: Final = tuple(
    e.params[0].name
    if e.direction == "<"
    and e.params
    and (e.params[0].name == "res" or e.params[0].type in _RESULT_TYPES)
    else None
    for e in EVENTS
)


def _render(v: Any) -> Any:
    """A decoded parameter as the live getters give it (addresses as text)."""
    if isinstance(v, tuple):
        if len(v) == 3:
            return format_addr(v[1], v[2]) if v[0] in (2, 10) else v[1]
        if v[0] in (2, 10):
            return f"{format_addr(v[1], v[2])}->{format_addr(v[3], v[4])}"
        return v[3]
    return v


class CaptureReplay:
    """The events of one capture, through a fresh state machine."""

    def __init__(
        self,
        stream: IO[bytes],
        name: str,
        *,
        on_unknown: UnknownHandler | None = None,
        first_num: int = 0,
    ) -> None:
        self.reader = B.BlockReader(stream, name)
        self.name = name
        self.on_unknown = on_unknown
        self.tracker = CaptureTracker()
        self.builder = RecordBuilder(self.tracker.procs)
        self.first_num = first_num
        #: the number of the last event yielded
        self.num = first_num
        #: scap events decoded (enter events and internal ones included)
        self.decoded = 0
        #: events of the capture (exits and events with no exit), yielded or not
        self.events = 0
        self.interest: frozenset[str] | None = None
        self._kinds = _kinds(None)
        self._exited = False  # a process exited: forget it when the next event comes
        #: what was skipped: description → how many times
        self.unknown: dict[str, int] = {}
        #: what was skipped: description → (how many times, offset of the first)
        self.unknown_first: dict[str, tuple[int, int]] = {}
        self.machine: T.MachineInfo | None = None
        self.interfaces: list[T.Interface] = []

    @property
    def offset(self) -> int:
        """Bytes of the (decompressed) capture consumed so far."""
        return self.reader.offset

    def _unknown(self, what: str, offset: int) -> None:
        n = self.unknown.get(what, 0)
        self.unknown[what] = n + 1
        self.unknown_first[what] = (n + 1, self.unknown_first.get(what, (0, offset))[1])
        if n == 0 and self.on_unknown is not None:
            self.on_unknown(what, offset)

    def set_interest(self, evttypes: frozenset[str] | None) -> None:
        """Yield only events of these types (None: all), as the live source emits only the
        types its rules need; the others still change the state exactly as before, and
        :attr:`events` still counts them."""
        self.interest = evttypes
        self._kinds = _kinds(evttypes)

    def batches(self) -> Iterator[list[Event]]:
        """Each event as a batch of its own, yielded before the next record changes the
        state (field values are extracted when a rule reads them: the fd a ``close``
        names must still be there, as the live source's ``on_event`` guarantees), and an
        empty batch now and then when no event is of interest; raises
        :class:`~secengine.capture.blocks.CaptureFormatError` at the first fault, after
        yielding the events before it."""
        tracker = self.tracker
        event_blocks = B.EVENT_BLOCKS
        layout, name, enter = event_layout, self.name, self.builder.enter
        nparams = _NPARAMS
        quiet = 0
        for btype, at, buf, start, end in self.reader.spans():
            if btype not in event_blocks:
                self._state_block(B.Block(btype, at, buf[start:end]))
                continue
            if self._exited:  # an exited process is removed when the next event comes
                tracker.flush_exited()
                self._exited = False
            _cpu, _flags, ts, tid, etype, info, lens, off = layout(btype, buf, start, end, at, name)
            self.decoded += 1
            ev = None
            if info is None:
                self._unknown(f"event type {etype} (not in the event table)", at)
            else:
                if len(lens) > nparams[etype]:
                    self._unknown(
                        f"{info.enum}: {len(lens) - nparams[etype]} parameter(s) past the "
                        f"table's {nparams[etype]} (ignored)",
                        at,
                    )
                kind = self._kinds[etype]
                if kind == _KEEP:  # an enter: kept until its exit comes
                    enter(tid, info, buf[off : off + sum(lens)], lens)
                elif kind == _SKIP:
                    self._skipped(tid, info)
                elif kind != _NOTHING:
                    ev = self._event(kind, ts, tid, info, buf, off, lens)
            if ev is not None:
                quiet = 0
                yield [ev]
            else:
                quiet += 1
                if quiet == _QUIET:  # nothing for the rules for a while: show progress
                    quiet = 0
                    yield []

    def _state_block(self, block: B.Block) -> None:
        btype = block.type
        c = Cursor(block.body, self.name, block.offset + 8)
        if btype == B.SHB_BLOCK_TYPE:
            return
        if btype in B.MI_BLOCKS:
            self.machine = T.read_machine_info(c)
        elif btype in B.PL_BLOCKS:
            seed_threads(self.tracker, self.builder, T.read_proclist(c, B.PL_BLOCKS[btype]))
        elif btype in B.FDL_BLOCKS:
            seed_fds(self.tracker, self.builder, T.read_fdlist(c, btype))
        elif btype in B.UL_BLOCKS:
            seed_users(self.tracker, T.read_userlist(c, btype))
        elif btype in B.IL_BLOCKS:
            self.interfaces = T.read_iflist(c, btype)
        else:
            self._unknown(f"block type {btype:#x} (skipped)", block.offset)

    def _event(
        self,
        kind: int,
        ts: int,
        tid: int,
        info: EventInfo,
        buf: bytes,
        off: int,
        lens: tuple[int, ...],
    ) -> Event | None:
        """An event that stands alone (an exit, or an enter with no exit) of thread ``tid``
        at ``ts``, whose parameters of lengths ``lens`` start at ``buf[off]``: its record,
        through the state machine; the event when a rule may read it."""
        self.events += 1
        # evt.num is the event's number in the capture (enter and internal events count),
        # as sysdig numbers it; several inputs continue each other's numbering
        self.num = self.first_num + self.decoded
        values = decode_params(info, buf, off, lens)
        if kind != _ALONE_ENTER:
            enter = self.builder.pending.pop(tid, None)
            etype = info.code
            if enter is not None and enter[0].code + 1 == etype:  # its own enter only
                einfo, raw, elens = enter
                n, ne = len(lens), len(elens)
                if not (
                    _FULL_COVERS[etype]
                    if n == _NPARAMS[etype] and ne == _NPARAMS[einfo.code]
                    else _covers(etype, n, einfo.code, ne)
                ):
                    values = {**decode_params(einfo, raw, 0, elens), **values}
            if kind == _FAST_CLOSE:
                self._close(tid, values)
                return None
        return self._apply(ts, tid, info, values)

    def _skipped(self, tid: int, info: EventInfo) -> None:
        """An event no rule reads, of a type the state machine only finds the process of:
        what the full path (:meth:`_event`, :meth:`_apply`) would change, without decoding
        its parameters or building its record."""
        pending = self.builder.pending
        if not _ALONE[info.code]:
            if info.direction == ">":  # the enter it replaces would never match an exit
                pending.pop(tid, None)
            return
        self.events += 1
        self.num = self.first_num + self.decoded
        if info.direction == "<":
            pending.pop(tid, None)
        pid = self.builder.pid_of(tid)
        tracker = self.tracker
        if tracker.procs.peek(pid) is None:
            tracker.procs.put(unknown_process(pid))
        tracker.touch(pid)

    def _close(self, tid: int, values: dict[str, Any]) -> None:
        """A ``close`` no rule reads: the state effect of its record (:meth:`_apply`), through
        the tracker's own shortcut for it (the one the live source takes)."""
        procs = self.tracker.procs
        pid = self.builder.pid_of(tid)
        if procs.peek(pid) is None:
            procs.put(unknown_process(pid))
        res = values.get("res")
        fd = values.get("fd")
        fd = fd & 0xFFFFFFFF if isinstance(fd, int) else 0  # the record's 32-bit argument
        self.tracker.close_fd(
            pid, fd - (1 << 32) if fd & 0x80000000 else fd, res if isinstance(res, int) else 0
        )

    def _apply(self, ts: int, tid: int, info: EventInfo, values: dict[str, Any]) -> Event | None:
        tracker = self.tracker
        key = _RESULT_PARAM[info.code]  # evt.rawres
        res = values.get(key) if key is not None else None
        if res is not None and not isinstance(res, int):
            res = None
        builder = self.builder
        pid = builder.tgid.get(tid, tid)
        procs = tracker.procs
        proc = procs.peek(pid)
        if proc is None and info.name not in _PROCESS_EVENTS:
            # a thread the capture's tables never listed: known from now on, with nothing
            # known about it (libsinsp makes the same empty entry)
            proc = unknown_process(pid)
            procs.put(proc)
        rec = builder.build(ts, tid, info, values, 0 if res is None else res, proc)
        if rec.spec is None and rec.evt == 1:  # a syscall the probe has no spec for
            rec.name = _generic_name(values) if info.code in _GENERIC else info.name
            rec._params = {k: _render(v) for k, v in values.items()}
        proc, fdnum, fd, changed = tracker.apply(rec)
        name = rec.name
        if name == "procexit":
            self._exited = True
        interest = self.interest
        if interest is not None and name not in interest:
            return None  # the state has changed; no rule reads the event
        if res is None:
            rec.res = (
                None  # evt.res is missing, not SUCCESS (after the tracker, which wants an int)
            )
        if fd is None and proc is not None:
            # the event's fd, for events the probe has no spec for: the one it uses, or the
            # last one it made (pipe: fd2), as libsinsp picks it
            n = values.get("fd") if info.flags & EF_USES_FD else values.get("fd2")
            if isinstance(n, int) and n >= 0:
                fdnum, fd = n, proc.fds.get(n)
        ev = Event.__new__(Event)
        ev.source = SOURCE
        ev.ts = ts
        ev.type = name
        values = ev.fields = LiveFieldValues(rec, proc, fdnum, fd, changed, tracker)
        values.num = ev.num = self.num  # evt.num and evt.time derive from these
        values.ts = ts
        if info.direction == ">":  # an event with no exit (procexit): the live path has none
            values["evt.dir"] = ">"
        return ev
