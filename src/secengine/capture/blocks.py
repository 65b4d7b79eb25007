"""The block layer of a ``.scap`` capture: block types, and a bounded block reader.

A capture is a sequence of pcapng-style blocks, each ``u32 type, u32 total
length, body, u32 total length`` (little-endian; the length counts the whole
block). The first block is the section header (byte-order magic, format
version); then come the state blocks (machine info, process list, fd lists,
interface list, user list) and the event blocks. The numbers are libscap's
(``userspace/libscap/scap_savefile.h``), the ``*_INT`` ones are the
pre-release numbers old captures still carry.

:class:`BlockReader` never trusts a length: a declared length past
:data:`MAX_BLOCK` (or past 64 KiB for an event block that is not a "large"
one, as libscap refuses too) is an error before anything is allocated, and
every error is a :class:`CaptureFormatError` that names ``file:offset``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Final, NamedTuple

from secengine.errors import EventFormatError

__all__ = [
    "EVENT_BLOCKS",
    "EVF_BLOCKS",
    "FDL_BLOCKS",
    "IL_BLOCKS",
    "LARGE_EVENT_BLOCKS",
    "MAX_BLOCK",
    "MAX_EVENT_BLOCK",
    "MI_BLOCKS",
    "PL_BLOCKS",
    "SHB_BLOCK_TYPE",
    "SHB_MAGIC",
    "UL_BLOCKS",
    "V2_EVENT_BLOCKS",
    "Block",
    "BlockReader",
    "CaptureFormatError",
    "SectionHeader",
]

# -- block types (libscap scap_savefile.h) ----------------------------------------------
SHB_BLOCK_TYPE: Final = 0x0A0D0D0A
SHB_MAGIC: Final = 0x1A2B3C4D
#: the format version libscap writes (and the highest major version it reads)
CURRENT_MAJOR_VERSION: Final = 1
CURRENT_MINOR_VERSION: Final = 2

MI_BLOCK_TYPE: Final = 0x201
MI_BLOCK_TYPE_INT: Final = 0x8002ABCD
PL_BLOCK_TYPE_V1: Final = 0x202
PL_BLOCK_TYPE_V1_INT: Final = 0x8000ABCD
PL_BLOCK_TYPE_V2: Final = 0x207
PL_BLOCK_TYPE_V2_INT: Final = 0x8013ABCD
PL_BLOCK_TYPE_V3: Final = 0x209
PL_BLOCK_TYPE_V3_INT: Final = 0x8014ABCD
PL_BLOCK_TYPE_V4: Final = 0x210
PL_BLOCK_TYPE_V5: Final = 0x211
PL_BLOCK_TYPE_V6: Final = 0x212
PL_BLOCK_TYPE_V7: Final = 0x213
PL_BLOCK_TYPE_V8: Final = 0x214
PL_BLOCK_TYPE_V9: Final = 0x215
FDL_BLOCK_TYPE: Final = 0x203
FDL_BLOCK_TYPE_INT: Final = 0x8001ABCD
FDL_BLOCK_TYPE_V2: Final = 0x218
EV_BLOCK_TYPE: Final = 0x204
EV_BLOCK_TYPE_INT: Final = 0x8010ABCD
EV_BLOCK_TYPE_V2: Final = 0x216
EV_BLOCK_TYPE_V2_LARGE: Final = 0x221
IL_BLOCK_TYPE: Final = 0x205
IL_BLOCK_TYPE_INT: Final = 0x8011ABCD
IL_BLOCK_TYPE_V2: Final = 0x219
UL_BLOCK_TYPE: Final = 0x206
UL_BLOCK_TYPE_INT: Final = 0x8012ABCD
UL_BLOCK_TYPE_V2: Final = 0x220
EVF_BLOCK_TYPE: Final = 0x208
EVF_BLOCK_TYPE_V2: Final = 0x217
EVF_BLOCK_TYPE_V2_LARGE: Final = 0x222

MI_BLOCKS: Final = frozenset({MI_BLOCK_TYPE, MI_BLOCK_TYPE_INT})
#: process list block type → its layout version (1..9)
PL_BLOCKS: Final = {
    PL_BLOCK_TYPE_V1: 1,
    PL_BLOCK_TYPE_V1_INT: 1,
    PL_BLOCK_TYPE_V2: 2,
    PL_BLOCK_TYPE_V2_INT: 2,
    PL_BLOCK_TYPE_V3: 3,
    PL_BLOCK_TYPE_V3_INT: 3,
    PL_BLOCK_TYPE_V4: 4,
    PL_BLOCK_TYPE_V5: 5,
    PL_BLOCK_TYPE_V6: 6,
    PL_BLOCK_TYPE_V7: 7,
    PL_BLOCK_TYPE_V8: 8,
    PL_BLOCK_TYPE_V9: 9,
}
FDL_BLOCKS: Final = frozenset({FDL_BLOCK_TYPE, FDL_BLOCK_TYPE_INT, FDL_BLOCK_TYPE_V2})
IL_BLOCKS: Final = frozenset({IL_BLOCK_TYPE, IL_BLOCK_TYPE_INT, IL_BLOCK_TYPE_V2})
UL_BLOCKS: Final = frozenset({UL_BLOCK_TYPE, UL_BLOCK_TYPE_INT, UL_BLOCK_TYPE_V2})
EVENT_BLOCKS: Final = frozenset(
    {
        EV_BLOCK_TYPE,
        EV_BLOCK_TYPE_INT,
        EV_BLOCK_TYPE_V2,
        EV_BLOCK_TYPE_V2_LARGE,
        EVF_BLOCK_TYPE,
        EVF_BLOCK_TYPE_V2,
        EVF_BLOCK_TYPE_V2_LARGE,
    }
)
#: event blocks whose event header carries ``nparams`` (the others are pre-0.1 layouts)
V2_EVENT_BLOCKS: Final = frozenset(
    {EV_BLOCK_TYPE_V2, EV_BLOCK_TYPE_V2_LARGE, EVF_BLOCK_TYPE_V2, EVF_BLOCK_TYPE_V2_LARGE}
)
#: event blocks with 32 bits of flags after the cpu id
EVF_BLOCKS: Final = frozenset({EVF_BLOCK_TYPE, EVF_BLOCK_TYPE_V2, EVF_BLOCK_TYPE_V2_LARGE})
LARGE_EVENT_BLOCKS: Final = frozenset({EV_BLOCK_TYPE_V2_LARGE, EVF_BLOCK_TYPE_V2_LARGE})

#: The largest event block that is not a "large" one (libscap's READER_BUF_SIZE).
MAX_EVENT_BLOCK: Final = 1 << 16
#: The largest block of any other kind this reader holds in memory.
MAX_BLOCK: Final = 64 << 20

_HEADER: Final = struct.Struct("<II")
_U32: Final = struct.Struct("<I")
_SHB: Final = struct.Struct("<IHHq")
#: block header + trailer
_FRAMING: Final = 12
#: how much is read from the stream at a time
_CHUNK: Final = 1 << 20


class CaptureFormatError(EventFormatError):
    """A capture that cannot be read on from here: ``file:offset: reason``.

    ``offset`` is the byte offset in the (decompressed) capture of the block
    or field at fault (it takes the place of a line number). Events read
    before the fault have been delivered.
    """

    def __init__(self, file: str, offset: int, reason: str) -> None:
        super().__init__(reason, file, offset)
        self.file = file
        self.offset = offset


class Block(NamedTuple):
    """One block: its type, its offset in the capture, and its body (no framing)."""

    type: int
    offset: int
    body: bytes


class SectionHeader(NamedTuple):
    """The section header block's fields."""

    major: int
    minor: int
    section_length: int


class BlockReader:
    """The blocks of one capture stream, in order, each checked for framing and size.

    ``stream`` is read with ``read(n)`` only (a file, a :class:`gzip.GzipFile`, a
    pipe); ``name`` labels errors. :attr:`offset` is how many bytes were consumed,
    :attr:`section` the last section header read. Iteration ends at a clean end
    of file (no partial block header) and raises :class:`CaptureFormatError` on
    anything else.
    """

    def __init__(
        self, stream: IO[bytes], name: str, *, max_block: int = MAX_BLOCK, chunk: int = _CHUNK
    ) -> None:
        self.stream = stream
        self.name = name
        self.max_block = max_block
        self.chunk = chunk
        self.offset = 0
        self._read: Callable[[int], bytes] = stream.read
        self.section: SectionHeader | None = None

    def error(self, offset: int, reason: str) -> CaptureFormatError:
        """A located error of this capture."""
        return CaptureFormatError(self.name, offset, reason)

    def _fill(self, buf: bytes, pos: int, base: int, need: int) -> tuple[bytes, int, bool]:
        """``buf[pos:]`` plus what the stream gives until ``need`` bytes are there or it
        ends: (new buffer, its capture offset, at end of input). One ``read1`` at a time, so
        that a stream failing part-way (bad gzip data) has delivered what came before."""
        parts = [buf[pos:]]
        have = len(parts[0])
        base += pos
        read = self._read
        while have < need:
            try:
                data = read(max(self.chunk, need - have))
            except (OSError, EOFError, zlib.error) as e:  # bad gzip data, an I/O error
                raise self.error(base + have, f"unreadable input: {e}") from None
            if not data:
                return b"".join(parts), base, True
            parts.append(data)
            have += len(data)
        return b"".join(parts), base, False

    def spans(self) -> Iterator[tuple[int, int, bytes, int, int]]:
        """The blocks as ``(type, offset, buffer, start, end)``: the body is
        ``buffer[start:end]``, not copied (the replay's hot path reads events in place).
        The stream is read in large chunks; the checks and errors are :meth:`__iter__`'s."""
        stream = self.stream
        self._read = getattr(stream, "read1", None) or stream.read
        buf, pos, base, eof = b"", 0, self.offset, False
        first = True
        unpack_header, unpack_u32 = _HEADER.unpack_from, _U32.unpack_from
        event_limit = MAX_EVENT_BLOCK + 8
        small_events = EVENT_BLOCKS - LARGE_EVENT_BLOCKS
        max_block = self.max_block
        while True:
            if not first:
                # the common case: whole, well-framed blocks in the buffer, each checked in a
                # few steps; anything else (a block past the buffer, a bad length or trailer,
                # a section header) goes to the checks below, which say what is wrong
                size = len(buf)
                while pos + 8 <= size:
                    btype, total = unpack_header(buf, pos)
                    end = pos + total - 4
                    if (
                        total < _FRAMING
                        or end > size - 4
                        or total > (event_limit if btype in small_events else max_block)
                        or btype == SHB_BLOCK_TYPE
                        or unpack_u32(buf, end)[0] != total
                    ):
                        break
                    at = base + pos
                    self.offset = at + total
                    yield btype, at, buf, pos + 8, end
                    pos += total
            have = len(buf) - pos
            if have < 8 and not eof:
                buf, base, eof = self._fill(buf, pos, base, 8)
                pos = 0
                have = len(buf)
            at = base + pos
            if have < 8:
                self.offset = at + have
                if not have:
                    if first:
                        raise self.error(0, "empty file: not a capture")
                    return
                raise self.error(at, f"truncated block header: {have} of 8 bytes")
            btype, total = unpack_header(buf, pos)
            if first and btype != SHB_BLOCK_TYPE:
                raise self.error(
                    0, f"not a capture: first block type {btype:#x}, not a section header"
                )
            limit = event_limit if btype in small_events else self.max_block
            if total < _FRAMING or total > limit:
                self.offset = at + 8
                raise self.error(
                    at,
                    f"block {btype:#x} declares length {total}"
                    + (f", over the {limit}-byte limit" if total > limit else ", under 12"),
                )
            if have < total and not eof:
                buf, base, eof = self._fill(buf, pos, base, total)
                pos = 0
                have = len(buf)
            if have < total:
                self.offset = at + have
                got, n = have - 8, total - 8
                if got >= n - 4:
                    raise self.error(
                        at, f"truncated block {btype:#x} trailer: {got - n + 4} of 4 bytes"
                    )
                what = f"block {btype:#x} of {total} bytes"
                raise self.error(at, f"truncated {what}: {got} of {n - 4} bytes")
            end = pos + total - 4
            trailer = unpack_u32(buf, end)[0]
            if trailer != total:
                raise self.error(
                    at, f"block {btype:#x}: trailer length {trailer} differs from header {total}"
                )
            self.offset = at + total
            if btype == SHB_BLOCK_TYPE:
                self.section = self._section(buf[pos + 8 : end], at)
            first = False
            yield btype, at, buf, pos + 8, end
            pos += total

    def __iter__(self) -> Iterator[Block]:
        for btype, at, buf, start, end in self.spans():
            yield Block(btype, at, buf[start:end])

    def _section(self, body: bytes, at: int) -> SectionHeader:
        if len(body) < _SHB.size:
            raise self.error(at, f"section header of {len(body)} bytes, under {_SHB.size}")
        magic, major, minor, length = _SHB.unpack_from(body)
        if magic == 0x4D3C2B1A:
            raise self.error(at, "big-endian capture: not supported")
        if magic != SHB_MAGIC:
            raise self.error(at, f"bad byte-order magic {magic:#x}")
        if major > CURRENT_MAJOR_VERSION:
            raise self.error(at, f"capture format {major}.{minor} is newer than 1.x")
        return SectionHeader(major, minor, length)
