"""The Python mirror of ``events.h``: record structs and constants.

``events.h`` is the single source of the layout; ``tests/bpf/test_layout.py``
parses it and checks every constant and struct size here against it. The
struct formats are little-endian with no padding (the header arranges its
fields so that none is needed).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Final

__all__ = [
    "ARGS_MAX",
    "ARG_BUF",
    "ARG_INT",
    "ARG_INT2",
    "ARG_OPENHOW",
    "ARG_SOCKADDR",
    "ARG_STR",
    "BUDGET",
    "BUF_MAX",
    "CLASSES",
    "CLASS_BULK",
    "CLASS_PRIORITY",
    "CONFIG",
    "CONSTANTS",
    "CREDS",
    "EVT_CLONE",
    "EVT_EXEC",
    "EVT_EXIT",
    "EVT_FLOOD",
    "EVT_KILL",
    "EVT_SYSCALL",
    "EXE_FROM_MEMFD",
    "EXE_LOWER_LAYER",
    "EXE_UPPER_LAYER",
    "EXE_WRITABLE",
    "FAIL_PATH_DIRFD_RELATIVE",
    "FILE",
    "F_COMPAT",
    "F_CWD_OUTSIDE_ROOT",
    "F_EXE_OUTSIDE_ROOT",
    "F_FILE_OUTSIDE_ROOT",
    "F_TRUNCATED",
    "F_URING",
    "HDR",
    "HDR_SIZE",
    "HEADER_PATH",
    "KILL_CHECKED",
    "KILL_COMM_KEY",
    "KILL_COMM_PREFIX",
    "KILL_CONFIG",
    "KILL_DRY_RUN",
    "KILL_EXE_KEY",
    "KILL_FAILED",
    "KILL_KILLED",
    "KILL_NS",
    "KILL_OUTCOMES",
    "KILL_PATH",
    "KILL_PATH_KEY",
    "KILL_PROTECTED",
    "KILL_RATE_LIMITED",
    "KILL_RULE",
    "KILL_RULES",
    "KILL_SYS_BYTES",
    "KK_EXE",
    "KK_FILE",
    "KK_IN",
    "KK_NOT",
    "KK_NOT_EXE",
    "KK_NOT_FILE",
    "KR_COMM",
    "KR_CONTAINER",
    "KR_DRY_RUN",
    "KR_EXE",
    "KR_FILE",
    "KR_HOST",
    "KR_NOT_COMM",
    "KR_NOT_EXE",
    "KR_NOT_FILE",
    "KR_READ",
    "KR_REG",
    "KR_SUCCESS",
    "KR_WRITE",
    "MAX_SYSCALLS",
    "NARGS",
    "NL_HEAD",
    "NS",
    "OPEN_HOW",
    "PATH_KEY",
    "PATH_KEY_BYTES",
    "PROC",
    "SPEC",
    "STAT_BUDGET",
    "STAT_BUSY",
    "STAT_COUNT",
    "STAT_DROPPED",
    "STAT_EMITTED",
    "STAT_FILTERED",
    "STAT_FLOODS",
    "STAT_HEADROOM",
    "STAT_TRUNCATED",
    "STAT_WAKEUPS",
    "STRUCTS",
    "WANT_COMPAT",
    "WANT_KILL",
    "WANT_KILL_COMPAT",
    "WANT_NATIVE",
    "WANT_NETLINK_ONLY",
    "X_CREDS",
    "X_CWD",
    "X_FAILED_ONLY",
    "X_FILE_ARG0",
    "X_FILE_RES",
    "X_NETLINK_ONLY",
    "X_NL_BUF",
    "X_NL_MSG",
    "X_NS",
    "X_PRIORITY",
    "X_PRIORITY_PATH",
    "X_SKIP_STREAM",
    "X_SUCCESS_ONLY",
]

#: The C header (shipped next to this module).
HEADER_PATH: Final = Path(__file__).with_name("events.h")

MAX_SYSCALLS: Final = 512
NARGS: Final = 6

EVT_SYSCALL: Final = 1
EVT_EXEC: Final = 2
EVT_CLONE: Final = 3
EVT_EXIT: Final = 4
EVT_FLOOD: Final = 5

F_TRUNCATED: Final = 1
#: a 32-bit (ia32) syscall: ``nr`` is in the ia32 table
F_COMPAT: Final = 2
#: an io_uring operation, as the syscall record it stands for
F_URING: Final = 4
#: the record's working directory (chdir/fchdir after the call, an exec's) is not under the
#: task's root (``fs->root``): reached from outside it, e.g. through a leaked fd
F_CWD_OUTSIDE_ROOT: Final = 8
#: an exec's executable is not under the task's root
F_EXE_OUTSIDE_ROOT: Final = 16
#: the file an openat/openat2 relative to a directory fd opened (for a refused one with a
#: relative path: that directory) is not under the task's root
F_FILE_OUTSIDE_ROOT: Final = 32
#: ``se_interest`` bits: the native / the ia32 syscall of that number is captured
WANT_NATIVE: Final = 1
WANT_COMPAT: Final = 2

ARG_INT: Final = 0
ARG_STR: Final = 1
ARG_SOCKADDR: Final = 2
ARG_OPENHOW: Final = 3
ARG_INT2: Final = 4
#: a user buffer, length in the next argument (at most BUF_MAX bytes copied)
ARG_BUF: Final = 5
ARGS_MAX: Final = 4094
BUF_MAX: Final = 256
NL_HEAD: Final = 512

X_FILE_ARG0: Final = 0x01
X_FILE_RES: Final = 0x02
X_CREDS: Final = 0x04
X_CWD: Final = 0x08
X_FAILED_ONLY: Final = 0x10
X_SKIP_STREAM: Final = 0x20
X_SUCCESS_ONLY: Final = 0x40
#: drop the call unless its fd is a netlink socket (no loaded rule can match another)
X_NETLINK_ONLY: Final = 0x1000
#: drop the call when it failed and its open flags (argument 1 / 2) are not for writing
X_FAILED_WRITES_A1: Final = 0x2000
X_FAILED_WRITES_A2: Final = 0x4000
X_FAILED_PATHS: Final = 0x8000
X_PRIORITY: Final = 0x80
X_PRIORITY_PATH: Final = 0x100
#: the head of a send on a netlink socket: from the buffer (sendto) / the msghdr (sendmsg)
X_NL_BUF: Final = 0x200
X_NL_MSG: Final = 0x400
#: the caller's namespace inodes after the call (se_ns)
X_NS: Final = 0x800

CLASS_BULK: Final = 0
CLASS_PRIORITY: Final = 1
CLASSES: Final = 2

PATH_KEY_BYTES: Final = 64
#: The key under which the probe looks up, in ``se_fail_paths``, a failed ``openat``'s
#: relative path given with a directory fd (no path starts with this byte): stored, such
#: failures are kept for the walk that says whether that directory is outside the root.
FAIL_PATH_DIRFD_RELATIVE: Final = "\x01"

EXE_WRITABLE: Final = 1
EXE_UPPER_LAYER: Final = 2
EXE_FROM_MEMFD: Final = 4
EXE_LOWER_LAYER: Final = 8

STAT_EMITTED: Final = 0
STAT_DROPPED: Final = 1
STAT_TRUNCATED: Final = 2
STAT_WAKEUPS: Final = 3
STAT_BUSY: Final = 4
STAT_BUDGET: Final = 5
STAT_FILTERED: Final = 6
STAT_FLOODS: Final = 7
STAT_HEADROOM: Final = 8
STAT_COUNT: Final = 9

#: se_hdr: ts tid pid nr evt len flags res args[6]
HDR: Final = struct.Struct("<QIIHHHHq6Q")
HDR_SIZE: Final = HDR.size
#: se_spec: enabled argkind[6] pad extras pad2
SPEC: Final = struct.Struct("<B6sBHH")
#: se_config: self_tgid wakeup_bytes budget_ns budget_tau flood_interval_ns bulk_limit
#: urgent urgent_cons
CONFIG: Final = struct.Struct("<IIQQQIIQ")
#: se_budget: tat[2] admitted suppressed reported last_report last_nr last_class
BUDGET: Final = struct.Struct("<6QII")
#: se_path_key: prefixlen (bits), path bytes
PATH_KEY: Final = struct.Struct("<I64s")
#: se_file: mode dev ino fmode family stype proto lport rport overlay laddr raddr
FILE: Final = struct.Struct("<IIQIHHHHHH16s16s")
#: se_creds: uid gid euid egid suid sgid loginuid pad cap_inh cap_perm cap_eff
CREDS: Final = struct.Struct("<8I3Q")
#: se_ns: user mnt net pid (namespace inodes)
NS: Final = struct.Struct("<4I")
#: se_proc: ptid sid pgid vpgid vpid vtid tty flags exe_ino exe_ctime exe_mtime
#: start_time pidns_init_start fdlimit, then se_creds, exe_mode exe_uid exe_gid pad, se_ns
PROC: Final = struct.Struct("<8I6Q8I3Q4I4I")
#: struct open_how: flags mode resolve
OPEN_HOW: Final = struct.Struct("<QQQ")

# -- in-kernel kill (events.h, "in-kernel kill") ----------------------------------
#: the record a kill rule's match leaves (args: slot, outcome, rule id, ktime, signal result)
EVT_KILL: Final = 6
#: ``se_interest`` bits: a kill rule looks at the native / the ia32 syscall of that number
WANT_KILL: Final = 4
WANT_KILL_COMPAT: Final = 8
#: ``se_interest`` bit: the native call is wanted only on a netlink socket (``X_NETLINK_ONLY``),
#: which the program checks before any other work
WANT_NETLINK_ONLY: Final = 16
KILL_RULES: Final = 16
KILL_PATH: Final = 126
KILL_SYS_BYTES: Final = 128
KR_DRY_RUN: Final = 0x01
KR_CONTAINER: Final = 0x02
KR_HOST: Final = 0x04
KR_SUCCESS: Final = 0x08
KR_COMM: Final = 0x10
KR_NOT_COMM: Final = 0x20
KR_FILE: Final = 0x40
KR_NOT_FILE: Final = 0x80
KR_EXE: Final = 0x100
KR_NOT_EXE: Final = 0x200
KR_READ: Final = 0x400
KR_WRITE: Final = 0x800
KR_REG: Final = 0x1000
KK_IN: Final = 0
KK_NOT: Final = 1
KK_FILE: Final = 2
KK_NOT_FILE: Final = 3
KK_EXE: Final = 4
KK_NOT_EXE: Final = 5
KILL_CHECKED: Final = 0
KILL_KILLED: Final = 1
KILL_DRY_RUN: Final = 2
KILL_RATE_LIMITED: Final = 3
KILL_FAILED: Final = 4
KILL_PROTECTED: Final = 5
KILL_NS: Final = 6
KILL_OUTCOMES: Final = 7
#: se_kill_config: enabled dry_run nrules host_mnt_ns rate_ns burst_ns timing protect_tgid
KILL_CONFIG: Final = struct.Struct("<IIIIQQII")
#: se_kill_rule: id flags sys[KILL_SYS_BYTES]
KILL_RULE: Final = struct.Struct("<II128s")
#: se_kill_comm_key: slot kind comm[16]
KILL_COMM_KEY: Final = struct.Struct("<BB16s")
#: se_kill_path_key: prefixlen (bits, slot and kind included) slot kind path[KILL_PATH]
KILL_PATH_KEY: Final = struct.Struct("<IBB126s")
#: se_kill_comm_prefix: prefixlen (bits) comm[16]
KILL_COMM_PREFIX: Final = struct.Struct("<I16s")
#: se_kill_exe_key: ino dev pad
KILL_EXE_KEY: Final = struct.Struct("<QII")

#: Constant name in events.h -> value here (checked by the layout test).
CONSTANTS: Final = {
    "SE_MAX_SYSCALLS": MAX_SYSCALLS,
    "SE_NARGS": NARGS,
    "SE_EVT_SYSCALL": EVT_SYSCALL,
    "SE_EVT_EXEC": EVT_EXEC,
    "SE_EVT_CLONE": EVT_CLONE,
    "SE_EVT_EXIT": EVT_EXIT,
    "SE_EVT_FLOOD": EVT_FLOOD,
    "SE_F_TRUNCATED": F_TRUNCATED,
    "SE_F_COMPAT": F_COMPAT,
    "SE_F_URING": F_URING,
    "SE_F_CWD_OUTSIDE_ROOT": F_CWD_OUTSIDE_ROOT,
    "SE_F_EXE_OUTSIDE_ROOT": F_EXE_OUTSIDE_ROOT,
    "SE_F_FILE_OUTSIDE_ROOT": F_FILE_OUTSIDE_ROOT,
    "SE_WANT_NATIVE": WANT_NATIVE,
    "SE_WANT_COMPAT": WANT_COMPAT,
    "SE_ARG_INT": ARG_INT,
    "SE_ARG_STR": ARG_STR,
    "SE_ARG_SOCKADDR": ARG_SOCKADDR,
    "SE_ARG_OPENHOW": ARG_OPENHOW,
    "SE_ARG_INT2": ARG_INT2,
    "SE_ARG_BUF": ARG_BUF,
    "SE_ARGS_MAX": ARGS_MAX,
    "SE_BUF_MAX": BUF_MAX,
    "SE_NL_HEAD": NL_HEAD,
    "SE_X_FILE_ARG0": X_FILE_ARG0,
    "SE_X_FILE_RES": X_FILE_RES,
    "SE_X_CREDS": X_CREDS,
    "SE_X_CWD": X_CWD,
    "SE_X_FAILED_ONLY": X_FAILED_ONLY,
    "SE_X_FAILED_PATHS": X_FAILED_PATHS,
    "SE_X_SKIP_STREAM": X_SKIP_STREAM,
    "SE_X_SUCCESS_ONLY": X_SUCCESS_ONLY,
    "SE_X_NETLINK_ONLY": X_NETLINK_ONLY,
    "SE_X_PRIORITY": X_PRIORITY,
    "SE_X_PRIORITY_PATH": X_PRIORITY_PATH,
    "SE_X_NL_BUF": X_NL_BUF,
    "SE_X_NL_MSG": X_NL_MSG,
    "SE_X_NS": X_NS,
    "SE_CLASS_BULK": CLASS_BULK,
    "SE_CLASS_PRIORITY": CLASS_PRIORITY,
    "SE_CLASSES": CLASSES,
    "SE_PATH_KEY": PATH_KEY_BYTES,
    "SE_EXE_WRITABLE": EXE_WRITABLE,
    "SE_EXE_UPPER_LAYER": EXE_UPPER_LAYER,
    "SE_EXE_FROM_MEMFD": EXE_FROM_MEMFD,
    "SE_EXE_LOWER_LAYER": EXE_LOWER_LAYER,
    "SE_STAT_EMITTED": STAT_EMITTED,
    "SE_STAT_DROPPED": STAT_DROPPED,
    "SE_STAT_TRUNCATED": STAT_TRUNCATED,
    "SE_STAT_WAKEUPS": STAT_WAKEUPS,
    "SE_STAT_BUSY": STAT_BUSY,
    "SE_STAT_BUDGET": STAT_BUDGET,
    "SE_STAT_FILTERED": STAT_FILTERED,
    "SE_STAT_FLOODS": STAT_FLOODS,
    "SE_STAT_HEADROOM": STAT_HEADROOM,
    "SE_STAT_COUNT": STAT_COUNT,
    "SE_EVT_KILL": EVT_KILL,
    "SE_WANT_KILL": WANT_KILL,
    "SE_WANT_KILL_COMPAT": WANT_KILL_COMPAT,
    "SE_WANT_NETLINK_ONLY": WANT_NETLINK_ONLY,
    "SE_KILL_RULES": KILL_RULES,
    "SE_KILL_PATH": KILL_PATH,
    "SE_KILL_SYS_BYTES": KILL_SYS_BYTES,
    "SE_KR_DRY_RUN": KR_DRY_RUN,
    "SE_KR_CONTAINER": KR_CONTAINER,
    "SE_KR_HOST": KR_HOST,
    "SE_KR_SUCCESS": KR_SUCCESS,
    "SE_KR_COMM": KR_COMM,
    "SE_KR_NOT_COMM": KR_NOT_COMM,
    "SE_KR_FILE": KR_FILE,
    "SE_KR_NOT_FILE": KR_NOT_FILE,
    "SE_KR_EXE": KR_EXE,
    "SE_KR_NOT_EXE": KR_NOT_EXE,
    "SE_KR_READ": KR_READ,
    "SE_KR_WRITE": KR_WRITE,
    "SE_KR_REG": KR_REG,
    "SE_KK_IN": KK_IN,
    "SE_KK_NOT": KK_NOT,
    "SE_KK_FILE": KK_FILE,
    "SE_KK_NOT_FILE": KK_NOT_FILE,
    "SE_KK_EXE": KK_EXE,
    "SE_KK_NOT_EXE": KK_NOT_EXE,
    "SE_KILL_CHECKED": KILL_CHECKED,
    "SE_KILL_KILLED": KILL_KILLED,
    "SE_KILL_DRY_RUN": KILL_DRY_RUN,
    "SE_KILL_RATE_LIMITED": KILL_RATE_LIMITED,
    "SE_KILL_FAILED": KILL_FAILED,
    "SE_KILL_PROTECTED": KILL_PROTECTED,
    "SE_KILL_NS": KILL_NS,
    "SE_KILL_OUTCOMES": KILL_OUTCOMES,
}

#: struct name in events.h -> its Python format (checked field by field).
STRUCTS: Final = {
    "se_hdr": HDR,
    "se_spec": SPEC,
    "se_config": CONFIG,
    "se_file": FILE,
    "se_creds": CREDS,
    "se_ns": NS,
    "se_proc": PROC,
    "se_budget": BUDGET,
    "se_path_key": PATH_KEY,
    "se_kill_config": KILL_CONFIG,
    "se_kill_rule": KILL_RULE,
    "se_kill_comm_key": KILL_COMM_KEY,
    "se_kill_path_key": KILL_PATH_KEY,
    "se_kill_exe_key": KILL_EXE_KEY,
    "se_kill_comm_prefix": KILL_COMM_PREFIX,
}
