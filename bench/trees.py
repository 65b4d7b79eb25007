"""Run a benchmark against several source trees, side by side, in one run.

A before/after figure is only honest when both sides meet the same machine:
this host is shared and its speed drifts by more than the changes we measure.
So the scripts of ``bench/`` accept ``--tree DIR`` (twice or more): the script
then runs itself once per tree and round, alternating the trees (A B A B ...),
each time in a fresh interpreter whose ``secengine`` is imported from
``DIR/src``. The benchmark code is this checkout's for every tree, so only the
measured library differs. A tree is any checkout of the repository, e.g.
``git worktree add /tmp/main main`` or ``git archive main | tar -x -C /tmp/main``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["instructions", "label", "run_in_tree", "tree_env"]


def label(tree: Path) -> str:
    """A short name for a tree in tables: its directory name and, if any, git commit."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    name = tree.resolve().name
    return f"{name}@{commit}" if commit else name


def tree_env(tree: Path) -> dict[str, str]:
    """The environment of a process that imports ``secengine`` from ``tree``."""
    src = tree.resolve() / "src"
    if not (src / "secengine").is_dir():
        raise SystemExit(f"{tree}: not a secengine checkout (no src/secengine)")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def instructions(
    script: str, args: Sequence[str], tree: Path, env: dict[str, str] | None = None
) -> int:
    """Instructions (valgrind) of ``script`` run with ``args`` as a worker importing
    ``secengine`` from ``tree``: a count that does not depend on the machine's load. The hash
    seed is fixed, so that dict and set layouts match between runs."""
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        script,
        "--worker",
        *args,
    ]
    environ = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(tree.resolve() / "src"),
        **(env or {}),
    }
    out = subprocess.run(cmd, capture_output=True, text=True, env=environ, check=True, cwd="/tmp")
    m = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if m is None:
        raise SystemExit(f"no instruction count from valgrind:\n{out.stderr[-2000:]}")
    return int(m.group(1).replace(",", ""))


def run_in_tree(
    script: Path, args: Sequence[str], tree: Path, out_flag: str = "--out"
) -> dict[str, Any]:
    """Run ``script args --out FILE`` with ``secengine`` from ``tree``; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            [sys.executable, str(script), *args, out_flag, str(out)], env=tree_env(tree), check=True
        )
        result: dict[str, Any] = json.loads(out.read_text())
        return result
