"""What the configuration says about responses: on or off, dry run, allow-list, rate limits.

Plain frozen values, built by :mod:`secengine.config` from the ``response:``
section and read by the responder, the agent and the probe's kill maps.
Responses are off by default: nothing is ever done unless
``response.enabled`` is true *and* the rule asks (``secengine_response``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Final

__all__ = ["DEFAULT_ALLOWED_PROCESSES", "AllowList", "ResponseSettings"]

#: Processes never acted on unless the configuration replaces the list: the container
#: runtimes and node agents whose death would take every container (or the node) with them.
DEFAULT_ALLOWED_PROCESSES: Final = (
    "init",
    "systemd",
    "runc",
    "crun",
    "containerd",
    "containerd-shim*",
    "conmon",
    "crio",
    "dockerd",
    "docker-proxy",
    "podman",
    "kubelet",
)


@dataclass(frozen=True, slots=True)
class AllowList:
    """What responses never touch, besides pid 1, kernel threads and secengine's own processes.

    ``process_names`` match the kernel's process name (``comm``, at most 15
    characters) and ``exe_paths`` the executable path, both as shell globs
    (``containerd-shim*``). ``containers`` match a container's id (short or
    full) or name; a process in such a container is protected too.
    """

    process_names: tuple[str, ...] = DEFAULT_ALLOWED_PROCESSES
    exe_paths: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()

    def allows_process(self, comm: str, exe: str) -> str | None:
        """The entry protecting a process named ``comm`` running ``exe``, or None."""
        for pattern in self.process_names:
            if fnmatch.fnmatchcase(comm, pattern):
                return pattern
        for pattern in self.exe_paths:
            if exe and fnmatch.fnmatchcase(exe, pattern):
                return pattern
        return None

    def allows_container(self, *names: str) -> str | None:
        """The entry protecting a container known by any of ``names`` (ids, name), or None."""
        for pattern in self.containers:
            for name in names:
                if name and fnmatch.fnmatchcase(name, pattern):
                    return pattern
        return None

    def kernel_prefixes(self) -> tuple[tuple[str, bool], ...]:
        """The process names as the probe can test them: ``(name, is_prefix)`` pairs.

        A trailing ``*`` is a prefix; a pattern with any other glob character
        cannot be decided from ``comm`` in the kernel and is left out (the
        in-kernel kill then never applies to a name it could match: see
        :meth:`kernel_exact`).
        """
        out = []
        for pattern in self.process_names:
            body = pattern.removesuffix("*")
            if not any(c in body for c in "*?[]"):
                out.append((body[:15], pattern.endswith("*")))
        return tuple(out)

    @property
    def kernel_exact(self) -> bool:
        """Every process-name pattern can be tested in the kernel (:meth:`kernel_prefixes`)."""
        return len(self.kernel_prefixes()) == len(self.process_names) and not self.exe_paths


@dataclass(frozen=True, slots=True)
class ResponseSettings:
    """The ``response:`` section of the configuration (``docs/response.md``)."""

    #: The master switch: off, no rule's response happens (not even in dry run).
    enabled: bool = False
    #: Report what would have been done, do nothing (overrides every rule).
    dry_run: bool = False
    allow: AllowList = field(default_factory=AllowList)
    #: Actions per second over all rules (a token bucket), and the burst it allows.
    rate: float = 10.0
    max_burst: int = 20
    #: Actions per rule per minute: a rule that fires on everything cannot take the node down.
    per_rule_per_minute: int = 30
    #: Seconds a runtime API call (container stop/kill) may take before it counts as failed.
    runtime_timeout: float = 15.0
    #: Whether the probe may kill for rules whose condition it can decide (``in_kernel: auto``).
    in_kernel: bool = True
