"""Engine throughput with Falco's stable rules, and replay end to end against the parse floor.

Run: ``python bench/engine_bench.py [--events N] [--rules FILE]`` (``make bench``).

Measured side by side in one run, on one core:
1. events/s through ``Engine.process`` on events already built in memory;
2. ``secengine replay`` end to end (a subprocess, as users run it) on a JSONL
   file of the same events, against the floor of merely reading the file and
   parsing each line with orjson in this process. Rule loading is reported
   separately and subtracted from the replay time.

Results go to ``bench/results/engine_bench.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from workload import events as make_events

DEFAULT_RULES = ROOT.parent / "shared" / "rules-upstream" / "falco_rules.yaml"


def best_of(rounds: int, fn) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "engine_bench.json")
    args = ap.parse_args()

    from secengine.engine import Engine
    from secengine.events import Event, FieldValues
    from secengine.output import AlertFormatter
    from secengine.ruleset import load_rules

    t = time.perf_counter()
    ruleset = load_rules([args.rules])
    load_s = time.perf_counter() - t
    if not ruleset.successful:
        print(ruleset.render_text(), file=sys.stderr)
        return 1
    records = list(make_events(args.events))

    # 1. Engine API on in-memory events. Every round evaluates freshly built
    #    events (an event is evaluated once in real use; re-evaluating the same
    #    objects would measure values already looked up). Two working sets:
    #    all events built before timing (100k+ dicts, cold in the CPU caches)
    #    and a stream where each event is evaluated right after it is built, as
    #    a live source delivers them (build+process minus build-only).
    def build() -> list[Event]:
        return [Event(r["source"], r["time"], FieldValues(r["fields"])) for r in records]

    engine = Engine(ruleset, formatter=AlertFormatter(hostname="bench"))
    alerts = len(engine.process_batch(build()))  # also builds every bucket, as a running agent has
    api_s = float("inf")
    for _ in range(args.rounds):
        built = build()
        t = time.perf_counter()
        engine.process_batch(built)
        api_s = min(api_s, time.perf_counter() - t)
        del built
    api_rate = len(records) / api_s

    def build_only() -> None:
        for r in records:
            Event(r["source"], r["time"], FieldValues(r["fields"]))

    def build_and_process() -> None:
        process = engine.process
        for r in records:
            process(Event(r["source"], r["time"], FieldValues(r["fields"])))

    build_s = best_of(args.rounds, build_only)
    stream_s = best_of(args.rounds, build_and_process)
    stream_rate = len(records) / max(stream_s - build_s, 1e-9)

    # 2. Replay end to end vs. the orjson parse floor, same file, same run.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with path.open("wb") as fh:
            for r in records:
                fh.write(orjson.dumps(r) + b"\n")

        def parse_floor() -> None:
            loads = orjson.loads
            with path.open("rb") as fh:
                for line in fh:
                    loads(line)

        floor_s = best_of(args.rounds, parse_floor)
        cmd = [sys.executable, "-m", "secengine.cli", "replay", str(path), "-r", str(args.rules)]
        empty = Path(tmp) / "empty.jsonl"
        empty.write_bytes(b"")
        startup_s = best_of(args.rounds, lambda: subprocess.run(
            cmd[:4] + [str(empty)] + cmd[5:], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, check=True))
        replay_s = best_of(args.rounds, lambda: subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True))
    replay_net_s = max(replay_s - startup_s, 1e-9)
    floor_rate = len(records) / floor_s
    replay_rate = len(records) / replay_net_s

    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count()},
        "rules_file": args.rules.name,
        "rules_loaded": len(ruleset.rules),
        "rule_load_seconds": round(load_s, 3),
        "events": len(records),
        "alerts": alerts,
        "engine_api_events_per_s": round(api_rate),
        "engine_api_streaming_events_per_s": round(stream_rate),
        "replay_startup_seconds": round(startup_s, 3),
        "replay_seconds_total": round(replay_s, 3),
        "replay_events_per_s": round(replay_rate),
        "parse_floor_events_per_s": round(floor_rate),
        "replay_vs_floor": round(replay_rate / floor_rate, 3),
        "targets": {"engine_api_events_per_s": 1_000_000, "replay_vs_floor": 0.5},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"rules: {args.rules.name} ({len(ruleset.rules)} rules, loaded in {load_s:.2f}s)")
    print(f"events: {len(records)} ({alerts} alerts)")
    print(f"engine API, cold     {api_rate:>12,.0f} events/s   (target 1,000,000; "
          f"{len(records):,} distinct pre-built events)")
    print(f"engine API, stream   {stream_rate:>12,.0f} events/s   (each event evaluated right "
          "after it is built)")
    print(f"orjson parse floor   {floor_rate:>12,.0f} events/s")
    print(f"secengine replay     {replay_rate:>12,.0f} events/s   "
          f"= {replay_rate / floor_rate:.2f} x floor (target 0.50; startup {startup_s:.2f}s excluded)")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
