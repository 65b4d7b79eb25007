"""Fuzz the capture decoder: whatever the bytes, a capture yields events and/or stops with
one located CaptureFormatError: never another exception, never unbounded memory."""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import pytest
from fuzzing import bounded_memory, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from scapgen import capture, event, open_events

from secengine.capture import blocks as B
from secengine.capture.eventtable import EVENTS
from secengine.capture.replay import CaptureReplay

pytestmark = pytest.mark.fuzz

_REAL = gzip.decompress((Path(__file__).with_name("data") / "test_ipv6_client.scap").read_bytes())
_SMALL = capture(*(open_events() * 3))


def _drain(data: bytes) -> int:
    """Every event of ``data``, evaluated field by field as a rule would read them."""
    n = 0
    try:
        for batch in CaptureReplay(io.BytesIO(data), "f.scap").batches():
            for ev in batch:
                for f in ("proc.name", "fd.name", "evt.res", "evt.args", "user.name"):
                    ev.fields.get(f)
                n += 1
    except B.CaptureFormatError as e:
        assert str(e).startswith("f.scap:") and 0 <= e.offset <= len(data)
    return n


@fuzz_settings(short=150)
@given(st.data())
def test_mutated_real_capture(data: st.DataObject) -> None:
    buf = bytearray(_REAL)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(buf) // 2, len(buf)))
    with bounded_memory(64 << 20):
        _drain(bytes(buf[:cut]))


@fuzz_settings(short=300)
@given(st.binary(max_size=600), st.integers(0, len(_SMALL)))
def test_garbage_spliced_into_a_capture(junk: bytes, at: int) -> None:
    with bounded_memory(8 << 20):
        _drain(_SMALL[:at] + junk + _SMALL[at:])


_PARAM = st.binary(max_size=40) | st.sampled_from([b"", b"\0", struct.pack("<q", -1), b"/x\0"])


@fuzz_settings(short=300)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(EVENTS) + 3),
            st.integers(0, 5),
            st.lists(_PARAM, max_size=12),
        ),
        max_size=12,
    )
)
def test_any_event_with_any_parameters(events: list[tuple[int, int, list[bytes]]]) -> None:
    """Random event types (known or not) with random parameter bytes: decoded or skipped,
    and the state machine takes them."""
    blocks = [event(code, 100 + tid, params) for code, tid, params in events]
    _drain(capture(*blocks))


def test_a_pipe2_whose_fd_is_past_32_bits_is_taken() -> None:
    """Found by the fuzzer: pipe2's exit with an fd parameter of 8 bytes (1 << 56) crashed the
    record builder (struct.error packing the two fds as 32-bit ints)."""
    pipe2_exit = next(
        e.code for e in EVENTS if e is not None and e.name == "pipe2" and e.direction == "<"
    )
    blocks = [event(pipe2_exit, 100, [b"", struct.pack("<q", 1 << 56)])]
    assert _drain(capture(*blocks)) == 1
