"""A recording: the syscalls a workload made (by phase and outcome) and its privileged operations.

This is what ``secengine profile run|attach|exec`` keep next to the seccomp
profile (``NAME.record.json``), what ``merge`` unions and what ``verify``
compares against. Phases: ``pre`` (the runtime's setup before its seccomp
filter was installed, not part of a profile), ``init`` (under the filter,
until the entrypoint's ``execve``), ``work`` (the workload). Outcomes:
``ok`` (returned >= 0), ``eperm``, ``enosys``, ``other`` (another error).
"""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from secengine.profile import layout as L
from secengine.profile.errors import ProfileError, read_json
from secengine.profile.files import PRIVATE, write_files
from secengine.profile.redact import redact_command
from secengine.syscall_table import name_of, names_of_bits

__all__ = ["FORMAT", "OUTCOMES", "PHASES", "Op", "Recording", "SyscallSets", "load_recording"]

FORMAT: Final = "secengine-profile-recording/1"
PHASES: Final = L.PHASE_NAMES
OUTCOMES: Final = L.SET_NAMES


@dataclass(frozen=True, slots=True)
class Op:
    """A privileged operation as the recorder saw it (deduplicated; ``count`` times)."""

    kind: str
    syscall: str
    phase: str
    errno: int
    cap_eff: int
    flags: int
    v: tuple[int, ...]
    count: int = 1
    pid: int = 0

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two operations the same (for merging)."""
        return (self.kind, self.syscall, self.phase, self.errno, self.cap_eff, self.flags, self.v)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "syscall": self.syscall,
            "phase": self.phase,
            "errno": self.errno,
            "cap_eff": f"{self.cap_eff:#x}",
            "flags": self.flags,
            "v": list(self.v),
            "count": self.count,
            "pid": self.pid,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Op:
        return cls(
            d["kind"],
            d["syscall"],
            d["phase"],
            int(d["errno"]),
            int(str(d["cap_eff"]), 0),
            int(d.get("flags", 0)),
            tuple(d["v"]),
            int(d.get("count", 1)),
            int(d.get("pid", 0)),
        )


class SyscallSets:
    """Syscall names by phase and outcome."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, dict[str, set[str]]] = {
            p: {o: set() for o in OUTCOMES} for p in PHASES
        }

    def get(self, phase: str, outcome: str) -> set[str]:
        return self._data[phase][outcome]

    def add(self, phase: str, outcome: str, names: Iterable[str]) -> None:
        self._data[phase][outcome].update(names)

    def seen(self, phases: Iterable[str] = PHASES) -> set[str]:
        """Every syscall made in ``phases``, whatever its outcome."""
        out: set[str] = set()
        for p in phases:
            for names in self._data[p].values():
                out |= names
        return out

    def outcome(self, outcome: str, phases: Iterable[str] = PHASES) -> set[str]:
        out: set[str] = set()
        for p in phases:
            out |= self._data[p][outcome]
        return out

    def phase_empty(self, phase: str) -> bool:
        return not any(self._data[phase].values())

    def update(self, other: SyscallSets) -> None:
        for p in PHASES:
            for o in OUTCOMES:
                self._data[p][o] |= other._data[p][o]

    def replace_phase(self, phase: str, other: SyscallSets, source_phase: str) -> None:
        for o in OUTCOMES:
            self._data[phase][o] = set(other._data[source_phase][o])

    def to_json(self) -> dict[str, dict[str, list[str]]]:
        return {
            p: {o: sorted(self._data[p][o]) for o in OUTCOMES if self._data[p][o]} for p in PHASES
        }

    @classmethod
    def from_json(cls, d: dict[str, dict[str, list[str]]]) -> SyscallSets:
        s = cls()
        for p, outcomes in d.items():
            if p not in PHASES:
                raise ProfileError(f"unknown phase {p!r} in a recording")
            for o, names in outcomes.items():
                if o not in OUTCOMES:
                    raise ProfileError(f"unknown outcome {o!r} in a recording")
                s.add(p, o, names)
        return s

    @classmethod
    def from_words(cls, words_of: Any) -> SyscallSets:
        """From a callable ``(phase index, outcome index) -> bitmap words``."""
        s = cls()
        for pi, p in enumerate(PHASES):
            for oi, o in enumerate(OUTCOMES):
                s.add(p, o, names_of_bits(words_of(pi, oi)))
        return s


@dataclass(slots=True)
class Recording:
    """One workload's recording (or the union of several: ``sources`` > 1)."""

    mode: str
    command: list[str] = field(default_factory=list)
    syscalls: SyscallSets = field(default_factory=SyscallSets)
    ops: list[Op] = field(default_factory=list)
    exit_code: int | None = None
    started: bool = False
    duration: float = 0.0
    runtime: dict[str, str] = field(default_factory=dict)
    container: dict[str, str] = field(default_factory=dict)
    init_source: str = "none"
    stats: dict[str, int] = field(default_factory=dict)
    mount_namespaces: int = 0
    host: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sources: int = 1

    def __post_init__(self) -> None:
        # whatever it was made from (a command line, an older file): no environment values
        self.command = redact_command(self.command)

    @classmethod
    def from_raw(cls, raw: Any, mode: str, **meta: Any) -> Recording:
        """From a :class:`~secengine.profile.recorder.RawSlot`."""
        rec = cls(mode=mode, **meta)
        rec.syscalls = SyscallSets.from_words(raw.words)
        rec.ops = [
            Op(
                L.OP_NAMES[o.op] if o.op < len(L.OP_NAMES) else str(o.op),
                name_of(o.nr),
                PHASES[o.phase],
                o.err,
                o.cap_eff,
                o.flags,
                o.v,
                o.count,
                o.pid,
            )
            for o in raw.ops
        ]
        rec.ops.sort(key=lambda o: o.key)
        rec.stats = dict(raw.stats)
        rec.mount_namespaces = len(raw.bits)
        rec.host = {"kernel": platform.release(), "arch": platform.machine()}
        return rec

    # -- what a profile is made of ---------------------------------------------------
    @property
    def profile_phases(self) -> tuple[str, ...]:
        """The phases a seccomp profile must cover (``pre`` runs before the filter)."""
        return ("init", "work")

    # -- merging -----------------------------------------------------------------------
    def merge(self, other: Recording) -> None:
        """Union ``other`` into this recording (replicas or several runs of a workload)."""
        self.syscalls.update(other.syscalls)
        ops = {o.key: o for o in self.ops}
        for o in other.ops:
            if o.key in ops:
                mine = ops[o.key]
                ops[o.key] = dataclasses.replace(mine, count=mine.count + o.count)
            else:
                ops[o.key] = o
        self.ops = sorted(ops.values(), key=lambda o: o.key)
        self.started = self.started and other.started
        if self.exit_code != other.exit_code:
            self.exit_code = None
        self.duration += other.duration
        for k, v in other.stats.items():
            self.stats[k] = self.stats.get(k, 0) + v
        self.mount_namespaces += other.mount_namespaces
        if other.init_source != self.init_source:
            self.init_source = " + ".join(sorted({self.init_source, other.init_source}))
        self.notes += [n for n in other.notes if n not in self.notes]
        self.sources += other.sources
        if self.mode != other.mode:
            self.mode = "merged"

    # -- JSON --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "mode": self.mode,
            "command": redact_command(self.command),
            "exit_code": self.exit_code,
            "started": self.started,
            "duration_s": round(self.duration, 3),
            "runtime": self.runtime,
            "container": self.container,
            "init_source": self.init_source,
            "syscalls": self.syscalls.to_json(),
            "operations": [o.to_json() for o in self.ops],
            "stats": self.stats,
            "mount_namespaces": self.mount_namespaces,
            "host": self.host,
            "notes": self.notes,
            "sources": self.sources,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], where: str = "<recording>") -> Recording:
        if not isinstance(d, dict):
            raise ProfileError(
                f"{where}: not a secengine recording (a JSON {type(d).__name__}, not an object)"
            )
        if d.get("format") != FORMAT:
            raise ProfileError(
                f"{where}: not a secengine recording (format "
                f"{d.get('format')!r}, expected {FORMAT!r})"
            )
        try:
            return cls(
                mode=d["mode"],
                command=list(d.get("command", [])),
                syscalls=SyscallSets.from_json(d["syscalls"]),
                ops=[Op.from_json(o) for o in d.get("operations", [])],
                exit_code=d.get("exit_code"),
                started=bool(d.get("started")),
                duration=float(d.get("duration_s", 0.0)),
                runtime=dict(d.get("runtime") or {}),
                container=dict(d.get("container") or {}),
                init_source=d.get("init_source", "none"),
                stats=dict(d.get("stats") or {}),
                mount_namespaces=int(d.get("mount_namespaces", 0)),
                host=dict(d.get("host") or {}),
                notes=list(d.get("notes", [])),
                sources=int(d.get("sources", 1)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ProfileError(f"{where}: malformed recording ({e})") from None

    def to_text(self) -> str:
        """The recording as the text of its file."""
        return json.dumps(self.to_json(), indent=1) + "\n"

    def save(self, path: Path) -> None:
        """Write it mode 0600: it holds the workload's command line."""
        write_files([(path, self.to_text(), PRIVATE)])


def load_recording(path: Path) -> Recording:
    """Read a ``*.record.json`` file."""
    data = read_json(path)
    return Recording.from_json(data, str(path))
