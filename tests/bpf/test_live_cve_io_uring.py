"""CVE-2019-5736 and CVE-2024-21626 through io_uring: the opens made as ring requests.

An ``IORING_OP_OPENAT`` makes no open syscall. The probe names such an open by the path the
program submitted (kept from the request's submission to its completion), refused ones
included, so the state resolves it as it resolves a syscall's: ``/proc/self/fd/N`` by the
process's fd table (``fd.name``), the path as given in ``fd.nameraw``. The stand-in
(``ringopen``, a renamed static liburing program) runs in a podman container:

- CVE-2019-5736: it opens its victim's ``/proc/<pid>/exe`` with ``O_PATH`` through the ring,
  then reopens it for writing through ``/proc/self/fd/N`` through the ring: refused with
  ETXTBSY (the victim, a busybox copy of its own, is running), and alerted with the file
  named ``/proc/<pid>/exe``;
- CVE-2024-21626: with fd 3 on a scratch directory outside the container's root (podman
  ``--preserve-fds 1``), it opens ``/proc/self/fd/3/secx/f`` through the ring (alerts, with
  ``fd.name`` the scratch file) and ``/proc/self/fd/3/secx/none`` (refused with ENOENT: it
  alerts too, with the path given).

The look-alikes, also through the ring: a read of ``/proc/<pid>/exe``, an open of
``/proc/self/fd/1`` for writing (the container's stdout), an open of ``/proc/self/fdinfo/0``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c
from secengine_run import alerts_seen, of_rule
from test_live_cve_2024_21626 import _run_with_fd3, _scratch

pytestmark = pytest.mark.bpf

_RINGOPEN = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct io_uring ring;

/* openat(dirfd, path, flags) as one ring request; its result (an fd or -errno) */
static int ring_open(int dirfd, const char *path, int flags)
{
    struct io_uring_cqe *cqe;
    io_uring_prep_openat(io_uring_get_sqe(&ring), dirfd, path, flags, 0);
    io_uring_submit(&ring);
    if (io_uring_wait_cqe(&ring, &cqe) < 0)
        exit(10);
    int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    return res;
}

/* "exe PID": /proc/PID/exe with O_PATH, then /proc/self/fd/N for writing; 0 if ETXTBSY.
 * "open PATH FLAGS" (flags: r, w): print the result. "at DIRFD PATH": openat(DIRFD, PATH). */
int main(int argc, char **argv)
{
    static char path[64];
    if (argc < 3 || io_uring_queue_init(8, &ring, 0) < 0)
        return 9;
    if (strcmp(argv[1], "exe") == 0) {
        snprintf(path, sizeof path, "/proc/%s/exe", argv[2]);
        int fd = ring_open(AT_FDCWD, path, O_PATH);
        if (fd < 0)
            return 11;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int res = ring_open(AT_FDCWD, path, O_WRONLY | O_TRUNC);
        printf("%d\n", res);
        return res == -ETXTBSY ? 0 : 12;
    }
    if (strcmp(argv[1], "at") == 0 && argc > 3) {
        printf("%d\n", ring_open(atoi(argv[2]), argv[3], O_RDONLY));
        return 0;
    }
    int flags = argc > 3 && argv[3][0] == 'w' ? O_WRONLY : O_RDONLY;
    printf("%d\n", ring_open(AT_FDCWD, argv[2], flags));
    return 0;
}
"""


#: podman's default seccomp profile refuses io_uring_setup; Kubernetes runs pods unconfined
#: unless they ask for RuntimeDefault, and so do these containers
_UNCONFINED = ("--security-opt", "seccomp=unconfined")


@pytest.fixture(scope="module")
def ringopen() -> Path:
    return Path(build_c("ringopen", _RINGOPEN, flags=("-static",), libs=("-luring",)))


def test_the_runtime_binary_reopened_for_writing_through_the_ring_alerts(
    podman: Any, ringopen: Path
) -> None:
    script = (
        "cp /bin/busybox /tmp/runc && ln -s runc /tmp/sleep || exit 9; "
        "/tmp/sleep 60 & pid=$!; sleep 0.5; "
        "/t/ringopen open /proc/$pid/exe r >/dev/null && /t/ringopen open /proc/self/fd/1 w "
        "&& /t/ringopen exe $pid; rc=$?; kill $pid; exit $rc"
    )
    results = {}

    def action() -> None:
        results["run"] = podman.run(
            "i15-evade-5736-ring",
            "sh",
            "-c",
            script,
            extra=(*_UNCONFINED, "-v", f"{ringopen.parent}:/t:ro"),
        )

    cve = "CVE-2019-5736"
    alerts = of_rule(alerts_seen(action, lambda got: bool(of_rule(got, cve))), cve)
    run = results["run"]
    assert run.returncode == 0, run  # the reopen was refused with ETXTBSY
    assert len(alerts) == 1, f"expected the ring's reopen for writing alone: {alerts}"
    f = alerts[0]["output_fields"]
    assert f["evt.is_io_uring"] is True and f["evt.type"] == "openat"
    assert f["evt.res"] == "ETXTBSY" and f["proc.name"] == "ringopen"
    assert f["fd.nameraw"].startswith("/proc/self/fd/")
    assert f["fd.name"].startswith("/proc/") and f["fd.name"].endswith("/exe")
    assert f["container.id"] not in ("", "host")


def test_a_file_opened_through_the_leaked_fd_by_the_ring_alerts(
    podman: Any, ringopen: Path, tmp_path: Path
) -> None:
    scratch = _scratch(tmp_path)
    shutil.copy(ringopen, scratch / "ringopen")
    script = (
        "/t/ringopen open /proc/self/fdinfo/0 && "
        "/t/ringopen open /proc/self/fd/3/secx/f && /t/ringopen open /proc/self/fd/3/secx/none"
    )
    results = {}

    def action() -> None:
        results["run"] = _run_with_fd3(
            podman,
            "i15-evade-21626-ring",
            scratch,
            *_UNCONFINED,
            "-v",
            f"{ringopen.parent}:/t:ro",
            podman.IMAGE,
            "sh",
            "-c",
            script,
        )

    cve = "CVE-2024-21626"
    alerts = of_rule(alerts_seen(action, lambda got: len(of_rule(got, cve)) >= 2), cve)
    run = results["run"]
    assert run.returncode == 0, run
    opened, refused = run.stdout.split()[1:]
    assert int(opened) >= 0 and int(refused) == -2, run.stdout  # ENOENT
    assert len(alerts) == 2, f"expected the two opens through fd 3 alone: {alerts}"
    fields = sorted((a["output_fields"] for a in alerts), key=lambda f: f["fd.nameraw"])
    ok, enoent = fields
    assert all(f["evt.is_io_uring"] is True and f["evt.type"] == "openat" for f in fields)
    assert ok["fd.nameraw"] == "/proc/self/fd/3/secx/f" and ok["evt.res"] == "SUCCESS"
    assert ok["fd.name"] == str(scratch / "secx" / "f")
    assert enoent["fd.nameraw"] == "/proc/self/fd/3/secx/none" and enoent["evt.res"] == "ENOENT"
    assert all(f["container.id"] not in ("", "host") for f in fields)
