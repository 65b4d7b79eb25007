"""Runtime init baselines: the syscalls an OCI runtime makes under the container's filter.

Between installing the container's seccomp filter and ``execve`` of the
entrypoint, the runtime's init process (``runc init``, crun's child) makes a
few syscalls of its own: they must be in every profile or the container does
not start. ``profile run`` records them with the workload; ``profile attach``
joins a container that is already running, so it adds them from a baseline
recorded once per runtime version (``secengine profile baseline``), which
runs a trivial container under several configurations (default, another
user, no capabilities, no-new-privileges) and keeps the union of their init
phases.

Baselines shipped with secengine are in ``profile/baselines/``; recorded
ones go to ``/var/lib/secengine/baselines`` (searched first).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from secengine.profile.errors import ProfileError
from secengine.profile.recording import SyscallSets

__all__ = [
    "FORMAT",
    "SHIPPED_DIR",
    "USER_DIR",
    "VARIANTS",
    "Baseline",
    "baseline_from_recordings",
    "find_baseline",
    "load_baseline",
]

FORMAT: Final = "secengine-runtime-baseline/1"
SHIPPED_DIR: Final = Path(__file__).with_name("baselines")
USER_DIR: Final = Path("/var/lib/secengine/baselines")

#: The container configurations a baseline covers: extra ``run`` options for each.
VARIANTS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("default", ()),
    ("non-root user", ("--user", "1000:1000")),
    ("no capabilities", ("--cap-drop", "ALL")),
    ("no-new-privileges", ("--security-opt", "no-new-privileges")),
)


@dataclass(slots=True)
class Baseline:
    """One runtime version's init-phase syscalls and how they were measured."""

    runtime: str
    version: str
    syscalls: SyscallSets
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.runtime}-{self.version}"

    def to_json(self) -> dict[str, Any]:
        sc = self.syscalls.to_json()
        return {
            "format": FORMAT,
            "runtime": self.runtime,
            "version": self.version,
            **self.meta,
            "init": sc["init"],
            "pre": sc["pre"],
        }

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.label}.json"
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        self.path = path
        return path


def load_baseline(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ProfileError(f"cannot read the runtime baseline {path}: {e}") from None
    if data.get("format") != FORMAT:
        raise ProfileError(f"{path}: not a runtime baseline (format {data.get('format')!r})")
    sc = SyscallSets.from_json({"init": data.get("init", {}), "pre": data.get("pre", {})})
    meta = {
        k: v for k, v in data.items() if k not in ("format", "runtime", "version", "init", "pre")
    }
    return Baseline(data["runtime"], data["version"], sc, meta, path)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def find_baseline(
    runtime: str, version: str, dirs: Sequence[Path] = (USER_DIR, SHIPPED_DIR)
) -> tuple[Baseline, bool]:
    """The baseline of ``runtime`` ``version``; else the nearest version (exact=False)."""
    candidates: list[Path] = []
    for d in dirs:
        exact = d / f"{runtime}-{version}.json"
        if exact.is_file():
            return load_baseline(exact), True
        if d.is_dir():
            candidates += sorted(d.glob(f"{runtime}-*.json"))
    if not candidates:
        raise ProfileError(
            f"no init baseline for runtime {runtime} (version {version}); record one with "
            f"'secengine profile baseline --runtime {runtime} --image IMAGE'"
        )
    want = _version_key(version)

    def distance(p: Path) -> tuple[int, ...]:
        have = _version_key(p.stem.split("-", 1)[1])
        return tuple(abs(a - b) for a, b in zip(want + (0,) * 4, have + (0,) * 4))

    return load_baseline(min(candidates, key=distance)), False


def baseline_from_recordings(
    runtime: str, version: str, recordings: Sequence[Any], engine: str, variants: Sequence[str]
) -> Baseline:
    """Union the init (and pre) phases of recordings of trivial containers.

    ``variants[i]`` names the configuration ``recordings[i]`` ran under.
    """
    sc = SyscallSets()
    per_variant: dict[str, set[str]] = {}
    for label, rec in zip(variants, recordings, strict=True):
        for phase in ("init", "pre"):
            for outcome in ("ok", "eperm", "enosys", "other"):
                sc.add(phase, outcome, rec.syscalls.get(phase, outcome))
        per_variant.setdefault(label, set()).update(rec.syscalls.seen(("init",)))
    meta = {
        "engine": engine,
        "kernel": platform.release(),
        "arch": platform.machine(),
        "recorded": time.strftime("%Y-%m-%d"),
        "variants": {label: sorted(names) for label, names in per_variant.items()},
    }
    return Baseline(runtime, version, sc, meta)
