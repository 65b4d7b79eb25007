"""The safeties no rule can override: who a response must never touch.

Whatever a rule asks and whatever the configuration allows, a response never
acts on pid 1, on a kernel thread, on secengine itself or a process it
started (a response program, say), on the container secengine runs in, or
on anything the allow-list names (by default the container runtimes, whose
death would take every container of the node with them). Each refusal is a
sentence saying which safety held.
"""

from __future__ import annotations

import os
from typing import Final

from secengine.response.proc import ProcStat, exe_of, read_stat
from secengine.response.settings import AllowList
from secengine.response.target import HOST, Target
from secengine.state.containers.cgroup import container_id_from_cgroup

__all__ = ["Guard", "own_container_id"]

#: How far up the parent chain "a child of secengine" is looked for.
_MAX_ANCESTRY: Final = 64


def own_container_id(pid: int | None = None) -> str:
    """The container (12-character id) ``pid`` (default: this process) runs in, or ``host``."""
    try:
        with open(f"/proc/{pid or 'self'}/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return HOST
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[2] not in ("", "/"):
            found = container_id_from_cgroup(parts[2])
            if found != HOST:
                return found
    return HOST


class Guard:
    """Decides whether a process or a container may be acted on."""

    def __init__(
        self, allow: AllowList, *, self_pid: int | None = None, own_container: str | None = None
    ) -> None:
        self.allow = allow
        self.self_pid = os.getpid() if self_pid is None else self_pid
        self.own_container = own_container_id() if own_container is None else own_container

    def process_refusal(self, st: ProcStat, boot_ns: int, target: Target | None = None) -> str:
        """Why the process ``st`` must not be signalled (``""``: it may be)."""
        if st.pid == 1:
            return "pid 1 is never acted on"
        if st.kernel_thread:
            return f"{st.comm} (pid {st.pid}) is a kernel thread"
        if st.pid == self.self_pid:
            return "secengine never acts on itself"
        if self._descends_from_self(st, boot_ns):
            return f"{st.comm} (pid {st.pid}) is a process secengine started"
        pattern = self.allow.allows_process(st.comm, exe_of(st.pid))
        if pattern is not None:
            return f"{st.comm} (pid {st.pid}) is on the allow-list ({pattern})"
        if target is not None:
            return self.container_refusal(target)
        return ""

    def member_refusal(self, st: ProcStat, boot_ns: int, target: Target) -> str:
        """Why the member ``st`` of the event's process group must not be signalled.

        Beyond :meth:`process_refusal`: a member outside the event's container is
        spared. A container's processes form their own groups (the runtime starts
        its init in a new session), so such a member means the group the event
        carried is not that container's any more (a record missed, a pid reused).
        """
        reason = self.process_refusal(st, boot_ns, target)
        if reason or not target.container_id:
            return reason
        if own_container_id(st.pid)[:12] != target.container_id[:12]:
            where = (
                f"container {target.container_name or target.container_id}"
                if target.in_container
                else "the host"
            )
            return f"{st.comm} (pid {st.pid}) is not in {where}"
        return ""

    def container_refusal(self, target: Target) -> str:
        """Why the container of ``target`` must not be acted on (``""``: it may be)."""
        if not target.in_container:
            return ""
        if self.own_container != HOST and target.container_id == self.own_container[:12]:
            return "secengine runs in that container"
        pattern = self.allow.allows_container(
            target.container_id, target.container_full_id, target.container_name
        )
        if pattern is not None:
            return f"container {target.container_name or target.container_id} is on the allow-list ({pattern})"
        return ""

    def _descends_from_self(self, st: ProcStat, boot_ns: int) -> bool:
        ppid = st.ppid
        for _ in range(_MAX_ANCESTRY):
            if ppid == self.self_pid:
                return True
            if ppid <= 1:
                return False
            parent = read_stat(ppid, boot_ns)
            if parent is None:
                return False
            ppid = parent.ppid
        return False
