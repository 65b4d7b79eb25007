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
            # by name while the action runs, by pid after it: the reader can see the child's
            # events before the action's thread has stored the pid Popen returned
            where=lambda f: (
                f["proc.name"] == "compat32"
                and f["evt.type"] in ("open", "openat", "close", "fstat", "lstat")
            ),
        )
    finally:
        os.unlink(path)
    snaps = [s for s in snaps if s["proc.pid"] == holder["pid"]]
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


_SOCKETCALL_PROGRAM = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static struct sockaddr_in to;
static char msg[] = "hello";
static int one = 1;
static uint32_t args[6];

/* socketcall (ia32 102) as a gcc -m32 glibc makes it: the call in ebx, its arguments in
 * an array of 32-bit words */
static long socketcall(long call)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(102), "b"(call), "c"(args) : "memory");
    return ret;
}

int main(int argc, char **argv)
{
    args[0] = AF_INET, args[1] = SOCK_DGRAM, args[2] = 0;
    long fd = socketcall(1 /* SYS_SOCKET */);
    if (fd < 0)
        return 2;
    args[0] = fd, args[1] = SOL_SOCKET, args[2] = SO_REUSEADDR;
    args[3] = (uint32_t)(uintptr_t)&one, args[4] = sizeof one;
    if (socketcall(14 /* SYS_SETSOCKOPT */) < 0)
        return 3;
    to.sin_family = AF_INET;
    to.sin_port = htons(atoi(argv[1]));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    args[0] = fd, args[1] = (uint32_t)(uintptr_t)&to, args[2] = sizeof to;
    if (socketcall(3 /* SYS_CONNECT */) < 0)
        return 4;
    args[0] = fd, args[1] = (uint32_t)(uintptr_t)msg, args[2] = 5, args[3] = 0;
    if (socketcall(9 /* SYS_SEND */) != 5)
        return 5;
    if (socketcall(99) != -22) /* a call socketcall does not know: EINVAL, nothing to see */
        return 6;
    return 0;
}
"""


@pytest.fixture(scope="module")
def socketcall_program() -> str:
    return build_c("socketcall32", _SOCKETCALL_PROGRAM, flags=("-static", "-no-pie"))


def test_socketcall_is_decoded_into_the_calls_it_multiplexes(
    source, live, socketcall_program
) -> None:
    """32-bit C libraries send socket calls through ``socketcall`` (ia32 102): each is the
    event of the direct call, arguments read from the call's array, marked compat, and the
    socket it made is in the fd table (the connect and the send name its address)."""
    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    holder: dict[str, int] = {}

    def action() -> None:
        p = subprocess.Popen([socketcall_program, str(port)])
        holder["pid"] = p.pid
        assert p.wait(timeout=30) == 0, "the socketcall program failed"

    keys = ["evt.is_compat", "fd.name", "fd.sport", "proc.pid", "evt.res", "evt.arg.level"]
    try:
        # by name while the action runs, by pid after it (as above)
        snaps, _ = live.collect(
            source, action, keys, where=lambda f: f["proc.name"] == "socketcall32"
        )
        assert listener.recv(16) == b"hello"
    finally:
        listener.close()
    snaps = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    calls = [s for s in snaps if s["evt.type"] in ("socket", "setsockopt", "connect", "sendto")]
    assert [s["evt.type"] for s in calls] == ["socket", "setsockopt", "connect", "sendto"], snaps
    assert all(s["evt.is_compat"] is True for s in calls), calls
    assert calls[1]["evt.arg.level"] == "SOL_SOCKET"
    for s in calls[2:]:
        assert s["fd.sport"] == port and s["fd.name"].endswith(f"127.0.0.1:{port}"), calls
    assert not [s for s in snaps if s["evt.type"] == "getuid"], snaps  # 102 in the 64-bit table
