"""OCI/Docker seccomp profiles: write one from a recording, read any, compare with a default.

The profile written is the format docker, podman, containerd, CRI-O and a
Kubernetes ``Localhost`` seccompProfile read::

    {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
     "architectures": ["SCMP_ARCH_X86_64"],
     "syscalls": [{"names": [...], "action": "SCMP_ACT_ALLOW"},
                  {"names": [...], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}

How each syscall of the recording's ``init`` and ``work`` phases is treated
(:func:`policy`):

- it succeeded at least once, or failed with an error other than EPERM and
  ENOSYS: **allowed** (the kernel has to run it to give that answer);
- it only ever failed with ENOSYS: **ERRNO 38** (the program probed for a
  newer syscall and fell back; answering EPERM instead would break the
  fallback, e.g. glibc's ``clone3`` -> ``clone``);
- it only ever failed with EPERM: left to the default action, which answers
  the same EPERM;
- ``exit``, ``exit_group``, ``rt_sigreturn`` and ``restart_syscall`` are
  always allowed: the first two never return (a recording cannot see them in
  a process that was still running), the last two are how the kernel
  returns from signal handlers and restarts interrupted calls;
- ``futex``, ``nanosleep`` and ``sched_yield`` are always allowed too: the
  runtime's init is Go (runc), whose scheduler waits, sleeps and yields only
  when its threads contend, so whether a recording sees them depends on how
  busy the machine was. A profile recorded on a quiet machine and re-run on a
  busy one was denied ``futex`` and ``nanosleep`` in runc's init, and the
  container never started (exit 126). Every engine's default profile allows
  all three.

Audit mode writes ``SCMP_ACT_LOG`` as the default action: nothing is denied,
the kernel logs what would have been.
"""

from __future__ import annotations

import errno as _errno
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from secengine.profile.errors import ProfileError, read_json
from secengine.profile.recording import Recording
from secengine.syscall_table import NUMBERS

__all__ = [
    "ALWAYS_ALLOWED",
    "ARCHITECTURES",
    "DEFAULT_PROFILE_PATHS",
    "Policy",
    "ProfileNames",
    "build_profile",
    "find_default_profile",
    "load_profile",
    "policy",
    "profile_json",
    "profile_names",
    "write_profile",
]

#: Allowed whatever the recording saw (see the module docstring).
ALWAYS_ALLOWED: Final = frozenset(
    {"exit", "exit_group", "rt_sigreturn", "restart_syscall", "futex", "nanosleep", "sched_yield"}
)
#: The architectures a profile lists: the recorder reads x86_64 syscall numbers.
ARCHITECTURES: Final = ("SCMP_ARCH_X86_64",)
#: Where the container engines installed here keep their default profile, in search order.
DEFAULT_PROFILE_PATHS: Final = (
    Path("/usr/share/containers/seccomp.json"),
    Path("/etc/containers/seccomp.json"),
    Path("/etc/docker/seccomp.json"),
)
_ARCH_NAMES: Final = {"amd64", "x86_64", "SCMP_ARCH_X86_64"}


@dataclass(slots=True)
class Policy:
    """What a profile does with each syscall."""

    allowed: set[str] = field(default_factory=set)
    enosys: set[str] = field(default_factory=set)
    #: seen only failing with EPERM: left to the default action
    denied_seen: set[str] = field(default_factory=set)
    #: names this machine's syscall table does not know (left out of the profile)
    unknown: set[str] = field(default_factory=set)


def policy(rec: Recording) -> Policy:
    """Sort the recording's syscalls into allowed, ENOSYS and denied (module docstring)."""
    phases = rec.profile_phases
    sc = rec.syscalls
    allowed = sc.outcome("ok", phases) | sc.outcome("other", phases) | set(ALWAYS_ALLOWED)
    enosys = sc.outcome("enosys", phases) - allowed
    denied = sc.outcome("eperm", phases) - allowed - enosys
    unknown = {n for n in allowed | enosys if n not in NUMBERS}
    return Policy(allowed - unknown, enosys - unknown, denied, unknown)


def build_profile(pol: Policy, *, audit: bool = False) -> dict[str, Any]:
    """The OCI seccomp JSON for ``pol`` (``audit``: log instead of deny)."""
    rules: list[dict[str, Any]] = [{"names": sorted(pol.allowed), "action": "SCMP_ACT_ALLOW"}]
    if pol.enosys:
        rules.append(
            {"names": sorted(pol.enosys), "action": "SCMP_ACT_ERRNO", "errnoRet": _errno.ENOSYS}
        )
    out: dict[str, Any] = {
        "defaultAction": "SCMP_ACT_LOG" if audit else "SCMP_ACT_ERRNO",
        "architectures": list(ARCHITECTURES),
        "syscalls": rules,
    }
    if not audit:
        out["defaultErrnoRet"] = _errno.EPERM
    return out


def profile_json(profile: dict[str, Any]) -> str:
    """A profile as the text of its file."""
    return json.dumps(profile, indent=1) + "\n"


def write_profile(path: Path, profile: dict[str, Any]) -> None:
    path.write_text(profile_json(profile))


def load_profile(path: Path) -> dict[str, Any]:
    """Read a seccomp profile JSON (any OCI/Docker profile)."""
    data = read_json(path)
    if not isinstance(data, dict) or "defaultAction" not in data:
        raise ProfileError(f"{path}: not a seccomp profile (no defaultAction)")
    return data


@dataclass(slots=True)
class ProfileNames:
    """The syscalls a profile lets through on x86_64, and what it answers the others."""

    default_action: str
    allowed: set[str]
    #: names with an explicit errno (name -> errno)
    errno: dict[str, int]
    #: allowed only when their arguments match (still counted in ``allowed``)
    conditional: set[str]

    @property
    def audit(self) -> bool:
        return self.default_action in ("SCMP_ACT_LOG", "SCMP_ACT_ALLOW")


def _applies(rule: dict[str, Any], caps: set[str]) -> bool:
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if inc.get("arches") and not _ARCH_NAMES & set(inc["arches"]):
        return False
    if exc.get("arches") and _ARCH_NAMES & set(exc["arches"]):
        return False
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        return False
    return not (exc.get("caps") and set(exc["caps"]) & caps)


def profile_names(profile: dict[str, Any], caps: Iterable[str] = ()) -> ProfileNames:
    """Evaluate a profile for an x86_64 container holding ``caps`` (Docker's conditions)."""
    capset = {c if c.startswith("CAP_") else f"CAP_{c}" for c in caps}
    allowed: set[str] = set()
    errno: dict[str, int] = {}
    conditional: set[str] = set()
    default_ret = int(profile.get("defaultErrnoRet") or _errno.EPERM)
    for rule in profile.get("syscalls") or []:
        if not _applies(rule, capset):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        action = rule.get("action", "")
        if action in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG"):
            allowed.update(names)
            if rule.get("args"):
                conditional.update(names)
        elif action == "SCMP_ACT_ERRNO":
            for n in names:
                errno.setdefault(n, int(rule.get("errnoRet") or default_ret))
    return ProfileNames(profile.get("defaultAction", ""), allowed, errno, conditional)


def find_default_profile(explicit: Path | None = None) -> Path | None:
    """The default profile to compare with: ``explicit``, else the first one installed."""
    if explicit is not None:
        return explicit
    for path in DEFAULT_PROFILE_PATHS:
        if path.is_file():
            return path
    return None
