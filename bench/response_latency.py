"""What a kill response costs and how fast it lands: in the kernel versus from user space.

Run as root: ``python bench/response_latency.py [--rounds 5] [--json out.json]``.

1. **Added latency** (C, compiled here): ns per ``open``+``close`` of a file (``openat`` is
   traced: a rule looks at it) and per ``getppid`` (untraced), side by side in one run, the
   configurations interleaved round by round:

   - ``none``: no probe;
   - ``traced``: the syscall source with the rule, no kill rule in the probe;
   - ``kill_cheap``: the same plus the rule's kill compiled into the probe, a rule that does
     not match and is rejected by its cheap facts (``container.id != host``: this benchmark
     runs on the host), so the probe reads no path;
   - ``kill_path``: a kill rule with only ``fd.name = <a file never opened>``: the probe must
     build the opened file's path and look it up in its trie on every open (the worst case
     for a kill rule that does not match).

   The source reads and decodes every record on a thread of its own (as ``secengine run``
   does, without evaluating rules), so the traced syscall pays what it pays in production.
   On a shared machine the per-call times move more between rounds than a kill rule costs,
   so the probe also times its own check (``KillSettings.timing``: two clock reads around it,
   summed in a map): ``probe_ns_per_check`` is that time divided by the syscalls checked.

2. **Event to kill**: a victim (C) writes the boot-time clock and then opens a protected
   file; the bench waits for it to die and reads the clock again (the victim's whole way from
   the open to being reaped). ``kernel``: the probe kills it at the open's exit;
   ``user``: the source reads the open's record, the bench sees the event and kills the
   victim with ``pidfd_send_signal`` (what a user-space response does, without the engine's
   evaluation in between). Also reported for the kernel: from the probe's decision to
   ``bpf_send_signal`` returning (the kill record's two timestamps).
"""

from __future__ import annotations

import argparse
import json
import os
import select
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

# the microbenchmark and the compile step are syscall_overhead's (open_close takes a path)
from syscall_overhead import MICRO, _compile

#: prints its pid, waits for a byte on stdin, prints the boot-time clock (ns), then opens
#: argv[1]; alive afterwards: says so and waits
VICTIM = r"""
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct timespec t;
    char go;
    printf("%d\n", getpid());
    fflush(stdout);
    if (read(0, &go, 1) != 1)
        return 2;
    clock_gettime(CLOCK_BOOTTIME, &t);
    printf("%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    fflush(stdout);
    int fd = open(argv[1], O_RDONLY);
    printf("alive %d\n", fd);
    fflush(stdout);
    sleep(10);
    return 0;
}
"""

RULE = """\
- rule: bench protected open
  desc: an open of the protected file
  condition: evt.type in (open, openat, openat2) and fd.name = {path}{extra}
  output: "open (proc=%proc.name file=%fd.name)"
  priority: CRITICAL
"""

#: so that the source emits exits (the victims' deaths, timed by the probe)
EXIT_RULE = """\
- rule: bench exits
  desc: a victim's exit
  condition: evt.type = procexit and proc.name = victim
  output: "exit (proc=%proc.name)"
  priority: DEBUG
"""


def _rules(tmp: Path, path: str, extra: str = "", extra_rule: str = "") -> list[Any]:
    from secengine.sources.specs import load_rules

    f = tmp / "rules.yaml"
    f.write_text(RULE.format(path=path, extra=extra) + extra_rule)
    rs = load_rules([str(f)])
    assert rs.successful, rs.render_text()
    return list(rs.rules)


def _kill_rules(rules: list[Any], dry_run: bool = False) -> list[Any]:
    from secengine.sources.syscall_kill import compile_kill_rule

    return [compile_kill_rule(r, i + 1, dry_run) for i, r in enumerate(rules)]


class Source:
    """The syscall source with ``rules``, reading on its own thread; ``on_event`` sees each
    event (None: events are only built)."""

    def __init__(self, rules: list[Any], on_event: Any = None) -> None:
        from secengine.sources.base import rule_event_types
        from secengine.sources.syscall import SyscallSource

        self.src = SyscallSource(ring_bytes=64 * 1024 * 1024, producer_rate=0)
        self.src.set_interest(rule_event_types(rules, "syscall"))
        self.src.use_rules(rules)
        self.src.open()

        def evaluate(events: Any) -> None:
            if on_event is not None:
                for ev in events:
                    on_event(ev)

        self.src.start_inline(evaluate)

    @property
    def probe(self) -> Any:
        return self.src.probe

    def close(self) -> None:
        self.src.stop()


def overhead(tmp: Path, rounds: int) -> dict[str, Any]:
    """Median ns per call (wall, CPU) of open+close and getppid, per configuration."""
    from secengine.bpf.kill import KillSettings

    micro = _compile(tmp, "micro", MICRO)
    target = tmp / "target.txt"
    target.write_text("x\n")
    never = str(tmp / "never-opened")
    cheap = _kill_rules(_rules(tmp, never, " and container.id != host"))
    path = _kill_rules(_rules(tmp, never))
    rules = _rules(tmp, never)
    results: dict[str, dict[str, dict[str, list[float]]]] = {}

    def measure(config: str, r: int) -> None:
        for kind, n in (("getppid", 2_000_000), ("open_close", 200_000)):
            out = subprocess.run(
                [micro, kind, str(n), str(target)], capture_output=True, text=True, check=True
            ).stdout.split()
            per = results.setdefault(kind, {}).setdefault(config, {"wall": [], "cpu": []})
            per["wall"].append(float(out[0]))
            per["cpu"].append(float(out[1]))
        print(
            f"  round {r + 1} {config:10}: "
            + "  ".join(
                f"{k} {v[config]['wall'][-1]:.0f} ns wall / {v[config]['cpu'][-1]:.0f} ns cpu"
                for k, v in results.items()
            ),
            flush=True,
        )

    per_check: dict[str, list[float]] = {}
    for r in range(rounds):
        measure("none", r)
        src = Source(rules)
        try:
            measure("traced", r)
            for name, kill_rules in (("kill_cheap", cheap), ("kill_path", path)):
                before = src.probe.kill_stats()
                src.probe.set_kill(kill_rules, KillSettings(timing=True))
                measure(name, r)
                src.probe.set_kill([])
                after = src.probe.kill_stats()
                assert after["killed"] == before["killed"]
                checks = after["checked"] - before["checked"]
                per_check.setdefault(name, []).append((after["ns"] - before["ns"]) / checks)
                print(
                    f"    {name}: {per_check[name][-1]:.0f} ns per check in the probe", flush=True
                )
        finally:
            src.close()
    out: dict[str, Any] = {
        kind: {c: {m: statistics.median(v) for m, v in per.items()} for c, per in by.items()}
        for kind, by in results.items()
    }
    # the probe's own clock around each check (every open on the machine while the kill rule
    # was loaded): what a kill rule that does not match adds to the traced syscall
    out["probe_ns_per_check"] = {k: round(statistics.median(v), 1) for k, v in per_check.items()}
    return out


def _victim(exe: str, protected: str, pids: set[int]) -> tuple[int, int, Any]:
    """Start a victim through a shell (the probe never kills secengine's own children, and this
    process owns the probe), add its pid to ``pids``, let it open; (its pid, the clock before
    its open, the shell)."""
    shell = subprocess.Popen(
        ["sh", "-c", f"{exe} {protected}; exit $?"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the shell's "Killed"
    )
    assert shell.stdout is not None and shell.stdin is not None
    pid = int(shell.stdout.readline())
    pids.add(pid)
    pidfd = os.pidfd_open(pid)
    shell.stdin.write(b"g")
    shell.stdin.close()
    t0 = int(shell.stdout.readline())
    return t0, pidfd, shell


def _reaped(pidfd: int, shell: Any) -> tuple[int, int]:
    """Wait for the victim to exit; (the boot-time clock then, its exit status as the shell
    saw it: 137 when SIGKILL killed it)."""
    select.select([pidfd], [], [], 30)
    t1 = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    os.close(pidfd)
    return t1, shell.wait(timeout=30)


class Watch:
    """What the source saw of the victims: each one's open of the protected file and its exit
    (the probe's timestamps: the open's sys_exit, sched_process_exit); with ``kill``, it also
    kills each victim from user space on the open's event, as a user-space response does."""

    def __init__(self, protected: str, kill: bool) -> None:
        self.protected = protected
        self.kill = kill
        self.victims: set[int] = set()
        self.opens: dict[int, int] = {}
        self.exits: dict[int, int] = {}
        self.signalled: dict[int, int] = {}

    def __call__(self, ev: Any) -> None:
        pid = ev.fields["proc.pid"]
        if pid not in self.victims:
            return
        if ev.type == "procexit":
            self.exits[pid] = ev.ts
        elif ev.fields["fd.name"] == self.protected and pid not in self.opens:
            self.opens[pid] = ev.ts
            if self.kill:
                self._kill(pid)

    def _kill(self, pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            self.signalled[pid] = time.time_ns()
        finally:
            os.close(fd)

    def wait(self, pid: int, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while pid not in self.exits and time.monotonic() < end:
            time.sleep(0.005)


def kill_latency(tmp: Path, runs: int) -> dict[str, Any]:
    """The victim's open to its death (µs), in the kernel and from user space."""
    from secengine.bpf.kill import KillSettings

    victim = _compile(tmp, "victim", VICTIM)
    protected = tmp / "protected.txt"
    protected.write_text("secret\n")
    rules = _rules(tmp, str(protected))
    exits = _rules(tmp, str(protected), "", extra_rule=EXIT_RULE)
    out: dict[str, Any] = {}
    for mode in ("kernel", "user"):
        watch = Watch(str(protected), kill=mode == "user")
        src = Source(exits, watch)
        deaths, reaped, to_signal = [], [], []
        decisions, signal_calls, kernel_deaths = [], [], []
        try:
            if mode == "kernel":
                src.probe.set_kill(_kill_rules(rules), KillSettings())
            for _ in range(runs):
                t0, pidfd, shell = _victim(victim, str(protected), watch.victims)
                t1, rc = _reaped(pidfd, shell)
                assert rc == 128 + signal.SIGKILL, f"the victim was not killed ({rc})"
                reaped.append((t1 - t0) / 1000)
                for pid in list(watch.victims):
                    watch.wait(pid)
                    if pid in watch.opens and pid in watch.exits:
                        deaths.append((watch.exits[pid] - watch.opens[pid]) / 1000)
                    if pid in watch.signalled:
                        to_signal.append((watch.signalled[pid] - watch.opens[pid]) / 1000)
                    watch.victims.discard(pid)
            boot = src.src.tracker.boot_ns
            kills = [k for _, k in src.src.take_kills()]
            decisions = [(k.signal_start - k.ts) / 1000 for k in kills]
            signal_calls = [(k.signal_ts - k.signal_start) / 1000 for k in kills]
            kernel_deaths = [
                (watch.exits[k.pid] - (k.ts + boot)) / 1000 for k in kills if k.pid in watch.exits
            ]
        finally:
            src.close()
        out[mode] = {
            "open_exit_to_death": _stats(deaths),
            "open_to_reaped_by_parent": _stats(reaped),
        }
        if decisions:
            # the probe's own clock: the cheap checks passed -> bpf_send_signal called ->
            # returned; and from the cheap checks to the task's exit (sched_process_exit)
            out[mode]["probe_match_to_signal_call"] = _stats(decisions)
            out[mode]["bpf_send_signal_call"] = _stats(signal_calls)
            out[mode]["probe_match_to_death"] = _stats(kernel_deaths)
        if to_signal:
            out[mode]["open_exit_to_signal_sent"] = _stats(to_signal)
    return out


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)
    return {
        "n": len(v),
        "median_us": round(statistics.median(v), 1),
        "p90_us": round(v[min(len(v) - 1, int(len(v) * 0.9))], 1),
        "min_us": round(v[0], 1),
        "max_us": round(v[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=30, help="victims per kill-latency mode")
    p.add_argument(
        "--json",
        type=Path,
        default=REPO / "bench" / "results" / "response_latency.json",
        help="write the results here (default: bench/results/response_latency.json)",
    )
    p.add_argument("--skip", action="append", default=[], choices=("overhead", "latency"))
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/response_latency.py needs root (it loads the eBPF probe)", file=sys.stderr)
        return 2
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    results: dict[str, Any] = {
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "rounds": args.rounds,
    }
    with tempfile.TemporaryDirectory(prefix="secengine-bench-") as tmp:
        if "overhead" not in args.skip:
            print("added latency (median ns per call)", flush=True)
            results["overhead"] = overhead(Path(tmp), args.rounds)
        if "latency" not in args.skip:
            print("event to kill (µs)", flush=True)
            results["kill_latency"] = kill_latency(Path(tmp), args.runs)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
