"""The ring reader's consumer position is never seen half-written by another CPU.

The kernel reads the position while the reader writes it. A C program maps
the same page and reads the position in a tight loop while Python publishes
increasing values through :class:`~secengine.bpf.ringbuf.Position`; every
value it sees must be one that was written: never smaller than the one
before (``struct.pack_into`` zeroes the bytes first, and the observer then
sees 0 now and then). The observer runs on the second CPU every machine of
this project has.
"""

from __future__ import annotations

import mmap
import os
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from c_programs import build_c

from secengine.bpf.ringbuf import Position

OBSERVER = r"""
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR);
    volatile uint64_t *pos = mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
    uint64_t last = 0, reads = 0, backwards = 0;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        uint64_t v = *pos;
        reads++;
        if (v == UINT64_MAX)
            break;
        if (v < last)
            backwards++;
        last = v;
    }
    printf("%lu %lu\n", (unsigned long)reads, (unsigned long)backwards);
    return 0;
}
"""

WRITES = 2_000_000


class _PackInto:
    """The old way: ``struct.pack_into`` (zeroes the bytes, then writes them)."""

    def __init__(self, page: mmap.mmap) -> None:
        self._page = page

    def set(self, value: int) -> None:
        struct.pack_into("Q", self._page, 0, value)

    def close(self) -> None:
        pass


def _watch(open_position: Callable[[mmap.mmap], Position | _PackInto]) -> tuple[int, int]:
    """Publish 1..WRITES while the observer reads; (reads, backward steps it saw)."""
    observer = build_c("observer", OBSERVER)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "page"
        path.write_bytes(bytes(mmap.PAGESIZE))
        fd = os.open(path, os.O_RDWR)
        try:
            page = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED)
            proc = subprocess.Popen([observer, str(path)], stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
            position = open_position(page)
            for value in range(1, WRITES + 1):
                position.set(value)
            position.set(2**64 - 1)
            position.close()
            out, _ = proc.communicate(timeout=60)
            page.close()
        finally:
            os.close(fd)
    reads, backwards = (int(v) for v in out.split())
    return reads, backwards


def test_the_consumer_position_is_written_in_one_store() -> None:
    reads, backwards = _watch(Position)
    assert reads > WRITES // 10  # the observer really watched while we wrote
    assert backwards == 0


def test_the_observer_catches_a_two_step_write() -> None:
    """The check above can fail: ``struct.pack_into`` (zero, then write) is caught."""
    reads, backwards = _watch(_PackInto)
    assert reads > WRITES // 10
    assert backwards > 0
