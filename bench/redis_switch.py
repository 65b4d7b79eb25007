"""The probe's cost to redis, its configurations switched every few seconds under one load.

Run as root: ``python bench/redis_switch.py [--windows 40] [--window 2]``.

``bench/syscall_overhead.py`` measures redis with each configuration in a run of its own
(agents started and stopped between them). On this VM the host's own load moves redis's
throughput by up to 15 % from one run to the next, more than the differences measured. Here
one ``redis-benchmark`` (SET, 50 clients) runs throughout, and the configurations take turns
in windows of ``--window`` seconds, in a shuffled order each round, so that each round's
configurations meet the same host within seconds of each other:

- *none*: nothing attached;
- *noop*: the no-op ``tp_btf/sys_exit`` program (the floor any syscall tracepoint costs);
- *pack*: the probe with the interest and kernel-side filters of the shipped rules and the
  CVE pack, as ``secengine run`` sets them (loaded by this process; nobody reads its ring,
  and redis makes no record the pack keeps on its hot path).

Both probes stay loaded; a configuration's turn attaches its programs, the next detaches
them. The kernel side only: what the agent's user space adds is in
``syscall_overhead.py --config pack --config pack-paused``. Per window: requests/s (redis's
own ``total_commands_processed``) and the CPU of redis-server and redis-benchmark per
request; per configuration, the median over rounds of its change against *none* in the
same round. Results: ``bench/results/redis_switch.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from probe_program_cost import noop_probe, pack_probe
from record import write_results
from syscall_overhead import cpu_ticks

CONFIGS = ("none", "noop", "pack")
PORT = 6399


def _commands_processed(conn: socket.socket) -> int:
    """redis's ``total_commands_processed`` (this query counts one)."""
    conn.sendall(b"INFO stats\r\n")
    data = b""
    while True:
        data += conn.recv(65536)
        head, sep, body = data.partition(b"\r\n")  # $<length>\r\n<body>\r\n
        if sep and len(body) >= int(head[1:]) + 2:
            break
    for line in body.decode().splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":")[1])
    raise RuntimeError("redis INFO stats has no total_commands_processed")


def measure(windows: int, window: float, settle: float = 0.2) -> dict[str, list[dict[str, float]]]:
    """Per configuration, one sample per round: requests/s and CPU µs per request."""
    pack_source, _ = pack_probe()
    probes: dict[str, Any] = {"noop": noop_probe()[0], "pack": pack_source.probe}
    for probe in probes.values():
        probe.detach()
    server = subprocess.Popen(
        ["redis-server", "--port", str(PORT), "--save", "", "--appendonly", "no"]
        + ["--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
    )
    out: dict[str, list[dict[str, float]]] = {c: [] for c in CONFIGS}
    bench = None
    try:
        time.sleep(0.5)
        conn = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        bench = subprocess.Popen(
            ["redis-benchmark", "-p", str(PORT), "-t", "set", "-n", "2000000000", "-c", "50"]
            + ["-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(2.0)  # the clients connected, the server warm
        for r in range(windows):
            order = list(CONFIGS)
            random.shuffle(order)
            for config in order:
                if config in probes:
                    probes[config].attach()
                time.sleep(settle)
                n0, c0, t0 = (
                    _commands_processed(conn),
                    cpu_ticks(server.pid) + cpu_ticks(bench.pid),
                    time.monotonic(),
                )
                time.sleep(window)
                n1, c1, t1 = (
                    _commands_processed(conn),
                    cpu_ticks(server.pid) + cpu_ticks(bench.pid),
                    time.monotonic(),
                )
                if config in probes:
                    probes[config].detach()
                requests = max(1, n1 - n0 - 1)
                out[config].append(
                    {
                        "requests_per_s": requests / (t1 - t0),
                        "cpu_us_per_request": (c1 - c0) / os.sysconf("SC_CLK_TCK") / requests * 1e6,
                    }
                )
            print(
                f"  round {r + 1}: "
                + "  ".join(
                    f"{c} {out[c][-1]['requests_per_s']:,.0f}/s "
                    f"{out[c][-1]['cpu_us_per_request']:.2f} us"
                    for c in CONFIGS
                ),
                flush=True,
            )
    finally:
        if bench is not None:
            bench.kill()
            bench.wait()
        server.terminate()
        server.wait()
        probes["noop"].close()
        pack_source.close()
    return out


def summarize(samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians, and each configuration's change against *none* in the same round."""
    base = samples["none"]
    result: dict[str, Any] = {}
    for config, rows in samples.items():
        per: dict[str, Any] = {
            m: statistics.median(row[m] for row in rows)
            for m in ("requests_per_s", "cpu_us_per_request")
        }
        if config != "none":
            change = [
                100 * (mine["requests_per_s"] / theirs["requests_per_s"] - 1)
                for mine, theirs in zip(rows, base, strict=True)
            ]
            cpu = [
                mine["cpu_us_per_request"] - theirs["cpu_us_per_request"]
                for mine, theirs in zip(rows, base, strict=True)
            ]
            q = statistics.quantiles(change, n=4)
            per["change_vs_none_pct"] = {
                "paired_median": statistics.median(change),
                "paired_quartiles": [q[0], q[2]],
            }
            per["cpu_us_per_request_vs_none_paired_median"] = statistics.median(cpu)
        result[config] = per
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--windows", type=int, default=40, help="rounds (each configuration once)")
    p.add_argument("--window", type=float, default=2.0, help="seconds per configuration")
    p.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "redis_switch.json")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/redis_switch.py needs root (it loads the eBPF probe)", file=sys.stderr)
        return 2
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        print("needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)")
        return 2
    samples = measure(args.windows, args.window)
    summary = summarize(samples)
    for config, per in summary.items():
        line = f"{config:5} {per['requests_per_s']:,.0f} requests/s, "
        line += f"{per['cpu_us_per_request']:.2f} us CPU per request"
        if "change_vs_none_pct" in per:
            ch = per["change_vs_none_pct"]
            line += (
                f"; against none in the same round: {ch['paired_median']:+.1f} % "
                f"(quartiles {ch['paired_quartiles'][0]:+.1f} / {ch['paired_quartiles'][1]:+.1f}),"
                f" {per['cpu_us_per_request_vs_none_paired_median']:+.2f} us CPU per request"
            )
        print(line)
    write_results(
        args.json,
        {
            "windows": args.windows,
            "window_s": args.window,
            "summary": summary,
            "samples": samples,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
