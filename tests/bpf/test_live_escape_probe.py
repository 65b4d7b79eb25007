"""What container-escape rules need the probe to see (issue 15 items 6 and 8), against the truth.

Each test makes real syscalls in a child (Python through ctypes, or a small C program) with
arguments it chose, and checks the fields of the events the probe sent: the environment and an
empty argv at exec; mount with its data and the new mount API; splice, tee, vmsplice; the
setxattr family; setsockopt with the levels Falco's event loses (also from a 32-bit call);
netlink sockets with their protocol and message types; keyctl; unshare/setns/clone3 and the
host-namespace fields; the exe's set-uid bit, owner and file capabilities; and failed calls
with their errno names. Anything that changes the machine (mounts, nf_tables, traffic control)
happens in namespaces the child makes for itself and that die with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c

from secengine.events import MISSING

pytestmark = pytest.mark.bpf

#: prelude of the Python children: libc with errno, and the namespace/syscall helpers
_PRELUDE = r"""
import ctypes, errno, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    r = libc.syscall(nr, *args)
    return r if r >= 0 else -ctypes.get_errno()
def check(r, what):
    if r < 0:
        raise OSError(-r, what)
    return r
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x20000, 0x10000000, 0x40000000, 0x20000000
def unshare(flags):
    check(sc(272, flags), "unshare")
def private_mounts():
    unshare(CLONE_NEWNS)
    check(libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None), "mount --make-rprivate /")
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A Python child with the prelude; fails the test unless it exits 0."""
    r = subprocess.run(
        [sys.executable, "-c", _PRELUDE + code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, f"the child failed with status {r.returncode}: {r.stderr}"
    return r


def _mine(token: str, types: tuple[str, ...]) -> Callable[[Any], bool]:
    """Events of the child whose command line carries ``token``, of these types."""
    return lambda f: f["evt.type"] in types and token in (f["proc.cmdline"] or "")


def _by_type(snaps: list[Any], evtype: str) -> list[Any]:
    return [s for s in snaps if s["evt.type"] == evtype]


# -- exec: the environment and an empty argv (CVE-2021-4034's shape) -------------------------

_EMPTY_ARGV = r"""
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    static char big[6000];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "BIG=", 4);
    char *envp[] = {"GCONV_PATH=.", "CHARSET=SECENGINE", big, NULL};
    char *args[] = {NULL};
    execve(argv[1], args, envp);
    return 127;
}
"""


def test_an_exec_with_an_empty_argv_and_its_environment(source, live) -> None:
    launcher = build_c("empty_argv", _EMPTY_ARGV)
    d = Path(tempfile.mkdtemp(prefix="secengine-argc0-"))
    target = d / "se-pkexec"
    shutil.copy("/bin/true", target)
    try:
        snaps, _ = live.collect(
            source,
            lambda: subprocess.run([launcher, str(target)], check=True, timeout=30),
            [
                "proc.exepath",
                "proc.exe",
                "proc.args",
                "proc.cmdline",
                "proc.name",
                "proc.env",
                "proc.env[GCONV_PATH]",
                "proc.env[CHARSET]",
                "proc.env[NOT_SET]",
            ],
            where=lambda f: f["evt.type"] == "execve" and f["proc.exepath"] == str(target),
        )
    finally:
        shutil.rmtree(d)
    assert snaps, "the exec with an empty argv was not seen"
    s = snaps[0]
    # Linux >= 5.18 runs an empty argv as {""}: argv[0] is empty, there are no arguments
    assert s["proc.exe"] == "" and s["proc.args"] == ""
    assert s["proc.name"] == "se-pkexec" and s["proc.cmdline"] == "se-pkexec"
    assert s["proc.env[GCONV_PATH]"] == "." and s["proc.env[CHARSET]"] == "SECENGINE"
    assert s["proc.env[NOT_SET]"] == ""
    # the environment is cut at 4094 bytes (the driver's cap is 4096): the BIG variable is cut
    assert s["proc.env"].startswith("GCONV_PATH=. CHARSET=SECENGINE BIG=xxxx")
    assert len(s["proc.env"]) == 4094


# -- the executable: set-uid bit, owner, file capabilities ------------------------------------

#: struct vfs_cap_data revision 2, effective, permitted = CAP_NET_RAW (13) | CAP_SETUID (7)
_FCAPS = (
    (0x02000001).to_bytes(4, "little") + ((1 << 13) | (1 << 7)).to_bytes(4, "little") + bytes(12)
)

_SET_CAPS = r"""
os.setxattr(sys.argv[1], "security.capability", bytes.fromhex(sys.argv[2]))
"""


def test_the_exe_set_uid_bit_owner_and_file_capabilities(source, live) -> None:
    d = Path(tempfile.mkdtemp(prefix="secengine-exe-"))
    os.chmod(d, 0o755)
    suid, fcaps = d / "se-suid-sleep", d / "se-fcap-sleep"
    for p in (suid, fcaps):
        shutil.copy("/bin/sleep", p)
    os.chown(suid, 1234, 5678)
    os.chmod(suid, 0o6755)  # chown cleared nothing yet: set-uid and set-gid after it

    def action() -> None:
        _run(_SET_CAPS, str(fcaps), _FCAPS.hex())
        for p in (suid, fcaps):
            subprocess.run([str(p), "0.3"], check=True, timeout=30)

    keys = [
        "proc.exepath",
        "proc.is_exe_setuid",
        "proc.is_exe_setgid",
        "proc.exe_uid",
        "proc.exe_gid",
        "proc.exe_fcaps",
        "evt.arg.name",
        "evt.arg.path",
    ]
    try:
        snaps, _ = live.collect(
            source,
            action,
            keys,
            where=lambda f: (
                (f["evt.type"] == "execve" and f["proc.exepath"] in (str(suid), str(fcaps)))
                or f["evt.type"] == "setxattr"
            ),
        )
        st_suid, st_fcaps = os.stat(suid), os.stat(fcaps)
    finally:
        shutil.rmtree(d)
    sets = [s for s in _by_type(snaps, "setxattr") if s["evt.arg.path"] == str(fcaps)]
    assert sets and sets[0]["evt.arg.name"] == "security.capability", snaps
    by_exe = {s["proc.exepath"]: s for s in _by_type(snaps, "execve")}
    a, b = by_exe[str(suid)], by_exe[str(fcaps)]
    assert (a["proc.is_exe_setuid"], a["proc.is_exe_setgid"]) == (True, True)
    assert (a["proc.exe_uid"], a["proc.exe_gid"]) == (st_suid.st_uid, st_suid.st_gid)
    assert a["proc.exe_fcaps"] == ""
    assert (b["proc.is_exe_setuid"], b["proc.is_exe_setgid"]) == (False, False)
    assert (b["proc.exe_uid"], b["proc.exe_gid"]) == (st_fcaps.st_uid, 0)
    assert set(b["proc.exe_fcaps"].split()) == {"CAP_NET_RAW", "CAP_SETUID"}


# -- namespaces: unshare, setns, a forked child, clone3 ---------------------------------------

_NAMESPACES = r"""
import json
marker, token = sys.argv[1], sys.argv[2]
KINDS = ("user", "mnt", "net", "pid")
host = {k: os.stat(f"/proc/2/ns/{k}").st_ino for k in KINDS}  # kthreadd: the initial ones
def ns():
    return {k: os.stat(f"/proc/self/ns/{k}").st_ino == host[k] for k in KINDS}
truth = []
def step():
    truth.append(ns())
    open(marker).close()
step()                                   # the host's namespaces
unshare(CLONE_NEWNET)                    # a new network namespace, no exec
step()
fd = os.open("/proc/2/ns/net", os.O_RDONLY)
check(sc(308, fd, CLONE_NEWNET), "setns")  # back into the host's
os.close(fd)
step()
unshare(CLONE_NEWPID | CLONE_NEWNS)      # new mounts now, a new pid namespace for children
step()
pid = os.fork()
if pid == 0:
    open(marker).close()                 # pid 1 of the new pid namespace
    os._exit(0)
os.waitpid(pid, 0)
unshare(CLONE_NEWUSER)                   # last: a user namespace of its own
step()
print(json.dumps(truth))
"""


def test_host_namespaces_follow_unshare_setns_and_fork(source, live) -> None:
    import json

    fd, marker = tempfile.mkstemp(prefix="secengine-ns-")
    os.close(fd)
    os.chmod(marker, 0o644)  # readable by the overflow uid of the last step's user namespace
    token = uuid.uuid4().hex
    out: dict[str, Any] = {}
    keys = [
        "proc.cmdline",
        "proc.pid",
        "proc.vpid",
        "fd.name",
        "evt.arg.flags",
        "evt.arg.nstype",
        "proc.is_host_userns",
        "proc.is_host_mntns",
        "proc.is_host_netns",
        "proc.is_host_pidns",
    ]
    try:
        snaps, _ = live.collect(
            source,
            lambda: out.update(r=_run(_NAMESPACES, marker, token)),
            keys,
            where=lambda f: (
                token in (f["proc.cmdline"] or "")
                and (
                    f["evt.type"] in ("unshare", "setns")
                    or (f["evt.type"] in ("open", "openat") and f["fd.name"] == marker)
                )
            ),
        )
    finally:
        os.unlink(marker)
    truth = json.loads(out["r"].stdout)
    opens = [s for s in snaps if s["evt.type"] in ("open", "openat")]
    parent = [s for s in opens if s["proc.vpid"] != 1]
    child = [s for s in opens if s["proc.vpid"] == 1]
    assert len(parent) == len(truth), (snaps, truth)
    for s, t in zip(parent, truth, strict=True):
        assert s["proc.is_host_userns"] == t["user"], (s, t)
        assert s["proc.is_host_mntns"] == t["mnt"], (s, t)
        assert s["proc.is_host_netns"] == t["net"], (s, t)
        assert s["proc.is_host_pidns"] == t["pid"], (s, t)
    # the forked child: in the new pid and mount namespaces, the host's user and net ones
    assert child, snaps
    c = child[0]
    assert (c["proc.is_host_pidns"], c["proc.is_host_mntns"]) == (False, False)
    assert (c["proc.is_host_userns"], c["proc.is_host_netns"]) == (True, True)
    unshares = [s["evt.arg.flags"] for s in _by_type(snaps, "unshare")]
    assert unshares == ["CLONE_NEWNET", "CLONE_NEWNS|CLONE_NEWPID", "CLONE_NEWUSER"], unshares
    assert [s["evt.arg.nstype"] for s in _by_type(snaps, "setns")] == ["CLONE_NEWNET"]


_CLONE3 = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUTS | CLONE_NEWNET;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        return 2;
    if (pid == 0) {
        close(open(argv[1], O_RDONLY));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 3;
}
"""


def test_clone3_flags_and_the_childs_namespaces(source, live) -> None:
    program = build_c("clone3_ns", _CLONE3)
    fd, marker = tempfile.mkstemp(prefix="secengine-clone3-")
    os.close(fd)
    try:
        snaps, _ = live.collect(
            source,
            lambda: subprocess.run([program, marker], check=True, timeout=30),
            [
                "proc.exepath",
                "fd.name",
                "evt.arg.flags",
                "proc.is_host_netns",
                "proc.is_host_userns",
            ],
            where=lambda f: (
                f["proc.exepath"] == program
                and (f["evt.type"] == "clone3" or f["fd.name"] == marker)
            ),
        )
    finally:
        os.unlink(marker)
    clones = _by_type(snaps, "clone3")
    assert clones, snaps
    flags = set(clones[0]["evt.arg.flags"].split("|"))
    assert {"CLONE_NEWUTS", "CLONE_NEWNET"} <= flags, flags
    opens = [s for s in snaps if s["fd.name"] == marker]
    assert opens and opens[0]["proc.is_host_netns"] is False
    assert opens[0]["proc.is_host_userns"] is True


# -- mounts: mount(2) with its data, the new mount API, EROFS and EPERM -----------------------

_MOUNTS = r"""
ro, new = sys.argv[1].encode(), sys.argv[2].encode()
private_mounts()
check(libc.mount(b"se-tmpfs", ro, b"tmpfs", 1, b"size=1m,mode=0700"), "mount")  # MS_RDONLY
try:
    os.open(ro + b"/file", os.O_CREAT | os.O_WRONLY)
    raise SystemExit("a file was created on a read-only mount")
except OSError as e:
    assert e.errno == errno.EROFS, e
fs = check(sc(430, b"tmpfs", 0), "fsopen")
check(sc(431, fs, 1, b"size", b"2m", 0), "fsconfig set")       # FSCONFIG_SET_STRING
check(sc(431, fs, 6, None, None, 0), "fsconfig create")       # FSCONFIG_CMD_CREATE
mnt = check(sc(432, fs, 0, 0), "fsmount")
check(sc(429, mnt, b"", -100, new, 4), "move_mount")           # MOVE_MOUNT_F_EMPTY_PATH
tree = check(sc(428, -100, new, 1), "open_tree")               # OPEN_TREE_CLONE
os.setresuid(65534, 65534, 65534)
r = libc.mount(b"none", new, b"tmpfs", 0, b"size=1m")
assert r < 0 and ctypes.get_errno() == errno.EPERM
"""


def test_mount_with_data_the_new_mount_api_and_failed_attempts(source, live) -> None:
    ro, new = tempfile.mkdtemp(prefix="se-ro-"), tempfile.mkdtemp(prefix="se-new-")
    token = uuid.uuid4().hex
    types = ("mount", "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "open", "openat")
    keys = [
        "proc.cmdline",
        "evt.res",
        "evt.failed",
        "fd.name",
        "evt.arg.dev",
        "evt.arg.dir",
        "evt.arg.type",
        "evt.arg.data",
        "evt.arg.flags",
        "evt.arg.fsname",
        "evt.arg.cmd",
        "evt.arg.key",
        "evt.arg.value_charbuf",
        "evt.arg.from_path",
        "evt.arg.to_path",
        "evt.arg.path",
        "evt.rawres",
    ]
    try:
        snaps, _ = live.collect(
            source, lambda: _run(_MOUNTS, ro, new, token), keys, where=_mine(token, types)
        )
    finally:
        os.rmdir(ro)
        os.rmdir(new)
    mounts = [s for s in _by_type(snaps, "mount") if s["evt.arg.type"] == "tmpfs"]
    assert len(mounts) == 2, snaps
    ok, denied = mounts
    assert (ok["evt.arg.dev"], ok["evt.arg.dir"], ok["evt.arg.data"]) == (
        "se-tmpfs",
        ro,
        "size=1m,mode=0700",
    )
    assert ok["evt.arg.flags"] == "RDONLY" and ok["evt.res"] == "SUCCESS"
    assert denied["evt.res"] == "EPERM" and denied["evt.failed"] is True
    erofs = [s for s in snaps if s["fd.name"] == f"{ro}/file"]
    assert erofs and erofs[0]["evt.res"] == "EROFS", snaps
    (fsopen,) = _by_type(snaps, "fsopen")
    assert fsopen["evt.arg.fsname"] == "tmpfs" and fsopen["evt.rawres"] >= 0
    cmds = [(s["evt.arg.cmd"], s["evt.arg.key"]) for s in _by_type(snaps, "fsconfig")]
    assert cmds == [("FSCONFIG_SET_STRING", "size"), ("FSCONFIG_CMD_CREATE", "")], cmds
    assert _by_type(snaps, "fsconfig")[0]["evt.arg.value_charbuf"] == "2m"
    assert _by_type(snaps, "fsmount")[0]["evt.rawres"] >= 0
    (move,) = _by_type(snaps, "move_mount")
    assert (move["evt.arg.from_path"], move["evt.arg.to_path"]) == ("", new)
    (tree,) = _by_type(snaps, "open_tree")
    assert tree["evt.arg.path"] == new and tree["evt.rawres"] >= 0


# -- pipes fed from files: splice, tee, vmsplice ----------------------------------------------

_SPLICE = r"""
import json
f = os.open(sys.argv[1], os.O_RDONLY)
r, w = os.pipe()
n = os.splice(f, w, 5)
r2, w2 = os.pipe()
t = check(sc(276, r, w2, 3, 0), "tee")
buf = ctypes.create_string_buffer(b"abcd")
iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 4)
v = check(sc(278, w2, iov, 1, 0), "vmsplice")
print(json.dumps({"file": f, "r": r, "w": w, "w2": w2, "splice": n, "tee": t, "vmsplice": v}))
"""


def test_splice_tee_and_vmsplice(source, live) -> None:
    import json

    fd, path = tempfile.mkstemp(prefix="secengine-splice-")
    os.write(fd, b"0123456789")
    os.close(fd)
    token = uuid.uuid4().hex
    out: dict[str, Any] = {}
    keys = [
        "proc.cmdline",
        "fd.name",
        "fd.num",
        "evt.rawres",
        "evt.arg.fd_in",
        "evt.arg.fd_out",
        "evt.rawarg.size",
        "evt.arg.fd",
        "evt.rawarg.nr_segs",
    ]
    try:
        snaps, _ = live.collect(
            source,
            lambda: out.update(r=_run(_SPLICE, path, token)),
            keys,
            where=_mine(token, ("splice", "tee", "vmsplice")),
        )
    finally:
        os.unlink(path)
    t = json.loads(out["r"].stdout)
    (sp,) = _by_type(snaps, "splice")
    assert sp["fd.name"] == path and sp["fd.num"] == t["file"]
    assert sp["evt.arg.fd_in"].startswith(f"{t['file']}(<f>{path}")
    assert sp["evt.arg.fd_out"].startswith(str(t["w"]))
    assert (sp["evt.rawarg.size"], sp["evt.rawres"]) == (5, t["splice"])
    (tee,) = _by_type(snaps, "tee")
    assert tee["evt.arg.fd_in"].startswith(str(t["r"])) and tee["evt.rawres"] == t["tee"] == 3
    (vm,) = _by_type(snaps, "vmsplice")
    assert vm["fd.num"] == t["w2"] and vm["evt.rawarg.nr_segs"] == 1
    assert vm["evt.rawres"] == t["vmsplice"] == 4


# -- extended attributes ----------------------------------------------------------------------

_XATTRS = r"""
path, link = sys.argv[1], sys.argv[2]
os.setxattr(path, "user.secengine", b"v1")
fd = os.open(path, os.O_RDONLY)
os.setxattr(fd, "user.by-fd", b"v2")
try:
    os.setxattr(link, "user.on-link", b"v3", follow_symlinks=False)
    raise SystemExit("a user xattr was set on a symlink")
except OSError as e:
    assert e.errno == errno.EPERM, e
"""


def test_the_setxattr_family_with_names_and_failures(source, live) -> None:
    d = Path(tempfile.mkdtemp(prefix="secengine-xattr-"))
    path, link = d / "file", d / "link"
    path.write_text("x")
    link.symlink_to(path)
    token = uuid.uuid4().hex
    keys = [
        "proc.cmdline",
        "evt.res",
        "evt.arg.path",
        "evt.arg.name",
        "evt.rawarg.value",
        "evt.rawarg.size",
        "fd.name",
    ]
    try:
        snaps, _ = live.collect(
            source,
            lambda: _run(_XATTRS, str(path), str(link), token),
            keys,
            where=_mine(token, ("setxattr", "lsetxattr", "fsetxattr")),
        )
    finally:
        shutil.rmtree(d)
    (s,) = _by_type(snaps, "setxattr")
    assert (s["evt.arg.path"], s["evt.arg.name"], s["evt.res"]) == (
        str(path),
        "user.secengine",
        "SUCCESS",
    )
    assert s["evt.rawarg.value"] == b"v1" and s["evt.rawarg.size"] == 2
    (f,) = _by_type(snaps, "fsetxattr")
    assert (f["fd.name"], f["evt.arg.name"], f["evt.rawarg.value"]) == (
        str(path),
        "user.by-fd",
        b"v2",
    )
    (ln,) = _by_type(snaps, "lsetxattr")
    assert (ln["evt.arg.path"], ln["evt.arg.name"], ln["evt.res"]) == (
        str(link),
        "user.on-link",
        "EPERM",
    )


# -- setsockopt: SOL_SOCKET as Falco has it, and the raw level/option (iptables) -------------

_SOCKOPTS = r"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
unshare(CLONE_NEWNET)                         # iptables of a namespace of its own
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
try:
    raw.setsockopt(socket.SOL_IP, 64, b"filter".ljust(96, b"\0"))   # IPT_SO_SET_REPLACE
    err = 0
except OSError as e:
    err = e.errno
print(err)
"""


def test_setsockopt_levels_and_options(source, live) -> None:
    token = uuid.uuid4().hex
    out: dict[str, Any] = {}
    keys = [
        "proc.cmdline",
        "evt.res",
        "evt.rawres",
        "evt.arg.level",
        "evt.arg.optname",
        "evt.arg.level_num",
        "evt.arg.optname_num",
        "evt.rawarg.optlen",
        "fd.l4proto",
        "evt.is_compat",
    ]
    snaps, _ = live.collect(
        source,
        lambda: out.update(r=_run(_SOCKOPTS, token)),
        keys,
        where=_mine(token, ("setsockopt",)),
    )
    err = int(out["r"].stdout)
    assert len(snaps) == 2, snaps
    udp, ipt = snaps
    assert (udp["evt.arg.level"], udp["evt.arg.optname"]) == ("SOL_SOCKET", "SO_REUSEADDR")
    assert (udp["evt.arg.level_num"], udp["evt.arg.optname_num"]) == ("1", "2")
    # a socket neither connected nor bound to a port has no protocol yet, a raw one has "raw"
    # (libsinsp fdinfo.cpp get_l4proto: is_role_none, SCAP_L4_RAW)
    assert udp["fd.l4proto"] is MISSING and udp["evt.res"] == "SUCCESS"
    assert ipt["fd.l4proto"] == "raw"
    # Falco's event says UNKNOWN for both; the raw numbers say what it was
    assert (ipt["evt.arg.level"], ipt["evt.arg.optname"]) == ("UNKNOWN", "UNKNOWN")
    assert (ipt["evt.arg.level_num"], ipt["evt.arg.optname_num"]) == ("0", "64")
    assert ipt["evt.rawarg.optlen"] == 96 and ipt["evt.rawres"] == -err
    assert (udp["evt.is_compat"], ipt["evt.is_compat"]) == (False, False)


_COMPAT_SOCKOPT = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
static char buf[96] = "filter";
static long sys32(long nr, long a, long b, long c, long d, long e)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory");
    return ret;
}
int main(void)
{
    if (unshare(CLONE_NEWNET))
        return 2;
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (s < 0)
        return 3;
    /* ia32 setsockopt (366): IPT_SO_SET_REPLACE through the compat path */
    long r = sys32(366, s, 0 /* SOL_IP */, 64, (long)buf, sizeof buf);
    return r < 0 ? 0 : 4;
}
"""


def test_a_32bit_iptables_setsockopt(source, live) -> None:
    program = build_c("compat_sockopt", _COMPAT_SOCKOPT, flags=("-static", "-no-pie"))
    snaps, _ = live.collect(
        source,
        lambda: subprocess.run([program], check=True, timeout=30),
        ["proc.exepath", "evt.is_compat", "evt.arg.level_num", "evt.arg.optname_num", "evt.failed"],
        where=lambda f: f["evt.type"] == "setsockopt" and f["proc.exepath"] == program,
    )
    assert snaps, "the 32-bit setsockopt was not seen"
    s = snaps[0]
    assert s["evt.is_compat"] is True
    assert (s["evt.arg.level_num"], s["evt.arg.optname_num"], s["evt.failed"]) == ("0", "64", True)


# -- netlink: protocol and message types ------------------------------------------------------

_NETLINK = r"""
def nlmsg(mtype, flags, payload):
    return struct.pack("<IHHII", 16 + len(payload), mtype, flags, 1, 0) + payload
def nfgen(family, res_id=0):
    return struct.pack("<BBH", family, 0, socket.htons(res_id))
def attr(atype, data):
    n = 4 + len(data)
    return struct.pack("<HH", n, atype) + data + b"\0" * ((-n) % 4)
unshare(CLONE_NEWNET)                     # tables and filters of a namespace of its own
nf = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)        # NETLINK_NETFILTER
batch = (nlmsg(16, 1, nfgen(0, 10))                               # NFNL_MSG_BATCH_BEGIN
         + nlmsg((10 << 8) | 0, 1 | 0x400 | 4, nfgen(2) + attr(1, b"se\0"))  # NFT_MSG_NEWTABLE
         + nlmsg(17, 1, nfgen(0, 10)))                            # NFNL_MSG_BATCH_END
nf.sendto(batch, (0, 0))
rt = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)         # NETLINK_ROUTE
tcmsg = struct.pack("<BBHiIII", 0, 0, 0, 1, 0, 0, 0)
# one buffer (the probe reads the first iovec): RTM_NEWTFILTER then RTM_DELTFILTER
rt.sendmsg([nlmsg(44, 1 | 0x400, tcmsg) + nlmsg(45, 1, tcmsg)], [], 0, (0, 0))
"""


def test_netlink_sockets_with_protocol_and_message_types(source, live) -> None:
    token = uuid.uuid4().hex
    snaps, _ = live.collect(
        source,
        lambda: _run(_NETLINK, token),
        ["proc.cmdline", "evt.netlink.proto", "evt.netlink.msgtypes", "fd.l4proto", "fd.typechar"],
        where=lambda f: (
            f["evt.type"] in ("socket", "sendto", "sendmsg")
            and token in (f["proc.cmdline"] or "")
            and f["evt.netlink.proto"] is not MISSING
        ),
    )
    assert [(s["evt.type"], s["evt.netlink.proto"]) for s in snaps] == [
        ("socket", "NETLINK_NETFILTER"),
        ("sendto", "NETLINK_NETFILTER"),
        ("socket", "NETLINK_ROUTE"),
        ("sendmsg", "NETLINK_ROUTE"),
    ], snaps
    assert _by_type(snaps, "sendto")[0]["evt.netlink.msgtypes"] == [
        "NFNL_MSG_BATCH_BEGIN",
        "NFT_MSG_NEWTABLE",
        "NFNL_MSG_BATCH_END",
    ]
    assert _by_type(snaps, "sendmsg")[0]["evt.netlink.msgtypes"] == [
        "RTM_NEWTFILTER",
        "RTM_DELTFILTER",
    ]
    # no IP protocol (it was "raw" for NETLINK_NETFILTER, 12, and "tcp" for NETLINK_XFRM, 6)
    assert {s["fd.l4proto"] for s in snaps if s["evt.type"] != "socket"} == {MISSING}


# -- keyctl and errno names -------------------------------------------------------------------

_KEYCTL = r"""
check(sc(250, 0, -3, 0), "keyctl get session keyring")     # KEYCTL_GET_KEYRING_ID
r = sc(250, 11, 0x7ffffff0, 0, 0)                          # KEYCTL_READ of a key that is not
assert r == -errno.ENOKEY, r
"""


def test_keyctl_operations_and_enokey(source, live) -> None:
    token = uuid.uuid4().hex
    snaps, _ = live.collect(
        source,
        lambda: _run(_KEYCTL, token),
        ["proc.cmdline", "evt.arg.operation", "evt.rawarg.arg2", "evt.res"],
        where=_mine(token, ("keyctl",)),
    )
    ops = [(s["evt.arg.operation"], s["evt.res"]) for s in snaps]
    assert ops[-2:] == [("KEYCTL_GET_KEYRING_ID", "SUCCESS"), ("KEYCTL_READ", "ENOKEY")], ops
    assert snaps[-1]["evt.rawarg.arg2"] == 0x7FFFFFF0


_TXTBSY = r"""
import subprocess
busy = sys.argv[1]
p = subprocess.Popen([busy, "5"])
try:
    for _ in range(100):                       # until the exec replaced python with sleep
        if os.readlink(f"/proc/{p.pid}/exe") == busy:
            break
        import time; time.sleep(0.02)
    os.open(busy, os.O_WRONLY)
    raise SystemExit("a running executable was opened for writing")
except OSError as e:
    assert e.errno == errno.ETXTBSY, e
finally:
    p.kill()
    p.wait()
"""

_EOVERFLOW = r"""
#include <fcntl.h>
static char path[256];
static long sys32(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
int main(int argc, char **argv)
{
    for (int i = 0; argv[1][i] && i < 255; i++)
        path[i] = argv[1][i];
    /* ia32 open without O_LARGEFILE of a file over 2 GiB */
    return sys32(5, (long)path, O_RDONLY, 0) == -75 ? 0 : 1;
}
"""


def test_failed_calls_have_their_errno_names(source, live) -> None:
    """ETXTBSY (writing a running program), EOVERFLOW (a 32-bit open of a big file); EROFS,
    EPERM and ENOKEY are checked with the mounts, the xattrs and keyctl."""
    d = Path(tempfile.mkdtemp(prefix="secengine-errno-"))
    busy, big = d / "se-busy", d / "big"
    shutil.copy("/bin/sleep", busy)
    with open(big, "wb") as f:
        f.truncate(3 << 30)  # sparse
    opener = build_c("compat_eoverflow", _EOVERFLOW, flags=("-static", "-no-pie"))
    token = uuid.uuid4().hex

    def action() -> None:
        _run(_TXTBSY, str(busy), token)
        subprocess.run([opener, str(big)], check=True, timeout=30)

    try:
        snaps, _ = live.collect(
            source,
            action,
            ["fd.name", "evt.res", "evt.is_compat", "evt.failed"],
            where=lambda f: (
                f["evt.type"] in ("open", "openat") and f["fd.name"] in (str(busy), str(big))
            ),
        )
    finally:
        shutil.rmtree(d)
    failed = {(s["fd.name"], s["evt.res"], s["evt.is_compat"]) for s in snaps if s["evt.failed"]}
    assert (str(busy), "ETXTBSY", False) in failed, snaps
    assert (str(big), "EOVERFLOW", True) in failed, snaps
