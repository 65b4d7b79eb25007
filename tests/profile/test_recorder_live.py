"""The recorder in the kernel, on plain host processes (``profile exec``): sets, outcomes, ops.

A root child performs one privileged operation of each kind the inference
table knows; the recorder keeps the deciding arguments in its maps and the
inference names exactly the capabilities they needed.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from secengine.profile import layout as L
from secengine.profile.capabilities import Context, infer
from secengine.profile.launch import HeldChild
from secengine.profile.recorder import Recorder
from secengine.profile.recording import Recording, load_recording
from secengine.profile.session import record_command

pytestmark = pytest.mark.bpf

PRIVILEGED = textwrap.dedent("""
    import ctypes, os, signal, socket, stat, sys
    libc = ctypes.CDLL(None, use_errno=True)
    d = sys.argv[1]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 80))
    s.close()
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    p = os.path.join(d, "f")
    open(p, "w").close()
    os.chown(p, 1000, 1000)
    os.chmod(p, 0o600)
    open(p).close()
    os.mknod(os.path.join(d, "null"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.unshare(0x04000000) == 0 else 1)
    assert os.waitpid(pid, 0)[1] == 0
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        os.read(r, 1)
        os._exit(0)
    import time; time.sleep(0.2)
    assert libc.ptrace(0x4206, pid, 0, 0) == 0, ctypes.get_errno()
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        os.setgid(65534)
        os.setuid(65534)
        try:
            os.kill(1, 0)
        except PermissionError:
            os._exit(3)
        os._exit(0)
    assert os.waitpid(pid, 0)[1] >> 8 == 3
    libc.syscall(400)
""")


def test_exec_records_the_tree_with_outcomes_and_privileged_operations(
    recorder_object: Path, tmp_path: Path
) -> None:
    rec = record_command([sys.executable, "-c", PRIVILEGED, str(tmp_path)], mode="exec")
    assert rec.exit_code == 0 and rec.started
    sc = rec.syscalls
    assert {
        "bind",
        "socket",
        "chown",
        "mknodat",
        "unshare",
        "setuid",
        "setgid",
        "setgroups",
        "ptrace",
        "kill",
        "execve",
        "exit_group",
    } <= sc.outcome("ok", ("work",))
    assert "kill" in sc.get("work", "eperm")  # kill(1, 0) as nobody
    assert "syscall_400" in sc.get("work", "enosys")
    assert sc.phase_empty("init") and sc.phase_empty("pre")
    caps = infer(rec.ops, Context(ptrace_scope=0))
    assert caps.required == [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_SYS_PTRACE",
        "CAP_SYS_ADMIN",
        "CAP_MKNOD",
    ]  # in bit order
    evidence = {
        f.need.capability: {f.op.syscall for f in caps.evidence(f.need.capability)}
        for f in caps.findings
    }
    assert evidence["CAP_NET_BIND_SERVICE"] == {"bind"}
    assert evidence["CAP_SETUID"] == {"setuid"}
    assert evidence["CAP_SETGID"] == {"setgid", "setgroups"}
    assert evidence["CAP_DAC_OVERRIDE"] == {"openat"}
    assert evidence["CAP_SYS_ADMIN"] == {"unshare"}
    assert caps.denied == ["CAP_KILL"]  # nobody's kill(1, 0), refused by the kernel
    setuid = next(f.op for f in caps.findings if f.op.syscall == "setuid")
    assert setuid.flags & L.OPF_OLD_KNOWN and setuid.v[3:6] == (0, 0, 0)
    refused = next(f.op for f in caps.findings if f.verdict == "denied")
    assert refused.errno == errno.EPERM


def test_only_the_followed_tree_is_recorded(recorder_object: Path) -> None:
    with Recorder() as rec:
        child = HeldChild(["sleep", "0.5"])
        slot = rec.follow(child.pid, phase=L.PHASE_WORK)
        child.release()
        os.sched_getaffinity(0)  # this process is not followed
        assert rec.followed(slot) == 1
        assert child.wait(10) == 0
        time.sleep(0.1)
        assert rec.followed(slot) == 0
        raw = rec.read(slot)
    recording = Recording.from_raw(raw, "exec")
    seen = recording.syscalls.seen()
    assert {"execve", "exit_group", "clock_nanosleep"} <= seen
    assert "sched_getaffinity" not in seen
    assert raw.stats["recorded"] > 0


def test_a_mount_namespace_target_records_every_task_in_it(
    recorder_object: Path, tmp_path: Path
) -> None:
    # the work waits for the recorder (loading it took longer than a fixed sleep on a busy
    # machine, and the test then saw nothing)
    go = tmp_path / "go"
    script = (
        f"while [ ! -e {go} ]; do sleep 0.05; done; cat /proc/self/mounts >/dev/null; sleep 0.3"
    )
    child = HeldChild(["unshare", "--mount", "sh", "-c", script])
    child.release()
    mntns = 0
    deadline = time.monotonic() + 10
    while not mntns and time.monotonic() < deadline:
        time.sleep(0.05)
        for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
            try:
                if (
                    os.readlink(f"/proc/{pid}/exe").endswith("sh")
                    and os.stat(f"/proc/{pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino
                    and str(go) in Path(f"/proc/{pid}/cmdline").read_text()
                ):
                    mntns = os.stat(f"/proc/{pid}/ns/mnt").st_ino
            except OSError:
                continue
    assert mntns, "the child's mount namespace was not found"
    with Recorder() as rec:
        slot = rec.watch_mntns(mntns)
        go.touch()
        assert child.wait(10) == 0
        raw = rec.read(slot)
    seen = Recording.from_raw(raw, "attach").syscalls.seen(("work",))
    assert {"openat", "read", "execve", "wait4", "clock_nanosleep"} <= seen
    assert list(raw.bits) == [mntns]


def test_profile_exec_command_writes_a_profile_of_the_tree(
    recorder_object: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from secengine.cli import main

    out = tmp_path / "tool.json"
    assert (
        main(
            [
                "profile",
                "exec",
                "-o",
                str(out),
                "--",
                "sh",
                "-c",
                "ls / > /dev/null; cat /etc/hostname > /dev/null",
            ]
        )
        == 0
    )
    report = capsys.readouterr().out
    assert "mode exec" in report and "entrypoint ran: yes" in report
    allowed = set(json.loads(out.read_text())["syscalls"][0]["names"])
    assert {"execve", "getdents64", "openat", "exit_group", "wait4"} <= allowed
    rec = load_recording(tmp_path / "tool.record.json")
    assert rec.mode == "exec" and rec.exit_code == 0 and rec.init_source == "none"
