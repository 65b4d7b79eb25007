"""A capture's state tables (processes, fds, users, cgroups) read through the live fields."""

from __future__ import annotations

import io
import struct
from typing import Any

from scapgen import block, capture, event, fdlist, i64, proclist, thread, u32, userlist

from secengine.capture import blocks as B
from secengine.capture.replay import CaptureReplay

_CID = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e"


def fields(data: bytes, *names: str) -> list[dict[str, Any]]:
    out = []
    for batch in CaptureReplay(io.BytesIO(data), "s.scap").batches():
        for ev in batch:
            out.append({n: ev.fields.get(n) for n in ("evt.type", *names)})
    return out


def test_process_user_container_and_fd_state_come_from_the_tables() -> None:
    data = capture(
        userlist((0, 0, "root"), (1000, 1000, "alice")),
        proclist(
            thread(1, 1, 0, "systemd", "/sbin/init", []),
            thread(50, 50, 1, "bash", "/bin/bash", ["-l"], uid=1000, gid=1000),
            thread(
                60,
                60,
                50,
                "cat",
                "/bin/cat",
                ["notes.txt"],
                cwd="/home/alice",
                uid=1000,
                cgroups=["cpu=/docker/" + _CID, "memory=/docker/" + _CID],
            ),
            thread(61, 60, 50, "cat", "/bin/cat", ["notes.txt"], uid=1000),
        ),
        fdlist(60, (3, "/home/alice/notes.txt")),
        # a read on fd 3 by the second thread of cat: the fd is its process's
        event("PPME_SYSCALL_READ_E", 61, [i64(3), u32(10)]),
        event("PPME_SYSCALL_READ_X", 61, [i64(10), b"0123456789"]),
    )
    [ev] = fields(
        data,
        "proc.name",
        "proc.pid",
        "thread.tid",
        "proc.pname",
        "proc.aname[2]",
        "proc.cmdline",
        "proc.cwd",
        "user.uid",
        "user.name",
        "user.homedir",
        "container.id",
        "fd.name",
        "fd.num",
        "evt.arg.fd",
    )
    assert (
        ev
        == {
            "evt.type": "read",
            "proc.name": "cat",
            "proc.pid": 60,
            "thread.tid": 61,
            "proc.pname": "bash",
            "proc.aname[2]": "systemd",
            "proc.cmdline": "cat notes.txt",
            "proc.cwd": "/home/alice/",  # libsinsp keeps a trailing "/"
            "user.uid": 1000,
            "user.name": "alice",
            "user.homedir": "/home/alice",
            "container.id": _CID[:12],
            "fd.name": "/home/alice/notes.txt",
            "fd.num": 3,
            "evt.arg.fd": "3(<f>/home/alice/notes.txt)",
        }
    )


def test_clone_exec_open_and_exit_change_the_state() -> None:
    def execve_x(tid: int, exe: str, args: str, comm: str) -> bytes:
        return event(
            "PPME_SYSCALL_EXECVE_19_X",
            tid,
            [i64(0), exe.encode() + b"\0", args.encode(), i64(tid), i64(tid), i64(50),
             b"/tmp\0", i64(1024), i64(0), i64(0), u32(0), u32(0), u32(0), comm.encode() + b"\0",
             b"cpu=/\0", b"HOME=/root\0"],
        )  # fmt: skip

    clone_x = event(
        "PPME_SYSCALL_CLONE_20_X",
        70,
        [i64(0), b"bash\0", b"-l\0", i64(70), i64(70), i64(50), b"/tmp\0", i64(1024), i64(0),
         i64(0), u32(0), u32(0), u32(0), b"bash\0", b"cpu=/\0", u32(0), u32(1000), u32(1000)],
    )  # fmt: skip
    data = capture(
        userlist((1000, 1000, "alice")),
        proclist(thread(50, 50, 1, "bash", "/bin/bash", ["-l"], uid=1000, gid=1000)),
        clone_x,
        execve_x(70, "/usr/bin/curl", "-s\0x.io\0", "curl"),
        event("PPME_SYSCALL_OPENAT_2_E", 70, [i64(-100), b"out.txt\0", u32(2 | 4), u32(0o644)]),
        event(
            "PPME_SYSCALL_OPENAT_2_X",
            70,
            [i64(4), i64(-100), b"out.txt\0", u32(2 | 4), u32(0o644), u32(0), i64(0)],
        ),
        event("PPME_PROCEXIT_1_E", 70, [i64(0), i64(0), b"\0", b"\0"]),
        event("PPME_SYSCALL_CLOSE_E", 70, [i64(4)]),
    )
    got = fields(data, "proc.name", "proc.pname", "proc.cmdline", "user.name", "fd.name")
    assert got == [
        {"evt.type": "clone", "proc.name": "bash", "proc.pname": "bash", "proc.cmdline": "bash -l",
         "user.name": "alice", "fd.name": None},
        {"evt.type": "execve", "proc.name": "curl", "proc.pname": "bash",
         "proc.cmdline": "curl -s x.io", "user.name": "alice", "fd.name": None},
        {"evt.type": "openat", "proc.name": "curl", "proc.pname": "bash",
         "proc.cmdline": "curl -s x.io", "user.name": "alice", "fd.name": "/tmp/out.txt"},
        {"evt.type": "procexit", "proc.name": "curl", "proc.pname": "bash",
         "proc.cmdline": "curl -s x.io", "user.name": "alice", "fd.name": None},
    ]  # fmt: skip


def test_a_thread_listed_with_its_own_user_keeps_it() -> None:
    """libsinsp keeps the user per thread (threadinfo ``m_uid``, read from each entry of the
    process list): a thread listed with another uid than its process's reports its own."""
    data = capture(
        userlist((0, 0, "root"), (1000, 1000, "alice")),
        proclist(
            thread(70, 70, 1, "srv", "/bin/srv", [], uid=0, gid=0),
            thread(71, 70, 1, "srv", "/bin/srv", [], uid=1000, gid=1000),
        ),
        event("PPME_SYSCALL_READ_E", 71, [i64(0), u32(10)]),
        event("PPME_SYSCALL_READ_X", 71, [i64(10), b"0123456789"]),
        event("PPME_SYSCALL_READ_E", 70, [i64(0), u32(10)]),
        event("PPME_SYSCALL_READ_X", 70, [i64(10), b"0123456789"]),
    )
    thread71, main = fields(data, "user.uid", "user.name", "group.gid")
    assert (thread71["user.uid"], thread71["user.name"], thread71["group.gid"]) == (
        1000,
        "alice",
        1000,
    )
    assert (main["user.uid"], main["user.name"], main["group.gid"]) == (0, "root", 0)


def test_a_listed_server_socket_has_its_address_port_and_protocol() -> None:
    """A server socket of the fd list (``SCAP_FD_IPV4_SERVSOCK``) is a server from the start:
    libsinsp's ``get_l4proto`` returns a server socket's protocol whatever its role."""
    body = struct.pack("<QQB", 3, 0, 5) + bytes([127, 0, 0, 1]) + struct.pack("<HB", 8080, 2)
    fds = block(B.FDL_BLOCK_TYPE_V2, struct.pack("<QI", 80, len(body) + 4) + body)
    data = capture(
        proclist(thread(80, 80, 1, "srv", "/bin/srv", [])),
        fds,
        event("PPME_SYSCALL_READ_E", 80, [i64(3), u32(10)]),
        event("PPME_SYSCALL_READ_X", 80, [i64(-11), b""]),
    )
    [ev] = fields(data, "fd.name", "fd.sip", "fd.sport", "fd.l4proto", "fd.is_server")
    assert (ev["fd.name"], ev["fd.sip"], ev["fd.sport"], ev["fd.l4proto"]) == (
        "127.0.0.1:8080",
        "127.0.0.1",
        8080,
        "tcp",
    )
    assert ev["fd.is_server"] is True
