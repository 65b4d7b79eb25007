"""The process table against the kernel: orphans of a real double fork get the parent /proc shows."""

from __future__ import annotations

import os
import tempfile

import pytest

pytestmark = pytest.mark.bpf

#: Seconds to keep reading after the activity: the reader may lag on a loaded machine.
SETTLE = 1.0

#: The outer child (optionally a child subreaper) forks ``mid``, which forks ``leaf`` and exits.
#: ``leaf`` waits until the kernel has reparented it and the probe reader has long applied the
#: exit, then reports what /proc says and opens the marker file the test looks for.
_DOUBLE_FORK = r"""
import ctypes, os, sys, time
marker, subreaper = sys.argv[1], sys.argv[2] == "1"
if subreaper:
    assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
r, w = os.pipe()
mid = os.fork()
if mid == 0:
    if os.fork() == 0:
        os.close(r)
        while os.getppid() == mid:
            time.sleep(0.01)
        time.sleep(0.3)
        ppid = os.getppid()
        with open(f"/proc/{ppid}/comm") as f:
            pcomm = f.read().strip()
        open(marker).close()  # the event the test reads, before the outer child can end
        os.write(w, f"{os.getpid()} {ppid} {pcomm}".encode())
        os.close(w)
        os._exit(0)
    os._exit(0)
os.close(w)
os.waitpid(mid, 0)
out = b""
while chunk := os.read(r, 100):
    out += chunk
print(out.decode())
if subreaper:
    os.wait()  # the adopted leaf
"""


@pytest.mark.parametrize("subreaper", [False, True], ids=["init", "child-subreaper"])
def test_an_orphan_reads_the_parent_proc_shows(source, live, subreaper: bool) -> None:
    fd, marker = tempfile.mkstemp(prefix="state-orphan-")
    os.close(fd)
    result: dict[str, str] = {}

    def action() -> None:
        r = live.child(_DOUBLE_FORK, marker, "1" if subreaper else "0")
        result["out"], result["err"] = r.stdout, r.stderr

    try:
        snaps, _ = live.collect(
            source,
            action,
            ["proc.pid", "proc.ppid", "proc.pname", "proc.aname[1]", "proc.apid[1]"],
            where=lambda f: f["evt.type"] in ("open", "openat") and f["fd.name"] == marker,
            settle=SETTLE,
        )
    finally:
        os.unlink(marker)
    pid, ppid, pcomm = result["out"].split()
    mine = [s for s in snaps if s["proc.pid"] == int(pid)]
    assert mine, (result, snaps)
    s = mine[0]
    assert s["proc.ppid"] == int(ppid)
    assert s["proc.pname"] == pcomm == s["proc.aname[1]"]
    assert s["proc.apid[1]"] == int(ppid)
    if subreaper:
        assert pcomm == live.py


def test_the_agent_exposes_the_process_table_counters(live, tmp_path) -> None:
    """Metrics and the run summary count the orphan reparented by a real double fork."""
    import re
    import urllib.request

    from secengine.agent import Agent
    from secengine.config import load_config
    from secengine.sources.syscall import SyscallSource

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- rule: orphan marker\n  desc: d\n  condition: evt.type = openat and "
        "fd.name = /nonexistent/state-marker\n  output: x\n  priority: INFO\n"
    )
    cfg = load_config(
        options=[
            f"rules_files=[{rules}]",
            "stdout_output.enabled=false",
            "webserver={enabled: true, listen_address: 127.0.0.1, " + "listen_port: 0}",
        ]
    )
    source = SyscallSource(ring_bytes=64 * 1024 * 1024)
    agent = Agent(cfg, sources=[source])
    agent.start()
    try:
        fd, marker = tempfile.mkstemp(prefix="state-orphan-")
        os.close(fd)
        r = live.child(_DOUBLE_FORK, marker, "0")
        os.unlink(marker)
        assert r.returncode == 0, r.stderr
        host, port = agent.metrics_address  # type: ignore[misc]
        text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5).read().decode()
    finally:
        agent.request_stop()
        agent.stop()
    n = re.search(
        r'^secengine_process_table_orphans_total\{source="syscall"\} (\S+)$', text, re.MULTILINE
    )
    assert n and float(n.group(1)) >= 1, text
    assert re.search(
        r'^secengine_process_table_entries\{source="syscall"\} [1-9]', text, re.MULTILINE
    )
    assert 'secengine_process_table_removed_total{source="syscall",reason="exited"}' in text
    assert re.search(
        r"process table: \d+ processes, \d+ exited, .* [1-9]\d* orphans reparented",
        source.describe_end() or "",
    )
