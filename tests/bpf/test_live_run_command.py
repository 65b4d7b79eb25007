"""``secengine run`` end to end: alerts arrive within 100 ms, drops become a drop alert."""

from __future__ import annotations

import json
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from typing import Any

import pytest
from upstream_rules import require

pytestmark = pytest.mark.bpf


def _start(*extra: str) -> subprocess.Popen[bytes]:
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secengine.cli",
            "run",
            "--json",
            "-r",
            str(require("falco_rules.yaml")),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "watching" in line, line + proc.stderr.read().decode()
    return proc


def _alerts(proc: subprocess.Popen[bytes], until: float) -> list[tuple[float, dict[str, Any]]]:
    """(arrival time, alert) for each JSON line printed before ``until``."""
    out = []
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    while time.time() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            now = time.time()
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out.append((now, json.loads(line)))
    return out


def _epoch(text: str) -> float:
    whole, frac = text.rstrip("Z").split(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + frac)


def test_alerts_arrive_within_100_ms_of_the_behaviour() -> None:
    import threading

    proc = _start()
    tmp = tempfile.mkdtemp()
    got: list[tuple[float, dict[str, Any]]] = []
    reader = threading.Thread(target=lambda: got.extend(_alerts(proc, time.time() + 3.0)))
    reader.start()
    try:
        for i in range(5):
            subprocess.run(["ln", "-s", "/etc/shadow", f"{tmp}/latency-{i}"], check=True)
            time.sleep(0.2)
        reader.join()
        alerts = got
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    mine = [
        (t, a)
        for t, a in alerts
        if a["rule"] == "Create Symlink Over Sensitive Files" and tmp in a["output"]
    ]
    assert len(mine) == 5, alerts
    latencies = [t - _epoch(a["time"]) for t, a in mine]
    assert statistics.median(latencies) < 0.1, latencies
    assert mine[0][1]["output_fields"]["evt.arg.linkpath"].startswith(tmp)


FLOOD = r"""
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    for (long i = 0; i < 3000000; i++) { int fd = open("/etc/hostname", O_RDONLY); close(fd); }
    return 0;
}
"""


def test_kernel_drops_become_the_drop_alert() -> None:
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "flood.c"), "w") as fh:
        fh.write(FLOOD)
    subprocess.run(
        ["gcc", "-O2", "-o", os.path.join(d, "flood"), os.path.join(d, "flood.c")], check=True
    )
    proc = _start("--ring-buffer-mb", "1", "--drop-alert-interval", "0")
    try:
        subprocess.run([os.path.join(d, "flood")], check=True)
        alerts = _alerts(proc, time.time() + 2.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stderr is not None
        summary = proc.stderr.read().decode()
    drops = [a for _, a in alerts if a["rule"] == "Falco internal: syscall event drop"]
    assert drops, alerts[:3]
    assert drops[0]["priority"] == "Debug"
    assert int(drops[0]["output_fields"]["n_drops"]) > 0
    assert drops[0]["source"] == "internal"
    # the run's total line counts the kernel's drops (the outputs' lines have their own
    # "N dropped", which is 0 here)
    total = re.search(r"(\d+) dropped in the kernel", summary)
    assert total is not None and int(total.group(1)) > 0, summary
