"""Reading fixed-width fields and length-prefixed strings out of a block body, bounded.

Every read checks that the bytes are there; a short read is a
:class:`~secengine.capture.blocks.CaptureFormatError` at the exact offset in
the capture (the block's offset plus its 8-byte header plus the position).
"""

from __future__ import annotations

import struct
from typing import Final

from secengine.capture.blocks import CaptureFormatError

__all__ = ["Cursor"]

_U8: Final = struct.Struct("<B")
_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")
_I64: Final = struct.Struct("<q")


class Cursor:
    """A position in one block body; ``base`` is the body's offset in the capture."""

    __slots__ = ("base", "data", "end", "file", "pos")

    def __init__(self, data: bytes, file: str, base: int, pos: int = 0, end: int | None = None):
        self.data = data
        self.file = file
        self.base = base
        self.pos = pos
        self.end = len(data) if end is None else end

    def left(self) -> int:
        return self.end - self.pos

    def error(self, reason: str, pos: int | None = None) -> CaptureFormatError:
        return CaptureFormatError(self.file, self.base + (self.pos if pos is None else pos), reason)

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise self.error(f"{what}: needs {n} bytes, {self.end - self.pos} left in the block")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def _num(self, s: struct.Struct, what: str) -> int:
        if self.pos + s.size > self.end:
            raise self.error(
                f"{what}: needs {s.size} bytes, {self.end - self.pos} left in the block"
            )
        v: int = s.unpack_from(self.data, self.pos)[0]
        self.pos += s.size
        return v

    def u8(self, what: str) -> int:
        return self._num(_U8, what)

    def u16(self, what: str) -> int:
        return self._num(_U16, what)

    def u32(self, what: str) -> int:
        return self._num(_U32, what)

    def u64(self, what: str) -> int:
        return self._num(_U64, what)

    def i64(self, what: str) -> int:
        return self._num(_I64, what)

    def string(self, what: str, limit: int) -> str:
        """A ``u16`` length then that many bytes (no NUL on file), at most ``limit``."""
        at = self.pos
        n = self.u16(what)
        if n > limit:
            raise self.error(f"{what}: length {n} over the {limit}-byte limit", at)
        return self.take(n, what).decode("utf-8", "surrogateescape")

    def skip_to(self, pos: int, what: str) -> None:
        if pos < self.pos:
            raise self.error(f"{what}: read {self.pos - pos} bytes past its declared length")
        if pos > self.end:
            raise self.error(f"{what}: declared length runs past the block")
        self.pos = pos
