"""Engine cost per event, hot (in the CPU caches) and cold (fresh events), per event type.

Run: ``python bench/engine_hot_cold.py [--tree A --tree B] [--rounds N]``.

``bench/engine_bench.py`` gives the figure of issue 13 (the engine API on
200,000 pre-built events: cold). This script says where it goes, in CPU time
(best of 5), for the workload's mix and for each family of event types:

- *hot*: the same 1,000 events evaluated 200 times: the engine's own work;
- *cold*: the events of that family among 200,000 workload events, freshly
  built, evaluated once: the same work plus waiting for memory (each event's
  field table is read for the first time since it was built).

With ``--tree`` it runs once per tree and round, alternating (``bench/trees.py``).
Results go to ``bench/results/engine_hot_cold.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from trees import label, run_in_tree
from workload import events as make_events

RULES = HERE.parent.parent / "shared" / "rules-upstream" / "falco_rules.yaml"
FAMILIES = ("", "execve", "open", "connect")  # "": the whole mix


def measure(rules: Path) -> dict[str, dict[str, float]]:
    """ns per event, hot and cold, for the mix and each family (this process's tree)."""
    from secengine import load_rules
    from secengine.engine import Engine
    from secengine.events import Event, FieldValues
    from secengine.output import AlertFormatter

    records = list(make_events(200_000))

    def build(rs: list[dict[str, Any]]) -> list[Event]:
        return [Event(r["source"], r["time"], FieldValues(r["fields"])) for r in rs]

    engine = Engine(load_rules([rules]), formatter=AlertFormatter(hostname="bench"))
    for _ in range(2):  # builds every bucket and compiles the batch loop, as a running agent has
        engine.process_batch(build(records))
    out: dict[str, dict[str, float]] = {}
    for family in FAMILIES:
        chosen = [r for r in records if r["fields"]["evt.type"].startswith(family)]
        few = build(chosen[:1000])
        engine.process_batch(few)
        hot = cold = float("inf")
        for _ in range(5):
            t = time.process_time()
            for _ in range(200):
                engine.process_batch(few)
            hot = min(hot, (time.process_time() - t) / 200 / len(few))
        for _ in range(3):
            fresh = build(chosen)
            gc.collect()
            t = time.process_time()
            engine.process_batch(fresh)
            cold = min(cold, (time.process_time() - t) / len(fresh))
            del fresh
        out[family or "mix"] = {"hot_ns": round(hot * 1e9), "cold_ns": round(cold * 1e9)}
        print(
            f"{family or 'mix':8} hot {hot * 1e9:6.0f} ns   cold {cold * 1e9:6.0f} ns", flush=True
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tree", type=Path, action="append", default=[])
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the trees")
    ap.add_argument("--rules", type=Path, default=RULES)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "engine_hot_cold.json")
    args = ap.parse_args()
    if not args.tree:
        result: dict[str, Any] = {"families": measure(args.rules)}
    else:
        runs: dict[str, list[dict[str, Any]]] = {label(t): [] for t in args.tree}
        load_before = [round(x, 2) for x in os.getloadavg()]
        for r in range(args.rounds):
            for tree in args.tree:
                print(f"round {r + 1}: {label(tree)}", flush=True)
                runs[label(tree)].append(
                    run_in_tree(Path(__file__), ["--rules", str(args.rules)], tree)
                )
        result = {
            "load_average": {
                "before": load_before,
                "after": [round(x, 2) for x in os.getloadavg()],
            },
            "runs": runs,
        }
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
