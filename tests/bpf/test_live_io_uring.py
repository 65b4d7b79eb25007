"""io_uring operations are seen as the syscalls they stand for.

An ``IORING_OP_OPENAT`` of a file makes no ``openat`` syscall: a program that
opens and reads ``/etc/shadow`` through a ring raised nothing where ``cat``
of the same file alerts (Falco shares this blind spot). The probe turns the
operation's completion into the open record it stands for, flagged
``evt.is_io_uring``, so the rules fire unchanged.
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
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

static int one(struct io_uring *ring)
{
    struct io_uring_cqe *cqe;
    io_uring_submit(ring);
    if (io_uring_wait_cqe(ring, &cqe) < 0)
        return -1000;
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

/* "connect PORT": connect a TCP socket to 127.0.0.1:PORT through the ring;
 * "accept PORT": listen on 127.0.0.1:PORT (plain syscalls), accept through the ring */
static int net(const char *what, int port)
{
    struct io_uring ring;
    static struct sockaddr_in sa;
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (io_uring_queue_init(8, &ring, 0) < 0)
        return 10;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (strcmp(what, "connect") == 0) {
        io_uring_prep_connect(io_uring_get_sqe(&ring), s, (struct sockaddr *)&sa, sizeof sa);
        return one(&ring) == 0 ? 0 : 20;
    }
    int yes = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) || listen(s, 1))
        return 21;
    printf("listening\n");
    fflush(stdout);
    io_uring_prep_accept(io_uring_get_sqe(&ring), s, NULL, NULL, 0);
    return one(&ring) >= 0 ? 0 : 22;
}

/* open ARGV[1] through the ring (openat, or openat2 with "2"), read it through the ring, print
 * how many bytes came back; exit 0 only if the open succeeded and bytes were read */
int main(int argc, char **argv)
{
    if (argc > 2 && (strcmp(argv[1], "connect") == 0 || strcmp(argv[1], "accept") == 0))
        return net(argv[1], atoi(argv[2]));
    struct io_uring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    static char buf[4096];
    /* read by the kernel at submission, so it must outlive the prep call's scope */
    static struct open_how how = {.flags = O_RDONLY};
    if (io_uring_queue_init(8, &ring, 0) < 0)
        return 10;
    sqe = io_uring_get_sqe(&ring);
    if (argc > 2 && strcmp(argv[2], "2") == 0) {
        io_uring_prep_openat2(sqe, AT_FDCWD, argv[1], &how);
    } else {
        io_uring_prep_openat(sqe, AT_FDCWD, argv[1], O_RDONLY, 0);
    }
    io_uring_submit(&ring);
    if (io_uring_wait_cqe(&ring, &cqe) < 0)
        return 11;
    int fd = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    if (fd < 0)
        return 12;
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buf, sizeof buf, 0);
    io_uring_submit(&ring);
    if (io_uring_wait_cqe(&ring, &cqe) < 0)
        return 13;
    int n = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    printf("%d\n", n);
    return n > 0 ? 0 : 14;
}
"""


_NAME = "uring_open"  # the program's name, as proc.name has it


@pytest.fixture(scope="module")
def uring_program() -> str:
    return build_c(_NAME, _PROGRAM, flags=("-static",), libs=("-luring",))


@pytest.mark.parametrize("variant", ["openat", "openat2"])
def test_an_io_uring_open_is_an_open_event_of_its_file(
    source, live, uring_program, variant
) -> None:
    d = tempfile.mkdtemp(prefix="secengine-uring-")
    target = os.path.join(d, "secret")
    with open(target, "w") as fh:
        fh.write("through the ring\n")
    # through a symlink: the event names the path the program submitted, as an openat
    # syscall's does (libsinsp's fd.name is the path given made absolute, not its target)
    link = os.path.join(d, "link")
    os.symlink(target, link)
    holder: dict[str, int] = {}

    def action() -> None:
        p = subprocess.Popen(
            [uring_program, link, "2" if variant == "openat2" else "1"], stdout=subprocess.DEVNULL
        )
        holder["pid"] = p.pid
        assert p.wait(timeout=30) == 0, "the io_uring program failed"

    snaps, _ = live.collect(
        source,
        action,
        [
            "evt.is_io_uring",
            "fd.name",
            "fd.nameraw",
            "fd.typechar",
            "fd.num",
            "evt.is_open_read",
            "evt.res",
            "proc.pid",
        ],
        # by name while the action runs, by pid after it: the reader can see the child's
        # events before the action's thread has stored the pid Popen returned
        where=lambda f: f["proc.name"] == _NAME and f["evt.type"] == variant,
    )
    ring_opens = [s for s in snaps if s["evt.is_io_uring"] and s["proc.pid"] == holder["pid"]]
    assert ring_opens, f"the io_uring {variant} was not seen: {snaps}"
    s = ring_opens[0]
    assert s["evt.is_io_uring"] is True
    assert s["fd.name"] == s["fd.nameraw"] == link
    assert s["fd.typechar"] == "f" and s["fd.num"] >= 0 and s["evt.is_open_read"] is True
    assert s["evt.res"] == "SUCCESS"


def test_an_io_uring_read_of_shadow_alerts_through_secengine_run(uring_program) -> None:
    """The evasion, end to end: the shipped rules catch /etc/shadow read through a ring."""

    def read_shadow() -> None:
        reader = subprocess.run([uring_program, "/etc/shadow"], capture_output=True, check=False)
        assert reader.returncode == 0, reader

    alerts = alerts_during(read_shadow)
    mine = [
        a
        for a in alerts
        if a["output_fields"].get("proc.name") == os.path.basename(uring_program)[:15]
        and a["output_fields"].get("fd.name") == "/etc/shadow"
    ]
    assert mine, f"the io_uring read of /etc/shadow went unseen: {alerts}"


def test_io_uring_connect_and_accept_are_socket_events(source, live, uring_program) -> None:
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    accept_port = free.getsockname()[1]
    free.close()
    pids: dict[str, int] = {}

    def action() -> None:
        c = subprocess.Popen([uring_program, "connect", str(port)])
        pids["connect"] = c.pid
        assert c.wait(timeout=30) == 0, "the io_uring connect failed"
        a = subprocess.Popen([uring_program, "accept", str(accept_port)], stdout=subprocess.PIPE)
        pids["accept"] = a.pid
        assert a.stdout is not None and a.stdout.readline() == b"listening\n"
        socket.create_connection(("127.0.0.1", accept_port), timeout=10).close()
        assert a.wait(timeout=30) == 0, "the io_uring accept failed"

    try:
        snaps, _ = live.collect(
            source,
            action,
            ["evt.is_io_uring", "fd.sip", "fd.sport", "fd.l4proto", "evt.res", "proc.pid"],
            # by name while the action runs, by pid after it (as above)
            where=lambda f: f["proc.name"] == _NAME and f["evt.type"] in ("connect", "accept4"),
        )
    finally:
        server.close()
    mine = [s for s in snaps if s["evt.is_io_uring"] and s["proc.pid"] in pids.values()]
    by_type = {s["evt.type"]: s for s in mine}
    assert set(by_type) == {"connect", "accept4"}, snaps
    for s in by_type.values():
        assert s["fd.sip"] == "127.0.0.1" and s["fd.l4proto"] == "tcp", s
    assert by_type["connect"]["fd.sport"] == port
    assert by_type["accept4"]["fd.sport"] == accept_port
    assert by_type["connect"]["proc.pid"] == pids["connect"]


def test_an_io_uring_open_in_a_container(source, live, podman, uring_program) -> None:
    d = tempfile.mkdtemp(prefix="secengine-uring-ct-")
    with open(os.path.join(d, "secret"), "w") as fh:
        fh.write("through the ring, in a container\n")
    result: dict[str, subprocess.CompletedProcess[str]] = {}

    def action() -> None:
        result["run"] = podman.run(
            "secengine-uring",
            "/uring",
            "/data/secret",
            # podman's default seccomp profile refuses io_uring_setup; Kubernetes runs pods
            # unconfined unless they ask for RuntimeDefault, and so does this container
            extra=(
                "--security-opt",
                "seccomp=unconfined",
                "-v",
                f"{uring_program}:/uring:ro",
                "-v",
                f"{d}:/data:ro",
            ),
        )
        assert result["run"].returncode == 0, result["run"]

    snaps, _ = live.collect(
        source,
        action,
        ["evt.is_io_uring", "fd.name", "container.id", "container.name"],
        where=lambda f: f["evt.type"] == "openat" and f["proc.name"] == "uring",
    )
    ring_opens = [s for s in snaps if s["evt.is_io_uring"]]
    assert ring_opens, f"the io_uring open in the container was not seen: {snaps}"
    assert ring_opens[0]["fd.name"] == "/data/secret"
    assert ring_opens[0]["container.id"] not in ("host", "")
