"""The contract between the user-space responder and the probe's in-kernel kill.

The probe (:mod:`secengine.bpf`) may SIGKILL a process itself, before the
syscall returns, for a rule whose condition it can decide from the event
alone. This module says which rules it may do that for under the current
configuration (:func:`kernel_kill_rules`: every safety the probe cannot
check makes the answer "none", and the rule is served from user space),
and how the responder learns that the probe already killed
(:class:`KernelKills`), so that the kill is reported once, as done in the
kernel, and never repeated from user space.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from secengine.events import Event
from secengine.response.settings import ResponseSettings
from secengine.ruleset.model import Rule

__all__ = ["KERNEL_KILLS_HOOK", "KernelKills", "give_kernel_kills", "kernel_kill_rules"]

#: The method a source implements to take the in-kernel kill (the syscall source):
#: ``use_kernel_kills(rules, allowed_comms, protected_pid) -> KernelKills | None``, where
#: ``allowed_comms`` are :meth:`AllowList.kernel_prefixes` pairs and ``protected_pid`` is
#: secengine's own pid (it and its children are never killed). Called at start and after
#: every reload, with an empty ``rules`` when nothing may be killed in the kernel.
KERNEL_KILLS_HOOK = "use_kernel_kills"


def kernel_kill_rules(rules: Iterable[Rule], settings: ResponseSettings) -> list[Rule]:
    """The rules whose ``kill_process`` the probe may do, if it can decide their condition.

    None while responses are off, in dry run, with ``in_kernel`` off, or with
    an allow-list the probe cannot test exactly (a glob other than a trailing
    ``*``, or executable paths): the probe must protect what the allow-list
    protects, or not act. Pid 1, kernel threads, secengine's own process and
    its children are the probe's to refuse in every case.
    """
    if not (settings.enabled and settings.in_kernel) or settings.dry_run:
        return []
    if not settings.allow.kernel_exact or settings.allow.containers:
        return []
    return [
        r
        for r in rules
        if r.response is not None and r.response.kernel_kill_candidate and not r.response.dry_run
    ]


class KernelKills(Protocol):
    """What the syscall source knows about the probe's kills (implemented by the kernel half)."""

    def killed(self, rule: Rule, event: Event) -> bool:
        """The probe killed the process of ``event`` for ``rule`` (before the syscall returned)."""
        ...


def give_kernel_kills(
    sources: Iterable[object], rules: Iterable[Rule], settings: ResponseSettings, self_pid: int
) -> KernelKills | None:
    """Tell the sources that can kill in the kernel what they may kill for; their report.

    Returns the :class:`KernelKills` of the (last) source that took the
    rules, or None when no source can kill in the kernel.
    """
    allowed = kernel_kill_rules(rules, settings)
    found: KernelKills | None = None
    for source in sources:
        hook = getattr(source, KERNEL_KILLS_HOOK, None)
        if callable(hook):
            kills = hook(allowed, settings.allow.kernel_prefixes(), self_pid)
            if kills is not None:
                found = kills
    return found
