"""Instructions per event of the rule engine and of replay, counted by valgrind: load-independent.

Run: ``python bench/engine_instructions.py [--tree A --tree B] [--events N]``
(needs ``valgrind``; about 40 s per count).

On a shared machine wall-clock rates drift by more than the changes measured;
instruction counts do not (the same process gives the same count to a few
parts in a million). Each count runs this script under ``valgrind --tool=cachegrind
--cache-sim=no`` with ``PYTHONHASHSEED=0`` and ``PYTHONPATH`` set to the tree,
twice, and takes the difference:

- engine, per event type: ``N`` workload events (``bench/workload.py``) built,
  then evaluated twice by an engine whose buckets two first passes over 20,000
  events have built (and compiled again where they do so after a while), minus the same process building the events without
  evaluating them, divided by ``2N``. The collector runs after building, so
  that it does not charge one side for the other's garbage.
- engine one event at a time: the same events of the whole mix handed to
  ``Engine.process`` one by one, as the live source does (each event is
  evaluated before the next record changes the state), minus building them.
- replay: ``ReplaySource`` and a fresh ``Engine`` (which builds its buckets on
  the first events, as ``secengine replay`` does) over a JSONL file of
  ``--replay-events`` events, and the orjson floor (read the file, parse each
  line), each minus a process that does neither; the ratio floor/replay is
  the measure of issue 13's replay target.

Results go to ``bench/results/engine_instructions.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from trees import instructions

RULES = ROOT.parent / "shared" / "rules-upstream" / "falco_rules.yaml"
TYPES = ("all", "execve", "open", "connect")


def worker(mode: str, types: str, n: int, rules: Path) -> None:
    """The measured process: ``build``/``proc`` (engine) or ``none``/``floor``/``replay``."""
    sys.path.insert(0, str(HERE))
    import orjson
    from workload import events as make_events

    from secengine import load_rules
    from secengine.engine import Engine
    from secengine.events import Event, FieldValues
    from secengine.output import AlertFormatter

    ruleset = load_rules([rules])
    if mode in ("none", "floor", "replay"):
        from secengine.sources.replay import ReplaySource

        path = Path(os.environ["ENGINE_INSTRUCTIONS_FILE"])
        gc.collect()
        gc.freeze()  # as `secengine replay` does
        if mode == "floor":
            loads = orjson.loads
            with path.open("rb") as fh:
                for line in fh:
                    loads(line)
        elif mode == "replay":
            process_batch = Engine(ruleset).process_batch
            for batch in ReplaySource([path]).batches():
                process_batch(batch)
        return
    warm = list(make_events(20_000))
    records = (
        warm if types == "all" else [r for r in warm if r["fields"]["evt.type"].startswith(types)]
    )
    records = records[:n]
    engine = Engine(ruleset, formatter=AlertFormatter(hostname="bench"))
    for _ in range(
        2
    ):  # builds every bucket and compiles what they compile later, as a running agent has
        engine.process_batch(
            [Event(r["source"], r["time"], FieldValues(r["fields"])) for r in warm]
        )
    for _ in range(2):
        built = [Event(r["source"], r["time"], FieldValues(r["fields"])) for r in records]
        gc.collect()
        if mode == "proc":
            engine.process_batch(built)
        elif mode == "one":  # as a live source hands its events over: one at a time
            process = engine.process
            for ev in built:
                process(ev)
        del built


def count(tree: Path, args: list[str], env: dict[str, str] | None = None) -> int:
    """Instructions of this script run as a worker with ``args`` on ``tree``."""
    return instructions(__file__, args, tree, env)


def measure(tree: Path, n: int, replay_n: int, replay_file: Path, rules: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for t in TYPES:
        build = count(tree, ["build", t, str(n), str(rules)])
        proc = count(tree, ["proc", t, str(n), str(rules)])
        result[f"engine_{t}"] = round((proc - build) / (2 * n))
        print(
            f"{tree}: engine, {t} events: {result[f'engine_{t}']:,} instructions per event",
            flush=True,
        )
    build = count(tree, ["build", "all", str(n), str(rules)])
    one = count(tree, ["one", "all", str(n), str(rules)])
    result["engine_one_at_a_time_all"] = round((one - build) / (2 * n))
    print(
        f"{tree}: engine, events one at a time (Engine.process): "
        f"{result['engine_one_at_a_time_all']:,} instructions per event",
        flush=True,
    )
    env = {"ENGINE_INSTRUCTIONS_FILE": str(replay_file)}
    base, floor, replay = (
        count(tree, [m, "all", "0", str(rules)], env) for m in ("none", "floor", "replay")
    )
    result["floor_per_event"] = round((floor - base) / replay_n)
    result["replay_per_event"] = round((replay - base) / replay_n)
    result["replay_vs_floor"] = round((floor - base) / (replay - base), 3)
    print(
        f"{tree}: replay {result['replay_per_event']:,} instructions per event, floor "
        f"{result['floor_per_event']:,}: {result['replay_vs_floor']} of the floor",
        flush=True,
    )
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--worker", nargs=4, metavar=("MODE", "TYPES", "N", "RULES"), help=argparse.SUPPRESS
    )
    ap.add_argument("--tree", type=Path, action="append", default=[])
    ap.add_argument(
        "--events", type=int, default=2000, help="events per engine count (of one type)"
    )
    ap.add_argument("--replay-events", type=int, default=20_000)
    ap.add_argument("--rules", type=Path, default=RULES)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "engine_instructions.json")
    args = ap.parse_args()
    if args.worker:
        mode, types, n, rules = args.worker
        worker(mode, types, int(n), Path(rules))
        return 0
    if args.events > 2000:
        print(
            "--events: the workload's first 20,000 events hold about 2,000 connect events",
            file=sys.stderr,
        )
    sys.path.insert(0, str(HERE))
    import orjson
    from workload import events as make_events

    replay_file = Path(f"/tmp/engine_instructions_{args.replay_events}.jsonl")
    with replay_file.open("wb") as fh:
        for r in make_events(args.replay_events):
            fh.write(orjson.dumps(r) + b"\n")
    trees = args.tree or [ROOT]
    with ThreadPoolExecutor(len(trees)) as pool:  # one valgrind per tree at a time
        futures = {
            str(t): pool.submit(
                measure, t.resolve(), args.events, args.replay_events, replay_file, args.rules
            )
            for t in trees
        }
        results = {t: f.result() for t, f in futures.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"events": args.events, "replay_events": args.replay_events, "trees": results}, indent=2
        )
        + "\n"
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
