"""Records of the syscalls container-escape rules need, as the probe writes them, decoded into
Falco's parameters and secengine's fields (no probe, no root)."""

from __future__ import annotations

import struct

from probe_records import blob, exec_rec, fields, hdr, proc
from test_tracker import file_sec

from secengine.bpf import layout as L
from secengine.events import MISSING
from secengine.state.containers import ContainerResolver
from secengine.state.decode import netlink_types
from secengine.state.tracker import StateTracker
from secengine.syscall_table import NUMBERS

HOST_NS = (11, 12, 13, 14)


def _tracker() -> StateTracker:
    t = StateTracker(boot_ns=0, containers=ContainerResolver([]))
    t.host_ns = HOST_NS
    return t


def _exec(t: StateTracker, pid: int = 300, **kw: object) -> None:
    fields(t, exec_rec(pid, 1, ["/bin/sh"], **kw))  # type: ignore[arg-type]


def _sys(name: str, pid: int, res: int, args: tuple[int, ...], body: bytes = b"") -> bytes:
    return hdr(L.EVT_SYSCALL, NUMBERS[name], pid, pid, res=res, args=args) + body


def test_the_environment_and_an_empty_argv_at_exec() -> None:
    t = _tracker()
    rec = (
        hdr(L.EVT_EXEC, 59, 300, 300)
        + proc(1)
        + blob("/usr/bin/pkexec")
        + blob("\0")  # the kernel's {""} for an empty argv
        + blob("/usr/bin/pkexec")
        + blob("/")
        + blob("pkexec")
        + blob("/")
        + blob("GCONV_PATH=.\0CHARSET=X\0")
    )
    f = fields(t, rec)
    assert (f["proc.exe"], f["proc.args"], f["proc.cmdline"]) == ("", "", "pkexec")
    assert f["proc.env"] == "GCONV_PATH=. CHARSET=X"
    assert f["proc.env[CHARSET]"] == "X" and f["proc.env[HOME]"] == ""
    assert f["evt.rawarg.env"] == b"GCONV_PATH=.\0CHARSET=X"  # Falco's execve parameter


def test_exe_mode_owner_and_namespaces_from_the_exec_record() -> None:
    t = _tracker()
    rec = hdr(L.EVT_EXEC, 59, 301, 301) + proc(1, exe_mode=0o106755, ns=(11, 99, 13, 14))
    f = fields(t, rec + b"".join(blob(x) for x in ("/x", "x\0", "/x", "/", "x", "/", "")))
    assert (f["proc.is_exe_setuid"], f["proc.is_exe_setgid"]) == (True, True)
    assert (f["proc.exe_uid"], f["proc.exe_gid"]) == (0, 0)
    assert (f["proc.is_host_userns"], f["proc.is_host_mntns"]) == (True, False)
    assert (f["proc.is_host_netns"], f["proc.is_host_pidns"]) == (True, True)


def test_unshare_and_setns_records_move_the_process() -> None:
    t = _tracker()
    _exec(t)
    after = L.NS.pack(77, 12, 78, 14)
    f = fields(t, _sys("unshare", 300, 0, (0x50000000, 0, 0, 0, 0, 0), after))
    assert f["evt.arg.flags"] == "CLONE_NEWNET|CLONE_NEWUSER"
    assert (f["proc.is_host_userns"], f["proc.is_host_netns"]) == (False, False)
    # a failed call moves nothing
    f = fields(t, _sys("setns", 300, -1, (5, 0x40000000, 0, 0, 0, 0), L.NS.pack(11, 12, 13, 14)))
    assert f["proc.is_host_netns"] is False and f["evt.res"] == "EPERM"


def test_unknown_namespaces_have_no_value() -> None:
    t = _tracker()
    t.host_ns = (0, 0, 0, 0)  # /proc/2/ns and /proc/1/ns unreadable
    _exec(t)
    f = fields(t, _sys("unshare", 300, 0, (0, 0, 0, 0, 0, 0), L.NS.pack(1, 2, 3, 4)))
    assert f["proc.is_host_userns"] is MISSING


def test_mount_data_and_the_new_mount_api() -> None:
    t = _tracker()
    _exec(t)
    f = fields(
        t,
        _sys("mount", 300, 0, (0, 0, 0, 1, 0, 0))
        + blob("none")
        + blob("/mnt")
        + blob("cgroup")
        + blob("rdma,release_agent=/x"),
    )
    assert (f["evt.arg.type"], f["evt.arg.data"], f["evt.arg.flags"]) == (
        "cgroup",
        "rdma,release_agent=/x",
        "RDONLY",
    )
    f = fields(t, _sys("fsopen", 300, 5, (0, 1, 0, 0, 0, 0)) + blob("cgroup"))
    assert f["evt.arg.fsname"] == "cgroup" and f["evt.rawarg.fd"] == 5
    f = fields(
        t, _sys("fsconfig", 300, 0, (5, 1, 0, 0, 0, 0)) + blob("source") + blob("/dev/x") + b""
    )
    assert (f["evt.arg.cmd"], f["evt.arg.key"], f["evt.arg.value_charbuf"]) == (
        "FSCONFIG_SET_STRING",
        "source",
        "/dev/x",
    )
    assert "cmd=FSCONFIG_SET_STRING" in f["evt.args"]


def test_setsockopt_keeps_the_levels_falco_loses() -> None:
    t = _tracker()
    _exec(t)
    body = blob(b"filter") + file_sec(family=2, stype=3, proto=255)
    f = fields(t, _sys("setsockopt", 300, -22, (3, 0, 64, 0, 96, 0), body))
    assert (f["evt.arg.level"], f["evt.arg.optname"]) == ("UNKNOWN", "UNKNOWN")
    assert (f["evt.rawarg.level_num"], f["evt.rawarg.optname_num"]) == (0, 64)
    assert f["evt.rawarg.val"] == b"filter" and f["evt.res"] == "EINVAL"
    f = fields(t, _sys("setsockopt", 300, 0, (3, 1, 57, 0, 8, 0), blob(b"") + file_sec()))
    assert (f["evt.arg.level"], f["evt.arg.optname"]) == ("SOL_SOCKET", "SO_COOKIE")


def _nl(mtype: int, payload: bytes = b"") -> bytes:
    return struct.pack("<IHHII", 16 + len(payload), mtype, 1, 0, 0) + payload


def test_netlink_message_types_of_a_send() -> None:
    t = _tracker()
    _exec(t)
    head = _nl(16, b"\0" * 4) + _nl(10 << 8, b"\0" * 8) + _nl(17, b"\0" * 4)
    body = file_sec(family=16, stype=3, proto=12) + blob(head)
    f = fields(t, _sys("sendto", 300, len(head), (3, 0, len(head), 0, 0, 0)) + blob(b"") + body)
    assert f["evt.netlink.proto"] == "NETLINK_NETFILTER"
    assert f["evt.netlink.msgtypes"] == [
        "NFNL_MSG_BATCH_BEGIN",
        "NFT_MSG_NEWTABLE",
        "NFNL_MSG_BATCH_END",
    ]
    assert f["fd.l4proto"] is MISSING  # 12 is no IP protocol
    # an IP socket: no netlink fields
    f = fields(
        t, _sys("sendmsg", 300, 1, (4, 0, 0, 0, 0, 0), file_sec(family=2, stype=2) + blob(b""))
    )
    assert f["evt.netlink.proto"] is MISSING and f["evt.netlink.msgtypes"] is MISSING


def test_netlink_header_walk_stops_at_a_bad_length() -> None:
    assert netlink_types(_nl(44) + _nl(45)) == [44, 45]
    assert netlink_types(struct.pack("<IHHII", 8, 44, 0, 0, 0) + _nl(45)) == [44]
    assert netlink_types(_nl(44)[:10]) == []
    assert len(netlink_types(_nl(3) * 100)) == 32


def test_keyctl_failure_has_its_errno_name() -> None:
    t = _tracker()
    _exec(t)
    f = fields(t, _sys("keyctl", 300, -126, (11, 5, 0, 0, 0, 0)))
    assert (f["evt.arg.operation"], f["evt.res"], f["evt.rawarg.arg2"]) == (
        "KEYCTL_READ",
        "ENOKEY",
        5,
    )


def test_xattr_and_splice_parameters() -> None:
    t = _tracker()
    _exec(t)
    cap = bytes.fromhex("0100000200200000000000000000000000000000")
    f = fields(
        t,
        _sys("setxattr", 300, 0, (0, 0, 0, 20, 0, 0))
        + blob("/tmp/x")
        + blob("security.capability")
        + blob(cap),
    )
    assert (f["evt.arg.path"], f["evt.arg.name"], f["evt.rawarg.value"]) == (
        "/tmp/x",
        "security.capability",
        cap,
    )
    f = fields(t, _sys("splice", 300, 5, (3, 0, 4, 0, 5, 1)) + file_sec())
    assert (f["evt.rawarg.fd_in"], f["evt.rawarg.fd_out"], f["evt.rawarg.size"]) == (3, 4, 5)
    assert f["evt.arg.flags"] == "SPLICE_F_MOVE" and f["fd.num"] == 3


def test_dirty_pipe_splice_names_its_pipe_and_how_the_file_was_opened() -> None:
    """CVE-2022-0847's splice(file, pipe): ``evt.arg.fd_out`` names the pipe as libsinsp
    renders an fd with no name (``4(<p>)``), and ``fd.is_open_write`` says whether the file
    (fd_in, which the probe describes) was opened for writing (the kernel's FMODE_WRITE)."""
    t = _tracker()
    _exec(t)
    fields(t, _sys("pipe2", 300, 0, (0, 0, 0, 0, 0, 0)) + blob(struct.pack("<ii", 4, 5)))
    ro = fields(t, _sys("splice", 300, 1, (3, 0, 5, 0, 1, 0)) + file_sec(fmode=0x1))
    assert ro["evt.arg.fd_out"] == "5(<p>)"
    assert ro["fd.typechar"] == "f" and ro["fd.is_open_write"] is False
    rw = fields(t, _sys("splice", 300, 1, (6, 0, 5, 0, 1, 0)) + file_sec(fmode=0x3))
    assert rw["fd.is_open_write"] is True
    closed = fields(t, _sys("splice", 300, -9, (9, 0, 5, 0, 1, 0)) + file_sec(mode=0))
    assert closed["fd.is_open_write"] is MISSING  # the probe found no file there
    assert fields(t, _sys("setns", 300, 0, (3, 0, 0, 0, 0, 0)))["fd.is_open_write"] is MISSING
