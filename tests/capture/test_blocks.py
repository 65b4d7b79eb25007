"""The block reader: framing, the section header, and every located error."""

from __future__ import annotations

import io
import struct

import pytest

from secengine.capture import blocks as b


def block(btype: int, body: bytes, trailer: int | None = None) -> bytes:
    total = len(body) + 12
    return (
        struct.pack("<II", btype, total)
        + body
        + struct.pack("<I", total if trailer is None else trailer)
    )


SHB = block(b.SHB_BLOCK_TYPE, struct.pack("<IHHq", b.SHB_MAGIC, 1, 2, -1))


def read(data: bytes) -> list[b.Block]:
    return list(b.BlockReader(io.BytesIO(data), "cap.scap"))


def test_blocks_in_order_with_offsets() -> None:
    data = SHB + block(0x201, b"x" * 8) + block(0x999, b"")
    got = read(data)
    assert [(x.type, x.offset, x.body) for x in got[1:]] == [
        (0x201, len(SHB), b"x" * 8),
        (0x999, len(SHB) + 20, b""),
    ]


@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        (b"", 0, "empty file"),
        (block(0x201, b""), 0, "not a capture"),
        (SHB + b"\x04\x02\x00", len(SHB), "truncated block header"),
        (SHB + block(0x201, b"abcd")[:-6], len(SHB), "truncated block 0x201"),
        (SHB + block(0x201, b"abcd", trailer=99), len(SHB), "trailer length 99"),
        (SHB + struct.pack("<II", 0x201, 0xFFFFFFF0), len(SHB), "over the"),
        (SHB + struct.pack("<II", 0x216, 70000), len(SHB), "over the 65544-byte limit"),
        (SHB + struct.pack("<II", 0x201, 4), len(SHB), "under 12"),
        (block(b.SHB_BLOCK_TYPE, struct.pack("<IHHq", 0x4D3C2B1A, 1, 0, -1)), 0, "big-endian"),
        (block(b.SHB_BLOCK_TYPE, struct.pack("<IHHq", 7, 1, 0, -1)), 0, "magic"),
        (block(b.SHB_BLOCK_TYPE, struct.pack("<IHHq", b.SHB_MAGIC, 2, 0, -1)), 0, "newer"),
    ],
)
def test_malformed_is_located(data: bytes, offset: int, reason: str) -> None:
    with pytest.raises(b.CaptureFormatError) as ei:
        read(data)
    assert ei.value.offset == offset
    assert reason in ei.value.reason
    assert str(ei.value).startswith(f"cap.scap:{offset}: ")


class Trickle(io.BytesIO):
    """A stream that gives at most ``step`` bytes per read (a pipe, a gzip member), and
    fails after ``fail_after`` bytes when asked to."""

    def __init__(self, data: bytes, step: int, fail_after: int | None = None) -> None:
        super().__init__(data)
        self.step = step
        self.fail_after = fail_after

    def read1(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise OSError("bad data")
        return super().read1(min(self.step, n if n >= 0 else self.step))


_MANY = SHB + b"".join(block(0x201 + i % 3, bytes([i]) * (i * 7 % 50)) for i in range(40))


@pytest.mark.parametrize("chunk", [1, 5, 16, 100, 1 << 20])
@pytest.mark.parametrize("step", [1, 3, 64, 1 << 20])
def test_chunk_boundaries_do_not_change_the_blocks(chunk: int, step: int) -> None:
    want = read(_MANY)
    reader = b.BlockReader(Trickle(_MANY, step), "cap.scap", chunk=chunk)
    assert list(reader) == want
    assert reader.offset == len(_MANY)


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        (SHB + b"\x04\x02\x00", len(SHB), "truncated block header: 3 of 8 bytes"),
        (SHB + block(0x201, b"abcd")[:-6], len(SHB), "truncated block 0x201 of 16 bytes"),
        (SHB + block(0x201, b"abcd")[:-2], len(SHB), "trailer: 2 of 4 bytes"),
        (SHB + block(0x201, b"abcd", trailer=99), len(SHB), "trailer length 99"),
    ],
)
def test_chunk_boundaries_do_not_change_the_errors(
    chunk: int, data: bytes, offset: int, reason: str
) -> None:
    reader = b.BlockReader(Trickle(data, 3), "cap.scap", chunk=chunk)
    got = []
    with pytest.raises(b.CaptureFormatError) as ei:
        got.extend(reader)
    assert (ei.value.offset, len(got)) == (offset, 1)
    assert reason in ei.value.reason


_GOOD = b"".join(block(0x216, bytes(30 + i)) for i in range(12))  # after the first block


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (block(0x216, bytes(30), trailer=99), "trailer length 99"),
        (struct.pack("<II", 0x216, 70000) + bytes(40), "over the 65544-byte limit"),
        (struct.pack("<II", 0x216, 5) + bytes(40), "under 12"),
        (block(b.SHB_BLOCK_TYPE, b"short"), "section header of 5 bytes"),
    ],
)
def test_a_fault_after_good_blocks_is_found_where_it_is(
    chunk: int, bad: bytes, reason: str
) -> None:
    """Whole blocks already in the buffer are read on a short path; a fault among them is
    still reported at its own offset, after every block before it."""
    reader = b.BlockReader(io.BytesIO(SHB + _GOOD + bad + _GOOD), "cap.scap", chunk=chunk)
    got = []
    with pytest.raises(b.CaptureFormatError) as ei:
        got.extend(reader)
    assert (ei.value.offset, len(got)) == (len(SHB) + len(_GOOD), 13)
    assert reason in ei.value.reason


def test_a_stream_failing_part_way_has_delivered_the_blocks_before() -> None:
    fault = len(SHB) + 3 * 12 + 5  # inside the fourth block after the header
    data = SHB + block(0x201, b"") * 6
    reader = b.BlockReader(Trickle(data, 4, fail_after=fault), "cap.scap", chunk=1 << 20)
    got = []
    with pytest.raises(b.CaptureFormatError, match="unreadable input: bad data"):
        got.extend(reader)
    assert len(got) == 4  # the section header and the three whole blocks
