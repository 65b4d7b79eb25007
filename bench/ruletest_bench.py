"""How long ``secengine test`` takes over the upstream conformance pack (target: under 5 s).

Run: ``python bench/ruletest_bench.py [--rounds N] [--pack DIR]`` (part of ``make bench``).

Measured in one run:
1. ``secengine test tests/upstream/`` end to end, as users run it (a
   subprocess: interpreter start-up, imports, loading Falco's rules, every
   case), best of N;
2. in this process, where that time goes: reading and validating the test
   files, loading and compiling the rules once, and running the cases.

Results go to ``bench/results/ruletest_bench.json`` and are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_SECONDS = 5.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pack", type=Path, default=ROOT / "tests" / "upstream")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "ruletest_bench.json")
    args = ap.parse_args()

    # 1. end to end, as a user runs it
    best = float("inf")
    for _ in range(args.rounds):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "secengine.cli", "test", str(args.pack)],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        best = min(best, time.perf_counter() - started)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            return 1
    summary = proc.stdout.strip().splitlines()[-1].strip("= ")

    # 2. the parts, in this process (imports done first so they are not counted)
    from secengine.testing.loader import discover, load_test_file
    from secengine.testing.runner import RuleTestRunner

    t0 = time.perf_counter()
    files = discover([args.pack])
    loaded = [load_test_file(p) for p in files]
    t1 = time.perf_counter()
    runner = RuleTestRunner()
    for tf in loaded:
        runner.context(tf)
    t2 = time.perf_counter()
    cases = 0
    for tf in loaded:
        for case in tf.cases:
            assert runner.run_case(tf, case).passed
            cases += 1
    t3 = time.perf_counter()

    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "pack": str(args.pack.relative_to(ROOT))
        if args.pack.is_relative_to(ROOT)
        else str(args.pack),
        "test_files": len(files),
        "cases": cases,
        "cli_seconds_best": round(best, 3),
        "cli_summary": summary,
        "read_and_validate_seconds": round(t1 - t0, 3),
        "load_rules_seconds": round(t2 - t1, 3),
        "run_cases_seconds": round(t3 - t2, 3),
        "target_seconds": TARGET_SECONDS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"secengine test {result['pack']}: {best:.2f}s end to end (best of {args.rounds}; "
        f"target < {TARGET_SECONDS:.0f}s) - {summary}"
    )
    print(f"  read + validate {len(files)} test files  {t1 - t0:6.3f}s")
    print(f"  load + compile the rules once   {t2 - t1:6.3f}s")
    print(f"  run {cases} cases                   {t3 - t2:6.3f}s")
    return 0 if best < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
