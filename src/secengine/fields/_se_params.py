"""secengine's own event parameters: syscalls the driver's event table has no event for, and
arguments the driver's event leaves out.

Falco reports ``tee``, ``vmsplice``, ``fsopen``, ``fsmount``, ``move_mount``, ``open_tree`` and
the ``setxattr`` family as *generic* events (``evt.type`` is the syscall's name, the only
parameters are the syscall ids), and its ``mount`` event drops the data argument and its
``setsockopt`` event keeps only SOL_SOCKET/SOL_TCP options (an iptables ``IPT_SO_SET_REPLACE``
reads ``level=UNKNOWN optname=UNKNOWN``). Rules about container escapes need those arguments,
so the probe captures them and this table names them, in the driver's style (same types, print
formats and flag tables as the driver's events use), for ``evt.arg.NAME``/``evt.args``.
The entries are appended to the driver's exit parameters of the event (or are all of them).
"""

from __future__ import annotations

from typing import Final

__all__ = ["EXTRA_PARAMS"]

_Param = tuple[str, str, str, object]

_SPLICE_LIKE: Final[tuple[_Param, ...]] = (
    ("res", "ERRNO", "DEC", None),
    ("fd_in", "FD", "DEC", None),
    ("fd_out", "FD", "DEC", None),
    ("size", "UINT64", "DEC", None),
    ("flags", "FLAGS32", "HEX", "splice_flags"),
)


def _xattr(first: _Param) -> tuple[_Param, ...]:
    return (
        ("res", "ERRNO", "DEC", None),
        first,
        ("name", "CHARBUF", "NA", None),
        ("value", "BYTEBUF", "NA", None),
        ("size", "UINT32", "DEC", None),
        ("flags", "FLAGS32", "HEX", None),
    )


#: event type -> parameters after the driver's own (all of them for a generic syscall).
EXTRA_PARAMS: Final[dict[str, tuple[_Param, ...]]] = {
    "mount": (("data", "CHARBUF", "NA", None),),
    "setsockopt": (
        ("level_num", "INT32", "DEC", None),
        ("optname_num", "INT32", "DEC", None),
    ),
    "tee": _SPLICE_LIKE,
    "vmsplice": (
        ("res", "ERRNO", "DEC", None),
        ("fd", "FD", "DEC", None),
        ("nr_segs", "UINT64", "DEC", None),
        ("flags", "FLAGS32", "HEX", "splice_flags"),
    ),
    "fsopen": (
        ("fd", "FD", "DEC", None),
        ("fsname", "CHARBUF", "NA", None),
        ("flags", "FLAGS32", "HEX", None),
    ),
    "fsmount": (
        ("fd", "FD", "DEC", None),
        ("fs_fd", "FD", "DEC", None),
        ("flags", "FLAGS32", "HEX", None),
        ("attr_flags", "FLAGS32", "HEX", None),
    ),
    "move_mount": (
        ("res", "ERRNO", "DEC", None),
        ("from_dirfd", "FD", "DEC", None),
        ("from_path", "CHARBUF", "NA", None),
        ("to_dirfd", "FD", "DEC", None),
        ("to_path", "CHARBUF", "NA", None),
        ("flags", "FLAGS32", "HEX", None),
    ),
    "open_tree": (
        ("fd", "FD", "DEC", None),
        ("dirfd", "FD", "DEC", None),
        ("path", "CHARBUF", "NA", None),
        ("flags", "FLAGS32", "HEX", None),
    ),
    "setxattr": _xattr(("path", "FSPATH", "NA", None)),
    "lsetxattr": _xattr(("path", "FSPATH", "NA", None)),
    "fsetxattr": _xattr(("fd", "FD", "DEC", None)),
}
