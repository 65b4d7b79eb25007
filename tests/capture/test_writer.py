"""The capture writer: every block it writes reads back, through the capture reader, as the
entries it was given; sysdig 0.29.3 reads the same file (the oracle, where installed)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from secengine.capture import blocks as B
from secengine.capture import tables as T
from secengine.capture.cursor import Cursor
from secengine.capture.events import parse_event
from secengine.capture.eventtable import codes_named
from secengine.capture.params import encode, sockaddr, socktuple
from secengine.capture.writer import ScapWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysdig_oracle import SYSDIG, read_events

THREADS = [
    T.ThreadEntry(
        tid=100, pid=100, ptid=1, sid=100, vpgid=100, comm="bash", exe="bash",
        exepath="/usr/bin/bash", args=["-c", "true"], cwd="/root", fdlimit=1024, uid=0,
        gid=0, env=["HOME=/root"], vtid=100, vpid=100, cgroups=["cpuset=/"], root="/",
    ),
    T.ThreadEntry(tid=101, pid=100, ptid=1, comm="bash", exe="bash", exepath="/usr/bin/bash",
                  cwd="/root", vtid=101, vpid=100, root="/"),
]  # fmt: skip
FDS = [
    T.FdEntry(100, 3, 11, T.FD_FILE_V2, "/etc/passwd", open_flags=1, dev=0xFE00000),
    T.FdEntry(100, 4, 12, T.FD_DIRECTORY, "/tmp"),
    T.FdEntry(100, 5, 13, T.FD_IPV4_SOCK, sip="10.0.0.1", dip="10.0.0.2", sport=40000,
              dport=443, l4proto=2),
    T.FdEntry(100, 6, 14, T.FD_IPV6_SERVSOCK, sip="::1", sport=8080, l4proto=2),
    T.FdEntry(100, 7, 15, T.FD_UNIX_SOCK, "/run/x.sock"),
    T.FdEntry(100, 8, 16, T.FD_FIFO, "pipe:[16]"),
]  # fmt: skip
USERS = [T.UserEntry(0, 0, "root", "/root", "/bin/bash"), T.UserEntry(0, 0, "root", is_group=True)]
IFACES = [
    T.Interface("lo", "127.0.0.1", "255.0.0.0", "0.0.0.0"),
    T.Interface("lo", "::1", "::", "::"),
]


def _capture() -> bytes:
    out = io.BytesIO()
    w = ScapWriter(out)
    w.section_header()
    w.machine_info(T.MachineInfo(2, 1 << 30, 4194304, "host-a", 0, 0))
    w.interfaces(IFACES)
    w.users(USERS)
    w.processes(THREADS)
    w.fds(100, FDS)
    e, x = codes_named("PPME_SYSCALL_OPENAT_2_E"), codes_named("PPME_SYSCALL_OPENAT_2_X")
    values = {"fd": 9, "dirfd": -100, "name": "/etc/shadow", "flags": 1, "mode": 0, "dev": 1}
    for info, ts in ((e, 1_000), (x, 1_001)):
        w.event(ts, 100, info.code, [encode(p.type, values.get(p.name)) for p in info.params])
    assert w.events == 2 and w.bytes_written == len(out.getvalue())
    return out.getvalue()


def _blocks(data: bytes) -> list[B.Block]:
    return list(B.BlockReader(io.BytesIO(data), "test.scap"))


def test_every_block_reads_back_as_written() -> None:
    blocks = _blocks(_capture())
    kinds = [b.type for b in blocks]
    assert kinds[:6] == [
        B.SHB_BLOCK_TYPE, B.MI_BLOCK_TYPE, B.IL_BLOCK_TYPE_V2, B.UL_BLOCK_TYPE_V2,
        B.PL_BLOCK_TYPE_V9, B.FDL_BLOCK_TYPE_V2,
    ]  # fmt: skip
    by = {b.type: b for b in blocks}

    def cur(t: int) -> Cursor:
        return Cursor(by[t].body, "test.scap", by[t].offset + 8)

    assert T.read_machine_info(cur(B.MI_BLOCK_TYPE)).hostname == "host-a"
    assert T.read_iflist(cur(B.IL_BLOCK_TYPE_V2), B.IL_BLOCK_TYPE_V2) == IFACES
    assert T.read_userlist(cur(B.UL_BLOCK_TYPE_V2), B.UL_BLOCK_TYPE_V2) == USERS
    threads = T.read_proclist(cur(B.PL_BLOCK_TYPE_V9), 9)
    assert [(t.tid, t.comm, t.exepath, t.args, t.env, t.cwd) for t in threads] == [
        (t.tid, t.comm, t.exepath, t.args, t.env, t.cwd) for t in THREADS
    ]
    assert T.read_fdlist(cur(B.FDL_BLOCK_TYPE_V2), B.FDL_BLOCK_TYPE_V2) == FDS
    events = [parse_event(b, "test.scap") for b in blocks if b.type in B.EVENT_BLOCKS]
    assert [(ev.ts, ev.tid, ev.type) for ev in events] == [
        (1_000, 100, codes_named("PPME_SYSCALL_OPENAT_2_E").code),
        (1_001, 100, codes_named("PPME_SYSCALL_OPENAT_2_X").code),
    ]
    assert events[1].values()["name"] == "/etc/shadow"


def test_blocks_are_padded_and_end_with_their_length() -> None:
    data = _capture()
    off = 0
    while off < len(data):
        btype, total = (
            int.from_bytes(data[off : off + 4], "little"),
            int.from_bytes(data[off + 4 : off + 8], "little"),
        )
        assert total % 4 == 0, hex(btype)
        assert int.from_bytes(data[off + total - 4 : off + total], "little") == total
        off += total
    assert off == len(data)


def test_socket_parameters_have_the_drivers_layout() -> None:
    # sockaddr_in 10.1.2.3:80 (port in network order) -> PPM_AF_INET, addr, port (host order)
    raw = bytes([2, 0, 0, 80, 10, 1, 2, 3]) + bytes(8)
    assert sockaddr(raw) == bytes([2, 10, 1, 2, 3, 80, 0])
    assert sockaddr(bytes([1, 0]) + b"/run/s\0") == b"\x01/run/s\0"
    tup = socktuple(2, bytes([10, 0, 0, 1]), 40000, bytes([10, 0, 0, 2]), 443)
    assert tup == bytes([2, 10, 0, 0, 1]) + (40000).to_bytes(2, "little") + bytes([10, 0, 0, 2]) + (
        443
    ).to_bytes(2, "little")


@pytest.mark.skipif(SYSDIG is None, reason="sysdig is not installed (apt-get install sysdig)")
def test_sysdig_reads_the_tables_and_the_events(tmp_path: Path) -> None:
    cap = tmp_path / "w.scap"
    cap.write_bytes(_capture())
    events = read_events(cap)
    assert [(e["evt.type"], e["evt.dir"]) for e in events] == [("openat", ">"), ("openat", "<")]
    x = events[1]
    assert (x["proc.name"], x["proc.exepath"], x["proc.cmdline"], x["user.uid"]) == (
        "bash", "/usr/bin/bash", "bash -c true", "0",
    )  # fmt: skip
    assert (x["fd.name"], x["evt.rawres"], x["evt.is_open_read"]) == ("/etc/shadow", "9", "true")
