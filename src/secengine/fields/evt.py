"""The syscall ``evt`` field class (libsinsp ``sinsp_filtercheck_event.cpp``).

Event-level fields of syscall events: the type, the return value, the
parameters (``evt.arg.NAME``, ``evt.rawarg.NAME``, ``evt.arg[N]``), I/O and
open classification. The table follows libsinsp's, in its order, with its
types, flags and descriptions; ``evt.outputtime`` (EPF_PRINT_ONLY, sysdig's
``-t``) is left out.

Arguments, checked when a rule compiles, as libsinsp's ``extract_arg`` does:

- ``evt.arg.NAME`` / ``evt.rawarg.NAME``: NAME must be a parameter name of
  some driver event ("unknown event argument X" when no parameter name even
  prefixes it); ``evt.rawarg`` takes the type of that parameter.
- ``evt.arg[N]`` is the N-th parameter; ``evt.rawarg[...]`` is an error.
- ``evt.type.is.NAME`` takes an event name or number, ``evt.abspath`` an
  optional ``.src``/``.dst``, ``evt.around[T]`` a timestamp.

For field-map events some fields are *derived* from others when not given
(each documented in its description): ``evt.res`` ↔ ``evt.rawres``,
``evt.failed``, ``evt.is_open_*`` from the flags and mode parameters,
``syscall.type`` and ``evt.buflen``. The ``evt.time`` family lives in the
generic class (:mod:`.gen_event`); :func:`time_value` and
:func:`render_time` are re-exported here for convenience.

The live syscall source extracts these (``live=``) from the decoded record:
the return value, the parameters the record carries (rendered as
:func:`render_param` shows them) and the open flags.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from secengine.errors import ConditionCompileError
from secengine.events import MISSING, FieldValues
from secengine.fields import event_names, netlink
from secengine.fields._values import as_int, first_present, raw
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.event_names import param_defs
from secengine.fields.flags import flag_table, parse_flags, render_flags
from secengine.fields.gen_event import render_time, time_value
from secengine.fields.live import NO_UID, LiveFieldValues, no_value

__all__ = [
    "FIELD_CLASS",
    "LIVE_OPEN_TYPES",
    "OPEN_EVENT_TYPES",
    "errno_name",
    "errno_value",
    "parse_mode",
    "render_param",
    "render_time",
    "time_value",
]

#: Event types whose ``flags`` parameter decides ``evt.is_open_read/write/create``.
OPEN_EVENT_TYPES: Final = frozenset({"open", "openat", "openat2", "open_by_handle_at"})

#: ``PPM_S_IXUSR | PPM_S_IXGRP | PPM_S_IXOTH``.
_EXEC_MASK: Final = 0o111
_O_RDONLY: Final = 1
_O_WRONLY: Final = 2
_O_CREAT: Final = 4
_O_TMPFILE: Final = 8192
_O_F_CREATED: Final = 16384

#: A parameter's ``PT_*`` type → the field type ``evt.rawarg.NAME`` takes.
_PARAM_FIELD_TYPES: Final = {
    "INT8": FieldType.INT8,
    "INT16": FieldType.INT16,
    "INT32": FieldType.INT32,
    "INT64": FieldType.INT64,
    "UINT8": FieldType.UINT8,
    "UINT16": FieldType.UINT16,
    "UINT32": FieldType.UINT32,
    "UINT64": FieldType.UINT64,
    "CHARBUF": FieldType.CHARBUF,
    "BYTEBUF": FieldType.BYTEBUF,
    "ERRNO": FieldType.ERRNO,
    "FD": FieldType.FD,
    "FD32": FieldType.INT32,
    "PID": FieldType.PID,
    "PID32": FieldType.INT32,
    "FSPATH": FieldType.FSPATH,
    "FSRELPATH": FieldType.FSPATH,
    "RELTIME": FieldType.RELTIME,
    "ABSTIME": FieldType.ABSTIME,
    "PORT": FieldType.PORT,
    "UID": FieldType.UID,
    "GID": FieldType.GID,
    "MODE": FieldType.MODE,
    "IPV4ADDR": FieldType.IPV4ADDR,
    "IPV6ADDR": FieldType.IPADDR,
    "FLAGS8": FieldType.UINT8,
    "FLAGS16": FieldType.UINT16,
    "FLAGS32": FieldType.UINT32,
    "ENUMFLAGS8": FieldType.UINT8,
    "ENUMFLAGS16": FieldType.UINT16,
    "ENUMFLAGS32": FieldType.UINT32,
    "SIGTYPE": FieldType.UINT8,
    "SYSCALLID": FieldType.UINT16,
    "SIGSET": FieldType.UINT32,
    "SOCKADDR": FieldType.BYTEBUF,
    "SOCKTUPLE": FieldType.BYTEBUF,
    "FDLIST": FieldType.BYTEBUF,
    "CHARBUFARRAY": FieldType.BYTEBUF,
    "CHARBUF_PAIR_ARRAY": FieldType.BYTEBUF,
    "DYN": FieldType.DYN,
}


# ---------------------------------------------------------------------------
# argument checks (run once, when a rule compiles)
# ---------------------------------------------------------------------------


def _check_param_name(field: str, arg: str) -> event_names.EventParam:
    param = event_names.event_param(arg)
    if param is None:
        if event_names.longest_param_prefix(arg) is None:
            raise ConditionCompileError(f"unknown event argument {arg}")
        raise ConditionCompileError(f"filter_check called with nonexistent field {field}.{arg}")
    return param


def _resolve_arg(arg: str, dotted: bool) -> FieldType | None:
    """``evt.arg.NAME`` names a parameter; ``evt.arg[N]`` is an index the registry checks."""
    if dotted:
        _check_param_name("evt.arg", arg)
    return None


def _resolve_rawarg(arg: str, dotted: bool) -> FieldType | None:
    if not dotted:
        raise ConditionCompileError("evt.arg fields must be expressed explicitly")
    return _PARAM_FIELD_TYPES.get(_check_param_name("evt.rawarg", arg).type, FieldType.DYN)


def _resolve_type_is(arg: str, dotted: bool) -> FieldType | None:
    if not (dotted and (arg.isdigit() or event_names.event_codes(arg))):
        raise ConditionCompileError(f"filter_check called with nonexistent field evt.type.is.{arg}")
    return None


def _resolve_abspath(arg: str, dotted: bool) -> FieldType | None:
    if not dotted or arg not in ("src", "dst"):
        raise ConditionCompileError(f"filter_check called with nonexistent field evt.abspath.{arg}")
    return None


# ---------------------------------------------------------------------------
# errno names
# ---------------------------------------------------------------------------


#: Linux errnos the driver's table has no name for (``include/uapi/asm-generic/errno.h``,
#: ``include/linux/errno.h``): without them a failed ``keyctl`` read "-126", not ENOKEY.
_MORE_ERRNO_NAMES: Final = {
    126: "ENOKEY",
    127: "EKEYEXPIRED",
    128: "EKEYREVOKED",
    129: "EKEYREJECTED",
    130: "EOWNERDEAD",
    131: "ENOTRECOVERABLE",
    132: "ERFKILL",
    133: "EHWPOISON",
    517: "EPROBE_DEFER",
    518: "EOPENSTALE",
    519: "ENOPARAM",
}


@functools.cache
def _errno_names() -> dict[int, str]:
    # start-up: the generated driver table (_ppm_events) loads on first use, not with the field classes
    from secengine.fields import _ppm_events

    return {**_MORE_ERRNO_NAMES, **_ppm_events.ERRNO_NAMES}


def errno_name(res: int) -> str:
    """``evt.res`` for a return value: ``SUCCESS``, the errno name (the driver's, then the
    kernel's for the few the driver lacks), or the number as text."""
    if res >= 0:
        return "SUCCESS"
    return _errno_names().get(-res, str(res))


@functools.cache
def _errno_values() -> dict[str, int]:
    return {name: code for code, name in _errno_names().items()}


def errno_value(name: str) -> int | None:
    """The (negative) return value an errno name stands for, or None if unknown."""
    code = _errno_values().get(name)
    return None if code is None else -code


# ---------------------------------------------------------------------------
# derivations for field-map events
# ---------------------------------------------------------------------------


def _derive_res(values: FieldValues, key: str) -> Any:
    res = as_int(raw(values, "evt.rawres"))
    return MISSING if res is None else errno_name(res)


def _derive_rawres(values: FieldValues, key: str) -> Any:
    text = raw(values, "evt.res")
    if not isinstance(text, str) or text == "SUCCESS":
        return MISSING
    number = as_int(text)
    return number if number is not None else (errno_value(text) or MISSING)


def _derive_failed(values: FieldValues, key: str) -> Any:
    res = as_int(values["evt.rawres"])
    if res is not None:
        return res < 0
    text = values["evt.res"]
    if isinstance(text, str) and text:
        return text != "SUCCESS"
    return MISSING


def parse_mode(value: Any) -> int | None:
    """A mode parameter as a number: an int, octal text as libsinsp prints it
    (``0755``, ``0``), ``0o755``, or ``chmod_mode`` names (``S_IRUSR|S_IXUSR``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    s = value.strip()
    if "(" in s:
        s = s.split("(", 1)[0]
    if s.isdigit():
        return int(s, 8)
    if s.lower().startswith("0o") and s[2:].isdigit():
        return int(s, 8)
    return parse_flags(flag_table("chmod_mode"), s)


def _open_flags(values: FieldValues) -> int | None:
    value = first_present(values, "evt.rawarg.flags", "evt.arg.flags")
    if value is MISSING:
        return None
    return parse_flags(flag_table("file_flags"), value)


def _derive_is_open(values: FieldValues, key: str) -> Any:
    etype = values["evt.type"]
    flags = _open_flags(values)
    if etype is MISSING:
        if flags is None:
            return MISSING
    elif etype not in OPEN_EVENT_TYPES and not (key == "evt.is_open_exec" and etype == "creat"):
        return False
    if key == "evt.is_open_exec":
        if etype == "open_by_handle_at" or (
            etype != "creat" and not (flags or 0) & (_O_TMPFILE | _O_CREAT)
        ):
            return False
        mode = parse_mode(first_present(values, "evt.rawarg.mode", "evt.arg.mode"))
        return mode is not None and bool(mode & _EXEC_MASK)
    flags = flags or 0
    if key == "evt.is_open_read":
        return bool(flags & _O_RDONLY)
    if key == "evt.is_open_write":
        return bool(flags & _O_WRONLY)
    # evt.is_open_create
    if flags & _O_F_CREATED:
        return True
    if flags & _O_TMPFILE:
        res = as_int(values["evt.rawres"])
        return res is not None and res >= 0
    return False


def _derive_syscall_type(values: FieldValues, key: str) -> Any:
    # start-up: the generated driver table (_ppm_events) loads on first use, not with the field classes
    from secengine.fields import _ppm_events

    etype = values["evt.type"]
    if isinstance(etype, str) and etype and etype in _ppm_events.PPM_SC_NAMES:
        return etype
    return MISSING


def _derive_buflen(values: FieldValues, key: str) -> Any:
    buf = raw(values, "evt.buffer")
    if isinstance(buf, (bytes, bytearray)):
        return len(buf)
    if isinstance(buf, str):
        return len(buf.encode("utf-8", "surrogateescape"))
    return MISSING


_DERIVED_RES = " Field-map events: derived from evt.rawres when not given."
_DERIVED_RAWRES = " Field-map events: derived from an errno name in evt.res when not given."
_DERIVED_OPEN = (
    " Field-map events: derived from evt.type and the flags parameter "
    "(evt.rawarg.flags or evt.arg.flags, as a number or as flag names)"
)


# ---------------------------------------------------------------------------
# live extraction (the syscall source: the decoded record and the state)
# ---------------------------------------------------------------------------

#: The event types that open an fd by path (the live fd and open fields).
LIVE_OPEN_TYPES: Final = frozenset({"open", "openat", "openat2", "creat"})


def _res_value(v: LiveFieldValues) -> int | None:
    rec = v.rec
    return None if rec.name == "procexit" else rec.res


def _evt_res(v: LiveFieldValues, arg: str | None) -> Any:
    res = _res_value(v)
    if res is None:
        return MISSING
    return "SUCCESS" if res >= 0 else errno_name(res)


def _evt_rawres(v: LiveFieldValues, arg: str | None) -> Any:
    res = _res_value(v)
    return MISSING if res is None else res


def _evt_failed(v: LiveFieldValues, arg: str | None) -> Any:
    res = _res_value(v)
    return False if res is None else res < 0


def render_param(
    v: LiveFieldValues, pname: str, ptype: str, fmt: str, info: Any, value: Any
) -> str:
    """A parameter as ``evt.arg.NAME`` shows it (libsinsp ``get_param_as_str``)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).replace(b"\0", b" ").decode("utf-8", "replace").rstrip()
    if isinstance(value, str):
        if pname == "args" and ptype == "BYTEBUF":
            return value.replace("\0", " ")
        return value
    if not isinstance(value, int):
        return str(value)
    if ptype == "ERRNO" or (pname in ("res", "fd") and value < 0):
        return errno_name(value) if value < 0 else str(value)
    if isinstance(info, str) and (ptype.startswith(("FLAGS", "ENUMFLAGS")) or ptype == "MODE"):
        text = render_flags(info, value)
        return text if text else str(value)
    if ptype == "UID":
        if value == NO_UID or value == -1:
            return "-1"
        acct = v.accounts().user(value)
        return acct.name if acct is not None else str(value)
    if ptype == "GID":
        name = v.accounts().group(value)
        return name if name is not None else str(value)
    if ptype == "FD" and value >= 0 and v.proc is not None:
        # libsinsp's render_fd: any fd it knows, named or not (a pipe is "5(<p>)")
        fd = v.proc.fds.get(value)
        return f"{value}(<{fd.typechar}>{fd.name})" if fd is not None else str(value)
    if fmt == "OCT":
        return "0" + format(value, "o") if value else "0"
    if fmt == "HEX":
        return hex(value)
    return str(value)


def _evt_arg(v: LiveFieldValues, arg: int | str | None) -> Any:
    """``evt.arg[N]`` (``arg`` the index) or ``evt.arg.NAME``, rendered."""
    if arg is None:
        return MISSING
    params = v.rec.params(v.proc)
    defs = param_defs(v.rec.name)
    if isinstance(arg, int):
        if arg >= len(defs):
            return MISSING
        d = defs[arg]
    else:
        for d in defs:
            if d[0] == arg:
                break
        else:
            return MISSING
    if d[0] not in params:
        return MISSING
    return render_param(v, d[0], d[1], d[2], d[3], params[d[0]])


def _evt_rawarg(v: LiveFieldValues, arg: str | None) -> Any:
    if arg is None:
        return MISSING
    value = v.rec.params(v.proc).get(arg, MISSING)
    if isinstance(value, str) and any(
        d[0] == arg and d[1] == "BYTEBUF" for d in param_defs(v.rec.name)
    ):
        return value.encode("utf-8", "surrogateescape")
    return value


def _evt_args(v: LiveFieldValues, arg: str | None) -> Any:
    params = v.rec.params(v.proc)
    return " ".join(
        f"{d[0]}={render_param(v, *d, params[d[0]])}"
        for d in param_defs(v.rec.name)
        if d[0] in params
    )


def _is_open_read(v: LiveFieldValues, arg: str | None) -> Any:
    f = v.rec.open_flags()
    return False if f is None else bool(f & _O_RDONLY)


def _is_open_write(v: LiveFieldValues, arg: str | None) -> Any:
    f = v.rec.open_flags()
    return False if f is None else bool(f & _O_WRONLY)


def _is_open_exec(v: LiveFieldValues, arg: str | None) -> Any:
    name = v.rec.name
    params = v.rec.params(v.proc) if name in LIVE_OPEN_TYPES else {}
    mode = params.get("mode", 0)
    if name == "creat":
        return bool(mode & _EXEC_MASK)
    f = v.rec.open_flags()
    if f is None or not f & (_O_CREAT | _O_TMPFILE):
        return False
    return bool(mode & _EXEC_MASK)


def _netlink_proto(v: LiveFieldValues, arg: str | None) -> Any:
    proto = v.rec.netlink_proto()
    return MISSING if proto is None else netlink.protocol_name(proto)


def _netlink_msgtypes(v: LiveFieldValues, arg: str | None) -> Any:
    proto = v.rec.netlink_proto()
    if proto is None:
        return MISSING
    return [netlink.message_type_name(proto, t) for t in v.rec.netlink_types()]


def _is_open_create(v: LiveFieldValues, arg: str | None) -> Any:
    f = v.rec.open_flags()
    if f is None:
        return False
    return bool(f & _O_F_CREATED) or bool(f & _O_TMPFILE and v.rec.res >= 0)


FIELD_CLASS = FieldClass(
    name="evt",
    shortdesc="Syscall events only",
    desc="Event fields applicable to syscall events. Note that for most events you can access "
    "the individual arguments/parameters of each syscall via evt.arg, e.g. "
    "evt.arg.filename.",
    sources=("syscall",),
    fields=(
        FieldDef(
            "evt.latency",
            FieldType.RELTIME,
            "delta between an exit event and the correspondent enter event, in nanoseconds.",
            deprecated=True,
        ),
        FieldDef(
            "evt.latency.s",
            FieldType.RELTIME,
            "integer part of the event latency delta.",
            deprecated=True,
        ),
        FieldDef(
            "evt.latency.ns",
            FieldType.RELTIME,
            "fractional part of the event latency delta.",
            deprecated=True,
        ),
        FieldDef(
            "evt.latency.quantized",
            FieldType.UINT64,
            "10-base log of the delta between an exit event and the correspondent enter event.",
            hidden=True,
            deprecated=True,
        ),
        FieldDef(
            "evt.latency.human",
            FieldType.CHARBUF,
            "delta between an exit event and the correspondent enter event, as a human "
            "readable string (e.g. 10.3ms).",
            deprecated=True,
        ),
        FieldDef(
            "evt.deltatime",
            FieldType.RELTIME,
            "delta between this event and the previous event, in nanoseconds.",
        ),
        FieldDef(
            "evt.deltatime.s",
            FieldType.RELTIME,
            "integer part of the delta between this event and the previous event.",
        ),
        FieldDef(
            "evt.deltatime.ns",
            FieldType.RELTIME,
            "fractional part of the delta between this event and the previous event.",
        ),
        FieldDef(
            "evt.dir",
            FieldType.CHARBUF,
            "event direction can be either '>' for enter events or '<' for exit events.",
            deprecated=True,
            live=lambda v, a: "<",
        ),
        FieldDef("evt.type", FieldType.CHARBUF, "The name of the event (e.g. 'open')."),
        FieldDef(
            "evt.type.is",
            FieldType.UINT32,
            "allows one to specify an event type, and returns 1 for events that are of that "
            "type. For example, evt.type.is.open returns 1 for open events, 0 for any other "
            "event.",
            arg=ArgMode.REQUIRED,
            arg_key=True,
            dotted_arg=True,
            resolve_arg=_resolve_type_is,
        ),
        FieldDef(
            "syscall.type",
            FieldType.CHARBUF,
            "For system call events, the name of the system call (e.g. 'open'). Unset for "
            "other events (e.g. switch or internal events). Use this field instead of "
            "evt.type if you need to make sure that the filtered/printed value is actually "
            "a system call. Field-map events: derived from evt.type when that is a syscall "
            "name.",
            derive=_derive_syscall_type,
            live=lambda v, a: v.rec.name if v.rec.name != "procexit" else MISSING,
        ),
        FieldDef(
            "evt.category",
            FieldType.CHARBUF,
            "The event category. Example values are 'file' (for file operations like open "
            "and close), 'net' (for network operations like socket and bind), memory (for "
            "things like brk or mmap), and so on.",
        ),
        FieldDef("evt.cpu", FieldType.INT16, "number of the CPU where this event happened."),
        FieldDef(
            "evt.args",
            FieldType.CHARBUF,
            "all the event arguments, aggregated into a single string.",
            live=_evt_args,
        ),
        FieldDef(
            "evt.arg",
            FieldType.CHARBUF,
            "one of the event arguments specified by name or by number. Some events (e.g. "
            "return codes or FDs) will be converted into a text representation when "
            "possible. E.g. 'evt.arg.fd' or 'evt.arg[0]'.",
            arg=ArgMode.REQUIRED,
            arg_index=True,
            dotted_arg=True,
            resolve_arg=_resolve_arg,
            live=_evt_arg,
        ),
        FieldDef(
            "evt.rawarg",
            FieldType.DYN,
            "one of the event arguments specified by name. E.g. 'evt.rawarg.fd'.",
            arg=ArgMode.REQUIRED,
            arg_key=True,
            dotted_arg=True,
            no_rhs=True,
            no_transformer=True,
            resolve_arg=_resolve_rawarg,
            live=_evt_rawarg,
        ),
        FieldDef(
            "evt.info",
            FieldType.CHARBUF,
            "Currently, this field returns the same value as 'evt.args'.",
            live=_evt_args,
        ),
        FieldDef(
            "evt.buffer",
            FieldType.BYTEBUF,
            "the binary data buffer for events that have one, like read(), recvfrom(), etc. "
            "Use this field in filters with 'contains' to search into I/O data buffers.",
            live=no_value,
        ),
        FieldDef(
            "evt.buflen",
            FieldType.UINT64,
            "the length of the binary data buffer for events that have one, like read(), "
            "recvfrom(), etc. Field-map events: derived from evt.buffer when not given.",
            derive=_derive_buflen,
        ),
        FieldDef(
            "evt.res",
            FieldType.CHARBUF,
            "event return value, as a string. If the event failed, the result is an error "
            "code string (e.g. 'ENOENT'), otherwise the result is the string 'SUCCESS'."
            + _DERIVED_RES,
            derive=_derive_res,
            live=_evt_res,
        ),
        FieldDef(
            "evt.rawres",
            FieldType.INT64,
            "event return value, as a number (e.g. -2). Useful for range comparisons."
            + _DERIVED_RAWRES,
            derive=_derive_rawres,
            live=_evt_rawres,
        ),
        FieldDef(
            "evt.failed",
            FieldType.BOOL,
            "'true' for events that returned an error status. Field-map events: derived "
            "from evt.rawres or evt.res when not given.",
            derive=_derive_failed,
            live=_evt_failed,
        ),
        FieldDef(
            "evt.is_compat",
            FieldType.BOOL,
            "'true' for a 32-bit syscall (a 32-bit process, or int $0x80 from a 64-bit one), "
            "decoded by the ia32 syscall table. A secengine field: Falco has none.",
            live=lambda v, a: v.rec.is_compat,
        ),
        FieldDef(
            "evt.is_io_uring",
            FieldType.BOOL,
            "'true' for an operation submitted through an io_uring (IORING_OP_OPENAT, "
            "CONNECT, ...), which makes no syscall of its own and is read as the syscall it "
            "stands for (openat, connect, ...). A secengine field: Falco has none.",
            live=lambda v, a: v.rec.is_io_uring,
        ),
        FieldDef(
            "evt.netlink.proto",
            FieldType.CHARBUF,
            "The netlink protocol (NETLINK_ROUTE, NETLINK_NETFILTER, ...) of the AF_NETLINK "
            "socket the event creates (socket) or sends on (sendto, sendmsg). A secengine "
            "field: Falco has none.",
            live=_netlink_proto,
        ),
        FieldDef(
            "evt.netlink.msgtypes",
            FieldType.CHARBUF,
            "The types of the netlink messages at the head of a send on an AF_NETLINK socket "
            "(sendto, sendmsg: the first 512 bytes, at most 32 messages), by the kernel's "
            "names: RTM_NEWTFILTER, NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWRULE, ...; decimal for "
            "types without a name. A secengine field: Falco has none.",
            is_list=True,
            live=_netlink_msgtypes,
        ),
        FieldDef(
            "evt.is_io",
            FieldType.BOOL,
            "'true' for events that read or write to FDs, like read(), send, recvfrom(), etc.",
        ),
        FieldDef(
            "evt.is_io_read",
            FieldType.BOOL,
            "'true' for events that read from FDs, like read(), recv(), recvfrom(), etc.",
        ),
        FieldDef(
            "evt.is_io_write",
            FieldType.BOOL,
            "'true' for events that write to FDs, like write(), send(), etc.",
        ),
        FieldDef(
            "evt.io_dir",
            FieldType.CHARBUF,
            "'r' for events that read from FDs, like read(); 'w' for events that write to "
            "FDs, like write().",
        ),
        FieldDef(
            "evt.is_wait",
            FieldType.BOOL,
            "'true' for events that make the thread wait, e.g. sleep(), select(), poll().",
        ),
        FieldDef(
            "evt.wait_latency",
            FieldType.RELTIME,
            "for events that make the thread wait (e.g. sleep(), select(), poll()), this is "
            "the time spent waiting for the event to return, in nanoseconds.",
            deprecated=True,
        ),
        FieldDef("evt.is_syslog", FieldType.BOOL, "'true' for events that are writes to /dev/log."),
        FieldDef(
            "evt.count",
            FieldType.UINT32,
            "This filter field always returns 1.",
            live=lambda v, a: 1,
        ),
        FieldDef(
            "evt.count.error",
            FieldType.UINT32,
            "This filter field returns 1 for events that returned with an error.",
        ),
        FieldDef(
            "evt.count.error.file",
            FieldType.UINT32,
            "This filter field returns 1 for events that returned with an error and are "
            "related to file I/O.",
        ),
        FieldDef(
            "evt.count.error.net",
            FieldType.UINT32,
            "This filter field returns 1 for events that returned with an error and are "
            "related to network I/O.",
        ),
        FieldDef(
            "evt.count.error.memory",
            FieldType.UINT32,
            "This filter field returns 1 for events that returned with an error and are "
            "related to memory allocation.",
        ),
        FieldDef(
            "evt.count.error.other",
            FieldType.UINT32,
            "This filter field returns 1 for events that returned with an error and are "
            "related to none of the previous categories.",
        ),
        FieldDef(
            "evt.count.exit", FieldType.UINT32, "This filter field returns 1 for exit events."
        ),
        FieldDef(
            "evt.count.procinfo",
            FieldType.UINT32,
            "This filter field returns 1 for procinfo events generated by process main threads.",
            hidden=True,
        ),
        FieldDef(
            "evt.count.threadinfo",
            FieldType.UINT32,
            "This filter field returns 1 for procinfo events.",
            hidden=True,
        ),
        FieldDef(
            "evt.around",
            FieldType.UINT64,
            "Accepts the event if it's around the specified time interval. The syntax is "
            "evt.around[T]=D, where T is the value returned by %evt.rawtime for the event "
            "and D is a delta in milliseconds. For example, "
            "evt.around[1404996934793590564]=1000 will return the events with timestamp "
            "with one second before the timestamp and one second after it, for a total of "
            "two seconds of capture.",
            filter_only=True,
            arg=ArgMode.REQUIRED,
            arg_index=True,
            no_rhs=True,
            no_transformer=True,
        ),
        FieldDef(
            "evt.abspath",
            FieldType.CHARBUF,
            "Absolute path calculated from dirfd and name during syscalls like renameat and "
            "symlinkat. Use 'evt.abspath.src' or 'evt.abspath.dst' for syscalls that "
            "support multiple paths.",
            arg=ArgMode.OPTIONAL,
            arg_key=True,
            dotted_arg=True,
            resolve_arg=_resolve_abspath,
        ),
        FieldDef(
            "evt.buflen.in",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for input I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.out",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for output I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.file",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for file I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.file.in",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for input file I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.file.out",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for output file I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.net",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for network I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.net.in",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for input network I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.buflen.net.out",
            FieldType.UINT64,
            "the length of the binary data buffer, but only for output network I/O events.",
            hidden=True,
        ),
        FieldDef(
            "evt.is_open_read",
            FieldType.BOOL,
            "'true' for open/openat/openat2/open_by_handle_at events where the path was "
            "opened for reading." + _DERIVED_OPEN + ".",
            derive=_derive_is_open,
            live=_is_open_read,
        ),
        FieldDef(
            "evt.is_open_write",
            FieldType.BOOL,
            "'true' for open/openat/openat2/open_by_handle_at events where the path was "
            "opened for writing." + _DERIVED_OPEN + ".",
            derive=_derive_is_open,
            live=_is_open_write,
        ),
        FieldDef(
            "evt.infra.docker.name",
            FieldType.CHARBUF,
            "for docker infrastructure events, the name of the event.",
            hidden=True,
        ),
        FieldDef(
            "evt.infra.docker.container.id",
            FieldType.CHARBUF,
            "for docker infrastructure events, the id of the impacted container.",
            hidden=True,
        ),
        FieldDef(
            "evt.infra.docker.container.name",
            FieldType.CHARBUF,
            "for docker infrastructure events, the name of the impacted container.",
            hidden=True,
        ),
        FieldDef(
            "evt.infra.docker.container.image",
            FieldType.CHARBUF,
            "for docker infrastructure events, the image name of the impacted container.",
            hidden=True,
        ),
        FieldDef(
            "evt.is_open_exec",
            FieldType.BOOL,
            "'true' for open/openat/openat2/open_by_handle_at or creat events where a file "
            "is created with execute permissions."
            + _DERIVED_OPEN
            + " and the mode parameter (evt.rawarg.mode or evt.arg.mode).",
            derive=_derive_is_open,
            live=_is_open_exec,
        ),
        FieldDef(
            "evt.is_open_create",
            FieldType.BOOL,
            "'true' for for open/openat/openat2/open_by_handle_at events where a file is "
            "created." + _DERIVED_OPEN + " and evt.rawres.",
            derive=_derive_is_open,
            live=_is_open_create,
        ),
    ),
)
