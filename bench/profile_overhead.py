"""What recording a least-privilege profile costs: the syscall microbenchmark under the recorder.

Run as root: ``python bench/profile_overhead.py [--rounds 5] [--json out.json]``.
The microbenchmark is the syscall source's (``bench/syscall_overhead.py``:
C, ns per ``getppid`` call and per ``open``+``close`` pair, wall clock and the
process's own CPU time, kernel included). Configurations, interleaved round
by round:

- ``none``: no BPF program;
- ``noop``: the recorder's ``pf_noop``, a ``tp_btf/sys_exit`` program that
  returns at once (the floor any such program costs);
- ``other``: the recorder attached and recording another workload (a
  followed ``sleep``): what every other process on the host pays;
- ``other+mntns``: the same with a mount-namespace target too (``attach``
  mode), so unfollowed tasks also look their mount namespace up;
- ``followed``: the benchmark itself is the recorded workload (its process
  followed from its first syscall, every syscall setting a bit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from syscall_overhead import MICRO, _compile

CONFIGS = ("none", "noop", "other", "other+mntns", "followed")
WORK = (("getppid", 2_000_000), ("open_close", 200_000))


def _run(exe: str, kind: str, n: int, recorder: Any = None) -> tuple[float, float]:
    """One microbenchmark run; followed by ``recorder`` from its first syscall when given."""
    if recorder is None:
        out = subprocess.run([exe, kind, str(n)], capture_output=True, text=True, check=True)
        wall, cpu = out.stdout.split()
        return float(wall), float(cpu)
    from secengine.profile import layout as L
    from secengine.profile.launch import HeldChild

    with tempfile.NamedTemporaryFile("r") as result:
        child = HeldChild(["sh", "-c", f'exec "$0" "$@" > {result.name}', exe, kind, str(n)])
        slot = recorder.follow(child.pid, phase=L.PHASE_WORK)
        child.release()
        assert child.wait() == 0
        recorder.stop(slot)
        wall, cpu = result.read().split()
    return float(wall), float(cpu)


def micro(rounds: int) -> dict[str, Any]:
    from secengine.profile.capabilities import opspec
    from secengine.profile.launch import HeldChild
    from secengine.profile.recorder import NOOP_PROGRAM, Recorder

    tmp = Path(tempfile.mkdtemp(prefix="secengine-profile-bench-"))
    exe = _compile(tmp, "micro", MICRO)
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    for r in range(rounds):
        for config in CONFIGS:
            rec = None
            other = None
            mntns = None
            if config == "noop":
                rec = Recorder(programs=(NOOP_PROGRAM,))
            elif config != "none":
                rec = Recorder(opspec=opspec())
                other = HeldChild(["sleep", "600"])
                rec.follow(other.pid)
                other.release()
                if config == "other+mntns":
                    mntns = subprocess.Popen(["unshare", "--mount", "sleep", "600"])
                    import time

                    time.sleep(0.2)
                    rec.watch_mntns(os.stat(f"/proc/{mntns.pid}/ns/mnt").st_ino)
            try:
                values = {
                    kind: _run(exe, kind, n, rec if config == "followed" else None)
                    for kind, n in WORK
                }
            finally:
                if other is not None:
                    other.signal()
                    other.wait()
                if mntns is not None:
                    mntns.terminate()
                    mntns.wait()
                if rec is not None:
                    rec.close()
            for kind, (wall, cpu) in values.items():
                per = results.setdefault(kind, {}).setdefault(config, {"wall": [], "cpu": []})
                per["wall"].append(wall)
                per["cpu"].append(cpu)
            print(
                f"  round {r + 1} {config:12}: "
                + "  ".join(
                    f"{k} {w:.0f} ns wall / {c:.0f} ns cpu" for k, (w, c) in values.items()
                ),
                flush=True,
            )
    return {
        kind: {c: {m: statistics.median(v) for m, v in per.items()} for c, per in by.items()}
        for kind, by in results.items()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--json", type=Path, default=REPO / "bench" / "results" / "profile_overhead.json"
    )
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root: the recorder loads BPF programs", file=sys.stderr)
        return 2
    out = {"rounds": args.rounds, "micro": micro(args.rounds)}
    print("medians (CPU ns per call or pair):")
    for kind, by in out["micro"].items():
        print(f"  {kind:10} " + "  ".join(f"{c} {v['cpu']:.0f}" for c, v in by.items()))
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
