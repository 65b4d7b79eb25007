"""Which capabilities a workload needs, inferred from the privileged operations it made.

This kernel refuses fentry and BPF-LSM programs, so ``cap_capable`` cannot be
traced. Instead the recorder keeps, for the syscalls listed here, the
arguments and the state that decide the kernel's capability check (the port
of a ``bind``, the type of a ``socket``, the ids before a ``setuid``, the
mode and owner of a file that was opened...), the result, and the caller's
effective capabilities at the time. :data:`RULES` is the table that turns
one such operation into a :class:`Need`: which capability, whether the
inference is certain, and a sentence saying why. Each rule follows the
kernel function named in its docstring.

The kernel confirms or refutes the inference where it can:

- an operation that **succeeded without** the capability in its effective
  set did not need it (the rule is overruled, reported as *unneeded*);
- an operation that **failed with EPERM or EACCES** was refused by the check
  the rule describes (reported as *denied*; the capability is not added,
  since the workload ran without it).

Only operations of the workload phase count: the runtime's own setup runs
with the runtime's privileges, not the container's.

Not inferred (the deciding state is not visible at syscall exit, or the
check depends on configuration outside the call): CAP_FOWNER and
CAP_FSETID (``chmod``/``utimensat`` of other users' files), CAP_SETFCAP
(``setxattr`` of ``security.capability``), CAP_SETPCAP (``capset``),
CAP_SYS_RESOURCE (raising a hard ``rlimit``), CAP_IPC_LOCK (``mlock`` beyond
``RLIMIT_MEMLOCK``), CAP_SYS_NICE for lowering a nice value, CAP_NET_ADMIN
(``ioctl``/``setsockopt``/netlink requests), CAP_AUDIT_WRITE (audit netlink
messages), and the path search permission of the directories on the way to
an opened file.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from secengine.fields.caps import CAP_NAMES
from secengine.profile import layout as L
from secengine.syscall_table import NUMBERS

if TYPE_CHECKING:  # pragma: no cover
    from secengine.profile.recording import Op

__all__ = [
    "DOCKER_DEFAULT_CAPS",
    "RULES",
    "RULES_BY_SYSCALL",
    "Context",
    "Finding",
    "Inference",
    "Need",
    "Rule",
    "cap_args",
    "cap_bit",
    "infer",
    "opspec",
    "short_name",
]

_NONE: Final = 0xFFFFFFFF  # -1 as an unsigned id: "leave unchanged"
_S_IFMT: Final = 0o170000
_S_IFCHR: Final = 0o020000
_S_IFBLK: Final = 0o060000
_CLONE_NEWUSER: Final = 0x10000000
_NS_FLAGS: Final = {
    0x00020000: "CLONE_NEWNS",
    0x02000000: "CLONE_NEWCGROUP",
    0x04000000: "CLONE_NEWUTS",
    0x08000000: "CLONE_NEWIPC",
    0x10000000: "CLONE_NEWUSER",
    0x20000000: "CLONE_NEWPID",
    0x40000000: "CLONE_NEWNET",
    0x00000080: "CLONE_NEWTIME",
}
_MAY_WRITE: Final = 2
_MAY_READ: Final = 4

#: Docker's default capability set (moby ``oci/caps/defaults.go``), for reports.
DOCKER_DEFAULT_CAPS: Final = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)


@dataclass(frozen=True, slots=True)
class Need:
    """One operation's verdict: ``capability`` was needed (``certain``) or may have been."""

    capability: str
    certain: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Context:
    """Host settings some checks depend on (read from /proc by :meth:`from_host`)."""

    ptrace_scope: int = 1
    unprivileged_bpf_disabled: int = 2
    dmesg_restrict: int = 0

    @classmethod
    def from_host(cls, proc: Path = Path("/proc/sys/kernel")) -> Context:
        def read(name: str, default: int) -> int:
            try:
                return int((proc / name).read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return default

        return cls(
            ptrace_scope=read("yama/ptrace_scope", 0),
            unprivileged_bpf_disabled=read("unprivileged_bpf_disabled", 2),
            dmesg_restrict=read("dmesg_restrict", 0),
        )


Judge = Callable[["Op", Context], "Need | None"]


@dataclass(frozen=True, slots=True)
class Rule:
    """A row of the inference table: the syscalls it reads and how it judges one operation."""

    name: str
    syscalls: tuple[str, ...]
    kind: int
    capabilities: tuple[str, ...]
    summary: str
    judge: Judge


def _ids(*ids: int) -> str:
    return "/".join("-1" if i == _NONE else str(i) for i in ids)


# -- judges ------------------------------------------------------------------------------
def _bind(op: Op, ctx: Context) -> Need | None:
    """inet_port_requires_bind_service(): port < net.ipv4.ip_unprivileged_port_start."""
    family, port, start = op.v[0], op.v[1], op.v[2]
    if 0 < port < start:
        fam = "AF_INET6" if family == 10 else "AF_INET"
        return Need(
            "CAP_NET_BIND_SERVICE",
            True,
            f"bind({fam}, port {port}): below net.ipv4.ip_unprivileged_port_start={start}",
        )
    return None


def _socket(op: Op, ctx: Context) -> Need | None:
    """inet_create()/packet_create(): raw IP sockets and packet sockets need CAP_NET_RAW."""
    domain, stype, proto = op.v[0], op.v[1], op.v[2]
    if domain == 17:
        return Need("CAP_NET_RAW", True, f"socket(AF_PACKET, type {stype}): a packet socket")
    if domain in (2, 10) and stype == 3:
        fam = "AF_INET6" if domain == 10 else "AF_INET"
        return Need("CAP_NET_RAW", True, f"socket({fam}, SOCK_RAW, protocol {proto}): a raw socket")
    return None


def _chown(op: Op, ctx: Context) -> Need | None:
    """chown_ok()/chgrp_ok(): a new owner other than the caller, or a group not its own."""
    uid, gid, fsuid, _fsgid, in_group = op.v[:5]
    call = f"{op.syscall}(uid {_ids(uid)}, gid {_ids(gid)}) by uid {fsuid}"
    if uid != _NONE and uid != fsuid:
        return Need("CAP_CHOWN", True, f"{call}: gives the file to another user")
    if gid != _NONE and not in_group:
        return Need("CAP_CHOWN", True, f"{call}: a group the caller is not in")
    if uid == _NONE and gid == _NONE:
        return None
    return Need(
        "CAP_CHOWN",
        False,
        f"{call}: needed if the file belonged to another user (its owner before the "
        "call is not visible at syscall exit)",
    )


_UID_CALLS: Final = frozenset({"setuid", "setreuid", "setresuid", "setfsuid"})


def _setid_allowed(call: str, args: tuple[int, ...], old: tuple[int, ...]) -> bool:
    """Whether the call is allowed without the capability (kernel/sys.c, __sys_set*id)."""
    real, eff, saved, fs = old
    base = call.removesuffix("uid").removesuffix("gid")
    if base == "set":
        return args[0] in (real, saved)
    if base == "setre":
        return (args[0] in (_NONE, real, eff)) and (args[1] in (_NONE, real, eff, saved))
    if base == "setres":
        return all(a in (_NONE, real, eff, saved) for a in args[:3])
    if base == "setfs":
        return args[0] in (_NONE, real, eff, saved, fs)
    return False


def _setid(op: Op, ctx: Context) -> Need | None:
    """__sys_setuid() and friends: a new id that is none of the caller's current ids."""
    cap = "CAP_SETUID" if op.syscall in _UID_CALLS else "CAP_SETGID"
    nargs = {"set": 1, "setre": 2, "setres": 3, "setfs": 1}[
        op.syscall.removesuffix("uid").removesuffix("gid")
    ]
    args = op.v[:nargs]
    call = f"{op.syscall}({', '.join(_ids(a) for a in args)})"
    if op.flags & L.OPF_OLD_KNOWN:
        old = op.v[3:7]
        if _setid_allowed(op.syscall, args, old):
            return None
        return Need(
            cap,
            True,
            f"{call} with ids {_ids(*old[:3])}: changes to an id the caller does not have",
        )
    if all(a == _NONE for a in args):
        return None
    return Need(
        cap,
        False,
        f"{call}: the ids before the call were not seen (the thread started before recording)",
    )


def _always(cap: str, why: str) -> Judge:
    def judge(op: Op, ctx: Context) -> Need | None:
        return Need(cap, True, f"{op.syscall}(): {why}")

    judge.__doc__ = f"{why} ({cap})"
    return judge


def _mknod(op: Op, ctx: Context) -> Need | None:
    """vfs_mknod(): character and block devices need CAP_MKNOD (not FIFOs, sockets, files)."""
    mode, dev = (op.v[1], op.v[2]) if op.syscall == "mknod" else (op.v[2], op.v[3])
    kind = mode & _S_IFMT
    if kind == _S_IFBLK or (kind == _S_IFCHR and dev != 0):  # char 0:0 is a whiteout
        what = "block" if kind == _S_IFBLK else "character"
        return Need("CAP_MKNOD", True, f"{op.syscall}(): creates a {what} device node")
    return None


def _ptrace(op: Op, ctx: Context) -> Need | None:
    """__ptrace_may_access() and Yama: another user's process, or a non-descendant."""
    req = "PTRACE_SEIZE" if op.v[0] == 0x4206 else "PTRACE_ATTACH"
    if op.errno:
        return Need("CAP_SYS_PTRACE", True, f"ptrace({req}, pid {op.v[1]}) was refused")
    ids_match, descendant, tuid, cuid = op.v[2], op.v[3], op.v[4], op.v[5]
    if not ids_match:
        return Need(
            "CAP_SYS_PTRACE",
            True,
            f"ptrace({req}): the tracee runs as uid {tuid}, the tracer as uid {cuid}",
        )
    if ctx.ptrace_scope >= 2:
        return Need(
            "CAP_SYS_PTRACE",
            True,
            f"ptrace({req}): kernel.yama.ptrace_scope={ctx.ptrace_scope} allows "
            "attaching only with CAP_SYS_PTRACE",
        )
    if ctx.ptrace_scope == 1 and not descendant:
        return Need(
            "CAP_SYS_PTRACE",
            True,
            f"ptrace({req}): the tracee is not a descendant and kernel.yama.ptrace_scope=1",
        )
    return None


def _kill(op: Op, ctx: Context) -> Need | None:
    """check_kill_permission()/kill_ok_by_cred(): a signal to a process of another user."""
    sig, needs = op.v[0], op.v[1]
    if not needs:
        return None
    if op.errno:
        return Need(
            "CAP_KILL", True, f"{op.syscall}(signal {sig}) to another user's process was refused"
        )
    return Need(
        "CAP_KILL",
        True,
        f"{op.syscall}(signal {sig}) to a process of uid {op.v[2]} from euid {op.v[3]}",
    )


def _open(op: Op, ctx: Context) -> Need | None:
    """generic_permission(): the mode bits alone refuse the access (ACLs are not read).

    CAP_DAC_READ_SEARCH would also cover a read-only open, but it enables
    ``open_by_handle_at`` (the "shocker" escape), so DAC_OVERRIDE is proposed.
    """
    if op.errno:
        return Need(
            "CAP_DAC_OVERRIDE",
            True,
            f"{op.syscall}(): root was refused (EACCES) by a file's mode bits",
        )
    mode, iuid, igid, fsuid, _fsgid, mask = op.v[:6]
    what = "create a file in a directory" if op.flags & L.OPF_DIR else "open a file"
    access = (
        ("writing" if mask & _MAY_WRITE else "reading") if not op.flags & L.OPF_DIR else ("writing")
    )
    return Need(
        "CAP_DAC_OVERRIDE",
        True,
        f"{op.syscall}(): {what} (mode {mode & 0o7777:04o}, owner {iuid}:{igid}) for "
        f"{access} that uid {fsuid} may not by its mode bits",
    )


def _ns(op: Op, ctx: Context) -> Need | None:
    """create_new_namespaces()/setns(): namespaces other than a user namespace need SYS_ADMIN."""
    if op.syscall == "setns":
        return Need("CAP_SYS_ADMIN", True, "setns(): joining a namespace")
    flags = op.v[0]
    if flags & _CLONE_NEWUSER:
        return None  # the new user namespace grants the capabilities the others need
    names = "|".join(n for bit, n in _NS_FLAGS.items() if flags & bit)
    if not names:
        return None
    return Need(
        "CAP_SYS_ADMIN", True, f"{op.syscall}({names}): new namespaces without a new user namespace"
    )


def _iopl(op: Op, ctx: Context) -> Need | None:
    """ksys_ioperm()/iopl(): turning port access on needs CAP_SYS_RAWIO."""
    on = op.v[0] if op.syscall == "iopl" else op.v[2]
    return Need("CAP_SYS_RAWIO", True, f"{op.syscall}(): direct I/O port access") if on else None


def _syslog(op: Op, ctx: Context) -> Need | None:
    """check_syslog_permissions(): reading needs it only under kernel.dmesg_restrict."""
    action = op.v[0]
    if action in (3, 10):  # SYSLOG_ACTION_READ_ALL, SIZE_BUFFER
        if not ctx.dmesg_restrict:
            return None
        return Need("CAP_SYSLOG", True, f"syslog(action {action}) with kernel.dmesg_restrict=1")
    return Need("CAP_SYSLOG", True, f"syslog(action {action}): the kernel log buffer")


def _sched(op: Op, ctx: Context) -> Need | None:
    """sched_setscheduler(): real-time policies need SYS_NICE unless RLIMIT_RTPRIO allows."""
    if op.v[1] & 0xFF in (1, 2):  # SCHED_FIFO, SCHED_RR
        return Need(
            "CAP_SYS_NICE",
            False,
            f"sched_setscheduler(policy {op.v[1] & 0xFF}): a "
            "real-time policy (free if RLIMIT_RTPRIO allows it)",
        )
    return None


def _bpf(op: Op, ctx: Context) -> Need | None:
    """bpf(): with kernel.unprivileged_bpf_disabled set, every command needs CAP_BPF."""
    return Need(
        "CAP_BPF",
        ctx.unprivileged_bpf_disabled != 0,
        f"bpf(cmd {op.v[0]}) with kernel.unprivileged_bpf_disabled={ctx.unprivileged_bpf_disabled}",
    )


def _perf(op: Op, ctx: Context) -> Need | None:
    """perf_event_open(): depends on kernel.perf_event_paranoid and the event."""
    return Need(
        "CAP_PERFMON",
        False,
        "perf_event_open(): needed for most events unless kernel.perf_event_paranoid allows them",
    )


#: The inference table: every rule, in the order the docs list them.
RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "bind-privileged-port",
        ("bind",),
        L.OP_BIND,
        ("CAP_NET_BIND_SERVICE",),
        "bind() to a port below net.ipv4.ip_unprivileged_port_start",
        _bind,
    ),
    Rule(
        "raw-socket",
        ("socket",),
        L.OP_SOCKET,
        ("CAP_NET_RAW",),
        "socket() of type SOCK_RAW (AF_INET, AF_INET6) or of family AF_PACKET",
        _socket,
    ),
    Rule(
        "chown",
        ("chown", "fchown", "lchown", "fchownat"),
        L.OP_CHOWN,
        ("CAP_CHOWN",),
        "chown() to an owner other than the caller or a group it is not in (certain); "
        "to itself (possible: the old owner is not visible)",
        _chown,
    ),
    Rule(
        "set-uid",
        ("setuid", "setreuid", "setresuid", "setfsuid"),
        L.OP_SETID,
        ("CAP_SETUID",),
        "set*uid() to an id the caller has none of (real, effective, saved)",
        _setid,
    ),
    Rule(
        "set-gid",
        ("setgid", "setregid", "setresgid", "setfsgid"),
        L.OP_SETID,
        ("CAP_SETGID",),
        "set*gid() to a gid the caller has none of",
        _setid,
    ),
    Rule(
        "setgroups",
        ("setgroups",),
        L.OP_ARGS,
        ("CAP_SETGID",),
        "setgroups(): always",
        _always("CAP_SETGID", "setting supplementary groups"),
    ),
    Rule(
        "mount",
        ("mount", "umount2", "pivot_root", "fsopen", "fsmount", "move_mount", "mount_setattr"),
        L.OP_ARGS,
        ("CAP_SYS_ADMIN",),
        "mount(), umount2(), pivot_root() and the new mount API: always",
        _always("CAP_SYS_ADMIN", "mounting"),
    ),
    Rule(
        "mknod",
        ("mknod", "mknodat"),
        L.OP_ARGS,
        ("CAP_MKNOD",),
        "mknod() of a character or block device (not FIFOs, sockets, regular files, whiteouts)",
        _mknod,
    ),
    Rule(
        "ptrace",
        ("ptrace",),
        L.OP_PTRACE,
        ("CAP_SYS_PTRACE",),
        "ptrace(PTRACE_ATTACH/SEIZE) of another user's process, or of a non-descendant under "
        "kernel.yama.ptrace_scope=1 (always under 2)",
        _ptrace,
    ),
    Rule(
        "kill",
        ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"),
        L.OP_KILL,
        ("CAP_KILL",),
        "a signal to a process whose real and saved uid differ from the sender's real and "
        "effective uid (SIGCONT within the session excepted)",
        _kill,
    ),
    Rule(
        "dac-open",
        ("open", "openat", "openat2", "creat"),
        L.OP_OPEN,
        ("CAP_DAC_OVERRIDE",),
        "open() of a file the caller's uid/gid may not read or write by its mode bits, or "
        "creating one in a directory it may not write",
        _open,
    ),
    Rule(
        "namespaces",
        ("unshare", "clone", "clone3", "setns"),
        L.OP_NS,
        ("CAP_SYS_ADMIN",),
        "new namespaces without a new user namespace (clone, clone3, unshare); setns()",
        _ns,
    ),
    Rule(
        "chroot",
        ("chroot",),
        L.OP_ARGS,
        ("CAP_SYS_CHROOT",),
        "chroot(): always",
        _always("CAP_SYS_CHROOT", "changing the root directory"),
    ),
    Rule(
        "hostname",
        ("sethostname", "setdomainname"),
        L.OP_ARGS,
        ("CAP_SYS_ADMIN",),
        "sethostname(), setdomainname(): always",
        _always("CAP_SYS_ADMIN", "changing the UTS names"),
    ),
    Rule(
        "swap",
        ("swapon", "swapoff"),
        L.OP_ARGS,
        ("CAP_SYS_ADMIN",),
        "swapon(), swapoff(): always",
        _always("CAP_SYS_ADMIN", "swap"),
    ),
    Rule(
        "modules",
        ("init_module", "finit_module", "delete_module"),
        L.OP_ARGS,
        ("CAP_SYS_MODULE",),
        "loading and unloading kernel modules: always",
        _always("CAP_SYS_MODULE", "kernel modules"),
    ),
    Rule(
        "reboot",
        ("reboot", "kexec_load", "kexec_file_load"),
        L.OP_ARGS,
        ("CAP_SYS_BOOT",),
        "reboot(), kexec: always",
        _always("CAP_SYS_BOOT", "rebooting"),
    ),
    Rule(
        "clock",
        ("settimeofday", "clock_settime"),
        L.OP_ARGS,
        ("CAP_SYS_TIME",),
        "setting the system clock: always",
        _always("CAP_SYS_TIME", "setting the clock"),
    ),
    Rule(
        "acct",
        ("acct",),
        L.OP_ARGS,
        ("CAP_SYS_PACCT",),
        "process accounting: always",
        _always("CAP_SYS_PACCT", "process accounting"),
    ),
    Rule(
        "ioports",
        ("iopl", "ioperm"),
        L.OP_ARGS,
        ("CAP_SYS_RAWIO",),
        "iopl()/ioperm() turning I/O port access on",
        _iopl,
    ),
    Rule(
        "vhangup",
        ("vhangup",),
        L.OP_ARGS,
        ("CAP_SYS_TTY_CONFIG",),
        "vhangup(): always",
        _always("CAP_SYS_TTY_CONFIG", "hanging up the terminal"),
    ),
    Rule(
        "syslog",
        ("syslog",),
        L.OP_ARGS,
        ("CAP_SYSLOG",),
        "syslog() actions other than reading (reading too under kernel.dmesg_restrict=1)",
        _syslog,
    ),
    Rule(
        "realtime",
        ("sched_setscheduler",),
        L.OP_ARGS,
        ("CAP_SYS_NICE",),
        "sched_setscheduler() to SCHED_FIFO/SCHED_RR (possible: RLIMIT_RTPRIO may allow it)",
        _sched,
    ),
    Rule(
        "bpf",
        ("bpf",),
        L.OP_ARGS,
        ("CAP_BPF",),
        "bpf() when kernel.unprivileged_bpf_disabled is set",
        _bpf,
    ),
    Rule(
        "perf",
        ("perf_event_open",),
        L.OP_ARGS,
        ("CAP_PERFMON",),
        "perf_event_open() (possible: depends on kernel.perf_event_paranoid)",
        _perf,
    ),
    Rule(
        "open-by-handle",
        ("open_by_handle_at",),
        L.OP_ARGS,
        ("CAP_DAC_READ_SEARCH",),
        "open_by_handle_at(): always",
        _always("CAP_DAC_READ_SEARCH", "opening a file by handle"),
    ),
)

#: syscall name -> the rule that judges it.
RULES_BY_SYSCALL: Final = {name: rule for rule in RULES for name in rule.syscalls}


def opspec() -> dict[int, int]:
    """The ``opspec`` map contents: syscall number -> operation kind, for every rule."""
    out = {}
    for rule in RULES:
        for name in rule.syscalls:
            nr = NUMBERS.get(name)
            if nr is not None:
                out[nr] = rule.kind
    return out


def cap_bit(name: str) -> int:
    """The bit number of ``CAP_NAME`` (``NAME`` is accepted too)."""
    full = name.upper() if name.upper().startswith("CAP_") else f"CAP_{name.upper()}"
    return CAP_NAMES.index(full)


def short_name(cap: str) -> str:
    """``CAP_NET_RAW`` -> ``NET_RAW`` (what ``--cap-add`` takes)."""
    return cap.removeprefix("CAP_")


@dataclass(slots=True)
class Finding:
    """One operation's verdict with its evidence."""

    need: Need
    op: Op
    verdict: str  # required | possible | denied | unneeded


@dataclass(slots=True)
class Inference:
    """The capability verdicts of a recording."""

    findings: list[Finding] = field(default_factory=list)

    def _caps(self, verdict: str) -> list[str]:
        caps = {f.need.capability for f in self.findings if f.verdict == verdict}
        return sorted(caps, key=cap_bit)

    @property
    def required(self) -> list[str]:
        """The capabilities to add: needed by an operation that succeeded."""
        return self._caps("required")

    @property
    def possible(self) -> list[str]:
        """Capabilities an operation may have needed (not added; listed in the report)."""
        return [c for c in self._caps("possible") if c not in self.required]

    @property
    def denied(self) -> list[str]:
        """Capabilities whose check the kernel refused during recording."""
        return self._caps("denied")

    def evidence(self, cap: str) -> list[Finding]:
        return [f for f in self.findings if f.need.capability == cap]


def infer(
    ops: Iterable[Op], ctx: Context | None = None, phases: Iterable[str] = ("work",)
) -> Inference:
    """Judge every operation of ``phases`` with :data:`RULES`; confirm with the kernel's result."""
    ctx = ctx or Context()
    wanted = set(phases)
    out = Inference()
    for op in ops:
        if op.phase not in wanted:
            continue
        rule = RULES_BY_SYSCALL.get(op.syscall)
        if rule is None:
            continue
        need = rule.judge(op, ctx)
        if need is None:
            continue
        if op.errno in (_errno.EPERM, _errno.EACCES):
            verdict = "denied"
        elif op.errno:
            continue  # failed for another reason: no check was passed
        elif not op.cap_eff >> cap_bit(need.capability) & 1:
            verdict = "unneeded"  # it succeeded without the capability
        else:
            verdict = "required" if need.certain else "possible"
        out.findings.append(Finding(need, op, verdict))
    return out


def cap_args(caps: Iterable[str]) -> list[str]:
    """``--cap-drop ALL --cap-add X ...`` for docker and podman."""
    out = ["--cap-drop", "ALL"]
    for cap in sorted(set(caps), key=cap_bit):
        out += ["--cap-add", short_name(cap)]
    return out
