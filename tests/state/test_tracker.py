"""Records (as the probe writes them) applied to the state, then read as fields."""

from __future__ import annotations

import os
import struct

from probe_records import blob, exec_rec, fields, hdr, proc

from secengine.bpf import layout as L
from secengine.events import MISSING
from secengine.state.containers import ContainerResolver
from secengine.state.decode import Rec
from secengine.state.tracker import StateTracker, resolve_path

CID = "4e683bec47a045be8aa19068abb5f51c90fa87929f3dad2e6cba62e4c46ef44a"


def file_sec(
    mode: int = 0o100644,
    family: int = 0,
    lport: int = 0,
    rport: int = 0,
    laddr: bytes = b"",
    raddr: bytes = b"",
    stype: int = 1,
    proto: int = 6,
    fmode: int = 0,
) -> bytes:
    return L.FILE.pack(
        mode,
        0,
        42,
        fmode,
        family,
        stype,
        proto,
        lport,
        rport,
        0,
        laddr.ljust(16, b"\0"),
        raddr.ljust(16, b"\0"),
    ) + blob("")


def _tracker() -> StateTracker:
    return StateTracker(boot_ns=0, containers=ContainerResolver([]))


def test_exec_then_fork_then_exec_builds_the_tree() -> None:
    t = _tracker()
    f = fields(t, exec_rec(100, 1, ["/bin/bash", "-l"], cwd="/root", exepath="/usr/bin/bash"))
    assert f["proc.name"] == "bash" and f["proc.cmdline"] == "bash -l"
    assert f["proc.exepath"] == "/usr/bin/bash" and f["proc.cwd"] == "/root/"
    assert f["thread.cap_effective"] == "CAP_SYS_MODULE"
    assert f["user.loginuid"] == -1
    clone = hdr(L.EVT_CLONE, 56, 101, 101, args=(0, 100, 0, 0, 0, 0)) + proc(100) + blob("bash")
    fields(t, clone)
    assert t.procs.get(101).cwd == "/root"  # inherited through the fork
    f = fields(
        t, exec_rec(101, 100, ["grep", "BEGIN PRIVATE", "x"], exepath="/usr/bin/grep", cwd="/root")
    )
    assert f["evt.type"] == "execve"
    assert f["proc.pname"] == "bash" and f["proc.aname[1]"] == "bash"
    assert f["proc.aname"][0] == "bash"  # then the real pid 1, read from /proc
    assert f["proc.args"] == "BEGIN PRIVATE x"
    assert f["proc.pcmdline"] == "bash -l"


def test_openat_relative_to_dirfd_and_cwd() -> None:
    t = _tracker()
    fields(t, exec_rec(200, 1, ["cat"], cwd="/home/u"))
    openat = 257
    d = fields(
        t,
        hdr(1, openat, 200, 200, res=3, args=(-100 & 0xFFFFFFFF, 0, 0o200000, 0, 0, 0))
        + blob("/etc")
        + file_sec(mode=0o40755),
    )
    assert d["fd.typechar"] == "d" and d["fd.name"] == "/etc"
    f = fields(
        t,
        hdr(1, openat, 200, 200, res=4, args=(3, 0, os.O_RDONLY, 0, 0, 0))
        + blob("../etc/shadow")
        + file_sec(),
    )
    assert f["fd.name"] == "/etc/shadow" and f["fd.nameraw"] == "../etc/shadow"
    assert f["fd.directory"] == "/etc" and f["fd.filename"] == "shadow"
    assert f["evt.is_open_read"] is True and f["evt.arg.flags"] == "O_RDONLY"
    assert f["evt.arg.fd"] == "4(<f>/etc/shadow)"
    g = fields(
        t,
        hdr(1, openat, 200, 200, res=-2, args=(-100 & 0xFFFFFFFF, 0, 0, 0, 0, 0))
        + blob("notes.txt")
        + file_sec(mode=0),
    )
    assert g["fd.name"] == "/home/u/notes.txt" and g["fd.num"] == -1
    assert g["evt.res"] == "ENOENT" and g["evt.failed"] is True
    c = fields(t, hdr(1, 3, 200, 200, res=0, args=(4, 0, 0, 0, 0, 0)))
    assert c["fd.name"] == "/etc/shadow"  # the closed fd is still named on its close event
    assert t.procs.get(200).fds.get(4) is None


def test_dup2_of_a_socket_and_container_id() -> None:
    t = _tracker()
    fields(t, exec_rec(300, 1, ["sh"], cgroup=f"/libpod_parent/libpod-{CID}"))
    connect = (
        hdr(1, 42, 300, 300, res=0, args=(5, 0, 16, 0, 0, 0))
        + blob(struct.pack(">HH4s", 2, 4444, bytes([10, 0, 0, 9]))[::1])
        + file_sec(
            mode=0o140777,
            family=2,
            lport=5555,
            rport=4444,
            laddr=bytes([10, 0, 0, 5]),
            raddr=bytes([10, 0, 0, 9]),
        )
    )
    c = fields(t, connect)
    assert c["fd.name"] == "10.0.0.5:5555->10.0.0.9:4444" and c["fd.connected"] is True
    assert c["fd.sip"] == "10.0.0.9" and c["fd.sport"] == 4444 and c["fd.l4proto"] == "tcp"
    d = fields(
        t,
        hdr(1, 33, 300, 300, res=0, args=(5, 0, 0, 0, 0, 0))
        + file_sec(mode=0o140777, family=2, lport=5555, rport=4444),
    )
    assert d["evt.rawres"] == 0 and d["fd.type"] == "ipv4"
    assert d["container.id"] == CID[:12] and d["container.full_id"] == CID
    assert t.procs.get(300).fds.get(0).name == "10.0.0.5:5555->10.0.0.9:4444"


def test_ptrace_symlink_and_setuid_params() -> None:
    t = _tracker()
    fields(t, exec_rec(400, 1, ["x"]))
    p = fields(t, hdr(1, 101, 400, 400, res=0, args=(16, 401, 0, 0, 0, 0)))
    assert p["evt.arg.request"] == "PTRACE_ATTACH" and p["evt.arg.pid"] == "401"
    s = fields(
        t,
        hdr(1, 266, 400, 400, res=0, args=(0, -100 & 0xFFFFFFFF, 0, 0, 0, 0))
        + blob("/etc/shadow")
        + blob("/tmp/x"),
    )
    assert s["evt.type"] == "symlinkat"
    assert s["evt.arg.target"] == "/etc/shadow" and s["evt.arg.linkpath"] == "/tmp/x"
    creds = L.CREDS.pack(65534, 65534, 65534, 65534, 65534, 65534, 1000, 0, 0, 0, 0)
    u = fields(t, hdr(1, 105, 400, 400, res=0, args=(65534, 0, 0, 0, 0, 0)) + creds)
    assert u["user.uid"] == 65534 and u["user.loginuid"] == 1000


def test_memfd_exec_and_exit() -> None:
    t = _tracker()
    fields(t, exec_rec(500, 1, ["python3"]))
    f = fields(
        t,
        exec_rec(
            500,
            1,
            ["fileless"],
            exepath="memfd:payload",
            flags=L.EXE_FROM_MEMFD,
            filename="/dev/fd/3",
        ),
    )
    assert f["evt.type"] == "execveat"
    assert f["proc.is_exe_from_memfd"] is True
    assert f["evt.arg.flags"] == "EXE_FROM_MEMFD"
    fields(t, hdr(L.EVT_EXIT, 0, 500, 500, args=(0, 1, 0, 0, 0, 0)))
    assert t.procs.peek(500) is not None  # kept until the batch is over
    t.flush_exited()
    assert t.procs.peek(500) is None


def test_resolve_path() -> None:
    assert resolve_path("a/../b", "/x/y") == "/x/y/b"
    assert resolve_path("/etc/../etc/./passwd", "/") == "/etc/passwd"
    assert resolve_path("", "/tmp") == "/tmp"


def test_container_mount_dest_answers_like_libsinsp() -> None:
    from secengine.state.containers import ContainerInfo, Mount

    t = _tracker()
    f = fields(t, exec_rec(600, 1, ["sh"], cgroup=f"/docker/{CID}"))
    assert f["container.mount.dest[/proc*]"] == "<NA>"  # metadata not known yet
    info = t.containers._cache[CID] = ContainerInfo(
        id=CID[:12],
        full_id=CID,
        resolved=True,
        mounts=[Mount("/var/run/docker.sock", "/sock")],
    )
    g = fields(t, exec_rec(600, 1, ["sh"], cgroup=f"/docker/{CID}"))
    assert g["container.mount.dest[/var/run/docker.sock]"] == "/sock"
    assert g["container.mount.dest[/proc*]"] == "N/A"
    assert info.resolved
    h = fields(t, exec_rec(601, 1, ["sh"]))
    assert h["container.id"] == "host"


# -- flood records (a producer over its budget) ---------------------------------------------


def flood_rec(
    pid: int, nr: int, since: int, total: int, admitted: int, cls: int = L.CLASS_BULK
) -> bytes:
    return (
        hdr(L.EVT_FLOOD, nr, pid, pid, args=(since, total, admitted, cls, 0, 0))
        + blob("flood-open")
        + blob("/system.slice/flood.scope")
    )


def test_a_flood_record_names_its_producer() -> None:
    t = _tracker()
    fields(t, exec_rec(4242, 1, ["/tmp/flood-open", "8"]))
    f = fields(t, flood_rec(4242, 257, 1000, 5000, 120_000))
    assert f["evt.type"] == "flood"
    assert (f["flood.count"], f["flood.total"], f["flood.admitted"]) == (1000, 5000, 120_000)
    assert f["flood.evttype"] == "openat"
    assert f["flood.class"] == "bulk"
    assert f["flood.comm"] == "flood-open"
    assert f["flood.cgroup"] == "/system.slice/flood.scope"
    assert f["proc.pid"] == 4242 and f["proc.name"] == "flood-open"
    assert f["proc.cmdline"] == "flood-open 8"


def test_a_flood_record_changes_no_state_and_is_kept_for_the_source() -> None:
    t = _tracker()
    fields(t, exec_rec(4242, 1, ["/tmp/flood-open"]))
    before = len(t.procs)
    fields(t, flood_rec(4242, 105, 1, 1, 10, cls=L.CLASS_PRIORITY))
    assert len(t.procs) == before and t.procs.peek(4242) is not None
    floods = t.take_floods()
    assert [r.pid for r in floods] == [4242] and t.take_floods() == []


def test_priority_class_and_fields_missing_on_other_events() -> None:
    t = _tracker()
    f = fields(t, flood_rec(4242, 105, 1, 1, 10, cls=L.CLASS_PRIORITY))
    assert f["flood.class"] == "priority" and f["flood.evttype"] == "setuid"
    g = fields(t, exec_rec(4243, 1, ["/bin/true"]))
    for key in ("flood.count", "flood.evttype", "flood.class", "flood.comm"):
        assert g[key] is MISSING, key
    assert Rec(flood_rec(1, 2, 3, 4, 5), 0).name == "flood"


def _openat(t: StateTracker, pid: int, path: str, res: int, flags: int = os.O_RDONLY) -> dict:
    return fields(
        t,
        hdr(1, 257, pid, pid, res=res, args=(-100 & 0xFFFFFFFF, 0, flags, 0, 0, 0))
        + blob(path)
        + file_sec(mode=0o100755 if res >= 0 else 0),
    )


def test_a_reopen_through_proc_self_fd_is_named_by_the_fd_it_reopens() -> None:
    """``open("/proc/self/fd/3", O_WRONLY)`` reopens whatever fd 3 is: fd.name is that file
    (CVE-2019-5736's write of the runtime binary, CVE-2022-0811's core_pattern), and
    fd.nameraw keeps the path as given."""
    t = _tracker()
    fields(t, exec_rec(400, 1, ["x"], cwd="/", vpid=7))
    _openat(t, 400, "/proc/1234/exe", 3, os.O_PATH)
    for given in ("/proc/self/fd/3", "/proc/thread-self/fd/3", "/dev/fd/3", "/proc/7/fd/3"):
        f = _openat(t, 400, given, 4, os.O_WRONLY | os.O_TRUNC)
        assert f["fd.name"] == "/proc/1234/exe", given
        assert f["fd.nameraw"] == given
    refused = _openat(t, 400, "/proc/self/fd/3", -26, os.O_WRONLY)  # ETXTBSY
    assert refused["fd.name"] == "/proc/1234/exe" and refused["evt.res"] == "ETXTBSY"


def test_a_path_through_a_directory_fd_continues_from_that_directory() -> None:
    """CVE-2024-21626's ``/proc/self/fd/7/../../etc/shadow``: the rest of the path is taken
    from the directory fd 7 names, lexically, as for a dirfd."""
    t = _tracker()
    fields(t, exec_rec(401, 1, ["x"], cwd="/"))
    _openat(t, 401, "/sys/fs/cgroup", 7, os.O_RDONLY | os.O_DIRECTORY)
    f = _openat(t, 401, "/proc/self/fd/7/../../../etc/shadow", 8)
    assert f["fd.name"] == "/etc/shadow"


def test_a_path_through_an_unknown_fd_or_another_process_stays_as_given() -> None:
    t = _tracker()
    fields(t, exec_rec(402, 1, ["x"], cwd="/", vpid=402))
    for given in ("/proc/self/fd/9", "/proc/1/fd/3", "/proc/self/fdinfo/3", "/proc/self/fd/x"):
        assert _openat(t, 402, given, -2)["fd.name"] == given


def test_a_successful_exec_gives_the_filename_it_was_asked_for() -> None:
    """Falco's execve exit ``filename``: the path as given, where proc.exepath is the file."""
    t = _tracker()
    f = fields(
        t,
        exec_rec(
            403,
            1,
            ["sh"],
            filename="/proc/self/fd/7/../../../bin/sh",
            exepath="/bin/busybox",
        ),
    )
    assert f["evt.arg.filename"] == "/proc/self/fd/7/../../../bin/sh"
    assert f["proc.exepath"] == "/bin/busybox"


def _sockaddr_in(ip: bytes, port: int) -> bytes:
    return struct.pack("<H", 2) + struct.pack(">H", port) + ip + bytes(8)


def _socket(t: StateTracker, pid: int, fd: int, stype: int = 1) -> dict:
    return fields(t, hdr(1, 41, pid, pid, res=fd, args=(2, stype, 0, 0, 0, 0)))


def test_an_ip_socket_has_no_ends_and_no_protocol_until_it_has_a_role() -> None:
    """libsinsp (fdinfo.cpp ``get_l4proto``, sinsp_filtercheck_fd.cpp ``is_role_none``): a
    socket neither client nor server has no protocol, ports or addresses; its name is ""."""
    t = _tracker()
    fields(t, exec_rec(500, 1, ["srv"]))
    s = _socket(t, 500, 3)
    assert s["fd.type"] == "ipv4" and s["fd.name"] == ""
    for f in ("fd.l4proto", "fd.sport", "fd.cport", "fd.sip", "fd.cip", "fd.lport", "fd.rport"):
        assert s[f] is MISSING, f


def test_bind_names_the_socket_by_the_address_it_was_given() -> None:
    """libsinsp ``parse_bind_exit``: the fd is named by bind's address; a port makes it a
    server socket with that address and port (the protocol socket() asked for)."""
    t = _tracker()
    fields(t, exec_rec(510, 1, ["srv"]))
    _socket(t, 510, 3)
    kernel = file_sec(mode=0o140777, family=2, lport=8080, laddr=bytes([127, 0, 0, 1]))
    b = fields(
        t,
        hdr(1, 49, 510, 510, res=0, args=(3, 0, 16, 0, 0, 0))
        + blob(_sockaddr_in(bytes([127, 0, 0, 1]), 8080))
        + kernel,
    )
    assert b["fd.name"] == "127.0.0.1:8080"
    assert (b["fd.sip"], b["fd.sport"], b["fd.l4proto"], b["fd.is_server"]) == (
        "127.0.0.1",
        8080,
        "tcp",
        True,
    )
    listen = fields(t, hdr(1, 50, 510, 510, res=0, args=(3, 5, 0, 0, 0, 0)) + kernel)
    assert listen["fd.name"] == "127.0.0.1:8080" and listen["fd.sport"] == 8080


def test_bind_to_port_zero_names_the_socket_and_gives_it_no_role() -> None:
    """libsinsp ``parse_bind_exit``: port 0 renames the fd (``ip:0``) but does not make it a
    server: no ports, no protocol (the kernel's chosen port is not in the event)."""
    t = _tracker()
    fields(t, exec_rec(520, 1, ["cli"]))
    _socket(t, 520, 3, stype=2)
    kernel = file_sec(
        mode=0o140777, family=2, lport=40000, laddr=bytes([127, 0, 0, 1]), stype=2, proto=17
    )
    b = fields(
        t,
        hdr(1, 49, 520, 520, res=0, args=(3, 0, 16, 0, 0, 0))
        + blob(_sockaddr_in(bytes([127, 0, 0, 1]), 0))
        + kernel,
    )
    assert b["fd.name"] == "127.0.0.1:0"
    assert b["fd.sport"] is MISSING and b["fd.l4proto"] is MISSING
    assert b["fd.is_server"] is False


def test_a_failed_bind_changes_nothing() -> None:
    t = _tracker()
    fields(t, exec_rec(530, 1, ["srv"]))
    _socket(t, 530, 3)
    b = fields(
        t,
        hdr(1, 49, 530, 530, res=-98, args=(3, 0, 16, 0, 0, 0))
        + blob(_sockaddr_in(bytes([127, 0, 0, 1]), 8080))
        + file_sec(mode=0o140777, family=2),
    )
    assert b["fd.name"] == "" and b["fd.sport"] is MISSING


def test_an_fd_with_no_name_has_an_empty_name() -> None:
    """libsinsp's fd.name is the fd's ``m_name``: "" for a pipe, never missing."""
    t = _tracker()
    fields(t, exec_rec(540, 1, ["sh"]))
    raw = struct.pack("<ii", 5, 6)
    p = fields(t, hdr(1, 22, 540, 540, res=0, args=(0, 0, 0, 0, 0, 0)) + blob(raw))
    w = fields(t, hdr(1, 3, 540, 540, res=0, args=(6, 0, 0, 0, 0, 0)))
    assert w["fd.type"] == "pipe" and w["fd.name"] == ""
    # the pipe event's fd is the last it made, as libsinsp's (parse_pipe_exit adds fd1, fd2)
    assert (p["fd.type"], p["fd.num"], p["fd.name"]) == ("pipe", 6, "")


def _thread_clone(pid: int, tid: int, uid: int) -> bytes:
    flags = 0x10000 | 0x400 | 0x100  # CLONE_THREAD | CLONE_FILES | CLONE_VM
    return (
        hdr(L.EVT_CLONE, 56, tid, pid, args=(flags, 0, 0, 0, 0, 0))
        + proc(1, flags=flags, uid=uid)
        + blob("srv")
    )


def _setuid(pid: int, tid: int, uid: int) -> bytes:
    creds = L.CREDS.pack(uid, uid, uid, uid, uid, uid, 0xFFFFFFFF, 0, 0, 0, 0)
    return hdr(1, 105, tid, pid, res=0, args=(uid, 0, 0, 0, 0, 0)) + creds


def _uid_of(t: StateTracker, pid: int, tid: int) -> object:
    getpid = 39  # a record with no state change, to read the thread's fields
    return fields(t, hdr(1, getpid, tid, pid, res=pid))["user.uid"]


def test_the_user_is_the_threads_own() -> None:
    """libsinsp keeps the user per thread (threadinfo.h ``m_uid``): a thread's clone sets it
    (parsers.cpp ``parse_clone_exit_child``: ``child_tinfo->m_uid``), a setuid changes the
    calling thread's only (``set_evt_thread_user``), as the kernel's credentials are."""
    t = _tracker()
    fields(t, exec_rec(600, 1, ["srv"]))
    assert _uid_of(t, 600, 600) == 0
    fields(t, _thread_clone(600, 601, 1000))
    assert _uid_of(t, 600, 601) == 1000 and _uid_of(t, 600, 600) == 0
    fields(t, _setuid(600, 601, 65534))
    assert _uid_of(t, 600, 601) == 65534 and _uid_of(t, 600, 600) == 0
    fields(t, _setuid(600, 600, 33))
    assert _uid_of(t, 600, 600) == 33 and _uid_of(t, 600, 601) == 65534
    bye = fields(t, hdr(L.EVT_EXIT, 0, 601, 600, args=(0, 0, 0, 0, 0, 0)))  # the thread exits
    assert bye["user.uid"] == 65534  # its exit event is still its own
    t.flush_exited()
    assert _uid_of(t, 600, 601) == 33  # a new thread with that id is the process's again


def test_an_exec_leaves_one_thread_with_the_processs_user() -> None:
    t = _tracker()
    fields(t, exec_rec(610, 1, ["srv"]))
    fields(t, _thread_clone(610, 611, 1000))
    fields(t, exec_rec(610, 1, ["srv2"]))
    assert _uid_of(t, 610, 611) == 0


def _dir_fd(t: StateTracker, pid: int, path: str, fd: int) -> None:
    fields(
        t,
        hdr(1, 257, pid, pid, res=fd, args=(-100 & 0xFFFFFFFF, 0, os.O_DIRECTORY, 0, 0, 0))
        + blob(path)
        + file_sec(mode=0o040755),
    )


def _fchdir(t: StateTracker, pid: int, fd: int, cwd: str, res: int = 0, hflags: int = 0) -> dict:
    return fields(
        t, hdr(1, 81, pid, pid, res=res, args=(fd, 0, 0, 0, 0, 0), hflags=hflags) + blob(cwd)
    )


def test_fchdir_names_the_directory_of_its_fd_and_moves_the_working_directory() -> None:
    """CVE-2024-21626 without a path: ``fchdir(7)`` on a leaked descriptor. The event's fd is
    the directory fd 7 names (libsinsp's fd.name of a dirfd); proc.cwd is the kernel's path
    of the working directory after the call; the probe's flag says it is outside the root."""
    t = _tracker()
    fields(t, exec_rec(600, 1, ["sh"], cwd="/"))
    _dir_fd(t, 600, "/sys/fs/cgroup", 7)
    f = _fchdir(t, 600, 7, "/sys/fs/cgroup", hflags=L.F_CWD_OUTSIDE_ROOT)
    assert f["evt.type"] == "fchdir" and f["fd.num"] == 7
    assert f["fd.name"] == "/sys/fs/cgroup" and f["fd.typechar"] == "d"
    assert f["proc.cwd"] == "/sys/fs/cgroup/"
    assert f["proc.is_cwd_outside_root"] is True
    # the working directory stays outside until it changes, and a child inherits it
    child = fields(t, hdr(L.EVT_CLONE, 56, 601, 601) + proc(600) + blob("sh"))
    assert child["proc.is_cwd_outside_root"] is True
    # an openat relative to the leaked fd continues from its directory
    g = fields(
        t,
        hdr(1, 257, 600, 600, res=8, args=(7, 0, os.O_RDONLY, 0, 0, 0))
        + blob("../../../etc/shadow")
        + file_sec(),
    )
    assert g["fd.name"] == "/etc/shadow" and g["fd.nameraw"] == "../../../etc/shadow"
    # a refused fchdir changes nothing; one back inside the root clears the flag
    _dir_fd(t, 600, "/", 9)
    assert _fchdir(t, 600, 9, "/", res=-13)["proc.is_cwd_outside_root"] is True
    assert _fchdir(t, 600, 9, "/")["proc.is_cwd_outside_root"] is False


def test_chdir_and_exec_say_whether_the_cwd_and_the_executable_are_outside_the_root() -> None:
    t = _tracker()
    g = fields(t, exec_rec(610, 1, ["sh"], cwd="/"))
    assert g["proc.is_cwd_outside_root"] is False and g["proc.is_exe_outside_root"] is False
    c = fields(
        t,
        hdr(1, 80, 610, 610, hflags=L.F_CWD_OUTSIDE_ROOT) + blob("/proc/self/fd/3") + blob("/h"),
    )
    assert c["proc.cwd"] == "/h/" and c["proc.is_cwd_outside_root"] is True
    # a process started with the host's working directory, running the host's binary
    flags = L.F_CWD_OUTSIDE_ROOT | L.F_EXE_OUTSIDE_ROOT
    e = fields(t, exec_rec(611, 610, ["/proc/self/fd/3/../bin/sh"], cwd="/h", hflags=flags))
    assert e["proc.is_cwd_outside_root"] is True and e["proc.is_exe_outside_root"] is True
    e = fields(t, exec_rec(611, 610, ["/bin/true"], cwd="/"))
    assert e["proc.is_cwd_outside_root"] is False and e["proc.is_exe_outside_root"] is False


def test_a_file_opened_relative_to_a_directory_fd_outside_the_root_says_so() -> None:
    """``openat(7, "../../etc/shadow")`` on a leaked host directory: the name is the lexical
    one (``/etc/shadow``, as libsinsp), and the probe's flag says the file is outside the
    process's root, which the name alone cannot tell from the container's own file."""
    t = _tracker()
    fields(t, exec_rec(620, 1, ["sh"], cwd="/"))
    _dir_fd(t, 620, "/sys/fs/cgroup", 7)
    rec = hdr(
        1, 257, 620, 620, res=8, args=(7, 0, os.O_RDONLY, 0, 0, 0), hflags=L.F_FILE_OUTSIDE_ROOT
    )
    f = fields(t, rec + blob("../../../etc/shadow") + file_sec())
    assert f["fd.name"] == "/etc/shadow" and f["fd.is_outside_root"] is True
    # the fd keeps it: a later read names the same file
    dup = fields(t, hdr(1, 32, 620, 620, res=9, args=(8, 0, 0, 0, 0, 0)))
    assert dup["fd.is_outside_root"] is True
    inside = fields(
        t, hdr(1, 257, 620, 620, res=10, args=(7, 0, 0, 0, 0, 0)) + blob("x") + file_sec()
    )
    assert inside["fd.is_outside_root"] is False


def test_a_refused_open_relative_to_a_directory_fd_outside_the_root_says_so() -> None:
    """``openat(7, "../../../etc/shadow")`` refused (EACCES): the probe checks the directory
    it was relative to, the attempt keeps the flag on the event's fd."""
    t = _tracker()
    fields(t, exec_rec(630, 1, ["sh"], cwd="/"))
    _dir_fd(t, 630, "/sys/fs/cgroup", 7)
    hflags = L.F_FILE_OUTSIDE_ROOT
    rec = hdr(1, 257, 630, 630, res=-13, args=(7, 0, os.O_RDONLY, 0, 0, 0), hflags=hflags)
    f = fields(t, rec + blob("../../../etc/shadow") + file_sec(mode=0))
    assert f["fd.name"] == "/etc/shadow" and f["evt.res"] == "EACCES"
    assert f["fd.is_outside_root"] is True
    plain = hdr(1, 257, 630, 630, res=-2, args=(7, 0, os.O_RDONLY, 0, 0, 0))
    assert fields(t, plain + blob("none") + file_sec(mode=0))["fd.is_outside_root"] is False
