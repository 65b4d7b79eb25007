"""How the ring reader walks the data area: committed records returned, a discarded one
skipped, a busy one ends the batch, positions as the kernel's ring lays them out.

The memory is an anonymous mapping laid out as the kernel's ring buffer
(``bpf_ringbuf_hdr``: a 32-bit length with the busy and discard bits, a page
offset, the record padded to 8 bytes), so no probe is needed.
"""

from __future__ import annotations

import mmap
import struct

from secengine.bpf.ringbuf import walk

BUSY = 1 << 31
DISCARD = 1 << 30
SIZE = 4096
BASE = mmap.PAGESIZE


def _ring(records: list[tuple[bytes, int]], start: int = 0) -> tuple[mmap.mmap, int]:
    """A data area holding ``records`` (payload, flags) from position ``start``; the end.

    As the kernel does, the area's pages are mapped twice, one copy after the other: a
    record is written at its position modulo the size, then the first copy is mirrored
    into the second (so a record that runs past the end reads on contiguously)."""
    m = mmap.mmap(-1, BASE + 2 * SIZE)
    pos = start
    for payload, flags in records:
        raw = struct.pack("<II", len(payload) | flags, 0) + payload
        for i, byte in enumerate(raw):
            m[BASE + ((pos + i) & (SIZE - 1))] = byte
        pos += (len(payload) + 8 + 7) & ~7
    m[BASE + SIZE : BASE + 2 * SIZE] = m[BASE : BASE + SIZE]
    return m, pos


def _walk(m: mmap.mmap, cons: int, prod: int, n: int = 4096) -> tuple[list[bytes], int, int]:
    words = memoryview(m)[BASE:].cast("I")
    try:
        return walk(m, words, BASE, SIZE - 1, cons, prod, n)
    finally:
        words.release()


def test_committed_records_come_back_whole_and_in_order() -> None:
    recs = [(b"a" * 5, 0), (b"bb" * 40, 0), (b"c" * 8, 0)]
    m, end = _ring(recs)
    out, cons, last = _walk(m, 0, end)
    assert out == [p for p, _ in recs]
    assert cons == end == 16 + 88 + 16
    assert last == 16 + 88  # where the last record starts: the reader publishes it held back


def test_a_discarded_record_is_consumed_and_not_returned() -> None:
    m, end = _ring([(b"one", 0), (b"gone" * 3, DISCARD), (b"two", 0)])
    out, cons, last = _walk(m, 0, end)
    assert out == [b"one", b"two"]
    assert (cons, last) == (end, 16 + 24)


def test_a_discarded_last_record_still_advances_the_position() -> None:
    m, end = _ring([(b"one", 0), (b"gone", DISCARD)])
    out, cons, last = _walk(m, 0, end)
    assert out == [b"one"]
    assert (cons, last) == (end, 16)


def test_a_busy_record_ends_the_walk_before_it() -> None:
    m, end = _ring([(b"one", 0), (b"half-written", BUSY), (b"after", 0)])
    out, cons, last = _walk(m, 0, end)
    assert out == [b"one"]
    assert (cons, last) == (16, 0)


def test_nothing_committed_leaves_the_position_alone() -> None:
    m, end = _ring([(b"half-written", BUSY)])
    assert _walk(m, 0, end) == ([], 0, 0)
    assert _walk(m, end, end) == ([], end, end)


def test_at_most_max_records_and_the_rest_on_the_next_walk() -> None:
    recs = [(bytes([i]) * 3, 0) for i in range(5)]
    m, end = _ring(recs)
    out, cons, _ = _walk(m, 0, end, n=3)
    assert out == [p for p, _ in recs[:3]]
    out2, cons2, _ = _walk(m, cons, end, n=3)
    assert out2 == [p for p, _ in recs[3:]]
    assert cons2 == end


def test_positions_past_the_size_wrap_into_the_area() -> None:
    start = 5 * SIZE + SIZE - 16  # the second record starts at the area's beginning again
    m, end = _ring([(b"x" * 4, 0), (b"y" * 7, 0)], start=start)
    out, cons, last = _walk(m, start, end)
    assert out == [b"x" * 4, b"y" * 7]
    assert (cons, last) == (end, start + 16)


def test_a_record_running_past_the_end_of_the_area_comes_back_whole() -> None:
    start = 3 * SIZE + SIZE - 24  # its header fits; its payload continues at the beginning
    payload = bytes(range(100))
    m, end = _ring([(payload, 0), (b"next", 0)], start=start)
    out, cons, last = _walk(m, start, end)
    assert out == [payload, b"next"]
    assert (cons, last) == (end, start + 112)


def test_a_full_ring_is_read_to_its_end() -> None:
    recs = [(bytes([i]) * 24, 0) for i in range(SIZE // 32)]  # 32 bytes each: exactly full
    m, end = _ring(recs, start=7 * SIZE + 40)
    out, cons, _ = _walk(m, 7 * SIZE + 40, end)
    assert out == [p for p, _ in recs]
    assert cons == end == 7 * SIZE + 40 + SIZE
