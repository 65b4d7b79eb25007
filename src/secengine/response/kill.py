"""Kill from user space: the event's process, or its process group, through pidfds.

A pid is only a number: by the time a response runs, the process may have
exited and its pid been given to another. So every signal goes through a
pidfd (``pidfd_open``, then ``pidfd_send_signal``), opened first and then
checked against the process the event saw (its start time, from
``/proc/PID/stat``): a pidfd always names the process it was opened on, so
once the check passes the signal can only reach that process, and if it has
exited since the kernel answers ESRCH instead of signalling a newcomer.
A process whose start time the event does not carry is never signalled.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from secengine.response.outcome import Outcome, Status
from secengine.response.proc import ProcStat, boot_time_ns, group_members, read_stat
from secengine.response.safety import Guard
from secengine.response.target import Target

__all__ = ["kill_process", "kill_process_group"]


@dataclass(slots=True)
class _Opened:
    """A pidfd and the stat line that proved which process it names."""

    fd: int
    stat: ProcStat

    def close(self) -> None:
        os.close(self.fd)


def _open_verified(pid: int, start_ts: int, boot_ns: int) -> _Opened | Outcome:
    """A pidfd on ``pid`` if it is still the process that started at ``start_ts``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return Outcome(Status.GONE, f"pid {pid} has exited")
    except OSError as e:
        return Outcome(Status.FAILED, f"pidfd_open({pid}) failed: {e.strerror}")
    st = read_stat(pid, boot_ns)
    if st is None or st.state in ("Z", "X"):
        os.close(fd)
        return Outcome(Status.GONE, f"pid {pid} has exited")
    if not st.same_start(start_ts):
        os.close(fd)
        return Outcome(
            Status.GONE, f"pid {pid} now names another process ({st.comm}); it was not signalled"
        )
    return _Opened(fd, st)


def _send(opened: _Opened, sig: int) -> bool:
    """Signal through the pidfd; False if the process exited in between."""
    try:
        signal.pidfd_send_signal(opened.fd, sig)
    except ProcessLookupError:
        return False
    return True


def kill_process(target: Target, guard: Guard, *, dry_run: bool) -> Outcome:
    """SIGKILL the event's process, if it is still that process and no safety refuses."""
    if target.pid is None:
        return Outcome(Status.NO_TARGET, "the event has no process id")
    if target.start_ts is None:
        return Outcome(
            Status.NO_TARGET,
            f"the event has no start time for pid {target.pid}: it cannot be told from a reuse",
        )
    boot_ns = boot_time_ns()
    opened = _open_verified(target.pid, target.start_ts, boot_ns)
    if isinstance(opened, Outcome):
        return opened
    try:
        reason = guard.process_refusal(opened.stat, boot_ns, target)
        if reason:
            return Outcome(Status.REFUSED, reason)
        who = target.describe()
        if dry_run:
            return Outcome(Status.DRY_RUN, f"would send SIGKILL to {who}")
        if not _send(opened, signal.SIGKILL):
            return Outcome(Status.GONE, f"{who} exited before the signal")
        latency = time.time_ns() - target.event_ts
        return Outcome(Status.DONE, f"SIGKILL sent to {who}", latency)
    finally:
        opened.close()


def _group_of(target: Target, boot_ns: int) -> int | Outcome:
    """The process group of the event's process, proven to be the same group now."""
    if target.pid is not None and target.start_ts is not None:
        opened = _open_verified(target.pid, target.start_ts, boot_ns)
        if not isinstance(opened, Outcome):
            opened.close()
            return opened.stat.pgrp
    if target.pgid is None:
        return Outcome(Status.NO_TARGET, "the event has no process group")
    # The process has gone: the group is still the event's if its leader started before the event.
    leader = read_stat(target.pgid, boot_ns)
    if leader is None or leader.pgrp != target.pgid or leader.start_ts > target.event_ts:
        return Outcome(
            Status.GONE, f"process group {target.pgid} has no leader from before the event"
        )
    return target.pgid


def kill_process_group(target: Target, guard: Guard, *, dry_run: bool) -> Outcome:
    """SIGKILL every process of the event's process group that no safety protects."""
    boot_ns = boot_time_ns()
    pgid = _group_of(target, boot_ns)
    if isinstance(pgid, Outcome):
        return pgid
    if pgid <= 1:
        return Outcome(Status.REFUSED, f"process group {pgid} is never acted on")
    if pgid == os.getpgrp():
        return Outcome(Status.REFUSED, "secengine runs in that process group")
    opened: list[_Opened] = []
    refused: list[str] = []
    try:
        for member in group_members(pgid, boot_ns):
            got = _open_verified(member.pid, member.start_ts, boot_ns)
            if isinstance(got, Outcome):
                continue  # exited while the group was listed
            if got.stat.pgrp != pgid:
                got.close()
                continue
            reason = guard.member_refusal(got.stat, boot_ns, target)
            if reason:
                refused.append(reason)
                got.close()
            else:
                opened.append(got)
        # the names now (not the event's): what an operator needs to know was killed
        members = ", ".join(f"{o.stat.comm} (pid {o.stat.pid})" for o in opened)
        spared = f"; {len(refused)} spared: {'; '.join(refused)}" if refused else ""
        if not opened:
            if refused:
                return Outcome(Status.REFUSED, f"process group {pgid}: " + "; ".join(refused))
            return Outcome(Status.GONE, f"process group {pgid} has no process left")
        if dry_run:
            return Outcome(
                Status.DRY_RUN, f"would send SIGKILL to process group {pgid}: {members}{spared}"
            )
        sent = sum(_send(o, signal.SIGKILL) for o in opened)
        latency = time.time_ns() - target.event_ts
        if not sent:
            return Outcome(Status.GONE, f"process group {pgid} exited before the signal")
        return Outcome(
            Status.DONE,
            f"SIGKILL sent to {sent} process(es) of group {pgid}: {members}{spared}",
            latency,
        )
    finally:
        for o in opened:
            o.close()
