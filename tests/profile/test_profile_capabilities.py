"""The capability inference table, operation by operation, and how the kernel's answer is used."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from secengine.fields.caps import CAP_NAMES
from secengine.profile import layout as L
from secengine.profile.capabilities import (
    RULES,
    RULES_BY_SYSCALL,
    Context,
    Need,
    cap_args,
    cap_bit,
    infer,
    opspec,
    short_name,
)
from secengine.profile.recording import Op
from secengine.syscall_table import NUMBERS

ALL = (1 << len(CAP_NAMES)) - 1
NONE = 0xFFFFFFFF


def op(
    syscall: str, *v: int, err: int = 0, cap_eff: int = ALL, flags: int = 0, phase: str = "work"
) -> Op:
    kind = L.OP_NAMES[RULES_BY_SYSCALL[syscall].kind]
    return Op(kind, syscall, phase, err, cap_eff, flags, tuple(v) + (0,) * (L.NV - len(v)))


def judge(o: Op, ctx: Context | None = None) -> Need | None:
    return RULES_BY_SYSCALL[o.syscall].judge(o, ctx or Context())


def need(o: Op, ctx: Context | None = None) -> tuple[str, bool] | None:
    n = judge(o, ctx)
    return None if n is None else (n.capability, n.certain)


# -- one rule at a time ----------------------------------------------------------------------
def test_bind_below_the_unprivileged_port_start_needs_net_bind_service() -> None:
    assert need(op("bind", 2, 80, 1024)) == ("CAP_NET_BIND_SERVICE", True)
    assert need(op("bind", 10, 1023, 1024)) == ("CAP_NET_BIND_SERVICE", True)
    assert need(op("bind", 2, 8080, 1024)) is None
    assert need(op("bind", 2, 80, 0)) is None  # docker sets ip_unprivileged_port_start=0
    assert need(op("bind", 2, 0, 1024)) is None  # port 0: the kernel picks one


def test_raw_and_packet_sockets_need_net_raw() -> None:
    assert need(op("socket", 2, 3, 1)) == ("CAP_NET_RAW", True)  # AF_INET SOCK_RAW ICMP
    assert need(op("socket", 10, 3, 58)) == ("CAP_NET_RAW", True)
    assert need(op("socket", 17, 3, 768)) == ("CAP_NET_RAW", True)  # AF_PACKET
    assert need(op("socket", 17, 2, 768)) == ("CAP_NET_RAW", True)
    assert need(op("socket", 16, 3, 0)) is None  # netlink raw sockets need nothing


def test_chown_to_another_owner_or_foreign_group_needs_chown() -> None:
    # v = uid arg, gid arg, fsuid, fsgid, gid arg is one of the caller's groups
    assert need(op("chown", 1000, NONE, 0, 0, 1)) == ("CAP_CHOWN", True)
    assert need(op("fchownat", NONE, 50, 1000, 1000, 0)) == ("CAP_CHOWN", True)
    assert need(op("lchown", 1000, 1000, 1000, 1000, 1)) == ("CAP_CHOWN", False)
    assert need(op("fchown", NONE, NONE, 0, 0, 1)) is None


def test_setuid_judged_against_the_ids_before_the_call() -> None:
    known = L.OPF_OLD_KNOWN
    # v = args[3], old real/effective/saved/fs ids, new ids
    assert need(op("setuid", 1000, 0, 0, 0, 0, 0, 0, flags=known)) == ("CAP_SETUID", True)
    assert need(op("setuid", 1000, 0, 0, 1000, 0, 1000, 0, flags=known)) is None  # real uid
    assert need(op("setuid", 5, 0, 0, 1000, 1000, 5, 1000, flags=known)) is None  # saved uid
    assert need(op("setresuid", NONE, 1000, NONE, 0, 0, 0, 0, flags=known)) == ("CAP_SETUID", True)
    assert need(op("setresuid", 1000, 1000, 1000, 1000, 1000, 1000, 1000, flags=known)) is None
    assert need(op("setreuid", 7, NONE, 0, 1000, 7, 1000, 1000, flags=known)) is None
    # setreuid may set the real uid to the real or effective uid, not to the saved one
    assert need(op("setreuid", 1000, NONE, 0, 7, 7, 1000, 7, flags=known)) == ("CAP_SETUID", True)
    assert need(op("setreuid", NONE, 1000, 0, 7, 7, 1000, 7, flags=known)) is None
    assert need(op("setfsuid", 1000, 0, 0, 1000, 1000, 1000, 1000, flags=known)) is None
    assert need(op("setgid", 1000, 0, 0, 0, 0, 0, 0, flags=known)) == ("CAP_SETGID", True)
    assert need(op("setresgid", 0, 0, 0, 1000, 1000, 1000, 1000, flags=known)) == (
        "CAP_SETGID",
        True,
    )


def test_setuid_without_the_old_ids_is_only_possible() -> None:
    assert need(op("setuid", 1000)) == ("CAP_SETUID", False)
    assert need(op("setresgid", NONE, NONE, NONE)) is None


def test_setgroups_always_needs_setgid() -> None:
    assert need(op("setgroups", 1, 0x7FFD0000)) == ("CAP_SETGID", True)


def test_mount_family_needs_sys_admin() -> None:
    for call in ("mount", "umount2", "pivot_root", "fsopen", "move_mount"):
        assert need(op(call)) == ("CAP_SYS_ADMIN", True)


def test_mknod_of_devices_needs_mknod() -> None:
    # mknod(path, mode, dev); mknodat(dirfd, path, mode, dev)
    assert need(op("mknod", 0, 0o020644, 0x103)) == ("CAP_MKNOD", True)  # char 1:3
    assert need(op("mknodat", 0, 0, 0o060600, 0x801)) == ("CAP_MKNOD", True)  # block
    assert need(op("mknod", 0, 0o010644, 0)) is None  # FIFO
    assert need(op("mknod", 0, 0o100644, 0)) is None  # regular file
    assert need(op("mknodat", 0, 0, 0o020000, 0)) is None  # overlayfs whiteout 0:0


def test_ptrace_of_another_user_or_a_non_descendant_needs_sys_ptrace() -> None:
    # v = request, pid, ids match, descendant, tracee uid, tracer uid
    attach = 16
    assert need(op("ptrace", attach, 42, 0, 1, 1000, 0)) == ("CAP_SYS_PTRACE", True)
    assert need(op("ptrace", attach, 42, 1, 0, 0, 0), Context(ptrace_scope=1)) == (
        "CAP_SYS_PTRACE",
        True,
    )
    assert need(op("ptrace", attach, 42, 1, 1, 0, 0), Context(ptrace_scope=1)) is None
    assert need(op("ptrace", attach, 42, 1, 0, 0, 0), Context(ptrace_scope=0)) is None
    assert need(op("ptrace", 0x4206, 42, 1, 1, 0, 0), Context(ptrace_scope=2)) == (
        "CAP_SYS_PTRACE",
        True,
    )
    assert need(op("ptrace", attach, 42, err=errno.EPERM)) == ("CAP_SYS_PTRACE", True)


def test_kill_of_another_users_process_needs_kill() -> None:
    # v = signal, needs privilege, target uid, sender euid, same thread group
    assert need(op("kill", 15, 1, 1000, 0, 0)) == ("CAP_KILL", True)
    assert need(op("kill", 15, 0, 0, 0, 0)) is None
    assert need(op("tgkill", 6, 0, 0, 0, 1)) is None
    assert need(op("kill", 9, 1, err=errno.EPERM)) == ("CAP_KILL", True)


def test_open_refused_by_the_mode_bits_needs_dac_override() -> None:
    # v = i_mode, i_uid, i_gid, fsuid, fsgid, wanted MAY_*, created, nr
    n = judge(op("openat", 0o100600, 1000, 1000, 0, 0, 4, 0, 257))
    assert n is not None and (n.capability, n.certain) == ("CAP_DAC_OVERRIDE", True)
    assert "0600" in n.reason and "reading" in n.reason
    n = judge(op("openat", 0o40755, 1000, 1000, 0, 0, 3, 1, 257, flags=L.OPF_DIR))
    assert n is not None and "create a file in a directory" in n.reason
    assert need(op("open", err=errno.EACCES)) == ("CAP_DAC_OVERRIDE", True)


def test_namespaces_without_a_user_namespace_need_sys_admin() -> None:
    assert need(op("unshare", 0x40000000)) == ("CAP_SYS_ADMIN", True)  # CLONE_NEWNET
    assert need(op("unshare", 0x40000000 | 0x10000000)) is None  # with CLONE_NEWUSER
    assert need(op("clone3", 0x00020000)) == ("CAP_SYS_ADMIN", True)
    assert need(op("setns", 3, 0)) == ("CAP_SYS_ADMIN", True)


@pytest.mark.parametrize(
    "call,cap",
    [
        ("chroot", "CAP_SYS_CHROOT"),
        ("sethostname", "CAP_SYS_ADMIN"),
        ("setdomainname", "CAP_SYS_ADMIN"),
        ("swapon", "CAP_SYS_ADMIN"),
        ("init_module", "CAP_SYS_MODULE"),
        ("finit_module", "CAP_SYS_MODULE"),
        ("delete_module", "CAP_SYS_MODULE"),
        ("reboot", "CAP_SYS_BOOT"),
        ("kexec_load", "CAP_SYS_BOOT"),
        ("settimeofday", "CAP_SYS_TIME"),
        ("clock_settime", "CAP_SYS_TIME"),
        ("acct", "CAP_SYS_PACCT"),
        ("vhangup", "CAP_SYS_TTY_CONFIG"),
        ("open_by_handle_at", "CAP_DAC_READ_SEARCH"),
    ],
)
def test_syscalls_that_always_need_a_capability(call: str, cap: str) -> None:
    assert need(op(call)) == (cap, True)


def test_io_ports_syslog_realtime_bpf_perf() -> None:
    assert need(op("iopl", 3)) == ("CAP_SYS_RAWIO", True)
    assert need(op("iopl", 0)) is None
    assert need(op("ioperm", 0x378, 3, 1)) == ("CAP_SYS_RAWIO", True)
    assert need(op("ioperm", 0x378, 3, 0)) is None
    assert need(op("syslog", 3)) is None
    assert need(op("syslog", 3), Context(dmesg_restrict=1)) == ("CAP_SYSLOG", True)
    assert need(op("syslog", 5)) == ("CAP_SYSLOG", True)  # clear
    assert need(op("sched_setscheduler", 0, 1)) == ("CAP_SYS_NICE", False)
    assert need(op("sched_setscheduler", 0, 0)) is None
    assert need(op("bpf", 0)) == ("CAP_BPF", True)
    assert need(op("bpf", 0), Context(unprivileged_bpf_disabled=0)) == ("CAP_BPF", False)
    assert need(op("perf_event_open")) == ("CAP_PERFMON", False)


# -- how verdicts are reached ---------------------------------------------------------------
def test_verdicts_use_the_kernels_answer() -> None:
    bind80 = op("bind", 2, 80, 1024)
    raw_without_cap = op("socket", 2, 3, 1, cap_eff=ALL & ~(1 << cap_bit("NET_RAW")))
    refused = op("bind", 2, 443, 1024, err=errno.EACCES)
    other_failure = op("bind", 2, 22, 1024, err=errno.EADDRINUSE)
    maybe = op("lchown", 1000, 1000, 1000, 1000, 1)
    init_phase = op("setgroups", phase="init")
    result = infer([bind80, raw_without_cap, refused, other_failure, maybe, init_phase])
    verdicts = {(f.op.syscall, f.op.v[:2]): f.verdict for f in result.findings}
    assert verdicts == {
        ("bind", (2, 80)): "required",
        ("socket", (2, 3)): "unneeded",
        ("bind", (2, 443)): "denied",
        ("lchown", (1000, 1000)): "possible",
    }
    assert result.required == ["CAP_NET_BIND_SERVICE"]
    assert result.possible == ["CAP_CHOWN"]
    assert result.denied == ["CAP_NET_BIND_SERVICE"]
    assert [f.op.syscall for f in result.evidence("CAP_NET_BIND_SERVICE")] == ["bind", "bind"]


def test_possible_is_dropped_when_required_anyway() -> None:
    result = infer([op("chown", 5, NONE, 0, 0, 1), op("lchown", 0, 0, 0, 0, 1)])
    assert result.required == ["CAP_CHOWN"] and result.possible == []


def test_opspec_covers_every_rule_syscall_known_here() -> None:
    spec = opspec()
    for rule in RULES:
        for call in rule.syscalls:
            assert spec[NUMBERS[call]] == rule.kind, call
    assert spec[NUMBERS["bind"]] == L.OP_BIND
    assert NUMBERS["read"] not in spec


def test_every_rule_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "least-privilege.md").read_text()
    for rule in RULES:
        assert f"`{rule.name}`" in doc, rule.name


def test_cap_args_and_names() -> None:
    assert cap_args([]) == ["--cap-drop", "ALL"]
    assert cap_args(["CAP_NET_RAW", "CAP_CHOWN", "CAP_NET_RAW"]) == [
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CHOWN",
        "--cap-add",
        "NET_RAW",
    ]
    assert short_name("CAP_KILL") == "KILL"
    assert cap_bit("net_bind_service") == cap_bit("CAP_NET_BIND_SERVICE") == 10


def test_context_from_host_reads_sysctls(tmp_path: Path) -> None:
    (tmp_path / "yama").mkdir()
    (tmp_path / "yama" / "ptrace_scope").write_text("2\n")
    (tmp_path / "dmesg_restrict").write_text("1\n")
    ctx = Context.from_host(tmp_path)
    assert ctx == Context(ptrace_scope=2, unprivileged_bpf_disabled=2, dmesg_restrict=1)
