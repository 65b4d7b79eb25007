"""Real syscalls, real probe: the fields the rules read, extracted from what children do."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading

import pytest
from upstream_rules import UPSTREAM, needs_upstream

pytestmark = pytest.mark.bpf


def _by_pid(pid_holder: dict[str, int]):
    return lambda f: f["proc.pid"] == pid_holder.get("pid")


def _spawn(code: str, **kw):
    """Start a Python child running ``code``; returns (holder with its pid, action).

    The action fails unless the child exits 0: a child that failed did not do what the
    test looks for, and the test must not pass on what is left (its exit status is also in
    ``holder["rc"]`` for an action run on a thread of its own)."""
    import subprocess

    holder: dict[str, int] = {}

    def action() -> None:
        p = subprocess.Popen([sys.executable, "-c", code], **kw)
        holder["pid"] = p.pid
        p.wait(timeout=60)
        holder["rc"] = p.returncode
        assert p.returncode == 0, f"the child failed with status {p.returncode}"

    return holder, action


def test_execve_with_arguments_cwd_and_parent(source, live) -> None:
    import subprocess

    holder: dict[str, int] = {}

    def action() -> None:
        p = subprocess.Popen(
            ["/bin/echo", "hello", "secengine world"], cwd="/tmp", stdout=subprocess.DEVNULL
        )
        holder["pid"] = p.pid
        assert p.wait() == 0

    snaps, _ = live.collect(
        source,
        action,
        [
            "proc.name",
            "proc.exe",
            "proc.args",
            "proc.cmdline",
            "proc.cwd",
            "proc.exepath",
            "proc.pname",
            "proc.pid",
            "proc.ppid",
            "evt.res",
            "user.uid",
            "user.name",
            "proc.aname[1]",
            "proc.tty",
            "container.id",
            "thread.cap_effective",
        ],
        where=lambda f: f["evt.type"] == "execve" and f["proc.name"] == "echo",
    )
    assert snaps, "no execve event for echo"
    s = snaps[0]
    assert s["proc.pid"] == holder["pid"]
    assert s["proc.exe"] == "/bin/echo"
    assert s["proc.args"] == "hello secengine world"
    assert s["proc.cmdline"] == "echo hello secengine world"
    assert s["proc.cwd"] == "/tmp/"  # libsinsp's form: Falco's rules compare "/dev/shm/"
    assert s["proc.exepath"] == "/usr/bin/echo"
    assert s["proc.ppid"] == os.getpid()
    assert s["proc.pname"] == s["proc.aname[1]"]
    assert s["evt.res"] == "SUCCESS"
    assert s["user.uid"] == 0 and s["user.name"] == "root"
    assert s["proc.tty"] == 0
    assert s["container.id"] == "host"
    assert "CAP_SYS_ADMIN" in s["thread.cap_effective"]


def test_execve_under_a_terminal_has_its_tty(source, live) -> None:
    import pty

    holder: dict[str, int] = {}

    def action() -> None:
        pid, master = pty.fork()
        if pid == 0:  # child: its controlling terminal is the pty
            os.execv("/bin/true", ["true", "tty-test"])
        holder["pid"] = pid
        os.waitpid(pid, 0)
        os.close(master)

    snaps, _ = live.collect(
        source,
        action,
        ["proc.tty", "proc.args", "proc.pid"],
        where=lambda f: f["evt.type"] == "execve" and f["proc.name"] == "true",
    )
    assert snaps
    s = snaps[0]
    assert s["proc.args"] == "tty-test"
    assert s["proc.tty"] != 0
    # /dev/pts/N: major 136..143; the driver's encoding keeps major << 8 for small minors
    assert 136 <= (s["proc.tty"] >> 8) & 0xFFF <= 143


def test_openat_relative_to_a_dirfd(source, live) -> None:
    code = (
        "import os\n"
        "d = os.open('/etc', os.O_RDONLY | os.O_DIRECTORY)\n"
        "fd = os.open('hostname', os.O_RDONLY, dir_fd=d)\n"
        "os.close(fd)\n"
    )
    holder, action = _spawn(code)
    snaps, _ = live.collect(
        source,
        action,
        [
            "fd.name",
            "fd.nameraw",
            "fd.typechar",
            "fd.directory",
            "fd.filename",
            "fd.num",
            "evt.arg.flags",
            "evt.is_open_read",
            "evt.is_open_write",
            "evt.arg.dirfd",
            "proc.pid",
        ],
        where=lambda f: f["evt.type"] == "openat" and f["evt.rawarg.name"] == "hostname",
    )
    assert snaps
    s = snaps[-1]
    assert s["proc.pid"] == holder["pid"]
    assert s["fd.name"] == "/etc/hostname"
    assert s["fd.nameraw"] == "hostname"
    assert s["fd.typechar"] == "f"
    assert s["fd.directory"] == "/etc" and s["fd.filename"] == "hostname"
    assert s["fd.num"] >= 3
    assert "O_RDONLY" in s["evt.arg.flags"]
    assert s["evt.is_open_read"] is True and s["evt.is_open_write"] is False
    assert s["evt.arg.dirfd"].endswith("(<d>/etc)")


def test_connect_to_localhost(source, live) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    code = (
        f"import socket\ns = socket.create_connection(('127.0.0.1', {port}))\n"
        "print(s.getsockname()[1])\ns.close()\n"
    )
    holder, action = _spawn(code, stdout=-1)

    def accept_one() -> None:
        conn, _ = server.accept()
        conn.close()

    t = threading.Thread(target=accept_one)
    t.start()
    snaps, _ = live.collect(
        source,
        action,
        [
            "fd.name",
            "fd.typechar",
            "fd.type",
            "fd.sip",
            "fd.sport",
            "fd.cip",
            "fd.l4proto",
            "fd.connected",
            "evt.res",
            "evt.arg.tuple",
            "proc.pid",
            "fd.rport",
            "fd.lport",
            "fd.ip",
            "fd.sockfamily",
        ],
        where=lambda f: f["evt.type"] == "connect",
    )
    t.join()
    server.close()
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"] and s["fd.sport"] == port]
    assert mine, snaps
    s = mine[0]
    assert s["evt.res"] == "SUCCESS"
    assert s["fd.typechar"] == "4" and s["fd.type"] == "ipv4" and s["fd.sockfamily"] == "ip"
    assert s["fd.sip"] == "127.0.0.1" and s["fd.cip"] == "127.0.0.1"
    assert s["fd.l4proto"] == "tcp"
    assert s["fd.connected"] is True
    assert s["fd.rport"] == port
    assert s["fd.name"] == f"127.0.0.1:{s['fd.lport']}->127.0.0.1:{port}"
    assert s["evt.arg.tuple"] == s["fd.name"]
    assert "127.0.0.1" in s["fd.ip"]


def test_accept_on_a_listening_socket(source, live) -> None:
    port_r, port_w = os.pipe()
    code = (
        "import os, socket, sys\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
        f"os.write({port_w}, str(s.getsockname()[1]).encode()); os.close({port_w})\n"
        "c, _ = s.accept(); c.close()\n"
    )
    holder, action0 = _spawn(code, pass_fds=(port_w,))

    def action() -> None:
        t = threading.Thread(target=action0)
        t.start()
        port = int(os.read(port_r, 16))
        os.close(port_w)
        holder["port"] = port
        with socket.create_connection(("127.0.0.1", port)) as c:
            holder["cport"] = c.getsockname()[1]
        t.join()

    snaps, _ = live.collect(
        source,
        action,
        [
            "fd.name",
            "fd.is_server",
            "fd.lport",
            "fd.sport",
            "fd.cport",
            "fd.typechar",
            "evt.arg.tuple",
            "proc.pid",
        ],
        where=lambda f: f["evt.type"] in ("accept", "accept4"),
    )
    os.close(port_r)
    assert holder["rc"] == 0  # the child's action ran on a thread of its own
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    assert mine, snaps
    s = mine[0]
    port, cport = holder["port"], holder["cport"]
    assert s["fd.is_server"] is True
    assert s["fd.lport"] == port == s["fd.sport"]
    assert s["fd.cport"] == cport
    assert s["fd.name"] == f"127.0.0.1:{cport}->127.0.0.1:{port}"
    assert s["evt.arg.tuple"] == s["fd.name"]


def test_dup2_of_a_socket_onto_stdin(source, live) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    code = (
        f"import os, socket\ns = socket.create_connection(('127.0.0.1', {port}))\n"
        "os.dup2(s.fileno(), 0)\n"
    )
    holder, action = _spawn(code)
    t = threading.Thread(target=lambda: server.accept()[0].close())
    t.start()
    snaps, _ = live.collect(
        source,
        action,
        [
            "evt.rawres",
            "fd.type",
            "fd.name",
            "fd.num",
            "evt.arg.oldfd",
            "evt.arg.newfd",
            "fd.sport",
            "proc.pid",
        ],
        where=lambda f: f["evt.type"] in ("dup2", "dup3"),
    )
    t.join()
    server.close()
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"] and s["evt.rawres"] == 0]
    assert mine, snaps
    s = mine[0]
    assert s["fd.type"] == "ipv4"
    assert s["fd.sport"] == port
    assert s["fd.name"].endswith(f"->127.0.0.1:{port}")
    assert s["evt.arg.newfd"].startswith("0(<4>")


def test_symlink_and_link(source, live) -> None:
    tmp = tempfile.mkdtemp()
    code = (
        "import os, sys\n"
        "os.symlink('/etc/shadow', sys.argv[1] + '/sym')\n"
        "open(sys.argv[1] + '/f', 'w').close()\n"
        "os.link(sys.argv[1] + '/f', sys.argv[1] + '/hard')\n"
    )
    import subprocess

    holder: dict[str, int] = {}

    def action() -> None:
        p = subprocess.Popen([sys.executable, "-c", code, tmp])
        holder["pid"] = p.pid
        assert p.wait() == 0

    snaps, _ = live.collect(
        source,
        action,
        [
            "evt.arg.target",
            "evt.arg.linkpath",
            "evt.arg.oldpath",
            "evt.arg.newpath",
            "evt.res",
            "proc.pid",
        ],
        where=lambda f: f["evt.type"] in ("symlink", "symlinkat", "link", "linkat"),
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    sym = [s for s in mine if s.type in ("symlink", "symlinkat")]
    hard = [s for s in mine if s.type in ("link", "linkat")]
    assert sym and hard, snaps
    assert sym[0]["evt.arg.target"] == "/etc/shadow"
    assert sym[0]["evt.arg.linkpath"] == tmp + "/sym"
    assert sym[0]["evt.res"] == "SUCCESS"
    assert hard[0]["evt.arg.oldpath"] == tmp + "/f"
    assert hard[0]["evt.arg.newpath"] == tmp + "/hard"


def test_ptrace_attach(source, live) -> None:
    code = (
        "import ctypes, os, time, signal\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    time.sleep(5); os._exit(0)\n"
        "r = libc.ptrace(16, pid, None, None)\n"  # PTRACE_ATTACH
        "os.waitpid(pid, 0)\n"
        "libc.ptrace(17, pid, None, None)\n"  # PTRACE_DETACH
        "os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)\n"
        "print(pid)\n"
    )
    holder, action = _spawn(code, stdout=-1)
    snaps, _ = live.collect(
        source,
        action,
        ["evt.arg.request", "evt.arg.pid", "evt.res", "proc.pid"],
        where=lambda f: f["evt.type"] == "ptrace",
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    assert mine, snaps
    requests = [s["evt.arg.request"] for s in mine]
    assert "PTRACE_ATTACH" in requests and "PTRACE_DETACH" in requests
    attach = mine[requests.index("PTRACE_ATTACH")]
    assert attach["evt.res"] == "SUCCESS"


def test_memfd_create_then_execveat(source, live) -> None:
    code = (
        "import os\n"
        "fd = os.memfd_create('payload', 0)\n"
        "os.write(fd, open('/bin/true', 'rb').read())\n"
        "os.execve(fd, ['fileless', 'x'], {})\n"
    )
    holder, action = _spawn(code)
    snaps, _ = live.collect(
        source,
        action,
        [
            "evt.arg.name",
            "fd.typechar",
            "fd.name",
            "proc.is_exe_from_memfd",
            "proc.exepath",
            "proc.name",
            "proc.pid",
            "evt.arg.flags",
        ],
        where=lambda f: f["evt.type"] in ("memfd_create", "execveat"),
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    created = [s for s in mine if s.type == "memfd_create"]
    execs = [s for s in mine if s.type == "execveat"]
    assert created and execs, snaps
    assert created[0]["evt.arg.name"] == "payload"
    assert created[0]["fd.typechar"] == "m"
    assert execs[0]["proc.is_exe_from_memfd"] is True
    assert execs[0]["proc.exepath"].startswith("memfd:payload")
    assert "EXE_FROM_MEMFD" in execs[0]["evt.arg.flags"]


def test_finit_module_attempt_is_an_event(source, live) -> None:
    code = (
        "import ctypes, tempfile, os\n"
        "f = tempfile.TemporaryFile(); f.write(b'not a module'); f.flush()\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.syscall(313, f.fileno(), b'', 0), ctypes.get_errno())\n"
    )
    holder, action = _spawn(code, stdout=-1)
    snaps, _ = live.collect(
        source,
        action,
        ["evt.res", "evt.arg.fd", "evt.arg.uargs", "proc.pid", "thread.cap_effective"],
        where=lambda f: f["evt.type"] == "finit_module",
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    assert mine, snaps
    assert mine[0]["evt.res"].startswith("E")  # ENOEXEC or EPERM: the attempt is the event
    assert "CAP_SYS_MODULE" in mine[0]["thread.cap_effective"]


def test_setuid_updates_the_user(source, live) -> None:
    code = "import os\nos.setuid(65534)\nos.execv('/bin/true', ['true'])\n"
    holder, action = _spawn(code)
    snaps, _ = live.collect(
        source,
        action,
        ["evt.arg.uid", "evt.res", "user.uid", "user.name", "proc.pid"],
        where=lambda f: f["evt.type"] in ("setuid", "execve"),
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    setuid = [s for s in mine if s.type == "setuid"]
    execs = [s for s in mine if s.type == "execve" and s["evt.res"] == "SUCCESS"]
    assert setuid and execs, snaps
    assert setuid[0]["evt.arg.uid"] == "nobody"
    assert setuid[0]["user.uid"] == 65534
    assert execs[-1]["user.name"] == "nobody"


def test_unshare_flags(source, live) -> None:
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x04000000))\n"
    )  # CLONE_NEWUTS
    holder, action = _spawn(code, stdout=-1)
    snaps, _ = live.collect(
        source,
        action,
        ["evt.arg.flags", "evt.res", "proc.pid"],
        where=lambda f: f["evt.type"] == "unshare",
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    assert mine, snaps
    assert mine[0]["evt.arg.flags"] == "CLONE_NEWUTS"
    assert mine[0]["evt.res"] == "SUCCESS"


def test_fork_gives_the_child_its_parent_and_ancestors(source, live) -> None:
    code = (
        "import os\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.execv('/bin/sh', ['sh', '-c', '/bin/true ancestors'])\n"
        "os.waitpid(pid, 0)\n"
    )
    holder, action = _spawn(code)
    snaps, _ = live.collect(
        source,
        action,
        [
            "proc.aname",
            "proc.aname[1]",
            "proc.aname[2]",
            "proc.pname",
            "proc.apid[2]",
            "proc.pcmdline",
        ],
        where=lambda f: f["evt.type"] == "execve" and f["proc.args"] == "ancestors",
    )
    assert snaps
    s = snaps[0]
    assert s["proc.pname"] == "sh"
    assert s["proc.aname[2]"] == live.py
    assert s["proc.apid[2]"] == holder["pid"]
    assert s["proc.aname"][:2] == ["sh", live.py]
    assert s["proc.pcmdline"] == "sh -c /bin/true ancestors"


def test_udp_sendto_names_the_socket(source, live) -> None:
    code = (
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.sendto(b'x', ('127.0.0.1', 9))\n"
    )
    holder, action = _spawn(code)
    snaps, _ = live.collect(
        source,
        action,
        [
            "fd.l4proto",
            "fd.name",
            "fd.name_changed",
            "fd.connected",
            "fd.sip",
            "fd.sport",
            "fd.typechar",
            "proc.pid",
        ],
        where=lambda f: f["evt.type"] == "sendto",
    )
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    assert mine, snaps
    s = mine[0]
    assert s["fd.l4proto"] == "udp" and s["fd.typechar"] == "4"
    assert s["fd.sip"] == "127.0.0.1" and s["fd.sport"] == 9
    assert s["fd.name"].endswith("->127.0.0.1:9")
    assert s["fd.name_changed"] is True and s["fd.connected"] is False


@needs_upstream
def test_stream_socket_io_is_dropped_in_the_kernel_when_no_rule_can_match(source, live) -> None:
    from secengine.sources.specs import load_rules

    stable = load_rules([str(UPSTREAM / "falco_rules.yaml")])
    assert stable.successful and stable.rules, stable.render_text()  # none: nothing captured
    rules = stable.rules
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    code = (
        f"import socket\nt = socket.create_connection(('127.0.0.1', {port}))\n"
        "t.send(b'tcp')\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "u.sendto(b'udp', ('127.0.0.1', 9))\n"
    )
    holder, action = _spawn(code)
    t = threading.Thread(target=lambda: server.accept()[0].close())
    t.start()
    source.use_rules(rules)
    try:
        snaps, _ = live.collect(
            source,
            action,
            ["fd.l4proto", "proc.pid"],
            where=lambda f: f["evt.type"] in ("sendto", "connect"),
        )
    finally:
        source.use_rules(None)
        t.join()
        server.close()
    mine = [(s.type, s["fd.l4proto"]) for s in snaps if s["proc.pid"] == holder["pid"]]
    assert ("connect", "tcp") in mine
    assert ("sendto", "udp") in mine
    assert ("sendto", "tcp") not in mine


def test_sends_on_other_sockets_are_dropped_in_the_kernel_when_rules_read_only_netlink(
    source, live
) -> None:
    """The shipped rules (with the CVE pack's netlink rules) read sendto/sendmsg only on netlink
    sockets: a UDP send is dropped in the probe, a netlink one still arrives."""
    from secengine.ruleset.paths import default_rules_files
    from secengine.sources.specs import load_rules

    shipped = load_rules([str(p) for p in default_rules_files()])
    assert shipped.successful, shipped.render_text()
    code = (
        "import socket, struct\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "u.sendto(b'udp', ('127.0.0.1', 9))\n"
        "n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)\n"
        # RTM_GETLINK dump request: nlmsghdr + ifinfomsg (harmless: it only lists links)
        "n.sendto(struct.pack('=IHHII', 32, 18, 0x301, 1, 0) + bytes(16), (0, 0))\n"
    )
    holder, action = _spawn(code)
    source.use_rules(shipped.rules)
    try:
        snaps, _ = live.collect(
            source,
            action,
            ["fd.l4proto", "evt.netlink.proto", "proc.pid"],
            where=lambda f: f["evt.type"] == "sendto",
        )
    finally:
        source.use_rules(None)
    mine = [s for s in snaps if s["proc.pid"] == holder["pid"]]
    assert [s["evt.netlink.proto"] for s in mine] == ["NETLINK_ROUTE"], mine
