"""CVE-2019-5736: a container process opens the runtime's binary through /proc/<pid>/exe to write it.

The stand-in makes the published exploit's calls with its arguments, in a
podman container, against a victim of its own: a renamed copy of busybox
(``/tmp/runc``, in the container's writable layer) running ``sleep`` (started by a
symlink, as busybox picks its applet by name), in the
role of the runc process that entered the container. A static program
(renamed ``kworker``, started with the victim's pid):

1. ``open("/proc/<pid>/exe", O_PATH)``: the exploit's handle on the binary;
2. ``open("/proc/self/fd/<that fd>", O_WRONLY|O_TRUNC)``: the exploit's reopen
   for writing, refused with ETXTBSY while the binary runs (the state names it
   by the fd it reopens: ``/proc/<pid>/exe``);
3. the direct forms: ``open("/proc/self/exe", O_WRONLY)`` and, as the evasion,
   a 32-bit ``open`` (``int $0x80``, ia32 number 5) of ``/proc/<pid>/exe``.

Every open is refused (ETXTBSY: both binaries are running), which the program
checks; had one not been, it would have truncated the container's throwaway
copy (``/tmp/runc``) or been refused by the read-only bind mount of the
program itself. The benign look-alike reads the victim's binary through
``/proc/<pid>/exe`` (as checksummers and debuggers do) and writes to
``/proc/self/fd/1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c
from secengine_run import alerts_seen, of_rule

pytestmark = pytest.mark.bpf

CVE = "CVE-2019-5736"

_STANDIN = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int busy(int fd) { return fd < 0 && errno == ETXTBSY; }

int main(int argc, char **argv)
{
    static char exe[64], reopen[64];
    snprintf(exe, sizeof exe, "/proc/%s/exe", argv[1]);
    int h = open(exe, O_PATH);
    if (h < 0)
        return 10;
    snprintf(reopen, sizeof reopen, "/proc/self/fd/%d", h);
    if (!busy(open(reopen, O_WRONLY | O_TRUNC)))
        return 11;
    if (!busy(open("/proc/self/exe", O_WRONLY)))
        return 12;
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(5L /* ia32 open */), "b"(exe),
                     "c"((long)O_WRONLY), "d"(0L) : "memory");
    return ret == -ETXTBSY ? 0 : 13;
}
"""

_SCRIPT = (
    "cp /bin/busybox /tmp/runc && ln -s runc /tmp/sleep || exit 9; "
    "/tmp/sleep 60 & pid=$!; sleep 0.5; {benign} && /t/kworker $pid; rc=$?; kill $pid; exit $rc"
)
_BENIGN = "cat /proc/$pid/exe >/dev/null && echo ok >/proc/self/fd/1"


def test_the_runtime_binary_opened_for_writing_through_proc_exe_alerts(podman: Any) -> None:
    program = Path(build_c("kworker", _STANDIN, flags=("-static", "-no-pie")))
    results = {}

    def action() -> None:
        results["run"] = podman.run(
            "i15-cvec-5736",
            "sh",
            "-c",
            _SCRIPT.format(benign=_BENIGN),
            extra=("-v", f"{program.parent}:/t:ro"),
        )

    alerts = of_rule(alerts_seen(action, lambda got: len(of_rule(got, CVE)) >= 3), CVE)
    assert results["run"].returncode == 0, results["run"]  # every open refused with ETXTBSY
    assert results["run"].stdout == "ok\n"
    assert len(alerts) == 3, f"expected the three opens for writing, and only them: {alerts}"
    fields = [a["output_fields"] for a in alerts]
    assert all(f["evt.res"] == "ETXTBSY" and f["proc.name"] == "kworker" for f in fields), fields
    assert all(f["container.id"] not in ("", "host") for f in fields)
    reopen, self_exe, compat = fields
    assert reopen["fd.nameraw"].startswith("/proc/self/fd/")
    assert reopen["fd.name"].startswith("/proc/") and reopen["fd.name"].endswith("/exe")
    assert reopen["evt.arg.flags"] == "O_TRUNC|O_WRONLY"
    assert self_exe["fd.name"] == "/proc/self/exe"
    assert compat["evt.type"] == "open" and compat["evt.is_compat"] is True
    assert compat["fd.name"] == reopen["fd.name"]
    assert alerts[0]["priority"] == "Critical" and "T1611" in alerts[0]["tags"]
