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
