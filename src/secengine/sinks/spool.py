"""A bounded on-disk FIFO of records: what a broker output holds while its broker is away.

The NATS and Redis outputs (:mod:`secengine.fleet`) write every record here
first and publish from here, so that records leave in the order they came
and survive both a broker that is down and an agent that restarts: the
spool is a directory of segment files, each a run of framed records
(length, CRC-32, sequence number, key, body), plus a ``head`` file that
says where the oldest record not yet acknowledged starts.

Bounded: ``max_bytes`` caps the segments' total size. A record that would
pass it first evicts the oldest segment (segments are ``max_bytes / 8``
long, so at most an eighth of the spool goes at once), and the records
evicted that were never acknowledged are counted (:attr:`SpoolStats.evicted`)
and reported to ``on_evict``: oldest-first eviction is a counted drop, never
a silent one. A record larger than a segment is refused
(:class:`SpoolError`).

One writer and one reader, on any threads: :meth:`append` adds at the tail;
:meth:`peek` reads from the head without removing, and :meth:`commit`
removes what was peeked once the broker acknowledged it. Nothing is
``fsync``-ed: a record survives the agent's crash (the page cache keeps
it), not the machine's. At open, a torn record at the end of the last
segment (the agent died writing it) is cut off, and the records after the
head are counted again.
"""

from __future__ import annotations

import os
import secrets
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from secengine.errors import SecengineError

__all__ = ["Spool", "SpoolError", "SpoolRecord", "SpoolStats"]

#: length of key+body, CRC-32 of seq+key+body, sequence number, key length
_HEADER: Final = struct.Struct("<IIQH")
_SEGMENTS_PER_SPOOL: Final = 8
_SUFFIX: Final = ".seg"


class SpoolError(SecengineError):
    """The spool cannot be opened or cannot take a record; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One spooled record: its sequence number (unique in this spool), key and body, and
    where it ends (what :meth:`Spool.commit` removes up to)."""

    seq: int
    key: str
    body: bytes
    segment: int
    end: int


@dataclass(slots=True)
class SpoolStats:
    """What the spool holds and has lost; read by metrics."""

    #: records waiting for the broker, and their bytes on disk
    records: int = 0
    bytes: int = 0
    #: records evicted unacknowledged because the spool was full (counted drops)
    evicted: int = 0
    #: records found in the spool when it was opened (left by an earlier run)
    recovered: int = 0


class _Segment:
    __slots__ = ("count", "number", "path", "size")

    def __init__(self, number: int, path: Path, size: int = 0, count: int = 0) -> None:
        self.number = number
        self.path = path
        self.size = size
        self.count = count


class Spool:
    """A directory of segment files holding at most ``max_bytes`` of records, oldest first."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_bytes: int,
        *,
        on_evict: Callable[[int], None] | None = None,
    ) -> None:
        if max_bytes < 4096:
            raise SpoolError(f"spool size limit {max_bytes} is too small (at least 4096 bytes)")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = max_bytes // _SEGMENTS_PER_SPOOL
        self.on_evict = on_evict
        self.stats = SpoolStats()
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._head_offset = 0  # in the first segment
        self._writer: _Writer | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.epoch = self._epoch()
            self._recover()
        except OSError as e:
            raise SpoolError(f"cannot open the spool {self.directory}: {e.strerror or e}") from e

    # -- opening ------------------------------------------------------------------------
    def _epoch(self) -> str:
        """A random name of this spool, made once: record ids stay unique if it is wiped."""
        path = self.directory / "epoch"
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            text = secrets.token_hex(6)
            _atomic_write(path, text)
        return text

    def _recover(self) -> None:
        numbers = sorted(
            int(p.stem) for p in self.directory.glob(f"*{_SUFFIX}") if p.stem.isdigit()
        )
        head_seg, head_off = self._read_head()
        self._next_seq = 1
        for n in numbers:
            if n < head_seg:
                self._path(n).unlink(missing_ok=True)
                continue
            seg = _Segment(n, self._path(n))
            start = head_off if n == head_seg else 0
            end, count, last = _scan(seg.path, start)
            size = seg.path.stat().st_size
            if end < size:  # a torn or corrupt tail: nothing after it can be trusted
                os.truncate(seg.path, end)
            seg.size, seg.count = end, count
            if last:
                self._next_seq = last + 1
            self._segments.append(seg)
        if self._segments and self._segments[0].number == head_seg:
            self._head_offset = min(head_off, self._segments[0].size)
        self.stats.records = self.stats.recovered = sum(s.count for s in self._segments)
        self.stats.bytes = sum(s.size for s in self._segments) - self._head_offset
        self._next_seq = max(self._next_seq, self._read_seq())

    def _read_head(self) -> tuple[int, int]:
        try:
            seg, off = (self.directory / "head").read_text().split()
            return int(seg), int(off)
        except (FileNotFoundError, ValueError):
            return 0, 0

    def _read_seq(self) -> int:
        try:
            return int((self.directory / "seq").read_text())
        except (FileNotFoundError, ValueError):
            return 1

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:012d}{_SUFFIX}"

    # -- the writer -----------------------------------------------------------------------
    def append(self, key: str, body: bytes) -> int:
        """Add a record at the tail (evicting the oldest segment if full); its sequence number.

        Raises :class:`SpoolError` when the record can never fit or the disk refuses it.
        """
        kb = key.encode()
        size = _HEADER.size + len(kb) + len(body)
        if size > self.segment_bytes:
            raise SpoolError(
                f"a record of {size} bytes is larger than a spool segment "
                f"({self.segment_bytes} bytes: spool size / {_SEGMENTS_PER_SPOOL})"
            )
        evicted = 0
        with self._lock:
            while self._segments and self.stats.bytes + size > self.max_bytes:
                evicted += self._evict_oldest()
            seg = self._tail_segment(size)
            seq = self._next_seq
            payload = struct.pack("<Q", seq) + kb + body
            frame = _HEADER.pack(len(kb) + len(body), zlib.crc32(payload), seq, len(kb))
            writer = self._open_writer(seg)
            try:
                writer.write(frame + kb + body)
            except OSError as e:
                self._close_writer()
                raise SpoolError(f"writing the spool {seg.path} failed: {e.strerror or e}") from e
            self._next_seq = seq + 1
            seg.size += size
            seg.count += 1
            self.stats.records += 1
            self.stats.bytes += size
        if evicted and self.on_evict is not None:
            self.on_evict(evicted)
        return seq

    def _tail_segment(self, size: int) -> _Segment:
        if self._segments and self._segments[-1].size + size <= self.segment_bytes:
            return self._segments[-1]
        number = self._segments[-1].number + 1 if self._segments else self._read_head()[0] + 1
        seg = _Segment(number, self._path(number))
        self._segments.append(seg)
        if len(self._segments) == 1:
            self._head_offset = 0
            self._save_head()
        return seg

    def _evict_oldest(self) -> int:
        """Drop the oldest segment (the lock is held); how many waiting records went with it."""
        seg = self._segments.pop(0)
        lost = seg.count
        self.stats.records -= lost
        self.stats.bytes -= seg.size - self._head_offset
        self.stats.evicted += lost
        if self._writer is not None and self._writer.number == seg.number:
            self._close_writer()
        seg.path.unlink(missing_ok=True)
        self._head_offset = 0
        if self._segments:
            self._save_head()
        else:
            self._save_head(seg.number + 1)
        return lost

    def _open_writer(self, seg: _Segment) -> _Writer:
        if self._writer is None or self._writer.number != seg.number:
            self._close_writer()
            self._writer = _Writer(seg.number, open(seg.path, "ab"))  # noqa: SIM115
        return self._writer

    def _close_writer(self) -> None:
        if self._writer is not None:
            try:
                self._writer.file.close()
            except OSError:
                pass
            self._writer = None

    # -- the reader -----------------------------------------------------------------------
    def peek(self, max_records: int, max_bytes: int = 1 << 20) -> list[SpoolRecord]:
        """The oldest records (up to ``max_records`` or about ``max_bytes``), not removed."""
        out: list[SpoolRecord] = []
        with self._lock:
            if self._writer is not None:
                self._writer.file.flush()
            segments = [(seg.number, seg.path, seg.size) for seg in self._segments]
            offset = self._head_offset
        taken = 0
        for number, path, size in segments:
            if len(out) >= max_records or taken >= max_bytes:
                break
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read(min(size - offset, max(max_bytes - taken, 1 << 16)))
            except FileNotFoundError:  # evicted meanwhile
                offset = 0
                continue
            pos = 0
            while len(out) < max_records and pos + _HEADER.size <= len(data):
                length, _crc, seq, klen = _HEADER.unpack_from(data, pos)
                end = pos + _HEADER.size + length
                if end > len(data):
                    break
                start = pos + _HEADER.size
                key = data[start : start + klen].decode()
                out.append(SpoolRecord(seq, key, data[start + klen : end], number, offset + end))
                pos = end
            taken += pos
            if offset + pos < size:
                break  # stopped inside this segment
            offset = 0
        return out

    def commit(self, last: SpoolRecord) -> int:
        """Remove the records up to ``last`` (acknowledged); how many were still spooled."""
        with self._lock:
            removed = 0
            while self._segments and self._segments[0].number < last.segment:
                seg = self._segments.pop(0)
                removed += self._remove(seg, seg.size)
            if not self._segments or self._segments[0].number != last.segment:
                return removed  # that segment was evicted meanwhile
            seg = self._segments[0]
            if last.end <= self._head_offset:
                return removed
            done = self._count_between(seg, self._head_offset, last.end)
            self.stats.records -= done
            self.stats.bytes -= last.end - self._head_offset
            seg.count -= done
            removed += done
            self._head_offset = last.end
            if self._head_offset >= seg.size and len(self._segments) > 1:
                self._segments.pop(0)
                self._drop_file(seg)
                self._head_offset = 0
            self._save_head()
            return removed

    def _remove(self, seg: _Segment, upto: int) -> int:
        """Forget a whole head segment whose records were all committed (the lock is held)."""
        n = seg.count
        self.stats.records -= n
        self.stats.bytes -= upto - self._head_offset
        self._head_offset = 0
        self._drop_file(seg)
        return n

    def _drop_file(self, seg: _Segment) -> None:
        if self._writer is not None and self._writer.number == seg.number:
            self._close_writer()
        seg.path.unlink(missing_ok=True)

    def _count_between(self, seg: _Segment, start: int, end: int) -> int:
        n = 0
        with open(seg.path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
        pos = 0
        while pos + _HEADER.size <= len(data):
            pos += _HEADER.size + _HEADER.unpack_from(data, pos)[0]
            n += 1
        return n

    def _save_head(self, number: int | None = None) -> None:
        if number is None:
            number = self._segments[0].number if self._segments else 0
        _atomic_write(self.directory / "head", f"{number} {self._head_offset}")
        _atomic_write(self.directory / "seq", str(self._next_seq))

    def close(self) -> None:
        """Flush and close the tail segment (the records stay for the next open)."""
        with self._lock:
            if self._writer is not None:
                self._writer.file.flush()
            self._close_writer()
            self._save_head()


class _Writer:
    __slots__ = ("file", "number")

    def __init__(self, number: int, file: IO[bytes]) -> None:
        self.number = number
        self.file = file

    def write(self, data: bytes) -> None:
        self.file.write(data)


def _scan(path: Path, start: int) -> tuple[int, int, int]:
    """Walk a segment's records from ``start``: (end of the last good one, count, last seq)."""
    data = path.read_bytes()
    pos, count, last = start, 0, 0
    while pos + _HEADER.size <= len(data):
        length, crc, seq, klen = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if end > len(data) or klen > length:
            break
        payload = struct.pack("<Q", seq) + data[pos + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            break
        pos, count, last = end, count + 1, seq
    return pos, count, last


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
