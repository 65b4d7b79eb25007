"""Engine throughput with Falco's stable rules, and replay end to end against the parse floor.

Run: ``python bench/engine_bench.py [--events N] [--rules FILE]`` (``make bench``).

Measured side by side in one run, on one core:
1. events/s through ``Engine.process`` on events already built in memory;
2. ``secengine replay`` end to end (a subprocess, as users run it) on a JSONL
   file of the same events, against the floor of merely reading the file and
   parsing each line with orjson in this process. Rule loading is reported
   separately and subtracted from the replay time.

Results go to ``bench/results/engine_bench.json`` and are printed as a table.

Before/after: ``--tree A --tree B`` runs the whole measurement once per tree
and round, alternating A B A B (``bench/trees.py``), and reports each tree's
best round and the ratios B/A of the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from trees import label, run_in_tree
from workload import events as make_events

DEFAULT_RULES = ROOT.parent / "shared" / "rules-upstream" / "falco_rules.yaml"


TARGETS = {"engine_api_events_per_s": 1_000_000, "replay_vs_floor": 0.6}
#: The figures compared between trees (all: higher is better).
COMPARED = (
    "engine_api_events_per_s",
    "engine_api_cpu_events_per_s",
    "engine_api_streaming_events_per_s",
    "parse_floor_events_per_s",
    "replay_events_per_s",
    "replay_vs_floor",
    "replay_in_process_vs_floor",
)


def cpu_seconds(fn) -> float:  # type: ignore[no-untyped-def]
    """The process's CPU time running ``fn`` (other load on the machine does not add to it)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


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
    ap.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="a checkout to measure; twice or more: side by side, alternating",
    )
    ap.add_argument("--no-replay", action="store_true", help="measure the engine API only")
    args = ap.parse_args()
    if args.tree:
        return side_by_side(args)

    from secengine import load_rules  # the public name, in every tree compared
    from secengine.engine import Engine
    from secengine.events import Event, FieldValues
    from secengine.output import AlertFormatter

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
    # Wall time (the target's measure) and this process's CPU time of the same rounds:
    # on a shared machine the CPU time leaves out the time other processes held the core.
    api_s = api_cpu = float("inf")
    for _ in range(args.rounds):
        built = build()
        t, c = time.perf_counter(), time.process_time()
        engine.process_batch(built)
        api_cpu = min(api_cpu, time.process_time() - c)
        api_s = min(api_s, time.perf_counter() - t)
        del built
    api_rate = len(records) / api_s
    api_cpu_rate = len(records) / max(api_cpu, 1e-9)

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
    if args.no_replay:
        return report(
            args, ruleset, load_s, records, alerts, (api_rate, api_cpu_rate), stream_rate, None
        )
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

        # The replay path in this process (ReplaySource + a fresh Engine, which
        # builds its buckets on the first events as the CLI does), in CPU time,
        # alternating with the floor: no start-up to subtract, so much less
        # noise than the subprocess figure below on a loaded machine.
        from secengine.sources.replay import ReplaySource

        def replay_in_process() -> None:
            process_batch = Engine(ruleset).process_batch
            for batch in ReplaySource([path]).batches():
                process_batch(batch)

        # As `secengine replay` does: the long-lived heap (here also the
        # workload's records) kept out of the collector's way.
        gc.collect()
        gc.freeze()
        floor_cpu = replay_cpu = float("inf")
        for _ in range(args.rounds):
            floor_cpu = min(floor_cpu, cpu_seconds(parse_floor))
            replay_cpu = min(replay_cpu, cpu_seconds(replay_in_process))
        cmd = [sys.executable, "-m", "secengine.cli", "replay", str(path), "-r", str(args.rules)]
        empty = Path(tmp) / "empty.jsonl"
        empty.write_bytes(b"")
        startup_s = best_of(
            args.rounds,
            lambda: subprocess.run(
                cmd[:4] + [str(empty)] + cmd[5:],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            ),
        )
        replay_s = best_of(
            args.rounds,
            lambda: subprocess.run(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            ),
        )
    replay_net_s = max(replay_s - startup_s, 1e-9)
    replay = {
        "replay_startup_seconds": round(startup_s, 3),
        "replay_seconds_total": round(replay_s, 3),
        "replay_events_per_s": round(len(records) / replay_net_s),
        "parse_floor_events_per_s": round(len(records) / floor_s),
        "replay_vs_floor": round(floor_s / replay_net_s, 3),
        "replay_in_process_vs_floor": round(floor_cpu / replay_cpu, 3),
    }
    return report(
        args, ruleset, load_s, records, alerts, (api_rate, api_cpu_rate), stream_rate, replay
    )


def report(
    args: argparse.Namespace,
    ruleset: Any,
    load_s: float,
    records: list[Any],
    alerts: int,
    api_rates: tuple[float, float],
    stream_rate: float,
    replay: dict[str, Any] | None,
) -> int:
    api_rate, api_cpu_rate = api_rates
    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rules_file": args.rules.name,
        "rules_loaded": len(ruleset.rules),
        "rule_load_seconds": round(load_s, 3),
        "events": len(records),
        "alerts": alerts,
        "engine_api_events_per_s": round(api_rate),
        "engine_api_cpu_events_per_s": round(api_cpu_rate),
        "engine_api_streaming_events_per_s": round(stream_rate),
        **(replay or {}),
        "targets": TARGETS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"rules: {args.rules.name} ({len(ruleset.rules)} rules, loaded in {load_s:.2f}s)")
    print(f"events: {len(records)} ({alerts} alerts)")
    print(
        f"engine API, cold     {api_rate:>12,.0f} events/s   (target 1,000,000; "
        f"{len(records):,} distinct pre-built events)"
    )
    print(f"engine API, cold     {api_cpu_rate:>12,.0f} events per CPU second")
    print(
        f"engine API, stream   {stream_rate:>12,.0f} events/s   (each event evaluated right "
        "after it is built)"
    )
    if replay is not None:
        print(f"orjson parse floor   {replay['parse_floor_events_per_s']:>12,} events/s")
        print(
            f"secengine replay     {replay['replay_events_per_s']:>12,} events/s   "
            f"= {replay['replay_vs_floor']:.2f} x floor (target {TARGETS['replay_vs_floor']}; "
            f"startup {replay['replay_startup_seconds']:.2f}s excluded)"
        )
        print(
            f"replay in process    {replay['replay_in_process_vs_floor']:>12.3f} x floor "
            "(CPU time, best of rounds)"
        )
    print(f"written to {args.out}")
    return 0


def side_by_side(args: argparse.Namespace) -> int:
    """Each tree measured ``--rounds`` times, alternating; each figure is a tree's best round."""
    script = Path(__file__).resolve()
    one = ["--events", str(args.events), "--rounds", "1", "--rules", str(args.rules)]
    if args.no_replay:
        one.append("--no-replay")
    runs: dict[str, list[dict[str, Any]]] = {label(t): [] for t in args.tree}
    load_before = [round(x, 2) for x in os.getloadavg()]
    for r in range(args.rounds):
        for tree in args.tree:
            print(f"round {r + 1}: {label(tree)}", flush=True)
            runs[label(tree)].append(run_in_tree(script, one, tree))
    best: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        best[name] = {m: max(res[m] for res in results) for m in COMPARED if m in results[0]}
    first = next(iter(best.values()))
    result = {
        "machine": runs[next(iter(runs))][0]["machine"],
        "events": args.events,
        "rounds": args.rounds,
        #: 1, 5 and 15 minute load averages before the first round and after the last
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "rules_file": args.rules.name,
        "targets": TARGETS,
        "trees": best,
        "runs": runs,
        "ratio_to_first": {
            name: {m: round(v / first[m], 3) for m, v in b.items()} for name, b in best.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    names = list(best)
    print(f"{'best of ' + str(args.rounds) + ' rounds':34}" + "".join(f"{n:>22}" for n in names))
    for m in COMPARED:
        if m in first:
            print(
                f"{m:34}"
                + "".join(f"{best[n][m]:>22,}" for n in names)
                + (f"   x{best[names[-1]][m] / first[m]:.3f}" if len(names) > 1 else "")
            )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
