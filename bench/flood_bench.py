"""Evasion by flooding: does an attacker's real action survive a syscall flood? (issue 12.12)

Run as root: ``python bench/flood_bench.py [--rounds 2] [--seconds 8]``.

Each round runs ``secengine run --json`` with Falco's ``falco_rules.yaml`` and
the shipped rules in its own process, starts three flooders (``bench/flood.c``:
failing ``open()`` in a tight loop, each on its own) and, from the second
second on, a victim that reads ``/etc/shadow`` once a second. Configurations,
interleaved round by round so that drift hits all alike:

- *no defence*: ``--producer-rate 0 --priority-headroom 0``, as the probe was
  before producer budgets and the headroom (the filters pushed down from the
  rules cannot drop these failed opens: Falco's rules look at some);
- *headroom only*: ``--producer-rate 0`` (a quarter of the ring kept for
  priority records);
- *budget + headroom*: the defaults (20,000 events/s per producer and class,
  bursts of 100,000; a quarter of the ring kept).

A second experiment prices the budget check: ``open``+``close`` of a file
(both traced), CPU ns per pair of the calling process (kernel included),
40,000 pairs per run (within the default burst, so every event is admitted),
with the probe loaded by this process and no reader (nothing else competes for
the CPUs): budgets off, on, and on with a budget of one event a second (every
event suppressed: what a throttled call costs).

Reported per configuration (medians over rounds): victim reads that alerted
(out of those made), the delay from the read to its alert reaching stdout,
calls the flooders made per second, the kernel's drops per reason (from the
run summary), flood alerts naming a flooder, and the agent's CPU seconds.
Results go to ``bench/results/flood_bench.json``; the ratio of victim reads
alerted (defaults / no defence) is computed side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RULES = REPO.parent / "shared" / "rules-upstream" / "falco_rules.yaml"
FLOOD = REPO / "bench" / "flood.c"
CONFIGS = {
    "no defence": ["--producer-rate", "0", "--priority-headroom", "0"],
    "headroom only": ["--producer-rate", "0"],
    "budget + headroom": [],
}
_REASONS = {
    "ring_full": r"(\d+) ring full",
    "ring_busy": r"(\d+) ring busy",
    "priority_headroom": r"(\d+) refused to keep the priority headroom",
    "budget": r"(\d+) over a producer's budget",
    "filtered": r"(\d+) filtered out in the kernel",
}


def _compile(tmp: Path, name: str) -> str:
    out = tmp / name
    subprocess.run(["gcc", "-O2", "-o", str(out), str(FLOOD)], check=True)
    return str(out)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _epoch(text: str) -> float:
    whole, frac = text.rstrip("Z").split(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + frac)


def _pump(
    proc: subprocess.Popen[bytes], until: float, lines: list[tuple[float, bytes]], buf: bytearray
) -> None:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while time.time() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        buf += chunk
        now = time.time()
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            lines.append((now, line))


def _agent(extra: list[str]) -> subprocess.Popen[bytes]:
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secengine.cli",
            "run",
            "--json",
            "-r",
            str(RULES),
            "-r",
            str(REPO / "rules"),
            "--drop-alert-interval",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert agent.stderr is not None
    first = agent.stderr.readline().decode()
    if "watching" not in first:
        raise RuntimeError(first + agent.stderr.read().decode())
    return agent


def micro(prog: str, rounds: int) -> dict[str, list[float]]:
    """CPU ns per open+close pair of ``prog`` with the probe loaded in this process (no agent
    competing for the CPUs; the ring is emptied, unread, between runs), budgets off, on with
    every event admitted, and on with every event suppressed; configurations interleaved."""
    from secengine.bpf.loader import Budget
    from secengine.sources.syscall import SyscallSource

    budgets = {
        "budget off": Budget(rate=0),
        "budget on (admitted)": Budget(),
        "budget on (suppressed)": Budget(rate=1, burst=0),
    }
    src = SyscallSource(ring_bytes=256 * 1024 * 1024, seed=False)
    src.set_interest({"openat", "open", "close"})
    src.open()
    out: dict[str, list[float]] = {c: [] for c in budgets}
    try:
        for r in range(rounds):
            for config, budget in budgets.items():
                src.set_budget(budget)
                out[config].append(
                    float(
                        subprocess.run(
                            [prog, "pairs", "40000"], capture_output=True, text=True, check=True
                        ).stdout
                    )
                )
                assert src.reader is not None
                while src.reader.read(1 << 16):
                    pass
            print(
                f"micro round {r + 1}: "
                + ", ".join(f"{c} {v[-1]:.0f} ns/pair" for c, v in out.items()),
                flush=True,
            )
    finally:
        src.close()
    return out


def one_round(flooder: str, victim: str, extra: list[str], seconds: float) -> dict[str, Any]:
    agent = _agent(extra)
    lines: list[tuple[float, bytes]] = []
    buf = bytearray()
    reads: dict[str, float] = {}
    t0 = time.time()
    floods = [
        subprocess.Popen([flooder, str(seconds)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    _pump(agent, time.time() + 1.0, lines, buf)
    while time.time() - t0 < seconds - 1.0:
        tag = f"read-{len(reads)}"
        reads[tag] = time.time()
        subprocess.run([victim, "read", tag], check=True)
        _pump(agent, reads[tag] + 1.0, lines, buf)
    calls = sum(int(f.communicate(timeout=60)[0]) for f in floods)
    flood_time = time.time() - t0
    deadline = time.time() + 30.0  # let the reader work through its backlog
    while time.time() < deadline and not all(
        any(f"read {tag}".encode() in ln for _, ln in lines) for tag in reads
    ):
        _pump(agent, time.time() + 0.5, lines, buf)
    cpu = _cpu_seconds(agent.pid)
    agent.send_signal(signal.SIGTERM)
    rest, err = agent.communicate(timeout=60)
    lines += [(time.time(), ln) for ln in bytes(buf + rest).splitlines() if ln.strip()]
    alerts = [(t, json.loads(ln)) for t, ln in lines if ln.strip()]
    summary = err.decode()
    delays = []
    alerted = set()
    for arrived, a in alerts:
        cmd = a["output_fields"].get("proc.cmdline", "")
        if a["rule"] == "Read sensitive file untrusted" and cmd.startswith("shadow-reader"):
            tag = cmd.rsplit(" ", 1)[-1]
            if tag in reads and tag not in alerted:
                alerted.add(tag)
                delays.append(arrived - reads[tag])
    named = {
        a["output_fields"].get("proc.pid")
        for _, a in alerts
        if a["rule"] == "Syscall Flood by Process"
        and a["output_fields"].get("proc.name") == "flood-open"
    }
    drops = {
        k: int(m.group(1)) if (m := re.search(rx, summary)) else 0 for k, rx in _REASONS.items()
    }
    return {
        "victim_reads": len(reads),
        "victim_reads_alerted": len(alerted),
        "victim_alert_delay_s_median": round(statistics.median(delays), 3) if delays else None,
        "victim_alert_delay_s_max": round(max(delays), 3) if delays else None,
        "flooder_calls_per_s": round(calls / flood_time),
        "flooders_named": len(named),
        "kernel_drops": drops,
        "agent_cpu_s": round(cpu, 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "flood_bench.json")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("flood_bench.py needs root (it loads the probe)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="secengine-flood-"))
    flooder, victim = _compile(tmp, "flood-open"), _compile(tmp, "shadow-reader")
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
    for r in range(args.rounds):
        for config, extra in CONFIGS.items():
            res = one_round(flooder, victim, extra, args.seconds)
            runs[config].append(res)
            print(
                f"round {r + 1} {config:>17}: {res['victim_reads_alerted']}/"
                f"{res['victim_reads']} reads alerted (delay median "
                f"{res['victim_alert_delay_s_median']} s, max {res['victim_alert_delay_s_max']}"
                f" s), flooders {res['flooder_calls_per_s']:,} calls/s, "
                f"{res['flooders_named']} named, drops {res['kernel_drops']}, "
                f"agent {res['agent_cpu_s']} CPU s",
                flush=True,
            )

    micro_runs = micro(flooder, args.rounds * 4)
    micro_med = {c: round(statistics.median(v), 1) for c, v in micro_runs.items()}

    def med(config: str, key: str) -> float:
        vals = [x[key] for x in runs[config] if x[key] is not None]
        return statistics.median(vals) if vals else 0.0

    share = {
        c: sum(x["victim_reads_alerted"] for x in runs[c])
        / max(1, sum(x["victim_reads"] for x in runs[c]))
        for c in CONFIGS
    }
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "rounds": args.rounds,
        "seconds": args.seconds,
        "rules": ["falco_rules.yaml", "rules/"],
        "runs": runs,
        "victim_reads_alerted_share": share,
        "ratio_alerted_defaults_over_no_defence": (
            round(share["budget + headroom"] / share["no defence"], 2)
            if share["no defence"]
            else None
        ),
        "median_alert_delay_s": {c: med(c, "victim_alert_delay_s_median") for c in CONFIGS},
        "median_agent_cpu_s": {c: med(c, "agent_cpu_s") for c in CONFIGS},
        "median_flooder_calls_per_s": {c: med(c, "flooder_calls_per_s") for c in CONFIGS},
        "open_close_cpu_ns_per_pair": micro_med,
        "budget_check_ns_per_call": round(
            (micro_med["budget on (admitted)"] - micro_med["budget off"]) / 2, 1
        ),
        "micro_runs": micro_runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps({k: v for k, v in result.items() if k not in ("runs", "micro_runs")}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
