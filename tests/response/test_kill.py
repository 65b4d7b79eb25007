"""User-space kills through pidfds: the right process dies, every other one is spared."""

from __future__ import annotations

import os
import subprocess

import pytest
from victims import alive, orphans, target, wait_dead

from secengine.response.kill import kill_process, kill_process_group
from secengine.response.outcome import Status
from secengine.response.proc import read_stat
from secengine.response.safety import Guard
from secengine.response.settings import AllowList

#: A guard for a secengine that is not this test process (so that orphans may be killed).
OTHER = Guard(AllowList(), self_pid=2**22 + 1, own_container="host")


def test_kills_the_process_the_event_saw() -> None:
    with orphans() as (pid,):
        outcome = kill_process(target(pid), OTHER, dry_run=False)
        assert outcome.status is Status.DONE, outcome
        assert f"pid {pid}" in outcome.detail
        assert outcome.latency_ns is not None and outcome.latency_ns > 0
        assert wait_dead(pid)


def test_a_reused_pid_is_never_signalled() -> None:
    """Another start time than the event's: the pid names another process now."""
    with orphans() as (pid,):
        t = target(pid)
        reused = target(pid, start_ts=t.start_ts - 5_000_000_000)  # type: ignore[operator]
        outcome = kill_process(reused, OTHER, dry_run=False)
        assert outcome.status is Status.GONE and "another process" in outcome.detail
        assert alive(pid)


def test_no_start_time_no_kill() -> None:
    with orphans() as (pid,):
        outcome = kill_process(target(pid, start_ts=None), OTHER, dry_run=False)
        assert outcome.status is Status.NO_TARGET
        assert alive(pid)


def test_dry_run_kills_nothing() -> None:
    with orphans() as (pid,):
        outcome = kill_process(target(pid), OTHER, dry_run=True)
        assert outcome.status is Status.DRY_RUN and "would send SIGKILL" in outcome.detail
        assert alive(pid)


def test_an_exited_process_is_gone() -> None:
    with orphans() as (pid,):
        t = target(pid)
        os.kill(pid, 9)
        assert wait_dead(pid)
        assert kill_process(t, OTHER, dry_run=False).status is Status.GONE


@pytest.mark.parametrize(
    ("pid", "why"), [(1, "pid 1 is never acted on"), (2, "is a kernel thread")]
)
def test_pid_1_and_kernel_threads_are_refused(pid: int, why: str) -> None:
    outcome = kill_process(target(pid), OTHER, dry_run=False)
    assert outcome.status is Status.REFUSED and why in outcome.detail
    assert alive(pid)


def test_secengine_itself_is_refused() -> None:
    guard = Guard(AllowList(), own_container="host")
    outcome = kill_process(target(os.getpid()), guard, dry_run=False)
    assert outcome.status is Status.REFUSED and "itself" in outcome.detail


def test_a_child_of_secengine_is_refused() -> None:
    guard = Guard(AllowList(), own_container="host")
    child = subprocess.Popen(["sh", "-c", "exec sleep 300"])
    try:
        grandchild_shell = subprocess.Popen(["sh", "-c", "sleep 300 & wait"])
        try:
            for pid in (child.pid, grandchild_shell.pid):
                outcome = kill_process(target(pid), guard, dry_run=False)
                assert outcome.status is Status.REFUSED, outcome
                assert "secengine started" in outcome.detail
                assert alive(pid)
        finally:
            grandchild_shell.kill()
            grandchild_shell.wait()
    finally:
        child.kill()
        child.wait()


def test_the_allow_list_protects_what_it_lists() -> None:
    guard = Guard(
        AllowList(process_names=("conmon", "guarded-*")), self_pid=-1, own_container="host"
    )
    with orphans(name="guarded-shim") as (pid,):
        outcome = kill_process(target(pid), guard, dry_run=False)
        assert outcome.status is Status.REFUSED and "allow-list (guarded-*)" in outcome.detail
        assert alive(pid)
    with orphans(name="unguarded") as (pid,):
        assert kill_process(target(pid), guard, dry_run=False).status is Status.DONE
        assert wait_dead(pid)


def test_the_default_allow_list_protects_the_runtimes() -> None:
    guard = Guard(AllowList(), self_pid=-1, own_container="host")
    with orphans(name="containerd-shim-runc-v2") as (pid,):
        outcome = kill_process(target(pid), guard, dry_run=False)
        assert outcome.status is Status.REFUSED and "containerd-shim*" in outcome.detail
        assert alive(pid)


def test_an_allow_listed_container_protects_its_processes() -> None:
    guard = Guard(AllowList(containers=("keep-*",)), self_pid=-1, own_container="host")
    with orphans() as (pid,):
        t = target(pid, container_id="0123456789ab", container_name="keep-me")
        outcome = kill_process(t, guard, dry_run=False)
        assert outcome.status is Status.REFUSED and "keep-me" in outcome.detail
        assert alive(pid)


def test_kills_the_process_group() -> None:
    with orphans(3, group=True) as pids:
        st = read_stat(pids[0])
        assert st is not None and all(read_stat(p).pgrp == st.pgrp for p in pids)  # type: ignore[union-attr]
        outcome = kill_process_group(target(pids[0]), OTHER, dry_run=False)
        assert outcome.status is Status.DONE, outcome
        assert all(wait_dead(p) for p in pids)


def test_process_group_dry_run_kills_nothing() -> None:
    with orphans(2, group=True) as pids:
        outcome = kill_process_group(target(pids[0]), OTHER, dry_run=True)
        assert outcome.status is Status.DRY_RUN and str(pids[1]) in outcome.detail
        assert all(alive(p) for p in pids)


def test_process_group_members_on_the_allow_list_are_spared() -> None:
    guard = Guard(AllowList(process_names=("keeper",)), self_pid=-1, own_container="host")
    with orphans(2, name="keeper", group=True) as pids:
        outcome = kill_process_group(target(pids[0]), guard, dry_run=False)
        assert outcome.status is Status.REFUSED and "allow-list (keeper)" in outcome.detail
        assert all(alive(p) for p in pids)


def test_the_allow_list_reads_the_name_the_process_has_now() -> None:
    """The event's name can be stale: a busybox applet started through /proc/self/exe is
    ``exe`` at its exec and renames itself (prctl) a moment later. The allow-list judges
    the name the process has when the response runs."""
    guard = Guard(AllowList(process_names=("keeper",)), self_pid=-1, own_container="host")
    with orphans(name="keeper") as (pid,):
        outcome = kill_process(target(pid, comm="exe"), guard, dry_run=False)
        assert outcome.status is Status.REFUSED and "keeper (pid" in outcome.detail
        assert alive(pid)


def test_a_group_kill_names_what_it_killed() -> None:
    with orphans(2, name="victim", group=True) as pids:
        outcome = kill_process_group(target(pids[0]), OTHER, dry_run=False)
        assert outcome.status is Status.DONE, outcome
        for pid in pids:
            assert f"victim (pid {pid})" in outcome.detail
        assert all(wait_dead(p) for p in pids)


def test_a_group_kill_spares_members_outside_the_events_container() -> None:
    """A container's process group holds only that container's processes; a member outside
    it (a host process in a group the table recorded wrongly) is spared."""
    with orphans(2, group=True) as pids:
        t = target(pids[0], container_id="0123456789ab", container_name="web")
        outcome = kill_process_group(t, OTHER, dry_run=False)
        assert outcome.status is Status.REFUSED, outcome
        assert f"sleep (pid {pids[1]}) is not in container web" in outcome.detail
        assert all(alive(p) for p in pids)


def test_the_process_group_of_secengine_is_refused() -> None:
    pid = os.getpid()
    outcome = kill_process_group(target(pid), OTHER, dry_run=False)
    assert outcome.status is Status.REFUSED
    assert "process group" in outcome.detail
