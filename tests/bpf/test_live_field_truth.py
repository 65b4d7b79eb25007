"""Live fields against the kernel's truth: one real activity per group checks many fields.

Each test sets up the ground truth itself (a process tree with a session, a process group,
limits and credentials of its own; files; sockets; a container) and compares what the
syscall source extracts with what /proc, stat(2) or podman say about the same objects. The
coverage test (``test_live_field_coverage.py``) keeps the list of live fields and the test
that checks each.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from secengine.events import MISSING

pytestmark = pytest.mark.bpf

#: Seconds to keep reading after the activity: the reader may lag on a loaded machine.
SETTLE = 1.0

#: The leaf of the tree: records what /proc says about itself and its ancestors, then opens
#: the marker from its main thread and from a second thread (the events the test reads).
_LEAF = r"""
import json, os, pwd, grp, sys, threading
out, marker = sys.argv[1], sys.argv[2]
def stat(pid):
    s = open(f"/proc/{pid}/stat").read()
    return s[s.rfind(")") + 2:].split()
def status(pid):
    return dict(line.split(":\t", 1) for line in open(f"/proc/{pid}/status").read().splitlines()
                if ":\t" in line)
pp = os.getppid()
gpp = int(stat(pp)[1])
exe = os.readlink("/proc/self/exe")
st = os.stat(exe)
me = status("self")
truth = {
    "pid": os.getpid(), "ppid": pp, "gppid": gpp, "sid": os.getsid(0), "pgid": os.getpgid(0),
    "start": int(stat("self")[19]), "pstart": int(stat(pp)[19]), "init_start": int(stat(1)[19]),
    "exe": exe, "argv0": sys.executable, "ino": st.st_ino, "ctime": st.st_ctime_ns,
    "mtime": st.st_mtime_ns, "writable": os.access(exe, os.W_OK),
    "pexe": os.readlink(f"/proc/{pp}/exe"), "pcmd": open(f"/proc/{pp}/cmdline").read(),
    "pcomm": open(f"/proc/{pp}/comm").read().strip(),
    "gpexe": os.readlink(f"/proc/{gpp}/exe"), "gpcmd": open(f"/proc/{gpp}/cmdline").read(),
    "gpcomm": open(f"/proc/{gpp}/comm").read().strip(),
    "sexe": os.readlink(f"/proc/{os.getsid(0)}/exe"),
    "scomm": open(f"/proc/{os.getsid(0)}/comm").read().strip(),
    "capprm": int(me["CapPrm"], 16), "capinh": int(me["CapInh"], 16),
    "nspid": me["NSpid"].split(), "gid": os.getgid(), "uid": os.getuid(),
    "group": grp.getgrgid(os.getgid()).gr_name, "home": pwd.getpwuid(os.getuid()).pw_dir,
    "shell": pwd.getpwuid(os.getuid()).pw_shell,
    "loginuid": int(open("/proc/self/loginuid").read()),
    "cgroup": open("/proc/self/cgroup").read(),
    "fdlimit": int([l.split()[3] for l in open("/proc/self/limits") if l.startswith("Max open files")][0]),
    "tid": threading.get_native_id(),
    "environ": open("/proc/self/environ", "rb").read().decode(),
}
truth["fds"] = len(os.listdir("/proc/self/fd")) - 1  # without listdir's own
f = open(marker)
def in_thread():
    truth["thread_tid"] = threading.get_native_id()
    open(marker).close()
t = threading.Thread(target=in_thread)
t.start(); t.join()
f.close()
json.dump(truth, open(out, "w"))
"""

#: The session leader: a new session and process group, its own fd limit and group, a login
#: uid if the kernel lets it set one; runs ``sh -c "python LEAF; true"`` (sh forks the leaf).
_ROOT = r"""
import os, resource, subprocess, sys
os.setsid()
resource.setrlimit(resource.RLIMIT_NOFILE, (777, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
try:
    with open("/proc/self/loginuid", "w") as f:
        f.write("0")
except OSError:
    pass
os.setgid(65534)
leaf, out, marker = sys.argv[1:4]
subprocess.run(["/bin/sh", "-c", f'{sys.executable} -c "$LEAF" {out} {marker}; true'],
               env={"LEAF": leaf, "PATH": "/usr/bin:/bin"}, check=True)
"""

_TREE_FIELDS = [
    "proc.pid",
    "proc.vpid",
    "proc.pvpid",
    "proc.ppid",
    "proc.sid",
    "proc.sname",
    "proc.sid.exe",
    "proc.sid.exepath",
    "proc.pgid",
    "proc.pgid.name",
    "proc.pgid.exe",
    "proc.pgid.exepath",
    "proc.vpgid",
    "proc.vpgid.name",
    "proc.vpgid.exe",
    "proc.vpgid.exepath",
    "proc.is_sid_leader",
    "proc.is_pgid_leader",
    "proc.is_vpgid_leader",
    "proc.pexe",
    "proc.pexepath",
    "proc.aexe[2]",
    "proc.aexepath[2]",
    "proc.acmdline[1]",
    "proc.acmdline[2]",
    "proc.aexe",
    "proc.duration",
    "proc.ppid.duration",
    "proc.pid.ts",
    "proc.ppid.ts",
    "proc.exe_ino",
    "proc.exe_ino.ctime",
    "proc.exe_ino.mtime",
    "proc.exe_ino.ctime_duration_proc_start",
    "proc.pidns_init_start_ts",
    "proc.fdlimit",
    "proc.fdopencount",
    "proc.is_exe_writable",
    "proc.is_exe_upper_layer",
    "proc.is_exe_lower_layer",
    "thread.tid",
    "thread.vtid",
    "thread.ismain",
    "thread.cap_permitted",
    "thread.cap_inheritable",
    "thread.cgroups",
    "user.uid",
    "user.homedir",
    "user.shell",
    "user.loginuid",
    "user.loginname",
    "group.gid",
    "group.name",
    "proc.env",
    "proc.is_container_healthcheck",
    "proc.is_container_liveness_probe",
    "proc.is_container_readiness_probe",
    "proc.exepath",
]


def _caps(mask: int) -> set[str]:
    """Capability names of ``mask`` per the kernel's numbering (linux/capability.h)."""
    names = Path("/usr/include/linux/capability.h")
    table: dict[int, str] = {}
    if names.is_file():
        import re

        for m in re.finditer(r"#define (CAP_[A-Z_]+)\s+(\d+)\n", names.read_text()):
            if m.group(1) not in ("CAP_LAST_CAP",):
                table[int(m.group(2))] = m.group(1)
    return {table.get(bit, f"bit{bit}") for bit in range(64) if mask >> bit & 1}


def _ticks_to_ns(ticks: int) -> int:
    import time

    boot = time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    return boot + ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def test_a_process_tree_with_its_own_session_group_limits_and_credentials(source, live) -> None:
    tmp = tempfile.mkdtemp(prefix="state-tree-")
    out, marker = f"{tmp}/truth.json", f"{tmp}/marker"
    Path(marker).write_text("x")
    snaps, _ = live.collect(
        source,
        lambda: live.child(_ROOT, _LEAF, out, marker),
        _TREE_FIELDS,
        where=lambda f: f["evt.type"] in ("open", "openat") and f["fd.name"] == marker,
        settle=SETTLE,
    )
    t = json.loads(Path(out).read_text())
    mine = [s for s in snaps if s["proc.pid"] == t["pid"]]
    assert len(mine) == 2, snaps
    main, other = sorted(mine, key=lambda s: s["thread.ismain"], reverse=True)
    # threads
    assert main["thread.ismain"] is True and main["thread.tid"] == t["tid"] == t["pid"]
    assert other["thread.ismain"] is False and other["thread.tid"] == t["thread_tid"]
    assert main["thread.vtid"] == t["tid"] and other["thread.vtid"] == t["thread_tid"]
    s = main
    # ids and namespaces (host: virtual ids are the real ones)
    assert s["proc.vpid"] == int(t["nspid"][-1]) == t["pid"]
    assert s["proc.ppid"] == t["ppid"] and s["proc.pvpid"] == t["ppid"]
    # the session and process group the root created; its leader is the root (python)
    assert s["proc.sid"] == t["sid"] and s["proc.pgid"] == t["pgid"] == t["sid"]
    assert s["proc.vpgid"] == t["pgid"]
    assert s["proc.sname"] == t["scomm"] == s["proc.pgid.name"] == s["proc.vpgid.name"]
    assert s["proc.sid.exe"] == t["argv0"] == s["proc.pgid.exe"] == s["proc.vpgid.exe"]
    assert s["proc.sid.exepath"] == t["sexe"] == s["proc.pgid.exepath"] == s["proc.vpgid.exepath"]
    assert (s["proc.is_sid_leader"], s["proc.is_pgid_leader"], s["proc.is_vpgid_leader"]) == (
        False,
        False,
        False,
    )
    # ancestry: sh, then the root
    assert s["proc.pexe"] == "/bin/sh" and s["proc.pexepath"] == t["pexe"]
    # a command line is proc.name and the arguments, as Falco renders it
    assert s["proc.acmdline[1]"] == " ".join([t["pcomm"], *t["pcmd"].split("\0")[1:-1]])
    assert s["proc.acmdline[2]"] == " ".join([t["gpcomm"], *t["gpcmd"].split("\0")[1:-1]])
    assert s["proc.aexe[2]"] == t["argv0"] and s["proc.aexepath[2]"] == t["gpexe"]
    assert s["proc.aexe"][:2] == ["/bin/sh", t["argv0"]]
    # times: /proc start times are clock ticks (10 ms)
    tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    assert 0 < s["proc.duration"] < 60 * 10**9
    assert (
        abs((s["proc.ppid.duration"] - s["proc.duration"]) - (t["start"] - t["pstart"]) * tick)
        <= 2 * tick
    )
    assert abs(s["proc.pidns_init_start_ts"] - _ticks_to_ns(t["init_start"])) <= 2 * tick
    # the start times a response verifies a pid against (docs/response.md)
    assert abs(s["proc.pid.ts"] - _ticks_to_ns(t["start"])) <= 2 * tick
    assert abs(s["proc.ppid.ts"] - _ticks_to_ns(t["pstart"])) <= 2 * tick
    # the executable's inode
    assert s["proc.exepath"] == t["exe"]
    assert s["proc.exe_ino"] == t["ino"]
    assert s["proc.exe_ino.ctime"] == t["ctime"] and s["proc.exe_ino.mtime"] == t["mtime"]
    assert (
        abs(s["proc.exe_ino.ctime_duration_proc_start"] - (_ticks_to_ns(t["start"]) - t["ctime"]))
        <= 2 * tick
    )
    assert s["proc.is_exe_writable"] is t["writable"]
    assert s["proc.is_exe_upper_layer"] is False and s["proc.is_exe_lower_layer"] is False
    # limits and fds: the marker's fd is open at this event
    assert s["proc.fdlimit"] == t["fdlimit"] == 777
    assert s["proc.fdopencount"] == t["fds"] + 1
    # credentials
    assert set(s["thread.cap_permitted"].split()) == _caps(t["capprm"])
    assert set(s["thread.cap_inheritable"].split()) == _caps(t["capinh"])
    assert s["user.uid"] == t["uid"] and s["group.gid"] == t["gid"] == 65534
    assert s["group.name"] == t["group"]
    assert s["user.homedir"] == t["home"] and s["user.shell"] == t["shell"]
    if t["loginuid"] == 0xFFFFFFFF:  # this kernel did not let the root set one
        assert s["user.loginuid"] == -1 and s["user.loginname"] is MISSING
    else:
        assert s["user.loginuid"] == t["loginuid"] == 0 and s["user.loginname"] == "root"
    # cgroups: the path of the first hierarchy (v2 first) where the process is not at the root
    lines = [ln.split(":", 2) for ln in t["cgroup"].splitlines()]
    paths = [p for h, _, p in sorted(lines, key=lambda x: int(x[0]) != 0) if p != "/"]
    assert s["thread.cgroups"] == (paths[0] if paths else "/")
    # the environment the exec gave it (the kernel's copy at mm->env_start), which the
    # shell made from the parent's {LEAF, PATH}
    environ = [e for e in t["environ"].split("\0") if e]
    assert s["proc.env"] == " ".join(environ)
    assert any(e.startswith("LEAF=") for e in environ) and "PATH=/usr/bin:/bin" in environ
    # a process that is not a container health probe is none
    assert (
        s["proc.is_container_healthcheck"],
        s["proc.is_container_liveness_probe"],
        s["proc.is_container_readiness_probe"],
    ) == (False, False, False)


_FILES = r"""
import os, sys
d = sys.argv[1]
os.setgid(65534); os.setuid(65534)
os.close(os.open(d + "/existing", os.O_RDONLY))
os.close(os.open(d + "/created", os.O_CREAT | os.O_WRONLY, 0o755))
try:
    os.open(d + "/missing", os.O_RDONLY)
except FileNotFoundError:
    pass
os.execv("/bin/true", ["true", d])
"""

_FILE_FIELDS = [
    "proc.pid",
    "fd.name",
    "fd.num",
    "fd.dev",
    "fd.dev.major",
    "fd.dev.minor",
    "fd.ino",
    "evt.res",
    "evt.rawres",
    "evt.failed",
    "evt.dir",
    "evt.count",
    "evt.arg[2]",
    "evt.arg.name",
    "evt.rawarg.flags",
    "evt.rawarg.mode",
    "evt.args",
    "evt.info",
    "evt.is_open_create",
    "evt.is_open_exec",
    "evt.buffer",
    "syscall.type",
    "proc.is_exe_writable",
    "proc.args",
    "user.uid",
]


def test_opens_that_succeed_create_and_fail_then_an_exec(source, live) -> None:
    d = tempfile.mkdtemp(prefix="state-files-")
    os.chmod(d, 0o777)
    Path(d, "existing").write_text("x")
    names = {f"{d}/existing", f"{d}/created", f"{d}/missing"}
    snaps, _ = live.collect(
        source,
        lambda: live.child(_FILES, d),
        _FILE_FIELDS,
        where=lambda f: (
            f["fd.name"] in names or (f["evt.type"] == "execve" and f["proc.args"] == d)
        ),
        settle=SETTLE,
    )
    by = {(s.type, s["fd.name"]): s for s in snaps}
    ex = by[("openat", f"{d}/existing")]
    st = os.stat(f"{d}/existing")
    # the driver's device encoding is the kernel's: major << 20 | minor
    assert ex["fd.dev"] == os.major(st.st_dev) << 20 | os.minor(st.st_dev)
    assert (ex["fd.dev.major"], ex["fd.dev.minor"]) == (os.major(st.st_dev), os.minor(st.st_dev))
    assert ex["fd.ino"] == st.st_ino
    assert ex["evt.rawres"] == ex["fd.num"] >= 3 and ex["evt.res"] == "SUCCESS"
    assert ex["evt.failed"] is False and ex["evt.dir"] == "<" and ex["evt.count"] == 1
    assert ex["evt.arg[2]"] == ex["evt.arg.name"] == f"{d}/existing"
    assert ex["evt.rawarg.flags"] & 3 == 1  # PPM_O_RDONLY
    assert f"name={d}/existing" in ex["evt.args"] and ex["evt.info"] == ex["evt.args"]
    assert ex["evt.args"].startswith(f"fd={ex['fd.num']}(<f>{d}/existing) ")
    assert ex["evt.is_open_create"] is False and ex["evt.is_open_exec"] is False
    assert ex["syscall.type"] == "openat" and ex["user.uid"] == 65534
    assert ex["evt.buffer"] is MISSING  # not produced: no I/O payload is copied
    cr = by[("openat", f"{d}/created")]
    assert os.stat(f"{d}/created").st_mode & 0o777 == 0o755 & ~os.umask(os.umask(0))
    assert cr["evt.is_open_create"] is True and cr["evt.is_open_exec"] is True
    assert cr["evt.rawarg.mode"] == 0o755
    assert cr["fd.ino"] == os.stat(f"{d}/created").st_ino
    miss = by[("openat", f"{d}/missing")]
    assert miss["evt.failed"] is True and miss["evt.rawres"] == -2 and miss["evt.res"] == "ENOENT"
    assert miss["evt.is_open_create"] is False
    ex = next(s for s in snaps if s.type == "execve")
    assert ex["syscall.type"] == "execve"
    assert os.access("/bin/true", os.X_OK) and os.stat("/bin/true").st_uid == 0
    assert ex["proc.is_exe_writable"] is False  # root's 0755 file, run by nobody


_CONNECT = r"""
import socket, sys
c = socket.socket()
c.bind(("127.0.0.3", 0))
c.connect(("127.0.0.2", int(sys.argv[1])))
print(*c.getsockname(), *c.getpeername())
c.close()
"""

_NET_FIELDS = [
    "proc.pid",
    "fd.lip",
    "fd.rip",
    "fd.cip",
    "fd.sip",
    "fd.port",
    "fd.net",
    "fd.cnet",
    "fd.snet",
    "fd.lnet",
    "fd.rnet",
    "fd.lport",
    "fd.rport",
    "fd.cip.name",
    "fd.sip.name",
    "fd.lip.name",
    "fd.rip.name",
]


def test_a_connect_between_two_loopback_addresses(source, live) -> None:
    server = socket.socket()
    server.bind(("127.0.0.2", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close())
    accepted.start()
    out: dict[str, str] = {}

    def action() -> None:
        out["ends"] = live.child(_CONNECT, str(port)).stdout

    snaps, _ = live.collect(
        source,
        action,
        _NET_FIELDS,
        where=lambda f: f["evt.type"] == "connect" and f["fd.rport"] == port,
        settle=SETTLE,
    )
    accepted.join(10)
    server.close()
    lip, lport, rip, rport = out["ends"].split()
    assert snaps, out
    s = snaps[0]
    assert (
        (s["fd.lip"], s["fd.lport"], s["fd.rip"], s["fd.rport"])
        == (lip, int(lport), rip, int(rport))
        == ("127.0.0.3", int(lport), "127.0.0.2", port)
    )
    # the connecting side is the client
    assert (s["fd.cip"], s["fd.sip"]) == (lip, rip)
    assert s["fd.port"] == [int(lport), port]
    # network fields hold the address; a rule compares them with a CIDR
    assert s["fd.net"] == [lip, rip]
    assert (s["fd.cnet"], s["fd.snet"], s["fd.lnet"], s["fd.rnet"]) == (lip, rip, lip, rip)
    # not produced: no DNS lookups
    assert {s[k] for k in ("fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name")} == {MISSING}


_CONTAINER_FIELDS = [
    "container.id",
    "container.full_id",
    "container.start_ts",
    "container.duration",
    "proc.pidns_init_start_ts",
    "container.image",
    "container.image.id",
    "container.image.tag",
    "container.image.digest",
    "container.label[team]",
    "container.mount.dest[/tmp/state-ctr-*]",
    "container.mounts",
    "k8s.ns.name",
    "k8s.pod.name",
    "k8s.pod.uid",
    "k8s.pod.id",
    "k8s.pod.sandbox_id",
    "k8s.pod.full_sandbox_id",
    "k8s.pod.label[team]",
    "k8s.pod.labels",
    "k8s.pod.ip",
    "container.labels",
    "container.ip",
    "container.host_pid",
    "container.host_network",
    "container.host_ipc",
    "container.mount[0]",
    "container.mount.source[/data]",
    "container.mount.mode[/tmp/state-ctr-*]",
    "container.mount.rdwr[/tmp/state-ctr-*]",
    "container.mount.propagation[/tmp/state-ctr-*]",
    "proc.is_exe_upper_layer",
    "proc.is_exe_lower_layer",
    "proc.exepath",
    "fd.name",
]


#: waits for the test's go file, then reads a file of the image with the image's busybox and one
#: of the bind mount with a copy of busybox (in the container's upper layer)
_IN_CONTAINER = (
    "while [ ! -e /data/go ]; do sleep 0.1; done; cat /etc/data.txt; "
    "cp /bin/busybox /tmp/cat; /tmp/cat /data/f"
)


def _inspect(what: str, name: str) -> dict[str, Any]:
    import subprocess

    r = subprocess.run(
        ["podman", what, "inspect", name], capture_output=True, text=True, check=False
    )
    return json.loads(r.stdout)[0] if r.returncode == 0 and r.stdout.strip() else {}


def test_a_labelled_container_with_a_bind_mount(source, live, podman) -> None:
    import subprocess
    import time

    name = "state-fields"
    host_dir = tempfile.mkdtemp(prefix="state-ctr-")
    Path(host_dir, "f").write_text("from the host\n")
    labels = {
        "team": "state",
        "io.kubernetes.pod.namespace": "ns-state",
        "io.kubernetes.pod.name": "pod-state",
        "io.kubernetes.pod.uid": "uid-state-1",
    }
    truth: dict[str, Any] = {}

    def action() -> None:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        cmd = [
            *podman.PODMAN_RUN,
            "--rm",
            "--name",
            name,
            "-v",
            f"{host_dir}:/data:ro",
            *(a for k, v in labels.items() for a in ("--label", f"{k}={v}")),
            podman.IMAGE,
            "sh",
            "-c",
            _IN_CONTAINER,
        ]
        run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 60
        while not truth.get("State", {}).get("Running") and time.monotonic() < end:
            time.sleep(0.5)  # podman's CLI and API share a lock: do not ask too often
            truth.update(_inspect("container", name))
        truth["image"] = _inspect("image", podman.IMAGE)
        # the source looks containers up when it reads their events, which can be well after
        # they happened on a loaded machine: act once it knows this one
        while not source.tracker.containers.get(truth["Id"]).resolved and time.monotonic() < end:
            time.sleep(0.1)
        truth["go"] = time.time_ns()
        Path(host_dir, "go").touch()
        truth["out"] = run.communicate(timeout=120)

    snaps, _ = live.collect(
        source,
        action,
        _CONTAINER_FIELDS,
        where=lambda f: (
            f["evt.type"] in ("open", "openat")
            and f["fd.name"] in ("/etc/data.txt", "/data/f")
            and f["container.id"] != "host"
        ),
        settle=SETTLE,
    )
    assert "from the host" in truth["out"][0], truth["out"]
    lower = [s for s in snaps if s["fd.name"] == "/etc/data.txt"]
    upper = [s for s in snaps if s["fd.name"] == "/data/f"]
    assert lower and upper, snaps
    s = upper[-1]
    assert s["container.full_id"] == truth["Id"] and s["container.id"] == truth["Id"][:12]
    # the image: by tag, its id (12 digits) and digest as the runtime reports them
    assert s["container.image"] == podman.IMAGE == truth["ImageName"]
    assert s["container.image.tag"] == podman.IMAGE.rsplit(":", 1)[1]
    assert s["container.image.id"] == truth["Image"][:12]
    assert s["container.image.digest"] == truth["image"]["Digest"]
    # labels, Kubernetes pod labels, the bind mount
    assert s["container.label[team]"] == "state"
    assert (s["k8s.ns.name"], s["k8s.pod.name"], s["k8s.pod.uid"]) == (
        "ns-state",
        "pod-state",
        "uid-state-1",
    )
    assert s["container.mount.dest[/tmp/state-ctr-*]"] == "/data"
    mount = next(m for m in truth["Mounts"] if m["Destination"] == "/data")
    assert f"{host_dir}:/data:" in s["container.mounts"]
    assert s["container.mounts"].split(":")[3] == str(mount["RW"]).lower() == "false"
    assert s["container.mount[0]"] == s["container.mounts"]  # the one mount
    assert s["container.mount.source[/data]"] == host_dir
    assert s["container.mount.mode[/tmp/state-ctr-*]"] == mount["Mode"]
    assert s["container.mount.rdwr[/tmp/state-ctr-*]"] == "false"
    assert s["container.mount.propagation[/tmp/state-ctr-*]"] == mount["Propagation"]
    # the other labels (kubelet's io.kubernetes.* are left out, as the plugin does)
    assert s["container.labels"] == "team:state"
    assert s["k8s.pod.id"] == s["k8s.pod.uid"]
    # namespaces and address as the runtime set them up (--network none: its own namespace)
    host = truth["HostConfig"]
    assert s["container.host_pid"] is (host.get("PidMode") == "host") is False
    assert s["container.host_network"] is (host.get("NetworkMode") == "host") is False
    assert s["container.host_ipc"] is (host.get("IpcMode") == "host") is False
    assert s["container.ip"] == (truth["NetworkSettings"].get("IPAddress") or "") == ""
    # a podman container is in no Kubernetes pod, whatever its labels say
    assert (s["k8s.pod.sandbox_id"], s["k8s.pod.full_sandbox_id"], s["k8s.pod.labels"]) == (
        "",
        "",
        "",
    )
    assert s["k8s.pod.label[team]"] is MISSING and s["k8s.pod.ip"] is MISSING
    # times: as the plugin answers, the start of the container's pid-namespace init (runc's
    # init, just before the runtime records the container as started), and the time since
    assert s["container.start_ts"] == s["proc.pidns_init_start_ts"]
    started = truth["State"]["StartedAt"]
    from datetime import datetime

    whole, _, rest = started.partition(".")
    frac = rest.split(" ")[0].split("+")[0].split("Z")[0]
    zone = started.split(" ")[1] if " " in started else "+0000"
    base = datetime.strptime(whole + zone, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    started_ns = int(base) * 10**9 + int(frac.ljust(9, "0")[:9])
    assert started_ns - 5 * 10**9 < s["container.start_ts"] <= started_ns
    # the event came after the go file: at least that long after the start
    since_go = truth["go"] - s["container.start_ts"]
    assert since_go - 10**7 < s["container.duration"] < since_go + 60 * 10**9
    # executables: the image's busybox is in the lower layer, the copy in the upper one
    lo = lower[-1]
    assert lo["proc.exepath"] == "/bin/busybox"
    assert (lo["proc.is_exe_lower_layer"], lo["proc.is_exe_upper_layer"]) == (True, False)
    assert s["proc.exepath"] == "/tmp/cat"
    assert (s["proc.is_exe_lower_layer"], s["proc.is_exe_upper_layer"]) == (False, True)
