"""A pure-Python BPF ring-buffer consumer: mmap, read records in batches, advance.

libbpf's ``ring_buffer__poll`` calls back into Python once per record
(about 0.4 M records/s here). This reader maps the ring itself (the
consumer page read-write, the producer page and the data area, mapped twice
by the kernel so that a record never wraps, read-only) and copies each
record out with one slice: about three times faster, and the kernel is
never blocked by it.

Waking (docs/syscall-source.md, "Wake-ups"). The probe submits records with
no wake-up flag, so the kernel wakes the reader when a record lands that is
the first one not read yet (the published consumer position is the
record's): the reader had caught up and sleeps, as libbpf's
``ring_buffer__poll`` and Tetragon's reader expect; while it is behind,
nothing wakes it (it is reading anyway). So that a steady trickle does not
cost a wake-up per record, after a read that found records the reader
publishes the position of the *last* record it read rather than past it
(holding back one record's bytes from the kernel's free space): later
records are then not "the first not read" and wake no one, and
:meth:`RingReader.wait_batch` sleeps out a short window before reading
them. Only a wake-up the probe forces ends the window early: a priority
record or a quarter of the ring pending. When a window passes with nothing
new, the reader publishes its whole position again, reads what landed
meanwhile, and sleeps until the next wake-up. The epoll is edge-triggered,
so :meth:`RingReader.wait` returns on a new wake-up only, not merely
because records are pending. :meth:`RingReader.interrupt` wakes a waiting
reader from another thread (stop).

The consumer position is published after each batch (less the last record
while a window runs), so a slow reader costs the kernel nothing but dropped
(and counted) records.
"""

from __future__ import annotations

import mmap
import os
import select
import struct
import time
from typing import Final

__all__ = ["Position", "RingReader", "walk"]

_BUSY: Final = 1 << 31
_DISCARD: Final = 1 << 30
_FLAGS: Final = _BUSY | _DISCARD
_HDR_SZ: Final = 8
# Native formats on purpose: CPython unpacks standard-size ("<Q") fields one byte at a time, so
# we could read a torn producer position or record header; native formats (this struct, the
# memoryview of 32-bit words the headers are read through) copy with memcpy of a fixed size,
# which compiles to one aligned load.
_U64 = struct.Struct("Q")


class Position:
    """A 64-bit position at the start of a shared mapping, read and written whole.

    Written with one aligned 8-byte store, through a memoryview item. Not
    ``struct.pack_into``: CPython zeroes the target bytes before it writes
    the value, so a kernel reserve reading the consumer position in between
    sees the ring as full (hundreds of megabytes "pending") and drops its
    record. That lost a few records per million while the reader kept up
    with 600,000 records/s (``tests/bpf/test_ring_position.py`` watches for it).
    """

    def __init__(self, mapping: mmap.mmap) -> None:
        self._view = memoryview(mapping).cast("Q")

    def get(self) -> int:
        return int(self._view[0])

    def set(self, value: int) -> None:
        self._view[0] = value

    def close(self) -> None:
        self._view.release()


class RingReader:
    """Reads records from the ring buffer map ``fd`` of ``size`` bytes."""

    def __init__(self, fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self.size = size
        self.mask = size - 1
        self._consumer = mmap.mmap(
            fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._consumer_pos = Position(self._consumer)
        self._producer = mmap.mmap(
            fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
        )
        self._data_off = page
        #: the data area (both of its mappings) as native 32-bit words: a record header read
        #: with one aligned load, about half the cost of ``struct.unpack_from`` (released in
        #: close())
        self._words = memoryview(self._producer)[page:].cast("I")
        self._fd = fd
        self._epoll = select.epoll()
        self._epoll.register(fd, select.EPOLLIN | select.EPOLLET)
        self._interrupt = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._interrupt, select.EPOLLIN)
        #: records read so far
        self.records = 0
        #: wake-ups by the probe seen by wait(), and batch windows cut short by a forced one
        self.wakeups = 0
        self.windows_cut = 0
        #: monotonic time of the last read() that found records
        self._last_records = 0.0
        #: where the next read starts; the published position is behind it by the last
        #: record read while ``_held``
        self._cursor = self._consumer_pos.get()
        self._held = False

    def close(self) -> None:
        self._epoll.close()
        os.close(self._interrupt)
        self._consumer_pos.close()
        self._consumer.close()
        self._words.release()
        self._producer.close()

    def interrupt(self) -> None:
        """Wake a thread sleeping in :meth:`wait` (from any thread)."""
        os.eventfd_write(self._interrupt, 1)

    def wait(self, timeout: float | None) -> bool:
        """Sleep until the probe wakes the reader, :meth:`interrupt` or ``timeout`` seconds
        (None: no limit); True when the probe woke it.

        Edge-triggered: records already pending do not end the wait, a new
        wake-up does (see the module's docstring). So call it only after a
        :meth:`read` that found nothing, or to wait for a forced wake-up.
        """
        woken = False
        for fd, _ in self._epoll.poll(-1 if timeout is None else timeout):
            if fd == self._fd:
                woken = True
            else:
                try:
                    os.eventfd_read(self._interrupt)
                except BlockingIOError:  # another waiter took it
                    pass
        if woken:
            self.wakeups += 1
        return woken

    def wait_batch(self, timeout: float | None, window: float) -> None:
        """Sleep until records are worth reading. Within ``window`` seconds of a read that
        found records, until the window ends (records landing meanwhile wake no one, see
        the module's docstring) or the probe forces a wake-up; else publish the whole
        position and, unless records landed meanwhile, sleep until the probe's wake-up or
        ``timeout``. Sparse records are read at once; a steady trickle wakes the reader
        about once per ``window``."""
        rest = self._last_records + window - time.monotonic()
        if rest > 0:
            if self.wait(rest):
                self.windows_cut += 1
            return
        if self._held:
            self._held = False
            self._consumer_pos.set(self._cursor)
            # a record committed before that store woke no one: read it now; one committed
            # after it is the first not read, and wakes the wait below
            if self.pending_bytes():
                return
        self.wait(timeout)

    def pending_bytes(self) -> int:
        """Bytes reserved in the ring and not read yet."""
        prod: int = _U64.unpack_from(self._producer, 0)[0]
        return prod - self._cursor

    def read(self, max_records: int = 4096) -> list[bytes]:
        """Up to ``max_records`` records (each the record's bytes), consumed from the ring.
        The position published holds back the last one (see :meth:`wait_batch`)."""
        cons = self._cursor
        prod = _U64.unpack_from(self._producer, 0)[0]
        if cons >= prod:
            return []
        out, end, last = walk(
            self._producer, self._words, self._data_off, self.mask, cons, prod, max_records
        )
        if end != cons:
            self._cursor = end
            self._consumer_pos.set(last)
            self._held = True
        n = len(out)
        if n:
            self.records += n
            self._last_records = time.monotonic()
        return out


def walk(
    data: mmap.mmap | bytes,
    words: memoryview,
    base: int,
    mask: int,
    cons: int,
    prod: int,
    max_records: int,
) -> tuple[list[bytes], int, int]:
    """The committed records from position ``cons`` up to ``prod`` (at most ``max_records``
    headers looked at): (their bytes, the position after them, the position of the last).

    ``data`` holds the ring's data area at offset ``base`` (``mask`` + 1 bytes, mapped twice
    so that no record wraps), ``words`` the data area (both mappings) as native 32-bit
    words. A record still being written (busy) ends the walk; a discarded one is skipped.

    This loop is the reader's whole per-record cost, so it keeps to locals, one aligned
    load per header and one test for both flags, and it walks offsets into the data area
    rather than ring positions: the unread part (``prod - cons``, at most the ring's size)
    starts below the size, so with the second mapping it never needs wrapping, and the
    offsets stay small (fewer integers made per record than positions in the terabytes).
    """
    out: list[bytes] = []
    append = out.append
    start = cons & mask
    stop = start + (prod - cons)
    at = base + _HDR_SZ  # a record's bytes start there plus its offset
    off = last = start
    for _ in range(max_records):
        if off >= stop:
            break
        hdr = words[off >> 2]
        if hdr & _FLAGS:
            if hdr & _BUSY:
                break
            last = off  # discarded: consumed, not returned
            off += ((hdr & ~_FLAGS) + _HDR_SZ + 7) & ~7
            continue
        pos = at + off
        append(data[pos : pos + hdr])
        last = off
        off += (hdr + _HDR_SZ + 7) & ~7
    return out, cons + (off - start), cons + (last - start)
