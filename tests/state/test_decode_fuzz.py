"""Fuzzing the ring-buffer record decoder the live syscall source uses.

Each record goes where :meth:`secengine.sources.syscall.SyscallSource.read_batch`
sends it: :class:`~secengine.state.decode.Rec`, then the state tracker, then
every syscall field and the event's Falco parameters. The probe writes these
records, but a record is only bytes: a short, truncated or inconsistent one
(a probe bug, a version skew between probe and agent) must be refused as a
:class:`~secengine.state.decode.RecordFormatError`, never crash the source or
corrupt the tables (docs/fuzzing.md).
"""

from __future__ import annotations

import struct

import pytest
from fuzzing import bounded_memory, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from secengine.bpf import layout as L
from secengine.bpf.syscalls import BY_NR
from secengine.fields.base import ArgMode, FieldDef
from secengine.fields.live import LiveFieldValues
from secengine.fields.registry import default_registry
from secengine.state.containers import ContainerResolver
from secengine.state.decode import Rec, RecordFormatError, event_params
from secengine.state.tracker import StateTracker

pytestmark = pytest.mark.fuzz

PIDS = st.sampled_from([4242, 4243, 4244, 1]) | st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)


def blob(data: bytes) -> bytes:
    return struct.pack("<H", len(data)) + data


@st.composite
def records(draw: st.DrawFn) -> bytes:
    """A header as the probe writes it (any event kind, syscall, result) and any tail."""
    evt = draw(
        st.sampled_from([L.EVT_SYSCALL, L.EVT_EXEC, L.EVT_CLONE, L.EVT_EXIT])
        | st.integers(0, 0xFFFF)
    )
    nr = draw(st.sampled_from(sorted(BY_NR)) | st.integers(0, 0xFFFF))
    head = L.HDR.pack(
        draw(U64),
        draw(PIDS),
        draw(PIDS),
        nr,
        evt,
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(-(2**63), 2**63 - 1)),
        *draw(
            st.lists(st.sampled_from([0, 1, 3, 2**32 - 1, 2**64 - 1]) | U64, min_size=6, max_size=6)
        ),
    )
    parts = draw(
        st.lists(
            st.binary(max_size=80)
            | st.binary(max_size=60).map(blob)
            | st.binary(min_size=L.PROC.size, max_size=L.PROC.size)
            | st.binary(min_size=L.FILE.size, max_size=L.FILE.size)
            | st.sampled_from(
                [
                    blob(b"/etc/shadow"),
                    blob(b"bash\0-c\0id\0"),
                    blob(b"/dev/fd/3"),
                    blob(b"\x02\x00\x00\x50\x7f\x00\x00\x01"),
                    blob(b"\x01\x00/tmp/s"),
                    blob(b"0::/kubepods/pod1/" + b"a" * 64),
                    b"\xff\xff",
                ]
            ),
            max_size=10,
        )
    )
    return head + b"".join(parts)


def _keys(fdef: FieldDef) -> list[str]:
    if fdef.arg is ArgMode.NONE:
        return [fdef.name]
    keys = [] if fdef.arg is ArgMode.REQUIRED else [fdef.name]
    if fdef.arg_index:
        keys += [f"{fdef.name}[0]", f"{fdef.name}[2]"]
    if fdef.arg_key or not fdef.arg_index:
        keys += [
            f"{fdef.name}[fd]",
            f"{fdef.name}[name]",
            f"{fdef.name}[HOME]",
            f"{fdef.name}[res]",
            f"{fdef.name}[flags]",
        ]
    return keys


FIELD_KEYS = sorted(
    {
        key
        for cls in default_registry().classes_for("syscall")
        for fdef in cls.fields
        for key in _keys(fdef)
    }
)


def _tracker() -> StateTracker:
    return StateTracker(boot_ns=0, containers=ContainerResolver([]))


def _apply_all(tracker: StateTracker, data: bytes) -> None:
    """What the live source does with one record, then every field of its event."""
    try:
        rec = Rec(data, 0)
        proc, fdnum, fd, changed = tracker.apply(rec)
    except RecordFormatError as e:
        assert str(e)
        return
    values = LiveFieldValues(rec, proc, fdnum, fd, changed, tracker)
    event_params(rec)
    for key in FIELD_KEYS:
        values.get(key)


def _warm_up() -> None:
    """Fill the decoder's once-per-process tables (field resolution, parameter tables),
    so that the memory bound measures what a record costs, not what the first one does."""
    tracker = _tracker()
    for nr in sorted(BY_NR):
        for evt in (L.EVT_SYSCALL, L.EVT_EXEC, L.EVT_CLONE, L.EVT_EXIT):
            _apply_all(
                tracker,
                L.HDR.pack(0, 4242, 4242, nr, evt, 0, 0, 0, *[0] * 6)
                + bytes(L.PROC.size)
                + blob(b"x") * 8,
            )


_warm_up()


@fuzz_settings(short=300)
@given(st.binary(max_size=L.HDR.size + 40))
def test_any_bytes(data: bytes) -> None:
    _apply_all(_tracker(), data)


@fuzz_settings(short=100)
@given(st.lists(records(), min_size=1, max_size=8))
def test_any_records_in_sequence(batch: list[bytes]) -> None:
    """Records share state (a clone, then an exec, then opens of the same pid)."""
    tracker = _tracker()
    with bounded_memory(64 * sum(map(len, batch)) + (4 << 20)):
        for data in batch:
            _apply_all(tracker, data)
        tracker.flush_exited()


# -- faults the fuzzing found, kept as plain regression tests ---------------------------


@pytest.mark.parametrize("evt", [L.EVT_EXEC, L.EVT_CLONE])
def test_process_record_shorter_than_its_process_section(evt: int) -> None:
    """Found by test_any_records_in_sequence: struct.error escaped from proc_section."""
    data = L.HDR.pack(0, 4242, 4242, 59, evt, 0, 0, 0, *[0] * 6) + blob(b"bash\0-c\0id\0")
    rec = Rec(data, 0)
    with pytest.raises(RecordFormatError, match="shorter than its 248-byte header"):
        _tracker().apply(rec)


def test_record_shorter_than_its_header() -> None:
    with pytest.raises(RecordFormatError, match="record of 12 bytes is shorter than its 80-byte"):
        Rec(bytes(12), 0)
