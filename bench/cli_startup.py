"""CLI start-up, side by side: wall time and modules imported by a few commands.

Each round runs every command once per tree, alternating the trees (A B A B:
this host is shared and drifts), in a fresh interpreter whose ``secengine``
comes from ``TREE/src`` (:func:`trees.tree_env`), from the directory of the
first tree (its ``rules/``). The modules are counted once per command and
tree with ``python -X importtime``. Example::

    git archive main | tar -x -C /tmp/main
    .venv/bin/python bench/cli_startup.py --tree /tmp/main --tree . --rounds 9
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from trees import label, tree_env

COMMANDS = (("fields", "-N"), ("validate", "-r", "rules/"), ("--help",), ("fields", "--help"))


def _run(cmd: tuple[str, ...], tree: Path, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "secengine.cli", *cmd],
        env=tree_env(tree),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started


def _modules(cmd: tuple[str, ...], tree: Path, cwd: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "secengine.cli", *cmd],
        env=tree_env(tree),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr.count("import time:") - 1  # less the header line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, action="append", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = ap.parse_args()
    cwd = args.tree[0].resolve()
    results = []
    for cmd in COMMANDS:
        times: dict[Path, list[float]] = {t: [] for t in args.tree}
        for _ in range(args.rounds):
            for tree in args.tree:
                times[tree].append(_run(cmd, tree, cwd))
        row = {"command": " ".join(cmd), "trees": {}}
        for tree, ts in times.items():
            row["trees"][label(tree)] = {
                "median_ms": round(statistics.median(ts) * 1000),
                "min_ms": round(min(ts) * 1000),
                "modules": _modules(cmd, tree, cwd),
            }
        results.append(row)
        print(
            f"{row['command']:22} "
            + "  ".join(
                f"{name}: {r['median_ms']} ms (min {r['min_ms']}), {r['modules']} modules"
                for name, r in row["trees"].items()
            )
        )
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
