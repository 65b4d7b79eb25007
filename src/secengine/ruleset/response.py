"""What a rule asks to be done when it matches: the ``secengine_response`` key, compiled.

A rule may carry ``secengine_response`` (a key of ours; Falco's loader warns
that it does not know it and ignores it, so a file that uses it still loads
in Falco, only without responses). This module is the compiled model the
rest of secengine reads from :attr:`secengine.ruleset.model.Rule.response`:
a :class:`ResponsePlan` of typed actions and the options that govern them.
Decoding the YAML and every located error live in
:mod:`secengine.ruleset.response_reader`; acting on a plan (the safeties,
user-space actions, the in-kernel kill) lives above the core, in
:mod:`secengine.response` and :mod:`secengine.bpf`.

The model says *what* the rule asks for; whether anything happens is
decided at run time by the configuration (``response.enabled``, dry run,
the allow-list and rate limits). A plan is immutable and hashable so that
the engine and the probe may key on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "RESPONSE_KEY",
    "Action",
    "ActionKind",
    "InKernel",
    "KillContainer",
    "KillProcess",
    "KillProcessGroup",
    "ResponsePlan",
    "RunProgram",
    "StopContainer",
    "Tag",
]

#: The rule key that names responses (documented in ``docs/response.md``).
RESPONSE_KEY = "secengine_response"


class ActionKind(enum.Enum):
    """The actions a rule can ask for; the value is the name rules files use."""

    KILL_PROCESS = "kill_process"
    KILL_PROCESS_GROUP = "kill_process_group"
    STOP_CONTAINER = "stop_container"
    KILL_CONTAINER = "kill_container"
    PROGRAM = "program"
    TAG = "tag"

    @property
    def needs_process(self) -> bool:
        """The action acts on the event's process (its source must have ``proc.pid``)."""
        return self in (ActionKind.KILL_PROCESS, ActionKind.KILL_PROCESS_GROUP)

    @property
    def needs_container(self) -> bool:
        """The action acts on the event's container (its source must have ``container.id``)."""
        return self in (ActionKind.STOP_CONTAINER, ActionKind.KILL_CONTAINER)


class InKernel(enum.Enum):
    """Whether ``kill_process`` may be done by the probe itself, before the syscall returns.

    ``auto``: in the kernel when the rule's condition can be decided in the
    probe from the event alone, else from user space. ``never``: always from
    user space (the alert and the kill then see the same, complete event).
    """

    AUTO = "auto"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class KillProcess:
    """SIGKILL the process (thread group) that made the event's syscall."""

    kind: ClassVar[ActionKind] = ActionKind.KILL_PROCESS


@dataclass(frozen=True, slots=True)
class KillProcessGroup:
    """SIGKILL every process in the process group of the event's process."""

    kind: ClassVar[ActionKind] = ActionKind.KILL_PROCESS_GROUP


@dataclass(frozen=True, slots=True)
class StopContainer:
    """Stop the event's container through its runtime: SIGTERM, then SIGKILL after ``timeout`` s."""

    kind: ClassVar[ActionKind] = ActionKind.STOP_CONTAINER
    #: Seconds the runtime waits after SIGTERM before it sends SIGKILL.
    timeout: int = 10


@dataclass(frozen=True, slots=True)
class KillContainer:
    """Kill the event's container through its runtime (SIGKILL to every process in it)."""

    kind: ClassVar[ActionKind] = ActionKind.KILL_CONTAINER


@dataclass(frozen=True, slots=True)
class RunProgram:
    """Run ``command`` with ``/bin/sh -c``, the alert's JSON on its stdin; killed after ``timeout`` s."""

    kind: ClassVar[ActionKind] = ActionKind.PROGRAM
    command: str
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class Tag:
    """Mark the alert with ``name`` so that sinks can route or act on it (``secengine.tags``)."""

    kind: ClassVar[ActionKind] = ActionKind.TAG
    name: str


Action = KillProcess | KillProcessGroup | StopContainer | KillContainer | RunProgram | Tag


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """A rule's responses, in the order the rule lists them, and their options."""

    actions: tuple[Action, ...]
    in_kernel: InKernel = InKernel.AUTO
    #: This rule only reports what it would have done, whatever the configuration says.
    dry_run: bool = False

    def has(self, kind: ActionKind) -> bool:
        return any(a.kind is kind for a in self.actions)

    @property
    def kinds(self) -> frozenset[ActionKind]:
        return frozenset(a.kind for a in self.actions)

    @property
    def kernel_kill_candidate(self) -> bool:
        """The probe may kill for this rule (``kill_process`` asked, ``in_kernel: auto``).

        Whether it does also depends on the condition being decidable in the
        probe, which the probe's compiler decides (:mod:`secengine.bpf`).
        """
        return self.in_kernel is InKernel.AUTO and self.has(ActionKind.KILL_PROCESS)

    @property
    def tags(self) -> tuple[str, ...]:
        """The names of the ``tag`` actions, in rule order."""
        return tuple(a.name for a in self.actions if isinstance(a, Tag))
