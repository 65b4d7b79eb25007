"""Linux capability names, rendered as Falco renders ``thread.cap_*``.

The driver's PPM capability bits are the kernel's bit numbers, so a mask
from the kernel is rendered as is: the names of the set bits, in bit order,
joined by spaces (``CAP_CHOWN CAP_DAC_OVERRIDE ...``).
"""

from __future__ import annotations

import functools
from typing import Final

__all__ = ["CAP_NAMES", "render_caps"]

#: Capability names by bit number (linux/capability.h).
CAP_NAMES: Final = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


@functools.lru_cache(maxsize=1024)
def render_caps(mask: int) -> str:
    """The names of the capabilities in ``mask``, space-separated, in bit order."""
    return " ".join(name for bit, name in enumerate(CAP_NAMES) if mask >> bit & 1)
