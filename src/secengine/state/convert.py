"""Kernel values → the driver's PPM values, as Falco's probes convert them.

The probe copies raw syscall arguments; Falco's rules compare *PPM* values
rendered through the driver's flag tables (``evt.arg.flags contains
O_TRUNC``, ``evt.arg.request contains PTRACE_ATTACH``), and PPM bits are not
Linux's. Each converter here is the Python twin of a ``*_to_scap`` helper of
``driver/ppm_flag_helpers.h``: a table of (Linux value, flag name), with the
PPM value looked up by name in :mod:`secengine.fields.flags`, so there is one
place for PPM numbers.
"""

from __future__ import annotations

import functools
from typing import Final

from secengine.fields.flags import flag_table

__all__ = [
    "FMODE_CREATED",
    "O_CLOEXEC",
    "O_CREAT",
    "O_TMPFILE_BIT",
    "clone_flags",
    "dup3_flags",
    "execveat_flags",
    "finit_module_flags",
    "memfd_flags",
    "mount_flags",
    "open_flags",
    "ptrace_request",
    "renameat2_flags",
    "sockopt_level",
    "sockopt_optname",
]

O_CLOEXEC: Final = 0o2000000
O_CREAT: Final = 0o100
O_TMPFILE_BIT: Final = 0o20000000
FMODE_CREATED: Final = 0x100000

#: x86_64 open flags (name, Linux bits) other than the access mode.
_OPEN: Final = (
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_DSYNC", 0o10000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_DIRECTORY", 0o200000),
    ("O_CLOEXEC", 0o2000000),
    ("O_SYNC", 0o4010000),
    ("O_TMPFILE", 0o20200000),
)

_PTRACE: Final = {
    0: "PTRACE_TRACEME",
    1: "PTRACE_PEEKTEXT",
    2: "PTRACE_PEEKDATA",
    3: "PTRACE_PEEKUSR",
    4: "PTRACE_POKETEXT",
    5: "PTRACE_POKEDATA",
    6: "PTRACE_POKEUSR",
    7: "PTRACE_CONT",
    8: "PTRACE_KILL",
    9: "PTRACE_SINGLESTEP",
    12: "PTRACE_GETREGS",
    13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS",
    15: "PTRACE_SETFPREGS",
    16: "PTRACE_ATTACH",
    17: "PTRACE_DETACH",
    18: "PTRACE_GETFPXREGS",
    19: "PTRACE_SETFPXREGS",
    21: "PTRACE_OLDSETOPTIONS",
    24: "PTRACE_SYSCALL",
    25: "PTRACE_GET_THREAD_AREA",
    26: "PTRACE_SET_THREAD_AREA",
    30: "PTRACE_ARCH_PRCTL",
    31: "PTRACE_SYSEMU",
    32: "PTRACE_SYSEMU_SINGLESTEP",
    33: "PTRACE_SINGLEBLOCK",
    0x4200: "PTRACE_SETOPTIONS",
    0x4201: "PTRACE_GETEVENTMSG",
    0x4202: "PTRACE_GETSIGINFO",
    0x4203: "PTRACE_SETSIGINFO",
    0x4204: "PTRACE_GETREGSET",
    0x4205: "PTRACE_SETREGSET",
    0x4206: "PTRACE_SEIZE",
    0x4207: "PTRACE_INTERRUPT",
    0x4208: "PTRACE_LISTEN",
    0x4209: "PTRACE_PEEKSIGINFO",
    0x420A: "PTRACE_GETSIGMASK",
    0x420B: "PTRACE_SETSIGMASK",
}

_CLONE: Final = (
    ("CLONE_FILES", 0x400),
    ("CLONE_FS", 0x200),
    ("CLONE_IO", 0x80000000),
    ("CLONE_NEWIPC", 0x08000000),
    ("CLONE_NEWNET", 0x40000000),
    ("CLONE_NEWNS", 0x00020000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWUTS", 0x04000000),
    ("CLONE_PARENT_SETTID", 0x00100000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_UNTRACED", 0x00800000),
    ("CLONE_VM", 0x100),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_CHILD_CLEARTID", 0x00200000),
    ("CLONE_CHILD_SETTID", 0x01000000),
    ("CLONE_SETTLS", 0x00080000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_NEWCGROUP", 0x02000000),
)

_MOUNT: Final = (
    ("RDONLY", 1),
    ("NOSUID", 2),
    ("NODEV", 4),
    ("NOEXEC", 8),
    ("SYNCHRONOUS", 16),
    ("REMOUNT", 32),
    ("MANDLOCK", 64),
    ("DIRSYNC", 128),
    ("NOATIME", 1024),
    ("NODIRATIME", 2048),
    ("BIND", 4096),
    ("MOVE", 8192),
    ("REC", 16384),
    ("SILENT", 32768),
    ("POSIXACL", 1 << 16),
    ("UNBINDABLE", 1 << 17),
    ("PRIVATE", 1 << 18),
    ("SLAVE", 1 << 19),
    ("SHARED", 1 << 20),
    ("RELATIME", 1 << 21),
    ("STRICTATIME", 1 << 24),
    ("LAZYTIME", 1 << 25),
)


@functools.cache
def _ppm(table: str, name: str) -> int:
    value = flag_table(table).value_of(name)
    if value is None:  # pragma: no cover - tables are generated from the same driver
        raise KeyError(f"{name} is not in the driver's {table} table")
    return value


def _bits(table: str, pairs: tuple[tuple[str, int], ...], value: int) -> int:
    out = 0
    for name, bits in pairs:
        if value & bits == bits:
            out |= _ppm(table, name)
    return out


@functools.lru_cache(maxsize=4096)
def open_flags(value: int) -> int:
    """``open_flags_to_scap``: Linux open flags → PPM ``file_flags``."""
    acc = value & 3
    out = _ppm("file_flags", "O_WRONLY" if acc == 1 else "O_RDWR" if acc == 2 else "O_RDONLY")
    return out | _bits("file_flags", _OPEN, value)


def ptrace_request(value: int) -> int:
    """``ptrace_requests_to_scap``: Linux request → PPM request (PTRACE_UNKNOWN if unknown)."""
    name = _PTRACE.get(value & 0xFFFFFFFF)
    return _ppm("ptrace_requests", name) if name else _unknown_ptrace()


@functools.cache
def _unknown_ptrace() -> int:
    value = flag_table("ptrace_requests").value_of("PTRACE_UNKNOWN")
    return 0 if value is None else value


@functools.lru_cache(maxsize=1024)
def clone_flags(value: int) -> int:
    """``clone_flags_to_scap``: Linux clone/unshare/setns flags → PPM ``clone_flags``."""
    return _bits("clone_flags", _CLONE, value)


def memfd_flags(value: int) -> int:
    return value & 7  # MFD_CLOEXEC 1, MFD_ALLOW_SEALING 2, MFD_HUGETLB 4: same bits


def execveat_flags(value: int) -> int:
    out = 0
    if value & 0x1000:
        out |= _ppm("execveat_flags", "AT_EMPTY_PATH")
    if value & 0x100:
        out |= _ppm("execveat_flags", "AT_SYMLINK_NOFOLLOW")
    return out


def renameat2_flags(value: int) -> int:
    return value & 7  # RENAME_NOREPLACE 1, RENAME_EXCHANGE 2, RENAME_WHITEOUT 4: same bits


def finit_module_flags(value: int) -> int:
    return value & 7  # the MODULE_INIT_* bits are the same


def dup3_flags(value: int) -> int:
    return _ppm("file_flags", "O_CLOEXEC") if value & O_CLOEXEC else 0


def mount_flags(value: int) -> int:
    return _bits("mount_flags", _MOUNT, value)


#: Linux SOL_SOCKET option numbers whose PPM number differs (the others up to 50 are equal).
_SOCKOPT_MOVED: Final = {55: 52, 57: 53, 59: 51}  # SO_MEMINFO, SO_COOKIE, SO_PEERGROUPS
_SOL_SOCKET: Final = 1
_SOL_TCP: Final = 6


def sockopt_level(level: int) -> int:
    """``sockopt_level_to_scap``: SOL_SOCKET and SOL_TCP; every other level is UNKNOWN (0)."""
    if level == _SOL_SOCKET:
        return _ppm("sockopt_levels", "SOL_SOCKET")
    if level == _SOL_TCP:
        return _ppm("sockopt_levels", "SOL_TCP")
    return 0


def sockopt_optname(level: int, optname: int) -> int:
    """``sockopt_optname_to_scap``: SOL_SOCKET options by name; any other level's is UNKNOWN
    (0), which is why the setsockopt event also carries the raw ``level_num``/``optname_num``."""
    if level != _SOL_SOCKET:
        return 0
    if optname in _SOCKOPT_MOVED:
        return _SOCKOPT_MOVED[optname]
    return optname if 0 < optname <= 50 else 0


# -- back to Linux values: records rebuilt from a capture's PPM parameters (capture/) --------


def _bits_to_linux(table: str, pairs: tuple[tuple[str, int], ...], value: int) -> int:
    out = 0
    for name, bits in pairs:
        ppm = _ppm(table, name)
        if ppm and value & ppm == ppm:
            out |= bits
    return out


def open_flags_to_linux(value: int) -> int:
    """The inverse of :func:`open_flags` (``O_F_CREATED`` has no Linux bit: dropped)."""
    wr, rw = _ppm("file_flags", "O_WRONLY"), _ppm("file_flags", "O_RDWR")
    acc = 2 if value & rw == rw else 1 if value & wr == wr else 0
    return acc | _bits_to_linux("file_flags", _OPEN, value)


def clone_flags_to_linux(value: int) -> int:
    """The inverse of :func:`clone_flags`."""
    return _bits_to_linux("clone_flags", _CLONE, value)


def mount_flags_to_linux(value: int) -> int:
    """The inverse of :func:`mount_flags`."""
    return _bits_to_linux("mount_flags", _MOUNT, value)
