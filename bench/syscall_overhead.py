"""What the syscall source costs the traced host, and how fast userspace drains it.

Run as root: ``python bench/syscall_overhead.py [--rounds 5] [--json out.json]``.
Three experiments, side by side in one run, each repeated ``--rounds``
times with the configurations interleaved (so drift hits all alike):

1. **Microbenchmark** (C, compiled here): ns per call of a cheap syscall the
   rules do not trace (``getppid``) and of ``open``+``close`` of a file
   (traced: ``openat`` is in the stable rules), with *no agent*, with the
   *no-op program* attached to ``sys_exit`` (the floor any tp_btf probe
   costs), with the *agent* (``secengine run -r falco_rules.yaml``, a
   separate process, evaluating and printing alerts to /dev/null) and with
   the *pack* agent (``secengine run`` with no ``-r``: the shipped rules and
   the CVE pack, as users run it). A third kind, ``open_fail``, opens a path
   that does not exist: the pack's rules read failed opens, so with it loaded
   these are no longer dropped in the kernel.
2. **redis-benchmark** against a local ``redis-server`` (Debian packages),
   requests per second with no agent, with the no-op program (what the
   tracepoint alone costs redis), with the agent and with the pack agent.
   ``--config`` (repeatable) runs only the named configurations.
3. **Storm**: a C generator issues ``dup``+``close`` (``dup`` is in the
   stable rules, ``close`` is state) at a fixed rate while this process
   runs the source, the state tracker and the engine with the stable rules;
   the rate goes up until the probe drops records for want of room (the ring
   full, or only its priority headroom left, which bulk records may not take)
   or the reader falls behind. Reported: the highest rate
   (records per second reaching userspace, each decoded, applied to the state
   and, for ``dup``, evaluated against the rules) sustained with zero drops.
   Drops of the other kind (the ring's lock giving up under contention,
   which kernels >= 6.15 allow) are reported alongside, and so is the highest
   rate at which the reader keeps up (no backlog, and drops below one per
   10 000 records: on this VM a few records per million are lost under a
   flood whatever the ring's size and even with a reader that does nothing
   but read; see docs/syscall-source.md). The probe is system-wide: other load on
   the machine adds records too. Each step also reports the consumer's CPU
   time per record, which contention does not inflate, and the generator's
   (user and system: the probe runs in its syscalls), and the storm starts
   with the generator flat out and no probe of this run loaded
   (``generator_alone``): with both, whether a rate fits the machine's CPUs.

4. **Alert latency** (``latency``): with ``secengine run --json`` (*agent*
   and *pack*), a C trigger makes two alerting actions, each several times:
   reading ``/etc/shadow`` (an open of a file the rules name: a priority
   record) and creating a symlink to it (``symlinkat``: an ordinary record).
   Reported: from the event's own time (the alert's ``time``) to the alert
   line reaching this process, median and maximum per kind, and the agent's
   wake-ups per second while idle (voluntary context switches of all its
   threads). Also recorded in ``redis``: the agent's CPU time and wake-ups
   during the run.

``--agent-tree NAME=DIR`` (repeatable) adds configurations ``agent@NAME`` and
``pack@NAME``: the same agents with ``secengine`` imported from ``DIR/src``
(a checkout with its probe built), interleaved with this tree's, for a
before/after in one run (``--config pack --config pack@before``).

Before/after for the storm: ``--skip micro --skip redis --tree A --tree B``
runs each rate step once per tree, alternating (A B A B, each step in a fresh
process importing ``secengine`` from ``TREE/src``, see ``bench/trees.py``), so
both checkouts meet the same load; the table gives each tree's highest rate
with zero drops. ``--rates`` sets the steps (default up to 1,000,000/s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
RULES = REPO.parent / "shared" / "rules-upstream" / "falco_rules.yaml"

MICRO = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double clk(clockid_t c) { struct timespec t; clock_gettime(c, &t);
                                 return t.tv_sec * 1e9 + t.tv_nsec; }
/* argv: kind (getppid, open_fail, open_close), count[, path]; prints "wall_ns cpu_ns" per call; cpu time includes the kernel's (and the probe's) */
int main(int argc, char **argv) {
    long n = atol(argv[2]);
    double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
    if (argv[1][0] == 'g') {
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
    } else if (argv[1][5] == 'f') { /* open_fail: ENOENT, as library and PATH searches get */
        for (long i = 0; i < n; i++) open("/etc/secengine-bench-no-such-file", O_RDONLY);
    } else {
        /* open_close: argv[3], or /etc/hostname */
        const char *path = argc > 3 ? argv[3] : "/etc/hostname";
        for (long i = 0; i < n; i++) { int fd = open(path, O_RDONLY); close(fd); }
    }
    printf("%.1f %.1f\n", (clk(CLOCK_MONOTONIC) - w0) / n, (clk(CLOCK_PROCESS_CPUTIME_ID) - c0) / n);
    return 0;
}
"""

#: dup+close at a fixed rate (also used by tests/bpf/test_ring_reader.py)
STORM = (REPO / "bench" / "storm.c").read_text()


def tune_gc() -> None:
    """What ``secengine run`` does once loaded: freeze the long-lived heap (rules, state
    seed) out of the cyclic collector and collect the young generation less often, so that
    a full collection never stalls the reader for long."""
    from secengine.commands.agent_run import tune_gc as run_tune_gc

    run_tune_gc()


def _compile(tmp: Path, name: str, source: str) -> str:
    (tmp / f"{name}.c").write_text(source)
    out = tmp / name
    subprocess.run(["gcc", "-O2", "-o", str(out), str(tmp / f"{name}.c")], check=True)
    return str(out)


#: The configurations, in the order each round runs them: no program, the no-op program, and
#: ``secengine run`` with these arguments (``pack``: no ``-r``, the shipped rules + CVE pack).
CONFIGS = ("none", "noop", "agent", "pack")
AGENT_ARGS = {"agent": ["-r", str(RULES)], "pack": []}
#: NAME -> checkout, from --agent-tree: configurations agent@NAME and pack@NAME
TREES: dict[str, Path] = {}


#: On request only: the pack agent stopped (SIGSTOP) while the workload runs, its probe still
#: loaded and filtering: what the kernel side alone costs, apart from the agent's user space.
PAUSED = "pack-paused"


def _configs_known() -> tuple[str, ...]:
    return (*CONFIGS, PAUSED, *(f"{a}@{t}" for t in TREES for a in AGENT_ARGS))


class Agent:
    """``secengine run`` with the stable rules (or ``args``), in its own process; ``tree``:
    with ``secengine`` from that checkout; ``json``: alerts as JSON lines on a pipe
    (:attr:`proc` ``.stdout``), else to /dev/null."""

    def __init__(
        self, args: list[str] | None = None, tree: Path | None = None, json: bool = False
    ) -> None:
        from trees import tree_env

        # the agent's stderr, open for its lifetime; stop() closes it
        self.err = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "secengine.cli",
                "run",
                *(["--json"] if json else []),
                *(["-r", str(RULES)] if args is None else args),
            ],
            stdout=subprocess.PIPE if json else subprocess.DEVNULL,
            stderr=self.err,
            env=tree_env(tree) if tree is not None else None,
        )
        end = time.monotonic() + 60
        while time.monotonic() < end:
            self.err.seek(0)
            if b"watching" in self.err.read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.err.seek(0)
        raise RuntimeError(f"the agent did not start: {self.err.read().decode()}")

    def usage(self) -> tuple[float, int]:
        """CPU seconds so far and voluntary context switches (wake-ups) of all its threads."""
        cpu = cpu_ticks(self.proc.pid) / os.sysconf("SC_CLK_TCK")
        switches = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        switches += int(line.split()[1])
            except OSError:  # a thread that ended meanwhile
                pass
        return cpu, switches

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.err.seek(0)
        with self.err:
            return self.err.read().decode().strip().splitlines()[-1]


def _agent(config: str, json: bool = False) -> Agent:
    """The agent of configuration ``config`` (``agent``, ``pack``, or either ``@TREE``)."""
    base, _, tree = config.partition("@")
    return Agent(AGENT_ARGS[base], TREES[tree] if tree else None, json)


class Noop:
    """The no-op tp_btf program on sys_exit, nothing else."""

    def __init__(self) -> None:
        from secengine.bpf.loader import NOOP_PROGRAM, Probe

        self.probe = Probe(programs=(NOOP_PROGRAM,), ring_bytes=4096)

    def stop(self) -> str:
        self.probe.close()
        return ""


def _with(config: str, fn: Any) -> tuple[Any, dict[str, float]]:
    """``fn()`` with configuration ``config`` running; its result and, with an agent, the
    agent's CPU seconds and wake-ups (voluntary context switches) during ``fn``."""
    paused = config == PAUSED
    base = "pack" if paused else config.partition("@")[0]
    ctx = (
        _agent("pack" if paused else config)
        if base in AGENT_ARGS
        else Noop()
        if config == "noop"
        else None
    )
    usage: dict[str, float] = {}
    try:
        before = ctx.usage() if isinstance(ctx, Agent) else None
        t0 = time.monotonic()
        if paused and isinstance(ctx, Agent):
            ctx.proc.send_signal(signal.SIGSTOP)
        try:
            result = fn()
        finally:
            if paused and isinstance(ctx, Agent):
                ctx.proc.send_signal(signal.SIGCONT)
        if isinstance(ctx, Agent) and before is not None:
            after = ctx.usage()
            seconds = time.monotonic() - t0
            usage = {
                "agent_cpu_s": after[0] - before[0],
                "agent_wakeups_per_s": (after[1] - before[1]) / seconds,
            }
        return result, usage
    finally:
        note = ctx.stop() if ctx is not None else ""
        if note:
            print(f"      agent: {note}", flush=True)


def micro(
    tmp: Path, rounds: int, configs: tuple[str, ...] = CONFIGS
) -> dict[str, dict[str, dict[str, float]]]:
    """Median ns per call, wall clock and CPU time (user + kernel, probe included)."""
    exe = _compile(tmp, "micro", MICRO)
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    for r in range(rounds):
        for config in configs:

            def run() -> dict[str, tuple[float, float]]:
                out = {}
                # open_fail before open_close: the agent is then idle unless it has to
                # read the failed opens (after the open_close flood it would still be
                # draining that, on the same 2 CPUs)
                for kind, n in (
                    ("getppid", 2_000_000),
                    ("open_fail", 200_000),
                    ("open_close", 200_000),
                ):
                    text = subprocess.run(
                        [exe, kind, str(n)], capture_output=True, text=True, check=True
                    ).stdout.split()
                    out[kind] = (float(text[0]), float(text[1]))
                return out

            values, _ = _with(config, run)
            for kind, (wall, cpu) in values.items():
                per = results.setdefault(kind, {}).setdefault(config, {"wall": [], "cpu": []})
                per["wall"].append(wall)
                per["cpu"].append(cpu)
            print(
                f"  micro round {r + 1} {config:5}: "
                + "  ".join(
                    f"{k} {w:.0f} ns wall / {c:.0f} ns cpu" for k, (w, c) in values.items()
                ),
                flush=True,
            )
    return {
        kind: {c: {m: statistics.median(v) for m, v in per.items()} for c, per in by.items()}
        for kind, by in results.items()
    }


def cpu_ticks(pid: int) -> int:
    """User and system CPU of ``pid`` so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def redis(rounds: int, configs: tuple[str, ...] = CONFIGS) -> dict[str, dict[str, Any]] | None:
    """Median requests/s (SET and GET averaged) and the traced processes' CPU per request
    (redis-server + redis-benchmark, user + kernel, probe included): no agent, the no-op
    program, the agent."""
    import resource

    server = shutil.which("redis-server")
    bench = shutil.which("redis-benchmark")
    if not server or not bench:
        print(
            "  redis: redis-server/redis-benchmark not installed (apt-get install "
            "redis-server redis-tools)"
        )
        return None
    port = "6399"
    n = 200_000
    hz = os.sysconf("SC_CLK_TCK")
    srv = subprocess.Popen(
        [server, "--port", port, "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    out: dict[str, dict[str, list[float]]] = {}
    try:
        for r in range(rounds):
            for config in configs:

                def run() -> tuple[float, float]:
                    ticks0 = cpu_ticks(srv.pid)
                    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    res = subprocess.run(
                        [bench, "-p", port, "-t", "set,get", "-n", str(n), "-c", "50", "-q"],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    ticks1 = cpu_ticks(srv.pid)
                    rates = [
                        float(line.split(":")[1].split()[0])
                        for line in res.replace("\r", "\n").splitlines()
                        if "requests per second" in line
                    ]
                    cpu = (
                        (ticks1 - ticks0) / hz
                        + (ru1.ru_utime - ru0.ru_utime)
                        + (ru1.ru_stime - ru0.ru_stime)
                    )
                    return sum(rates) / len(rates), cpu / (2 * n) * 1e6

                (rps, cpu_us), usage = _with(config, run)
                per = out.setdefault(config, {"requests_per_s": [], "cpu_us_per_request": []})
                per["requests_per_s"].append(rps)
                per["cpu_us_per_request"].append(cpu_us)
                for k, v in usage.items():
                    per.setdefault(k, []).append(v)
                extra = (
                    f", agent {usage['agent_cpu_s']:.2f} CPU s, "
                    f"{usage['agent_wakeups_per_s']:.0f} wake-ups/s"
                    if usage
                    else ""
                )
                print(
                    f"  redis round {r + 1} {config:5}: {rps:,.0f} requests/s, "
                    f"{cpu_us:.2f} us CPU per request{extra}",
                    flush=True,
                )
    finally:
        srv.terminate()
        srv.wait()
    result: dict[str, dict[str, Any]] = {
        c: {m: statistics.median(v) for m, v in per.items()} for c, per in out.items()
    }
    base = out.get("none")
    for c, per in out.items():
        result[c]["per_round_requests_per_s"] = per["requests_per_s"]
        if base is None or c == "none":
            continue
        # each round's configurations ran back to back: the pairs cancel the VM's drift
        change = [
            100 * (mine / theirs - 1)
            for mine, theirs in zip(per["requests_per_s"], base["requests_per_s"], strict=True)
        ]
        quartiles = statistics.quantiles(change, n=4) if len(change) > 1 else change * 3
        result[c]["change_vs_none_pct"] = {
            "of_medians": 100
            * (result[c]["requests_per_s"] / result["none"]["requests_per_s"] - 1),
            "paired_median": statistics.median(change),
            "paired_quartiles": [quartiles[0], quartiles[2]],
        }
        print(
            f"  redis {c}: {result[c]['change_vs_none_pct']['of_medians']:+.1f} % against none "
            f"(medians), paired rounds median {statistics.median(change):+.1f} % "
            f"(quartiles {quartiles[0]:+.1f} / {quartiles[2]:+.1f})",
            flush=True,
        )
    return result


#: The alert-latency trigger: ``shadow TAG`` reads /etc/shadow (an open of a file the rules
#: name: a priority record); ``symlink TAG DIR`` links DIR/TAG to it (symlinkat: ordinary).
TRIGGER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char buf[256], path[4096];
    if (argc > 2 && strcmp(argv[1], "shadow") == 0) {
        int fd = open("/etc/shadow", O_RDONLY);
        if (fd < 0) return 1;
        while (read(fd, buf, sizeof buf) > 0) {}
        close(fd);
        return 0;
    }
    if (argc > 3 && strcmp(argv[1], "symlink") == 0) {
        snprintf(path, sizeof path, "%s/%s", argv[3], argv[2]);
        return symlink("/etc/shadow", path) != 0;
    }
    return 2;
}
"""
#: what each kind of trigger is, for the table
LATENCY_KINDS = {
    "shadow": "open of /etc/shadow (priority record)",
    "symlink": "symlink to /etc/shadow (ordinary record)",
}


def _epoch(text: str) -> float:
    from datetime import datetime

    whole, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (frac or "0"))


def _alert_lines(agent: Agent, until: float, lines: list[tuple[float, bytes]]) -> None:
    """Append (arrival time, line) for each alert line the agent writes until ``until``."""
    import select

    assert agent.proc.stdout is not None
    fd = agent.proc.stdout.fileno()
    buf = b""
    while time.time() < until:
        ready, _, _ = select.select([fd], [], [], max(0.0, until - time.time()))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        now = time.time()
        buf += chunk
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            lines.append((now, line))


def latency(
    tmp: Path, rounds: int, configs: tuple[str, ...], triggers: int = 8
) -> dict[str, dict[str, Any]]:
    """Event -> alert line, ms (median, max) per kind of trigger, and the agent's wake-ups per
    second while idle, per agent configuration; rounds interleaved."""
    exe = _compile(tmp, "latency-trigger", TRIGGER)
    links = tmp / "links"
    links.mkdir(exist_ok=True)
    out: dict[str, dict[str, list[float]]] = {}
    agents = [c for c in configs if c.partition("@")[0] in AGENT_ARGS]
    for r in range(rounds):
        for config in agents:
            agent = _agent(config, json=True)
            lines: list[tuple[float, bytes]] = []
            try:
                _alert_lines(agent, time.time() + 1.0, lines)  # start-up alerts, if any
                cpu0, sw0 = agent.usage()
                idle_t0 = time.monotonic()
                _alert_lines(agent, time.time() + 3.0, lines)
                cpu1, sw1 = agent.usage()
                idle_s = time.monotonic() - idle_t0
                tags: dict[str, str] = {}
                for i in range(triggers):
                    for kind in LATENCY_KINDS:
                        tag = f"lat{r}x{i}{kind}"
                        tags[tag] = kind
                        subprocess.run([exe, kind, tag, str(links)], check=True)
                        _alert_lines(agent, time.time() + 0.25, lines)
                end = time.time() + 5.0
                while time.time() < end and not all(
                    any(t.encode() in ln for _, ln in lines) for t in tags
                ):
                    _alert_lines(agent, time.time() + 0.25, lines)
            finally:
                agent.stop()
                for f in links.iterdir():
                    f.unlink()
            per = out.setdefault(config, {})
            per.setdefault("idle_wakeups_per_s", []).append((sw1 - sw0) / idle_s)
            per.setdefault("idle_cpu_ms_per_s", []).append((cpu1 - cpu0) * 1000 / idle_s)
            for arrived, line in lines:
                try:
                    alert = json.loads(line)
                except ValueError:
                    continue
                text = json.dumps(alert.get("output_fields", {}))
                for tag, kind in tags.items():
                    if tag in text:
                        ms = (arrived - _epoch(alert["time"])) * 1000
                        per.setdefault(f"{kind}_ms", []).append(ms)
                        tags.pop(tag)
                        break
            missing = len(tags)
            per.setdefault("missing", []).append(missing)
            print(
                f"  latency round {r + 1} {config:5}: "
                + ", ".join(
                    f"{k} median {statistics.median(per[f'{k}_ms'][-triggers:]):.1f} ms"
                    for k in LATENCY_KINDS
                    if per.get(f"{k}_ms")
                )
                + f", idle {per['idle_wakeups_per_s'][-1]:.0f} wake-ups/s"
                + (f", {missing} alerts missing" if missing else ""),
                flush=True,
            )
    result: dict[str, dict[str, Any]] = {}
    for config, per in out.items():
        res: dict[str, Any] = {
            "idle_wakeups_per_s": statistics.median(per["idle_wakeups_per_s"]),
            "idle_cpu_ms_per_s": statistics.median(per["idle_cpu_ms_per_s"]),
            "alerts_missing": sum(per["missing"]),
        }
        for kind in LATENCY_KINDS:
            v = per.get(f"{kind}_ms", [])
            if v:
                res[kind] = {
                    "median_ms": round(statistics.median(v), 2),
                    "p90_ms": round(sorted(v)[int(0.9 * (len(v) - 1))], 2),
                    "max_ms": round(max(v), 2),
                    "n": len(v),
                }
        result[config] = res
    return result


#: The storm's rate steps (records/s): up past the 600,000 of the stable table, so that a
#: faster consumer can show it.
RATES = (
    50_000,
    100_000,
    150_000,
    200_000,
    250_000,
    300_000,
    350_000,
    400_000,
    450_000,
    500_000,
    600_000,
    700_000,
    800_000,
    900_000,
    1_000_000,
)


class _Storm:
    """The consumer side of the storm: the source, the state tracker and the stable rules."""

    def __init__(self, tmp: Path) -> None:
        from secengine import load_rules  # the public name, in every tree compared
        from secengine.engine import Engine
        from secengine.output import AlertFormatter
        from secengine.sources.syscall import SyscallSource

        try:
            from secengine.sources.base import rule_event_types
        except ImportError:  # a tree from before issue 13 (--tree main-as-it-was)
            from secengine.sources.syscall_interest import rule_event_types

        self.exe = _compile(tmp, "storm", STORM)
        self.engine = Engine(load_rules([str(RULES)]), formatter=AlertFormatter(hostname="bench"))
        # one storm process at these rates is a flood by the default producer budget
        # (bench/flood_bench.py measures that); this experiment measures the reader, budget off
        self.src = SyscallSource(ring_bytes=16 * 1024 * 1024, producer_rate=0)
        self.src.set_interest(rule_event_types(self.engine.rules, self.src.name))
        self.src.use_rules(self.engine.rules)
        self.src.open()
        tune_gc()

    def close(self) -> None:
        self.src.close()

    def step(self, rate: int, seconds: float) -> dict[str, Any]:
        """Generate ``rate`` records/s for ``seconds`` while consuming them; what it gave."""
        src, engine, process = self.src, self.engine, self.engine.process
        src.drain(0.3)
        k0 = src.kernel_stats()
        r0 = src.stats.records
        e0 = engine.stats.events
        g0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        gen = subprocess.Popen(  # 2 records per loop; it prints the loops it made
            [self.exe, str(rate / 2), str(seconds)], stdout=subprocess.PIPE, text=True
        )
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        max_pending = 0
        while gen.poll() is None:
            src.read_batch(process)
            max_pending = max(max_pending, src.reader.pending_bytes())
            src.wait_if_idle(0.002)
        lag_start = time.perf_counter()
        while src.reader.pending_bytes() > 0 and time.perf_counter() - lag_start < 10:
            src.read_batch(process)
        lag = time.perf_counter() - lag_start
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        g1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the generator, reaped by poll()
        made = 2 * int(gen.communicate()[0])
        k1 = src.kernel_stats()
        # every record the probe did not send for want of room: the ring full, or the bulk
        # records refused while the priority headroom (a quarter of the ring) was all that
        # was left; a reader falling behind meets the headroom first (steps measured before
        # 2026-12-04 22:00 counted only "full", so a step over the reader's pace showed no
        # drop and fewer records than the generator made)
        full = k1["dropped_full"] - k0["dropped_full"]
        headroom = k1["dropped_headroom"] - k0["dropped_headroom"]
        budget = k1["dropped_budget"] - k0["dropped_budget"]
        dropped = full + headroom + budget
        busy = k1["dropped_busy"] - k0["dropped_busy"]
        records = src.stats.records - r0
        rec_rate = records / (elapsed - lag) if elapsed > lag else 0.0
        events = engine.stats.events - e0
        cpu_us = cpu / records * 1e6 if records else 0.0
        return {
            "target_records_per_s": rate,
            "records": records,
            "events": events,
            "dropped": dropped,
            "dropped_full": full,
            "dropped_headroom": headroom,
            "dropped_budget": budget,
            "dropped_busy": busy,
            "records_per_s": round(rec_rate),
            "drain_lag_s": round(lag, 3),
            "max_pending_bytes": max_pending,
            "consumer_cpu_us_per_record": round(cpu_us, 2),
            # the generator's user and system time (the probe runs in its syscalls: system)
            "generated": made,
            **_generator_cpu(g0, g1, made),
            "ok": dropped == 0 and lag < 0.25,
            "keeps_up": lag < 0.25 and dropped + busy <= records / 10_000,
        }


def _generator_cpu(
    before: resource.struct_rusage, after: resource.struct_rusage, records: float
) -> dict[str, float]:
    """The generator's CPU per record it made (user, system), from two RUSAGE_CHILDREN."""
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    return {
        "generator_user_us_per_record": round(user / records * 1e6, 3),
        "generator_sys_us_per_record": round(system / records * 1e6, 3),
    }


def generator_alone(tmp: Path, rate: int, seconds: float) -> dict[str, Any]:
    """The generator with no probe loaded (this process reads nothing): what ``dup`` +
    ``close`` cost by themselves, per record, and the rate it reached."""
    exe = _compile(tmp, "storm", STORM)
    g0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [exe, str(rate / 2), str(seconds)], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    g1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    made = 2 * int(out)
    return {
        "target_records_per_s": rate,
        "records_per_s": round(made / seconds),
        **_generator_cpu(g0, g1, made),
    }


def _print_step(st: dict[str, Any], who: str = "") -> None:
    print(
        f"  storm {who}{st['target_records_per_s']:>9,} records/s target: {st['records']:>9,} "
        f"records ({st['records_per_s']:,}/s), {st['events']:,} events, "
        f"{st['dropped_full']} dropped (ring full), {st['dropped_headroom']} (headroom), "
        f"{st['dropped_busy']} (lock busy), "
        f"lag {st['drain_lag_s']:.2f}s, {st['consumer_cpu_us_per_record']:.2f} us CPU/record "
        f"(generator {st['generator_user_us_per_record'] + st['generator_sys_us_per_record']:.2f}) "
        f"-> {'ok' if st['ok'] else 'keeps up' if st['keeps_up'] else 'FELL BEHIND'}",
        flush=True,
    )


def _summary(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Highest rate with zero drops (every step below it too), highest kept up, CPU per record."""
    best = 0.0
    keep_up = 0.0
    for st in steps:
        if not st["ok"]:
            break
        best = max(best, st["records_per_s"])
    for st in steps:
        if not st["keeps_up"]:
            break
        keep_up = max(keep_up, st["records_per_s"])
    cpu_costs = [st["consumer_cpu_us_per_record"] for st in steps if st["ok"]]
    per_record = statistics.median(cpu_costs) if cpu_costs else 0.0
    return {
        "sustained_records_per_s": round(best),
        "kept_up_records_per_s": round(keep_up),
        "consumer_cpu_us_per_record": per_record,
        "records_per_cpu_second": round(1e6 / per_record) if per_record else 0,
        "steps": steps,
    }


def storm(tmp: Path, rates: tuple[int, ...] = RATES, seconds: float = 3.0) -> dict[str, Any]:
    consumer = _Storm(tmp)
    steps = []
    try:
        for rate in rates:
            st = consumer.step(rate, seconds)
            steps.append(st)
            _print_step(st)
            if not st["keeps_up"]:
                break
    finally:
        consumer.close()
    return _summary(steps)


def storm_trees(trees: list[Path], rates: tuple[int, ...], seconds: float) -> dict[str, Any]:
    """The storm on several checkouts: each step once per tree, alternating, fresh processes."""
    from trees import label, run_in_tree

    steps: dict[str, list[dict[str, Any]]] = {label(t): [] for t in trees}
    going = set(steps)
    for rate in rates:
        for tree in trees:
            name = label(tree)
            if name not in going:
                continue
            st = run_in_tree(
                Path(__file__).resolve(),
                ["--storm-step", str(rate), "--seconds", str(seconds)],
                tree,
                out_flag="--json",
            )
            steps[name].append(st)
            _print_step(st, f"{name:>22} ")
            if not st["keeps_up"]:
                going.discard(name)
        if not going:
            break
    return {name: _summary(s) for name, s in steps.items()}


def storm_step(tmp: Path, rate: int, seconds: float) -> dict[str, Any]:
    """One rate step in this process (what ``storm_trees`` runs in each tree).

    A short step at 50,000 records/s first builds the rule buckets and the
    state tables, as the lower steps do in a sequential storm.
    """
    consumer = _Storm(tmp)
    try:
        consumer.step(50_000, 0.5)
        return consumer.step(rate, seconds)
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--json",
        type=Path,
        default=REPO / "bench" / "results" / "syscall_overhead.json",
        help="write the results here (default: bench/results/syscall_overhead.json)",
    )
    p.add_argument(
        "--skip", action="append", default=[], choices=("micro", "redis", "latency", "storm")
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        help="run only these configurations in micro, redis and latency (default: all but "
        f"{PAUSED}, which only redis and micro measure; "
        f"{', '.join(CONFIGS)}, and agent@NAME, pack@NAME with --agent-tree)",
    )
    p.add_argument(
        "--agent-tree",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="configurations agent@NAME and pack@NAME: the agents from the checkout DIR",
    )
    p.add_argument(
        "--rates",
        type=lambda t: tuple(int(x) for x in t.split(",")),
        default=RATES,
        help="the storm's steps, records/s, comma-separated",
    )
    p.add_argument("--seconds", type=float, default=3.0, help="length of one storm step")
    p.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="a checkout to run the storm on; twice or more: side by side",
    )
    p.add_argument("--storm-step", type=int, metavar="RATE", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/syscall_overhead.py needs root (it loads the eBPF probe)", file=sys.stderr)
        return 2
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    tmp = Path(tempfile.mkdtemp(prefix="secengine-bench-"))
    if args.storm_step is not None:  # one step, for storm_trees
        args.json.write_text(json.dumps(storm_step(tmp, args.storm_step, args.seconds)) + "\n")
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    for spec in args.agent_tree:
        name, _, tree = spec.partition("=")
        TREES[name] = Path(tree)
    known = _configs_known()
    unknown = [c for c in args.config if c not in known]
    if unknown:
        p.error(f"unknown configuration {unknown[0]!r} (known: {', '.join(known)})")
    configs = (
        tuple(c for c in known if c in args.config)
        if args.config
        else tuple(c for c in known if c != PAUSED)
    )
    results: dict[str, Any] = {
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "rounds": args.rounds,
        "configs": configs,
    }
    if "micro" not in args.skip:
        print("microbenchmark (median ns per call)", flush=True)
        results["micro"] = micro(tmp, args.rounds, configs)
    if "redis" not in args.skip:
        print("redis-benchmark (median requests/s, SET and GET averaged)", flush=True)
        results["redis"] = redis(args.rounds, configs)
    if "latency" not in args.skip:
        print("alert latency (event -> alert line, ms)", flush=True)
        results["latency"] = latency(tmp, args.rounds, configs)
    if "storm" not in args.skip:
        print("storm: dup+close, decoding + state + falco_rules.yaml", flush=True)
        # the generator flat out with no probe of this run: what it costs by itself
        alone = results["generator_alone"] = generator_alone(tmp, 4_000_000, 2.0)
        print(
            f"  generator alone, flat out: {alone['records_per_s']:,} records/s, "
            f"{alone['generator_user_us_per_record']:.3f} us user + "
            f"{alone['generator_sys_us_per_record']:.3f} us system per record",
            flush=True,
        )
        if args.tree:
            results["storm_trees"] = storm_trees(args.tree, args.rates, args.seconds)
        else:
            results["storm"] = storm(tmp, args.rates, args.seconds)
    summary = {k: v for k, v in results.items() if k != "storm"}
    if "storm" in results:
        summary["storm"] = {k: v for k, v in results["storm"].items() if k != "steps"}
    if "storm_trees" in results:
        summary["storm_trees"] = {
            name: {k: v for k, v in r.items() if k != "steps"}
            for name, r in results["storm_trees"].items()
        }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
