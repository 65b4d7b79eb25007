"""The human report: phases, the profile, the default's surplus, capabilities with evidence."""

from __future__ import annotations

from pathlib import Path

from secengine.profile.capabilities import infer
from secengine.profile.recording import Op, Recording
from secengine.profile.report import compare, render
from secengine.profile.seccomp import ProfileNames, policy


def sample() -> Recording:
    rec = Recording(
        mode="run",
        command=["podman", "run", "img", "nc", "-l", "-p", "80"],
        exit_code=0,
        started=True,
        duration=0.5,
        runtime={"name": "runc", "version": "1.1.5"},
        init_source="recorded",
    )
    rec.syscalls.add("pre", "ok", {"mount", "pivot_root"})
    rec.syscalls.add("init", "ok", {"capset", "execve"})
    rec.syscalls.add("work", "ok", {"read", "bind", "socket"})
    rec.syscalls.add("work", "enosys", {"clone3"})
    rec.ops = [
        Op("bind", "bind", "work", 0, 1 << 10, 0, (10, 80, 1024) + (0,) * 7, 2, 77),
        Op("chown", "lchown", "work", 0, 1, 0, (0, 0, 0, 0, 1) + (0,) * 5, 1, 78),
    ]
    rec.notes.append("a note")
    return rec


def test_report_sections() -> None:
    rec = sample()
    pol = policy(rec)
    default = ProfileNames(
        "SCMP_ACT_ERRNO", {"read", "bind", "socket", "mkdir", "ptrace", "_llseek"}, {}, set()
    )
    cmp = compare(pol, default, Path("/usr/share/containers/seccomp.json"))
    assert cmp.removed == ["mkdir", "ptrace"]  # _llseek is not an x86_64 name
    assert cmp.default_allowed == 5
    text = render(rec, pol, infer(rec.ops), cmp, Path("p.json"))
    assert "Least-privilege proposal for: podman run img nc -l -p 80" in text
    assert "runtime runc 1.1.5" in text
    assert (
        "init (the runtime after its seccomp filter, until the entrypoint; recorded) (2):" in text
    )
    assert "    capset execve" in text
    assert "workload (4):" in text
    assert "not in the profile: 2 syscalls" in text
    assert "answered ENOSYS" in text and "clone3" in text
    assert "removed (2):\n    mkdir ptrace" in text
    assert "Capabilities: --cap-drop ALL --cap-add NET_BIND_SERVICE" in text
    assert "add: [NET_BIND_SERVICE]" in text
    flat = " ".join(text.split())
    assert (
        "NET_BIND_SERVICE: bind(AF_INET6, port 80): below "
        "net.ipv4.ip_unprivileged_port_start=1024 (pid 77, 2x)" in flat
    )
    assert "possibly needed (not added):" in text and "CHOWN: lchown(" in text
    assert "Note: a note" in text
    assert all(len(line) <= 100 for line in text.splitlines() if not line.startswith("Least"))


def test_report_without_privileged_operations() -> None:
    rec = Recording(
        mode="attach",
        container={"name": "web", "id": "0123456789abcdef"},
        init_source="baseline runc-1.1.5",
    )
    rec.syscalls.add("work", "ok", {"read"})
    text = render(rec, policy(rec), infer(rec.ops))
    assert "container web (0123456789ab)" in text
    assert "Capabilities: --cap-drop ALL\n" in text
    assert "no privileged operation was seen" in text
