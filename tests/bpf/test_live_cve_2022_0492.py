"""CVE-2022-0492: the cgroup v1 release_agent escape's syscalls, from a new user namespace.

The stand-in runs the published exploit's steps under ``unshare -UrmC`` (a
user, mount and cgroup namespace of its own, as the exploit does in a
container): it mounts the ``rdma`` cgroup v1 hierarchy on a scratch
directory (``mount -t cgroup -o rdma``), opens the new mount API's
``fsopen("cgroup")``, then opens ``notify_on_release`` and ``release_agent``
for writing. It is safe: the rdma hierarchy does not exist on this host, so
the mount fails (EINVAL: the attempt is the signal), the fs context is closed
unconfigured, and the two files are scratch files of those names in a
directory the test made, never a real cgroup's (a patched kernel refuses the
real write anyway, and the test does not rely on it). Nothing outlives the
namespace.

The benign look-alikes, which must not alert: in the same namespace a
read-only cgroup2 mount (what rootless podman does) and a read of the scratch
release_agent; on the host, root writing a file named release_agent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from c_programs import build_c
from secengine_run import alerts_during, of_rule

pytestmark = pytest.mark.bpf

_STAND_IN = r"""
import ctypes, os, sys

libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]


def mount(fstype, target, flags, data):
    ok = libc.mount(fstype.encode(), target.encode(), fstype.encode(), flags, data) == 0
    return "SUCCESS" if ok else os.strerror(ctypes.get_errno())


os.mkdir(f"{d}/cg")
os.mkdir(f"{d}/cg2")
os.mkdir(f"{d}/x")
print("v1", mount("cgroup", f"{d}/cg", 0, b"rdma"))
fs = libc.syscall(430, b"cgroup", 0)  # fsopen
print("fsopen", fs >= 0)
if fs >= 0:
    os.close(fs)
with open(f"{d}/x/notify_on_release", "w") as f:
    f.write("1")
with open(f"{d}/release_agent", "w") as f:
    f.write(f"{d}/cmd")
# benign look-alikes
print("v2", mount("cgroup2", f"{d}/cg2", 1, None))  # MS_RDONLY
with open(f"{d}/release_agent") as f:
    f.read()
"""


def test_release_agent_steps_from_a_user_namespace_alert() -> None:
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    d = Path(tempfile.mkdtemp(prefix="i15-cvea-0492-"))
    (d / "host").mkdir()
    results = {}

    def action() -> None:
        results["ns"] = subprocess.run(
            ["unshare", "-UrmC", sys.executable, "-c", _STAND_IN, str(d)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        (d / "host" / "release_agent").write_text("/bin/true")  # benign: the host's user namespace

    try:
        alerts = of_rule(alerts_during(action), "CVE-2022-0492")
    finally:
        shutil.rmtree(d)
    ns = results["ns"]
    assert ns.returncode == 0, ns.stderr
    assert ns.stdout.split("\n")[:3] == ["v1 Invalid argument", "fsopen True", "v2 SUCCESS"], (
        ns.stdout
    )
    got = sorted(
        (a["rule"], a["output_fields"]["evt.type"], a["output_fields"].get("fd.name"))
        for a in alerts
    )
    write = "Cgroup release_agent Written From a Container or User Namespace (CVE-2022-0492)"
    mount = "Cgroup v1 Mounted From a Container or User Namespace (CVE-2022-0492)"
    assert [(r, t) for r, t, _ in got] == [
        (write, "openat"),
        (write, "openat"),
        (mount, "fsopen"),
        (mount, "mount"),
    ], alerts
    assert {n for _, _, n in got[:2]} == {f"{d}/x/notify_on_release", f"{d}/release_agent"}
    for a in alerts:
        assert a["output_fields"]["proc.is_host_userns"] is False
        assert "T1611" in a["tags"]
    [mounted] = [a for a in alerts if a["output_fields"]["evt.type"] == "mount"]
    assert mounted["output_fields"]["evt.res"] == "EINVAL"


def test_release_agent_steps_in_a_podman_container_alert(podman) -> None:
    """The same steps in a real container (no capability to mount: EPERM), scratch files only."""
    results = {}
    script = (
        "mkdir /tmp/cg; mount -t cgroup -o rdma cgroup /tmp/cg; echo mount=$?;"
        " echo 1 > /tmp/notify_on_release; echo /cmd > /tmp/release_agent;"
        " cat /tmp/release_agent"  # benign: a read
    )

    def action() -> None:
        results["run"] = podman.run("i15-cvea-0492", "sh", "-c", script)

    alerts = of_rule(alerts_during(action), "CVE-2022-0492")
    run = results["run"]
    assert run.returncode == 0 and "mount=1" in run.stdout, run  # refused: no CAP_SYS_ADMIN
    got = sorted(
        (a["output_fields"]["evt.type"], a["output_fields"].get("fd.name")) for a in alerts
    )
    assert [t for t, _ in got] == ["mount", "openat", "openat"], alerts
    assert {n for _, n in got[1:]} == {"/tmp/notify_on_release", "/tmp/release_agent"}
    for a in alerts:
        assert a["output_fields"]["container.id"] not in ("", "host")
    [mounted] = [a for a in alerts if a["output_fields"]["evt.type"] == "mount"]
    assert mounted["output_fields"]["evt.res"] == "EPERM"


_URING_OPEN_WRITE = r"""
#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>
/* IORING_OP_OPENAT of argv[1] for writing, then write(2) to it: no open syscall at all */
int main(int argc, char **argv)
{
    struct io_uring ring;
    if (argc < 2 || io_uring_queue_init(2, &ring, 0) < 0)
        return 2;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, argv[1], O_WRONLY | O_TRUNC, 0);
    io_uring_submit(&ring);
    struct io_uring_cqe *cqe;
    if (io_uring_wait_cqe(&ring, &cqe) < 0 || cqe->res < 0)
        return 3;
    int fd = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    return write(fd, "/cmd", 4) == 4 ? 0 : 4;
}
"""


def test_release_agent_opened_through_io_uring_in_a_user_namespace_alerts() -> None:
    """The evasion: the write open submitted through a ring (an openat event marked io_uring)."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    program = build_c("cgrp_uring", _URING_OPEN_WRITE, flags=("-static",), libs=("-luring",))
    d = Path(tempfile.mkdtemp(prefix="i15-cvea-0492u-"))
    agent = d / "release_agent"
    agent.write_text("")
    results = {}

    def action() -> None:
        results["run"] = subprocess.run(
            ["unshare", "-Ur", program, str(agent)], capture_output=True, timeout=60, check=False
        )

    try:
        alerts = of_rule(alerts_during(action), "CVE-2022-0492")
    finally:
        shutil.rmtree(d)
    assert results["run"].returncode == 0, results["run"]
    assert len(alerts) == 1, alerts
    fields = alerts[0]["output_fields"]
    assert fields["fd.name"] == str(agent) and fields["evt.type"] == "openat", fields
    assert fields["proc.is_host_userns"] is False
    assert fields["evt.is_io_uring"] is True
