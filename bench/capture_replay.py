"""Captures: replay speed against sysdig, and what writing a capture costs the live path.

Run as root: ``python bench/capture_replay.py [--rounds 3] [--json out.json]``.
Two experiments, side by side in one run, configurations interleaved (A B A B) so
that the shared machine's drift hits both alike:

1. **Live path** (issue 16 item 7: writing a capture costs the live path <= 10 % of its
   throughput): the storm (``bench/storm.c``: dup+close at a fixed rate) while this
   process runs the syscall source, the state tracker and the stable rules, once
   without a capture and once with ``record_to`` (raw batches spooled, converted to
   ``.scap`` by another process). Reported: the consumer's CPU per record (its
   throughput is the inverse), records, drops, and the converter's CPU and time.
2. **Replay** (>= 0.3 x sysdig's events/s): the same capture with the same filter
   through ``sysdig -r FILE -q FILTER`` and ``secengine replay FILE -r RULE`` (the
   filter as a rule's condition), wall and CPU time of each, events/s = the capture's
   events over that time. Each tool also reads a capture of the same state tables and
   its first 16 events (its fixed cost: start-up, rules, tables), so the rate without it
   is reported too. The capture: ``--capture FILE``, else one recorded here from the whole host's
   syscalls for ``--record-seconds`` while a mixed workload runs.
3. **In process** (``--skip`` the others to profile: ``--profile`` prints cProfile's
   top functions): the replay loop alone (``ReplaySource`` + ``Engine.process_batch``, as
   the command runs it), its CPU per capture event, and the share of it spent in the
   state machine (``StateTracker.apply``/``close_fd``/``touch``) and the rule engine,
   which the replay shares with the live path.
4. **In process, a sysdig-kind capture** (second row, ``--skip sysdig-kind`` to leave it
   out): the same loop over :data:`SYSDIG_KIND`, a capture of every syscall (read, write,
   mmap, ...) as sysdig users share them, which secengine's probe cannot record.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from syscall_overhead import RULES, STORM, _compile, tune_gc

FILTER = "evt.type in (open, openat, openat2) and fd.name startswith /etc"
SECENGINE = str(Path(sys.executable).with_name("secengine"))


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def live_step(exe: str, rate: int, seconds: float, capture: Path | None) -> dict[str, Any]:
    """One storm step at ``rate`` records/s, with or without a capture."""
    from secengine import load_rules
    from secengine.engine import Engine
    from secengine.output import AlertFormatter
    from secengine.sources.base import rule_event_types
    from secengine.sources.syscall import SyscallSource

    engine = Engine(load_rules([str(RULES)]), formatter=AlertFormatter(hostname="bench"))
    src = SyscallSource(ring_bytes=16 * 1024 * 1024, producer_rate=0)
    src.set_interest(rule_event_types(engine.rules, src.name))
    src.use_rules(engine.rules)
    spool = src.record_to(str(capture)) if capture is not None else None
    src.open()
    tune_gc()
    process = engine.process
    in_append = [0.0]
    if spool is not None:  # the live path's own share: the time spent spooling
        append = spool.append

        def timed_append(batch: Any) -> None:
            t = time.thread_time()  # CPU time: the machine's other load does not count
            append(batch)
            in_append[0] += time.thread_time() - t

        spool.append = timed_append  # type: ignore[method-assign]
    src.drain(0.3)
    k0, r0 = src.kernel_stats(), src.stats.records
    gen = subprocess.Popen([exe, str(rate / 2), str(seconds)])  # two records per loop
    t0, cpu0 = time.perf_counter(), time.process_time()
    while gen.poll() is None:
        src.read_batch(process)
        src.wait_if_idle(0.002)
    end = time.perf_counter() + 10
    while src.reader is not None and src.reader.pending_bytes() > 0 and time.perf_counter() < end:
        src.read_batch(process)
    cpu = time.process_time() - cpu0
    elapsed = time.perf_counter() - t0
    k1 = src.kernel_stats()
    records = src.stats.records - r0
    child0 = _children_cpu()
    c0 = time.perf_counter()
    src.close()  # waits for the converter
    close_s = time.perf_counter() - c0
    out: dict[str, Any] = {
        "capture": capture is not None,
        "target_records_per_s": rate,
        "records": records,
        "dropped_full": k1["dropped_full"] - k0["dropped_full"],
        "elapsed_s": round(elapsed, 3),
        "consumer_cpu_us_per_record": round(cpu / records * 1e6, 3) if records else 0.0,
    }
    if spool is not None:
        out.update(
            spool_us_per_record=round(in_append[0] / records * 1e6, 3) if records else 0.0,
            capture_bytes=spool.stats.bytes,
            capture_events=spool.stats.events,
            converter_cpu_s=round(_children_cpu() - child0, 3),
            converter_wait_at_close_s=round(close_s, 3),
            error=spool.error,
        )
    return out


def live(tmp: Path, rounds: int, rate: int, seconds: float) -> dict[str, Any]:
    exe = _compile(tmp, "storm", STORM)
    steps: list[dict[str, Any]] = []
    for i in range(rounds):
        for with_capture in (False, True):
            cap = tmp / f"storm{i}.scap" if with_capture else None
            st = live_step(exe, rate, seconds, cap)
            steps.append(st)
            print(f"  live {'capture' if with_capture else 'plain  '}: {st}", flush=True)
            if cap is not None:
                cap.unlink(missing_ok=True)
    plain = statistics.median(s["consumer_cpu_us_per_record"] for s in steps if not s["capture"])
    cap = statistics.median(s["consumer_cpu_us_per_record"] for s in steps if s["capture"])
    spool = statistics.median(s["spool_us_per_record"] for s in steps if s["capture"])
    return {
        "rate": rate,
        "seconds": seconds,
        "plain_cpu_us_per_record": plain,
        "capture_cpu_us_per_record": cap,
        "spool_us_per_record": spool,
        "spool_share_of_plain": round(spool / plain, 4) if plain else None,
        "throughput_cost": round(1 - plain / cap, 4) if cap else None,
        "steps": steps,
    }


def record(path: Path, seconds: float) -> int:
    """A capture of the whole host's syscalls while a mixed workload runs; its events."""
    from secengine.sources.syscall import SyscallSource

    src = SyscallSource(ring_bytes=64 * 1024 * 1024, producer_rate=0)
    src.set_interest(None)
    spool = src.record_to(str(path))
    src.open()
    loop = "while :; do ls -la /etc /usr/bin > /dev/null; cat /etc/passwd > /dev/null; done"
    work = subprocess.Popen(["/bin/sh", "-c", loop])
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        src.read_batch()
        src.wait_if_idle(0.01)
    work.kill()
    work.wait()
    src.close()
    return spool.stats.events


#: the readers' environment: Python may keep its bytecode cache, as an installed package's
#: (PYTHONDONTWRITEBYTECODE would make every run compile the modules it imports again)
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _tree_env(tree: Path | None) -> dict[str, str]:
    """The environment that runs ``tree``'s secengine (None: this checkout's, installed)."""
    if tree is None:
        return _ENV
    return {**_ENV, "PYTHONPATH": str(tree / "src")}


#: secengine's command line, whichever tree ``PYTHONPATH`` names (the installed script's code)
_SECENGINE_OF_TREE = [
    sys.executable,
    "-c",
    "import sys; from secengine.cli import main; sys.exit(main())",
]


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of ``cmd``: on a shared machine the
    CPU time is the steadier measure."""
    c = _children_cpu()
    t = time.perf_counter()
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env or _ENV
    )
    return time.perf_counter() - t, _children_cpu() - c


#: events of the capture that measures a reader's fixed cost (sysdig refuses one without)
HEAD_EVENTS = 16


def _head(capture: Path, out: Path) -> None:
    """``capture``'s state tables and its first :data:`HEAD_EVENTS` events."""
    from secengine.capture.blocks import EVENT_BLOCKS, BlockReader
    from secengine.capture.replay import open_capture

    seen = 0
    with open(capture, "rb") as raw, open(out, "wb") as dst:
        reader = BlockReader(open_capture(raw), str(capture))
        for btype, _at, buf, start, end in reader.spans():
            if btype in EVENT_BLOCKS:
                seen += 1
                if seen > HEAD_EVENTS:
                    break
            dst.write(buf[start - 8 : end + 4])


def _count_events(capture: Path) -> int:
    from secengine.capture.blocks import EVENT_BLOCKS, BlockReader
    from secengine.capture.replay import open_capture

    with open(capture, "rb") as raw:
        reader = BlockReader(open_capture(raw), str(capture))
        return sum(1 for btype, *_ in reader.spans() if btype in EVENT_BLOCKS)


def replay(tmp: Path, capture: Path, rounds: int, trees: list[Path]) -> dict[str, Any]:
    """sysdig and ``secengine replay`` (this checkout's, then each of ``trees``' as
    ``secengine@NAME``) on the same capture, alternating."""
    events = _count_events(capture)
    empty = tmp / "head.scap"
    _head(capture, empty)
    rules = tmp / "filter.yaml"
    rules.write_text(
        f"- rule: bench\n  desc: bench\n  condition: {FILTER}\n"
        "  output: m %evt.num\n  priority: WARNING\n"
    )
    sysdig = shutil.which("sysdig")

    envs: dict[str, dict[str, str]] = {"secengine": _tree_env(None)}
    envs.update({f"secengine@{t.name}": _tree_env(t) for t in trees})

    def commands(cap: Path) -> dict[str, list[str]]:
        args = ["replay", str(cap), "-r", str(rules), "--json"]
        out = {"secengine": [SECENGINE, *args]}
        out.update({f"secengine@{t.name}": [*_SECENGINE_OF_TREE, *args] for t in trees})
        if sysdig:
            out["sysdig"] = [sysdig, "-r", str(cap), "-q", FILTER]
        return out

    whos = [*envs, "sysdig"]
    runs: dict[str, list[tuple[float, float]]] = {w: [] for w in whos}
    fixed: dict[str, list[tuple[float, float]]] = {w: [] for w in whos}
    for who, cmd in commands(empty).items():  # warm-up: bytecode cache, page cache
        _timed(cmd, envs.get(who))
    for _ in range(rounds):
        for who, cmd in commands(capture).items():
            runs[who].append(_timed(cmd, envs.get(who)))
        for who, cmd in commands(empty).items():
            fixed[who].append(_timed(cmd, envs.get(who)))
        print(f"  replay: {events} events, {runs}, fixed cost {fixed}", flush=True)
    out: dict[str, Any] = {
        "capture_events": events,
        "filter": FILTER,
        "runs_s": runs,
        "fixed_s": fixed,
    }
    for who, times in runs.items():
        if not times:
            continue
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        out[f"{who}_events_per_s"] = round(events / wall)
        out[f"{who}_events_per_cpu_s"] = round(events / cpu)
        fwall = statistics.median(w for w, _ in fixed[who])
        fcpu = statistics.median(c for _, c in fixed[who])
        out[f"{who}_fixed_cpu_s"] = round(fcpu, 3)
        rest = events - HEAD_EVENTS
        out[f"{who}_events_per_cpu_s_after_fixed"] = round(rest / max(cpu - fcpu, 1e-6))
        out[f"{who}_events_per_s_after_fixed"] = round(rest / max(wall - fwall, 1e-6))
    if runs["sysdig"]:
        for who in envs:
            tag = "" if who == "secengine" else who.removeprefix("secengine")
            for key in ("events_per_s", "events_per_cpu_s", "events_per_cpu_s_after_fixed"):
                out[f"ratio{tag}_{key}"] = round(out[f"{who}_{key}"] / out[f"sysdig_{key}"], 3)
    return out


def in_process_of_tree(tree: Path, capture: Path, rounds: int, skip: list[str]) -> dict[str, Any]:
    """The in-process rows of ``tree``'s secengine: this script in a process of its own
    (the tree's package on ``PYTHONPATH``)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, __file__, "--skip", "live", "--skip", "replay"]
        cmd += [a for s in skip for a in ("--skip", s)]
        cmd += ["--capture", str(capture), "--rounds", str(rounds), "--json", out.name]
        subprocess.run(cmd, check=True, env=_tree_env(tree), stdout=subprocess.DEVNULL)
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
    result.pop("meta", None)  # the caller's meta names the tree
    return result


#: a capture of the kind sysdig users share (every syscall of the activity: read, write,
#: mmap, fstat, generic events, procinfo), written by sysdig: falcosecurity/libs'
#: curl_google.scap. secengine cannot write one (its probe captures 75 syscalls, read and
#: write not among them), so this row replays libs' own, in process only (1,536 events:
#: a separate sysdig run would be all start-up)
SYSDIG_KIND = REPO / "tests" / "capture" / "data" / "curl_google.scap"


def bare_walk(capture: Path, rounds: int) -> float:
    """CPU µs per event of the least a Python reader of ``capture`` must do (the floor under
    the capture side): each block's header, its event's header and parameter lengths, the
    lengths' sum and the trailer checked, each enter kept by thread; no decoding, no state.
    Only plain V2 event blocks (what secengine and current libs write); the capture is read
    into memory first (plain, not gzip)."""
    import struct

    from secengine.capture.eventtable import EVENTS

    data = capture.read_bytes()
    head = struct.Struct("<IIHQQIHI").unpack_from
    u32 = struct.Struct("<I").unpack_from
    lens16 = [struct.Struct("<" + "H" * n) for n in range(64)]
    enters = [e.direction == ">" for e in EVENTS]

    def walk() -> tuple[float, int]:
        pending: dict[int, bytes] = {}
        pos, n, end = 0, 0, len(data)
        t = time.thread_time()
        while pos + 36 <= end:
            btype, total, _cpu, _ts, tid, _ln, etype, nparams = head(data, pos)
            if btype == 0x216 and nparams < 64:
                first = pos + 36
                lens = lens16[nparams].unpack_from(data, first)
                size = 2 * nparams + sum(lens)
                if first + size > pos + total - 4 or u32(data, pos + total - 4)[0] != total:
                    raise ValueError(f"bad block at {pos}")
                if etype < len(enters) and enters[etype]:
                    pending[tid] = data[first : first + size]
                n += 1
            pos += total
        return time.thread_time() - t, n

    best = min(walk() for _ in range(rounds))
    return round(best[0] / max(best[1], 1) * 1e6, 3)


class _Timer:
    """Wall time spent in the calls it wraps (``perf_counter``, a vDSO read:
    ``thread_time()`` is a system call, ~2 µs here, which would swamp a µs-long call)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0

    def wrap(self, fn: Any) -> Any:
        clock = time.perf_counter

        def wrapper(*a: Any) -> Any:
            t = clock()
            try:
                return fn(*a)
            finally:
                self.total += clock() - t
                self.calls += 1

        return wrapper

    @staticmethod
    def overhead(n: int = 100_000) -> tuple[float, float]:
        """What one timer adds per call: (inside the interval it measures, in all), the
        least of three tries (a preemption only adds)."""

        def nothing() -> None:
            return None

        clock = time.perf_counter
        inside, whole = [], []
        for _ in range(3):
            probe = _Timer()
            wrapped = probe.wrap(nothing)
            t = clock()
            for _ in range(n):
                nothing()
            bare = clock() - t
            t = clock()
            for _ in range(n):
                wrapped()
            whole.append((clock() - t - bare) / n)
            inside.append(probe.total / n)
        return min(inside), min(whole)


def in_process(capture: Path, rounds: int, profile: bool, repeat: int = 1) -> dict[str, Any]:
    """The replay loop in this process: CPU per capture event, and the share of the state
    machine and the rule engine in it (a small capture is replayed ``repeat`` times per
    round, each time through a fresh state machine and engine, as the command would)."""
    import cProfile
    import pstats

    from secengine import load_rules
    from secengine.engine import Engine
    from secengine.output import AlertFormatter
    from secengine.sources.base import rule_event_types
    from secengine.sources.replay import ReplaySource
    from secengine.state.tracker import StateTracker

    events = _count_events(capture) * repeat
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(
            f"- rule: bench\n  desc: bench\n  condition: {FILTER}\n"
            "  output: m %evt.num\n  priority: WARNING\n"
        )
        f.flush()
        ruleset = load_rules([f.name])
    timer = _Timer()
    clock = time.perf_counter

    def one(measure_shared: bool) -> tuple[float, int, float]:
        alerts = 0
        cpu = wall = 0.0
        for _ in range(repeat):
            engine = Engine(ruleset.rules, formatter=AlertFormatter(hostname="bench"))
            source = ReplaySource([str(capture)])
            source.set_interest(rule_event_types(engine.rules, "syscall"))
            process = timer.wrap(engine.process_batch) if measure_shared else engine.process_batch
            t, w = time.thread_time(), clock()
            for batch in source.batches():
                alerts += len(process(batch))
            cpu += time.thread_time() - t
            wall += clock() - w
        return cpu, alerts, wall

    cpus = [one(False)[0] for _ in range(rounds)]
    originals = {n: getattr(StateTracker, n) for n in ("apply", "close_fd", "touch")}
    for name, fn in originals.items():
        setattr(StateTracker, name, timer.wrap(fn))
    try:
        _cpu, alerts, wall_timed = one(True)
    finally:
        for name, fn in originals.items():
            setattr(StateTracker, name, fn)
    inside, whole = _Timer.overhead()
    # the share of the loop's time spent in the tracker and the engine, each timer's own
    # cost taken out (both sides are wall time of the same run: a preemption inflates both)
    share = (timer.total - timer.calls * inside) / (wall_timed - timer.calls * whole)
    cpu_event = statistics.median(cpus) / events
    out: dict[str, Any] = {
        "capture_events": events,
        "alerts": alerts,
        "cpu_s": [round(c, 3) for c in cpus],
        "events_per_cpu_s": round(events / statistics.median(cpus)),
        "us_per_event": round(cpu_event * 1e6, 3),
        # measured in a run of its own, with timers around the shared calls: an estimate
        "state_and_rules_share": round(share, 3),
        "state_and_rules_us_per_event": round(share * cpu_event * 1e6, 3),
        "capture_side_us_per_event": round((1 - share) * cpu_event * 1e6, 3),
    }
    if repeat == 1 and capture.read_bytes()[:2] != b"\x1f\x8b":
        out["bare_walk_us_per_event"] = bare_walk(capture, rounds)
    if profile:
        prof = cProfile.Profile()
        prof.runcall(one, False)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return out


def _commit(tree: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()[:100] or "?"


def _meta(trees: list[Path]) -> dict[str, Any]:
    """When, on what, under which load (the machine is shared: the load average says how
    much the wall times mean)."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": _commit(REPO),
        "trees": {t.name: _commit(t) for t in trees},
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rate", type=int, default=100_000, help="storm records/s (default 100k)")
    p.add_argument("--seconds", type=float, default=3.0, help="length of one storm step")
    p.add_argument("--capture", type=Path, help="a capture to replay (default: record one)")
    p.add_argument("--record-seconds", type=float, default=5.0)
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("live", "replay", "in-process", "sysdig-kind"),
    )
    p.add_argument("--profile", action="store_true", help="cProfile the in-process replay")
    p.add_argument(
        "--tree",
        action="append",
        type=Path,
        default=[],
        help="also measure the secengine of this checkout (e.g. a `git worktree` of main): "
        "replay rows alternating with this one's, in-process rows in a process of its own",
    )
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args()
    results: dict[str, Any] = {"meta": _meta(args.tree)}
    with tempfile.TemporaryDirectory(prefix="secengine-capture-bench-") as d:
        tmp = Path(d)
        if "live" not in args.skip:
            print("live path: storm, source + state + stable rules, without / with a capture")
            results["live"] = live(tmp, args.rounds, args.rate, args.seconds)
        if "replay" not in args.skip:
            cap = args.capture
            if cap is None:
                cap = tmp / "recorded.scap"
                print(f"recording {args.record_seconds} s of the host's syscalls")
                record(cap, args.record_seconds)
            results["replay"] = replay(tmp, cap, args.rounds, args.tree)
        if "in-process" not in args.skip:
            cap = args.capture or tmp / "recorded.scap"
            if not cap.exists():
                print(f"recording {args.record_seconds} s of the host's syscalls")
                record(cap, args.record_seconds)
            results["in_process"] = in_process(cap, args.rounds, args.profile)
        if "sysdig-kind" not in args.skip:
            print(f"in process: {SYSDIG_KIND.name} (sysdig-written, every syscall)")
            results["in_process_sysdig_kind"] = {
                "capture": f"falcosecurity/libs {SYSDIG_KIND.name}",
                **in_process(SYSDIG_KIND, args.rounds, args.profile, repeat=100),
            }
        for tree in args.tree:
            if "in-process" in args.skip and "sysdig-kind" in args.skip:
                break
            cap = args.capture or tmp / "recorded.scap"
            print(f"in process: {tree}")
            for name, part in in_process_of_tree(tree, cap, args.rounds, args.skip).items():
                results[f"{name}@{tree.name}"] = part
    results["meta"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    skip = ("steps", "runs_s", "fixed_s", "cpu_s")
    summary = {
        f"{name}.{k}": v for name, part in results.items() for k, v in part.items() if k not in skip
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
