"""The Python mirror of ``bpf/profile.h``: the recorder's map keys, values and constants.

``profile.h`` is the single source; ``tests/profile/test_layout.py`` parses it
and checks every constant and struct here. Formats are little-endian with no
padding (the header orders fields so that none is needed).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Final

__all__ = [
    "BITS",
    "CONFIG",
    "CONSTANTS",
    "CREDS",
    "HEADER_PATH",
    "KEY",
    "MAX_SLOTS",
    "MAX_SYSCALLS",
    "NOPS",
    "NPHASES",
    "NSETS",
    "NV",
    "OPF_DIR",
    "OPF_OLD_KNOWN",
    "OP_ARGS",
    "OP_BIND",
    "OP_CHOWN",
    "OP_KEY",
    "OP_KILL",
    "OP_NAMES",
    "OP_NONE",
    "OP_NS",
    "OP_OPEN",
    "OP_PTRACE",
    "OP_SETID",
    "OP_SOCKET",
    "OP_VAL",
    "PHASE_INIT",
    "PHASE_NAMES",
    "PHASE_PRE",
    "PHASE_WORK",
    "SET_ENOSYS",
    "SET_EPERM",
    "SET_NAMES",
    "SET_OK",
    "SET_OTHER",
    "SLOT",
    "STAT_COMPAT",
    "STAT_COUNT",
    "STAT_NAMES",
    "STAT_OPS_FULL",
    "STAT_RECORDED",
    "STAT_SETS_FULL",
    "STAT_TASKS_FULL",
    "STRUCTS",
    "TASK",
    "WORDS",
]

#: The C header (shipped next to the BPF source).
HEADER_PATH: Final = Path(__file__).resolve().parent.parent / "bpf" / "profile.h"

MAX_SYSCALLS: Final = 512
WORDS: Final = 8
MAX_SLOTS: Final = 16
MAX_MNTNS: Final = 4
MAX_TASKS: Final = 16384
MAX_KEYS: Final = 256
MAX_OPS: Final = 8192
NV: Final = 10

PHASE_PRE: Final = 0
PHASE_INIT: Final = 1
PHASE_WORK: Final = 2
NPHASES: Final = 3
#: Phase names as profiles and reports spell them, by index.
PHASE_NAMES: Final = ("pre", "init", "work")

SET_OK: Final = 0
SET_EPERM: Final = 1
SET_ENOSYS: Final = 2
SET_OTHER: Final = 3
NSETS: Final = 4
#: Outcome names, by index.
SET_NAMES: Final = ("ok", "eperm", "enosys", "other")

OP_NONE: Final = 0
OP_ARGS: Final = 1
OP_BIND: Final = 2
OP_SOCKET: Final = 3
OP_CHOWN: Final = 4
OP_SETID: Final = 5
OP_OPEN: Final = 6
OP_PTRACE: Final = 7
OP_KILL: Final = 8
OP_NS: Final = 9
NOPS: Final = 10
#: Operation kind names, by value.
OP_NAMES: Final = (
    "none",
    "args",
    "bind",
    "socket",
    "chown",
    "setid",
    "open",
    "ptrace",
    "kill",
    "ns",
)

OPF_OLD_KNOWN: Final = 1
OPF_DIR: Final = 2

STAT_RECORDED: Final = 0
STAT_COMPAT: Final = 1
STAT_OPS_FULL: Final = 2
STAT_SETS_FULL: Final = 3
STAT_TASKS_FULL: Final = 4
STAT_COUNT: Final = 5
#: Counter names, by index.
STAT_NAMES: Final = ("recorded", "compat_syscalls", "ops_lost", "sets_lost", "tasks_lost")

#: pf_config: active catch_slot catch_comm[16]
CONFIG: Final = struct.Struct("<II16B")
#: pf_gate (the global ``.data.pf_gate``): n_mntns pad mntns[MAX_MNTNS] mntns_slot[MAX_MNTNS]
GATE: Final = struct.Struct(f"<II{MAX_MNTNS}Q{MAX_MNTNS}I")
#: pf_slot: active min_filters exclude_mntns live
SLOT: Final = struct.Struct("<IIQq")
#: pf_task: slot phase tree has_set pad set_idx pad2 set_mntns
TASK: Final = struct.Struct("<IBBBBIIQ")
#: pf_key: slot pad mntns
KEY: Final = struct.Struct("<IIQ")
#: pf_bits: w[NPHASES][NSETS][WORDS]
BITS: Final = struct.Struct(f"<{NPHASES * NSETS * WORDS}Q")
#: pf_creds: uid euid suid fsuid gid egid sgid fsgid cap_eff
CREDS: Final = struct.Struct("<8IQ")
#: pf_op_key: slot op phase flags err nr cap_eff v[NV]
OP_KEY: Final = struct.Struct(f"<IHBBiIQ{NV}I")
#: pf_op_val: count pid pad
OP_VAL: Final = struct.Struct("<QII")

#: Constant name in profile.h -> value here (checked by the layout test).
CONSTANTS: Final = {
    "PF_MAX_SYSCALLS": MAX_SYSCALLS,
    "PF_WORDS": WORDS,
    "PF_MAX_SLOTS": MAX_SLOTS,
    "PF_MAX_MNTNS": MAX_MNTNS,
    "PF_MAX_TASKS": MAX_TASKS,
    "PF_MAX_KEYS": MAX_KEYS,
    "PF_MAX_OPS": MAX_OPS,
    "PF_NV": NV,
    "PF_PHASE_PRE": PHASE_PRE,
    "PF_PHASE_INIT": PHASE_INIT,
    "PF_PHASE_WORK": PHASE_WORK,
    "PF_NPHASES": NPHASES,
    "PF_SET_OK": SET_OK,
    "PF_SET_EPERM": SET_EPERM,
    "PF_SET_ENOSYS": SET_ENOSYS,
    "PF_SET_OTHER": SET_OTHER,
    "PF_NSETS": NSETS,
    "PF_OP_NONE": OP_NONE,
    "PF_OP_ARGS": OP_ARGS,
    "PF_OP_BIND": OP_BIND,
    "PF_OP_SOCKET": OP_SOCKET,
    "PF_OP_CHOWN": OP_CHOWN,
    "PF_OP_SETID": OP_SETID,
    "PF_OP_OPEN": OP_OPEN,
    "PF_OP_PTRACE": OP_PTRACE,
    "PF_OP_KILL": OP_KILL,
    "PF_OP_NS": OP_NS,
    "PF_NOPS": NOPS,
    "PF_OPF_OLD_KNOWN": OPF_OLD_KNOWN,
    "PF_OPF_DIR": OPF_DIR,
    "PF_STAT_RECORDED": STAT_RECORDED,
    "PF_STAT_COMPAT": STAT_COMPAT,
    "PF_STAT_OPS_FULL": STAT_OPS_FULL,
    "PF_STAT_SETS_FULL": STAT_SETS_FULL,
    "PF_STAT_TASKS_FULL": STAT_TASKS_FULL,
    "PF_STAT_COUNT": STAT_COUNT,
}

#: struct name in profile.h -> its Python format (checked field by field).
STRUCTS: Final = {
    "pf_config": CONFIG,
    "pf_gate": GATE,
    "pf_slot": SLOT,
    "pf_task": TASK,
    "pf_key": KEY,
    "pf_bits": BITS,
    "pf_creds": CREDS,
    "pf_op_key": OP_KEY,
    "pf_op_val": OP_VAL,
}
