"""What the probe's ``sys_exit`` program itself costs per syscall, by the kernel's own count.

Run as root: ``python bench/probe_program_cost.py [--calls 1000000] [--rounds 2]``.

The redis overhead benchmark (``bench/syscall_overhead.py``) sees the probe's whole cost on a
real workload; this one isolates the BPF program's share. With ``kernel.bpf_stats_enabled``
on, the kernel sums each program's run time and run count; the difference over a workload,
divided by the calls, is the program's time per syscall (the statistics' own two clock reads
included: compare configurations, not absolute figures). Configurations, each loaded by this
process with nobody reading the ring:

- *noop*: the no-op ``tp_btf/sys_exit`` program (the floor of any syscall tracepoint);
- *pack*: the probe with the interest and kernel-side filters of the shipped rules and the
  CVE pack, as ``secengine run`` loads it.

Workloads (``bench/probe_program_cost.c``): ``getppid`` (no rule reads it: the program's
early return) and 8-byte ``send`` on loopback TCP (the pack reads ``sendto`` on netlink
sockets only: the program looks at the socket, then drops the call). Results:
``bench/results/probe_program_cost.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from record import write_results

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "bench" / "probe_program_cost.c"
STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
WORKLOADS = ("getppid", "send")


def _program_stats(name: str) -> tuple[int, int]:
    """Run time (ns) and run count of the loaded BPF program called ``name``."""
    out = subprocess.run(
        ["bpftool", "prog", "show", "name", name], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[out.index("run_time_ns") + 1]), int(out[out.index("run_cnt") + 1])


def pack_probe() -> tuple[Any, str]:
    from secengine.ruleset.paths import default_rules_files
    from secengine.sources.specs import load_rules
    from secengine.sources.syscall import SyscallSource

    rules = load_rules([str(p) for p in default_rules_files()]).rules
    src = SyscallSource()
    src.set_interest({t for r in rules if r.evttypes for t in r.evttypes})
    src.use_rules(rules)
    src.open()
    return src, "se_sys_exit"


def noop_probe() -> tuple[Any, str]:
    from secengine.bpf.loader import NOOP_PROGRAM, Probe

    return Probe(programs=(NOOP_PROGRAM,), ring_bytes=4096), "se_noop"


def measure(exe: Path, config: str, calls: int, rounds: int) -> dict[str, list[float]]:
    probe, name = pack_probe() if config == "pack" else noop_probe()
    out: dict[str, list[float]] = {w: [] for w in WORKLOADS}
    try:
        for _ in range(rounds):
            for workload in WORKLOADS:
                t0, c0 = _program_stats(name)
                subprocess.run([str(exe), workload, str(calls)], check=True)
                t1, c1 = _program_stats(name)
                out[workload].append((t1 - t0) / max(1, c1 - c0))
    finally:
        probe.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--json", type=Path, default=REPO / "bench" / "results" / "probe_program_cost.json"
    )
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="secengine-probe-cost-"))
    exe = tmp / "probe_program_cost"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(SOURCE)], check=True)
    was = STATS.read_text().strip()
    STATS.write_text("1")
    try:
        results = {c: measure(exe, c, args.calls, args.rounds) for c in ("noop", "pack")}
    finally:
        STATS.write_text(was)
    summary = {c: {w: round(min(v), 1) for w, v in per.items()} for c, per in results.items()}
    for c, per in summary.items():
        print(f"{c:5} " + ", ".join(f"{w}: {ns} ns per call" for w, ns in per.items()))
    write_results(
        args.json,
        {
            "calls": args.calls,
            "rounds": args.rounds,
            "ns_per_call_best": summary,
            "ns_per_call": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
