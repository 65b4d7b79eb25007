"""The ``fd`` field class (libsinsp ``sinsp_filtercheck_fd.cpp``).

Fields of the file descriptor an event creates, uses or destroys; on other
events they are missing. The table follows libsinsp's, in its order, with its
types, flags and descriptions.

``fd.ip``, ``fd.port``, ``fd.proto`` and ``fd.net``/``cnet``/``snet``/
``lnet``/``rnet`` are filter-only: in a condition ``fd.ip = X`` is true when
*either* end of the connection matches, and they cannot be printed.
``fd.*.name`` resolve the right-hand side as a host name. ``fd.types`` is a
list (one item with ``[N]``).

For field-map events (replay, tests) these are derived when not given (each
noted in its description):

- ``fd.directory`` / ``fd.filename``: dirname / basename of ``fd.name`` for a
  file fd, exactly as libsinsp cuts them (a directory fd's ``fd.directory`` is
  its name). The fd is a file when ``fd.typechar`` is ``f`` or ``fd.type`` is
  ``file``; when the event gives neither, an absolute ``fd.name`` is taken as
  a file.
- ``fd.type`` ↔ ``fd.typechar`` (``file`` ↔ ``f``, ``ipv4`` ↔ ``4``...; a
  ``u`` is unix or userfaultfd, so it gives no ``fd.type``).
- ``fd.sockfamily`` from ``fd.type`` (``ip`` for ipv4/ipv6, ``unix``).

The live syscall source extracts these (``live=``) from the fd the event
creates or uses, as the state tracks it.
"""

from __future__ import annotations

from typing import Any, Final

from secengine.events import MISSING, FieldValues
from secengine.fields._values import raw
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.evt import LIVE_OPEN_TYPES
from secengine.fields.live import LiveExtractor, LiveFieldValues, no_value

__all__ = ["FIELD_CLASS", "TYPECHARS", "fd_directory", "fd_filename"]

#: ``fd.type`` → ``fd.typechar`` (libsinsp ``get_typestring`` / ``get_typechar``).
TYPECHARS: Final = {
    "file": "f",
    "directory": "d",
    "ipv4": "4",
    "ipv6": "6",
    "unix": "u",
    "pipe": "p",
    "event": "e",
    "signalfd": "s",
    "eventpoll": "l",
    "inotify": "i",
    "timerfd": "t",
    "netlink": "n",
    "bpf": "b",
    "userfaultfd": "u",
    "io_uring": "r",
    "memfd": "m",
    "pidfd": "P",
}

#: ``fd.typechar`` → ``fd.type`` where the char names one type.
_TYPES: Final = {c: t for t, c in TYPECHARS.items() if c != "u"}

_SOCKFAMILIES: Final = {"ipv4": "ip", "ipv6": "ip", "unix": "unix"}


def fd_directory(name: str, is_directory: bool = False) -> str:
    """``fd.directory`` for an fd named ``name``, cut as libsinsp cuts it.

    A directory fd keeps its name. For a file: everything before the last
    ``/``; ``/`` when the only slash is the first character or there is none;
    the whole name when it ends with ``/``.
    """
    if is_directory:
        return name
    pos = name.rfind("/")
    if pos > 0:
        return name[:pos] if pos < len(name) - 1 else name
    return "/"


def fd_filename(name: str) -> str:
    """``fd.filename`` for a file fd named ``name``: after the last ``/``;
    the whole name when it ends with ``/``; ``/`` when there is no slash."""
    pos = name.rfind("/")
    if pos < 0:
        return "/"
    return name[pos + 1 :] if pos < len(name) - 1 else name


def _fd_kind(values: FieldValues) -> str | None:
    """``file``, ``directory``, another type name, or None when the event does not say."""
    fdtype = raw(values, "fd.type")
    if isinstance(fdtype, str):
        return fdtype
    char = raw(values, "fd.typechar")
    if isinstance(char, str):
        return _TYPES.get(char, "other")
    return None


def _derive_path_part(values: FieldValues, key: str) -> Any:
    name = values["fd.name"]
    if not isinstance(name, str):
        return MISSING
    kind = _fd_kind(values)
    if kind is None:
        kind = "file" if name.startswith("/") else "other"
    if kind == "directory" and key == "fd.directory":
        return fd_directory(name, is_directory=True)
    if kind != "file":
        return MISSING
    return fd_directory(name) if key == "fd.directory" else fd_filename(name)


def _derive_type(values: FieldValues, key: str) -> Any:
    char = raw(values, "fd.typechar")
    return _TYPES.get(char, MISSING) if isinstance(char, str) else MISSING


def _derive_typechar(values: FieldValues, key: str) -> Any:
    fdtype = raw(values, "fd.type")
    return TYPECHARS.get(fdtype, MISSING) if isinstance(fdtype, str) else MISSING


def _derive_sockfamily(values: FieldValues, key: str) -> Any:
    fdtype = values["fd.type"]
    return _SOCKFAMILIES.get(fdtype, MISSING) if isinstance(fdtype, str) else MISSING


# ---------------------------------------------------------------------------
# live extraction (the syscall source: the fd the event uses)
# ---------------------------------------------------------------------------


def _fd_num(v: LiveFieldValues, arg: str | None) -> Any:
    if v.fd is None and v.fdnum < 0 and v.rec.name not in LIVE_OPEN_TYPES:
        return MISSING
    return v.fdnum


def _fd_attr(attr: str) -> LiveExtractor:
    """``fd.name``/``fd.nameraw``: the fd's name, "" for an fd with none (a pipe, a socket
    not yet connected), as libsinsp's ``m_name``; missing when the event has no fd."""

    def get(v: LiveFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None:
            return MISSING
        value = getattr(fd, attr)
        return MISSING if value is None else value

    return get


def _fd_typechar(v: LiveFieldValues, arg: str | None) -> Any:
    fd = v.fd
    if fd is not None:
        return fd.typechar
    name = v.rec.name
    if name in LIVE_OPEN_TYPES:
        return "f"
    if name == "socket":
        return {2: "4", 10: "6", 1: "u"}.get(v.rec.arg(0), MISSING)
    return MISSING


def _fd_type(v: LiveFieldValues, arg: str | None) -> Any:
    fd = v.fd
    return MISSING if fd is None else fd.type


def _sock_only(attr: str, port: bool = False) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None or fd.typechar not in ("4", "6") or not fd.has_role:
            return MISSING
        value = getattr(fd, attr)
        if port:
            return value
        return MISSING if value is None else value

    return get


def _both(a: str, b: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None or fd.typechar not in ("4", "6") or not fd.has_role:
            return MISSING
        out = [x for x in (getattr(fd, a), getattr(fd, b)) if x is not None]
        return out or MISSING

    return get


def _fd_sockfamily(v: LiveFieldValues, arg: str | None) -> Any:
    fd = v.fd
    if fd is None:
        return MISSING
    return {"4": "ip", "6": "ip", "u": "unix"}.get(fd.typechar, MISSING)


def _fd_l4proto(v: LiveFieldValues, arg: str | None) -> Any:
    # libsinsp get_l4proto: a socket with no role yet has none, unless it is a raw one
    fd = v.fd
    if fd is None or fd.typechar not in ("4", "6") or not (fd.has_role or fd.l4proto == "raw"):
        return MISSING
    return fd.l4proto or MISSING


def _fd_connected(v: LiveFieldValues, arg: str | None) -> Any:
    fd = v.fd
    return MISSING if fd is None else fd.connected


def _fd_name_changed(v: LiveFieldValues, arg: str | None) -> Any:
    return v.name_changed if v.fd is not None else MISSING


def _fd_path_part(which: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None or fd.typechar not in ("f", "d") or not fd.name:
            return MISSING
        if which == "directory":
            return fd_directory(fd.name, is_directory=fd.typechar == "d")
        if fd.typechar == "d":
            return MISSING
        return fd_filename(fd.name)

    return get


_FMODE_WRITE: Final = 0x2


def _is_open_write(v: LiveFieldValues, arg: str | None) -> Any:
    fmode = v.rec.fd_fmode()
    return MISSING if fmode is None else bool(fmode & _FMODE_WRITE)


FIELD_CLASS = FieldClass(
    name="fd",
    desc="Every syscall that has a file descriptor in its arguments has these fields set with "
    "information related to the file.",
    sources=("syscall",),
    fields=(
        FieldDef(
            "fd.num",
            FieldType.INT64,
            "the unique number identifying the file descriptor.",
            live=_fd_num,
        ),
        FieldDef(
            "fd.type",
            FieldType.CHARBUF,
            "type of FD. Can be 'file', 'directory', 'ipv4', 'ipv6', 'unix', 'pipe', "
            "'event', 'signalfd', 'eventpoll', 'inotify'  'signalfd' or 'memfd'."
            + " Field-map events: derived from fd.typechar when not given.",
            derive=_derive_type,
            live=_fd_type,
        ),
        FieldDef(
            "fd.typechar",
            FieldType.CHARBUF,
            "type of FD as a single character. Can be 'f' for file, 4 for IPv4 socket, 6 "
            "for IPv6 socket, 'u' for unix socket, p for pipe, 'e' for eventfd, 's' for "
            "signalfd, 'l' for eventpoll, 'i' for inotify, 'b' for bpf, 'u' for userfaultd, "
            "'r' for io_uring, 'm' for memfd ,'o' for unknown."
            + " Field-map events: derived from fd.type when not given.",
            derive=_derive_typechar,
            live=_fd_typechar,
        ),
        FieldDef(
            "fd.name",
            FieldType.CHARBUF,
            "FD full name. If the fd is a file, this field contains the full path. If the "
            "FD is a socket, this field contain the connection tuple.",
            live=_fd_attr("name"),
        ),
        FieldDef(
            "fd.directory",
            FieldType.CHARBUF,
            "If the fd is a file, the directory that contains it."
            + " Field-map events: derived from fd.name for a file (or directory) fd.",
            derive=_derive_path_part,
            live=_fd_path_part("directory"),
        ),
        FieldDef(
            "fd.filename",
            FieldType.CHARBUF,
            "If the fd is a file, the filename without the path."
            + " Field-map events: derived from fd.name for a file fd.",
            derive=_derive_path_part,
            live=_fd_path_part("filename"),
        ),
        FieldDef(
            "fd.ip",
            FieldType.IPADDR,
            "matches the ip address (client or server) of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            any_value=True,
            value_keys=("fd.cip", "fd.sip"),
            live=_both("cip", "sip"),
        ),
        FieldDef("fd.cip", FieldType.IPADDR, "client IP address.", live=_sock_only("cip")),
        FieldDef("fd.sip", FieldType.IPADDR, "server IP address.", live=_sock_only("sip")),
        FieldDef("fd.lip", FieldType.IPADDR, "local IP address.", live=_sock_only("lip")),
        FieldDef("fd.rip", FieldType.IPADDR, "remote IP address.", live=_sock_only("rip")),
        FieldDef(
            "fd.port",
            FieldType.PORT,
            "matches the port (either client or server) of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            any_value=True,
            value_keys=("fd.cport", "fd.sport"),
            live=_both("cport", "sport"),
        ),
        FieldDef(
            "fd.cport",
            FieldType.PORT,
            "for TCP/UDP FDs, the client port.",
            live=_sock_only("cport", port=True),
        ),
        FieldDef(
            "fd.sport",
            FieldType.PORT,
            "for TCP/UDP FDs, server port.",
            live=_sock_only("sport", port=True),
        ),
        FieldDef(
            "fd.lport",
            FieldType.PORT,
            "for TCP/UDP FDs, the local port.",
            live=_sock_only("lport", port=True),
        ),
        FieldDef(
            "fd.rport",
            FieldType.PORT,
            "for TCP/UDP FDs, the remote port.",
            live=_sock_only("rport", port=True),
        ),
        FieldDef(
            "fd.l4proto",
            FieldType.CHARBUF,
            "the IP protocol of a socket. Can be 'tcp', 'udp', 'icmp' or 'raw'.",
            live=_fd_l4proto,
        ),
        FieldDef(
            "fd.sockfamily",
            FieldType.CHARBUF,
            "the socket family for socket events. Can be 'ip' or 'unix'."
            + " Field-map events: derived from fd.type when not given.",
            derive=_derive_sockfamily,
            live=_fd_sockfamily,
        ),
        FieldDef(
            "fd.is_server",
            FieldType.BOOL,
            "'true' if the process owning this FD is the server endpoint in the connection.",
            live=lambda v, a: MISSING if v.fd is None else v.fd.is_server,
        ),
        FieldDef(
            "fd.uid",
            FieldType.CHARBUF,
            "a unique identifier for the FD, created by chaining the FD number and the thread ID.",
        ),
        FieldDef(
            "fd.containername",
            FieldType.CHARBUF,
            "chaining of the container ID and the FD name. Useful when trying to identify "
            "which container an FD belongs to.",
        ),
        FieldDef(
            "fd.containerdirectory",
            FieldType.CHARBUF,
            "chaining of the container ID and the directory name. Useful when trying to "
            "identify which container a directory belongs to.",
        ),
        FieldDef(
            "fd.proto",
            FieldType.PORT,
            "matches the protocol (either client or server) of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            any_value=True,
            value_keys=("fd.cproto", "fd.sproto"),
        ),
        FieldDef("fd.cproto", FieldType.CHARBUF, "for TCP/UDP FDs, the client protocol."),
        FieldDef("fd.sproto", FieldType.CHARBUF, "for TCP/UDP FDs, server protocol."),
        FieldDef("fd.lproto", FieldType.CHARBUF, "for TCP/UDP FDs, the local protocol."),
        FieldDef("fd.rproto", FieldType.CHARBUF, "for TCP/UDP FDs, the remote protocol."),
        FieldDef(
            "fd.net",
            FieldType.IPNET,
            "matches the IP network (client or server) of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            any_value=True,
            value_keys=("fd.cip", "fd.sip"),
            live=_both("cip", "sip"),
        ),
        FieldDef(
            "fd.cnet",
            FieldType.IPNET,
            "matches the client IP network of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            value_keys=("fd.cip",),
            live=_sock_only("cip"),
        ),
        FieldDef(
            "fd.snet",
            FieldType.IPNET,
            "matches the server IP network of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            value_keys=("fd.sip",),
            live=_sock_only("sip"),
        ),
        FieldDef(
            "fd.lnet",
            FieldType.IPNET,
            "matches the local IP network of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            value_keys=("fd.lip",),
            live=_sock_only("lip"),
        ),
        FieldDef(
            "fd.rnet",
            FieldType.IPNET,
            "matches the remote IP network of the fd.",
            filter_only=True,
            no_rhs=True,
            no_transformer=True,
            value_keys=("fd.rip",),
            live=_sock_only("rip"),
        ),
        FieldDef(
            "fd.connected",
            FieldType.BOOL,
            "for TCP/UDP FDs, 'true' if the socket is connected.",
            live=_fd_connected,
        ),
        FieldDef(
            "fd.name_changed",
            FieldType.BOOL,
            "True when an event changes the name of an fd used by this event. This can "
            "occur in some cases such as udp connections where the connection tuple changes.",
            live=_fd_name_changed,
        ),
        FieldDef(
            "fd.cip.name",
            FieldType.CHARBUF,
            "Domain name associated with the client IP address.",
            no_rhs=True,
            no_transformer=True,
            live=no_value,
        ),
        FieldDef(
            "fd.sip.name",
            FieldType.CHARBUF,
            "Domain name associated with the server IP address.",
            no_rhs=True,
            no_transformer=True,
            live=no_value,
        ),
        FieldDef(
            "fd.lip.name",
            FieldType.CHARBUF,
            "Domain name associated with the local IP address.",
            no_rhs=True,
            no_transformer=True,
            live=no_value,
        ),
        FieldDef(
            "fd.rip.name",
            FieldType.CHARBUF,
            "Domain name associated with the remote IP address.",
            no_rhs=True,
            no_transformer=True,
            live=no_value,
        ),
        FieldDef(
            "fd.dev",
            FieldType.INT32,
            "device number (major/minor) containing the referenced file",
            live=lambda v, a: MISSING if v.fd is None else v.fd.dev,
        ),
        FieldDef(
            "fd.dev.major",
            FieldType.INT32,
            "major device number containing the referenced file",
            live=lambda v, a: MISSING if v.fd is None else v.fd.dev >> 20,
        ),
        FieldDef(
            "fd.dev.minor",
            FieldType.INT32,
            "minor device number containing the referenced file",
            live=lambda v, a: MISSING if v.fd is None else v.fd.dev & 0xFFFFF,
        ),
        FieldDef(
            "fd.ino",
            FieldType.INT64,
            "inode number of the referenced file",
            live=lambda v, a: MISSING if v.fd is None else v.fd.ino,
        ),
        FieldDef(
            "fd.nameraw",
            FieldType.CHARBUF,
            "FD full name raw. Just like fd.name, but only used if fd is a file path. File "
            "path is kept raw with limited sanitization and without deriving the absolute "
            "path.",
            live=_fd_attr("nameraw"),
        ),
        FieldDef(
            "fd.is_outside_root",
            FieldType.BOOL,
            "'true' if the file is not under the opening process's root directory: the "
            "probe's walk of the file an openat or openat2 relative to a directory fd opened "
            "reached the mount namespace's root without passing the process's root (a host "
            "file reached through a descriptor leaked into a container, CVE-2024-21626). "
            "'false' for other opens and when not known. A secengine field: Falco has none.",
            live=_fd_attr("outside_root"),
        ),
        FieldDef(
            "fd.types",
            FieldType.CHARBUF,
            "List of FD types in used. Can be passed an fd number e.g. fd.types[0] to get "
            "the type of stdout as a single item list.",
            is_list=True,
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            arg_index=True,
        ),
        FieldDef(
            "fd.is_upper_layer",
            FieldType.BOOL,
            "'true' if the fd is of a file in the upper layer of an overlayfs.",
        ),
        FieldDef(
            "fd.is_lower_layer",
            FieldType.BOOL,
            "'true' if the fd is of a file  in the lower layer of an overlayfs.",
        ),
        FieldDef(
            "fd.is_open_write",
            FieldType.BOOL,
            "'true' if the fd's open file allows writing (the kernel's FMODE_WRITE), as the "
            "probe reads it on the events that describe their fd (splice, tee, sendto, "
            "sendmsg, ...); missing on other events. A splice from a file opened read-only "
            "into a pipe is Dirty Pipe's first step. secengine's addition.",
            live=_is_open_write,
        ),
    ),
)
