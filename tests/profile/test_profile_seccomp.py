"""Seccomp profiles: the policy from a recording, the JSON written, reading Docker's conditions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secengine.profile.errors import ProfileError
from secengine.profile.recording import Recording
from secengine.profile.seccomp import (
    ALWAYS_ALLOWED,
    build_profile,
    find_default_profile,
    load_profile,
    policy,
    profile_names,
    write_profile,
)


def recording() -> Recording:
    rec = Recording(mode="run")
    sc = rec.syscalls
    sc.add("pre", "ok", {"mount", "pivot_root", "seccomp"})  # before the filter: not needed
    sc.add("init", "ok", {"capset", "execve", "openat"})
    sc.add("init", "eperm", {"epoll_ctl"})
    sc.add("work", "ok", {"read", "write", "openat"})
    sc.add("work", "other", {"connect"})  # ECONNREFUSED: the kernel must run it
    sc.add("work", "enosys", {"clone3"})  # probed, fell back to clone
    sc.add("work", "ok", {"clone"})
    sc.add("work", "eperm", {"write", "setpriority"})  # write also succeeded
    return rec


def test_policy_sorts_syscalls_by_outcome() -> None:
    pol = policy(recording())
    assert (
        pol.allowed
        == {"capset", "execve", "openat", "read", "write", "connect", "clone"} | ALWAYS_ALLOWED
    )
    assert pol.enosys == {"clone3"}
    assert pol.denied_seen == {"epoll_ctl", "setpriority"}
    assert not pol.allowed & {"mount", "pivot_root", "seccomp"}


def test_the_runtimes_scheduling_syscalls_are_allowed_unseen() -> None:
    """runc's Go init waits, sleeps and yields only when contended: a recording on a quiet
    machine may not see them, and a re-run on a busy one needs them (it failed to start)."""
    pol = policy(recording())
    assert {"futex", "nanosleep", "sched_yield"} <= pol.allowed


def test_unknown_numbers_are_left_out() -> None:
    rec = recording()
    rec.syscalls.add("work", "ok", {"syscall_400"})
    pol = policy(rec)
    assert pol.unknown == {"syscall_400"} and "syscall_400" not in pol.allowed


def test_profile_json_is_the_oci_format() -> None:
    prof = build_profile(policy(recording()))
    assert prof["defaultAction"] == "SCMP_ACT_ERRNO"
    assert prof["defaultErrnoRet"] == 1
    assert prof["architectures"] == ["SCMP_ARCH_X86_64"]
    allow, enosys = prof["syscalls"]
    assert allow["action"] == "SCMP_ACT_ALLOW" and allow["names"] == sorted(allow["names"])
    assert enosys == {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}


def test_audit_mode_logs_instead_of_denying(tmp_path: Path) -> None:
    prof = build_profile(policy(recording()), audit=True)
    assert prof["defaultAction"] == "SCMP_ACT_LOG" and "defaultErrnoRet" not in prof
    path = tmp_path / "p.json"
    write_profile(path, prof)
    names = profile_names(load_profile(path))
    assert names.audit and "read" in names.allowed and names.errno == {"clone3": 38}


DOCKERISH = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}],
        },
        {
            "names": ["arch_prctl"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"arches": ["amd64", "x32"]},
        },
        {
            "names": ["s390_pci_mmio_read"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"arches": ["s390x"]},
        },
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
            "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]},
        },
        {
            "names": ["clone3"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 38,
            "excludes": {"caps": ["CAP_SYS_ADMIN"]},
        },
    ],
}


def test_docker_conditions_are_evaluated_for_x86_64_and_the_caps() -> None:
    names = profile_names(DOCKERISH, ["SYS_CHROOT"])
    assert names.allowed == {"read", "write", "personality", "arch_prctl", "chroot", "clone"}
    assert names.conditional == {"personality", "clone"}
    assert names.errno == {"clone3": 38}
    admin = profile_names(DOCKERISH, ["CAP_SYS_ADMIN"])
    assert "mount" in admin.allowed and "clone" not in admin.allowed and not admin.errno


def test_reading_profiles(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ProfileError, match="not JSON"):
        load_profile(bad)
    bad.write_text(json.dumps({"syscalls": []}))
    with pytest.raises(ProfileError, match="not a seccomp profile"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.json")


def test_default_profile_lookup(tmp_path: Path) -> None:
    explicit = tmp_path / "d.json"
    assert find_default_profile(explicit) == explicit
    found = find_default_profile()
    assert found is None or found.is_file()
