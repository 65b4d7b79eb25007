"""32-bit syscalls (``int $0x80`` from a 64-bit program): decoded by the ia32 table.

The ia32 numbers differ from the x86_64 ones (5 is ``open`` there and
``fstat`` here, 3 is ``read`` there and ``close`` here). Decoded with the
64-bit table, a 32-bit ``open`` of a secret file raised nothing and its
``read`` looked like a ``close``: an evasion, and a corrupted fd table. The
program is a static, non-PIE 64-bit binary so that its strings and buffers
live below 4 GiB, where 32-bit pointers reach.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest
from c_programs import build_c
from secengine_run import alerts_during

pytestmark = pytest.mark.bpf

_PROGRAM = r"""
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

static char path[256];
static char buf[64];

static long sys32(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

int main(int argc, char **argv)
{
    strncpy(path, argv[1], sizeof path - 1);
    long fd = sys32(5 /* ia32 open */, (long)path, O_RDONLY, 0);
    if (fd < 0)
        return 2;
    long n = sys32(3 /* ia32 read */, fd, (long)buf, sizeof buf);
    sys32(6 /* ia32 close */, fd, 0, 0);
    /* the same file by the 64-bit openat: the process's other calls still decode natively */
    int fd64 = open(path, O_RDONLY);
    if (fd64 < 0)
        return 3;
    close(fd64);
    return n > 0 ? 0 : 1;
}
"""


@pytest.fixture(scope="module")
def compat_program() -> str:
    return build_c("compat32", _PROGRAM, flags=("-static", "-no-pie"))


def test_a_32bit_open_is_an_open_of_its_path_marked_compat(source, live, compat_program) -> None:
    fd, path = tempfile.mkstemp(prefix="secengine-compat-")
    os.write(fd, b"not for 32-bit eyes\n")
    os.close(fd)
    holder: dict[str, int] = {}

    def action() -> None:
        p = subprocess.Popen([compat_program, path])
        holder["pid"] = p.pid
        assert p.wait(timeout=30) == 0, "the 32-bit program failed"

    try:
        snaps, _ = live.collect(
            source,
            action,
            ["evt.type", "evt.is_compat", "fd.name", "evt.arg.flags", "proc.pid", "evt.res"],
            where=lambda f: (
                f["proc.pid"] == holder.get("pid")
                and f["evt.type"] in ("open", "openat", "close", "fstat", "lstat")
            ),
        )
    finally:
        os.unlink(path)
    opens = [s for s in snaps if s["evt.type"] == "open"]
    assert opens, f"the 32-bit open was not seen as an open: {snaps}"
    assert opens[0]["fd.name"] == path
    assert opens[0]["evt.is_compat"] is True
    assert opens[0]["evt.res"] == "SUCCESS"
    native = [s for s in snaps if s["evt.type"] == "openat" and s["fd.name"] == path]
    assert native and native[0]["evt.is_compat"] is False, snaps
    # after the 32-bit open: its read (3) is no close, its close (6) is the one of that file
    after = snaps[snaps.index(opens[0]) + 1 :]
    first_close = next(s for s in after if s["evt.type"] == "close")
    assert first_close["evt.is_compat"] is True and first_close["fd.name"] == path, snaps


def test_a_32bit_read_of_shadow_alerts_through_secengine_run(compat_program) -> None:
    """The evasion, end to end: the shipped rules catch /etc/shadow read by 32-bit calls."""

    def read_shadow() -> None:
        assert subprocess.run([compat_program, "/etc/shadow"], check=False).returncode == 0

    alerts = alerts_during(read_shadow)
    mine = [
        a
        for a in alerts
        if a["output_fields"].get("proc.cmdline")
        == f"{os.path.basename(compat_program)} /etc/shadow"
        and a["output_fields"].get("fd.name") == "/etc/shadow"
    ]
    # one for the 32-bit open, one for the 64-bit openat of the same file
    assert len(mine) == 2, f"the 32-bit read of /etc/shadow went unseen: {alerts}"
