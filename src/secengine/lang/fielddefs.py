"""Field descriptors: a field's name, type, argument and flags, and a field as a rule resolved it.

These types are what the condition checker, the code generator and the
output compiler work with; they know no field by name. The field classes that
declare fields with them live in :mod:`secengine.fields`, and reach the
compiler only through an object satisfying
:class:`~secengine.lang.resolver.FieldResolver`, so the core never imports a
field class.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secengine.events import FieldValues

__all__ = ["ArgMode", "Deriver", "FieldDef", "FieldKind", "FieldType", "ResolvedField"]


class FieldKind(enum.Enum):
    """The comparison family of a field type: it decides which operators apply."""

    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    IP = "ip"
    NET = "net"
    BUFFER = "buffer"


class FieldType(enum.Enum):
    """Falco's parameter types (``PT_*``) that fields use, with their kind.

    The value is the name Falco prints in ``falco --list`` / ``--list -J``.
    """

    CHARBUF = ("CHARBUF", FieldKind.STRING)
    FSPATH = ("FSPATH", FieldKind.STRING)
    INT8 = ("INT8", FieldKind.NUMBER)
    INT16 = ("INT16", FieldKind.NUMBER)
    INT32 = ("INT32", FieldKind.NUMBER)
    INT64 = ("INT64", FieldKind.NUMBER)
    UINT8 = ("UINT8", FieldKind.NUMBER)
    UINT16 = ("UINT16", FieldKind.NUMBER)
    UINT32 = ("UINT32", FieldKind.NUMBER)
    UINT64 = ("UINT64", FieldKind.NUMBER)
    PORT = ("PORT", FieldKind.NUMBER)
    RELTIME = ("RELTIME", FieldKind.NUMBER)
    ABSTIME = ("ABSTIME", FieldKind.NUMBER)
    ERRNO = ("ERRNO", FieldKind.NUMBER)
    PID = ("PID", FieldKind.NUMBER)
    FD = ("FD", FieldKind.NUMBER)
    UID = ("UID", FieldKind.NUMBER)
    GID = ("GID", FieldKind.NUMBER)
    MODE = ("MODE", FieldKind.NUMBER)
    BOOL = ("BOOL", FieldKind.BOOL)
    IPADDR = ("IPADDR", FieldKind.IP)
    IPV4ADDR = ("IPV4ADDR", FieldKind.IP)
    IPNET = ("IPNET", FieldKind.NET)
    BYTEBUF = ("BYTEBUF", FieldKind.BUFFER)
    DOUBLE = ("DOUBLE", FieldKind.NUMBER)
    #: ``evt.rawarg``: the real type is the named parameter's, set when the field
    #: resolves (see ``FieldDef.resolve_arg``); the kind here is never used.
    DYN = ("DYNAMIC", FieldKind.STRING)

    def __init__(self, falco_name: str, kind: FieldKind) -> None:
        self.falco_name = falco_name
        self.kind = kind

    @property
    def is_unsigned(self) -> bool:
        return self.falco_name.startswith("UINT") or self in (
            FieldType.PORT,
            FieldType.RELTIME,
            FieldType.ABSTIME,
            FieldType.UID,
            FieldType.GID,
            FieldType.MODE,
        )


class ArgMode(enum.Enum):
    """Whether a field takes an argument (``proc.aname[2]``, ``evt.arg.flags``)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


#: Derives a field's value from the other values of a field-map event.
#: Receives the event's values and the full key; returns MISSING when it cannot.
Deriver = Callable[[FieldValues, str], Any]


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of a field class.

    ``arg_index`` says the argument is a number (``proc.aname[2]``),
    ``arg_key`` that it is a free key (``proc.env[HOME]``); ``dotted_arg``
    allows the ``evt.arg.NAME`` spelling in addition to ``evt.arg[NAME]``.
    ``is_list`` marks multi-valued fields (``in`` means every value is in the
    set); ``filter_only`` fields cannot be printed in outputs; ``no_rhs``
    fields cannot be used inside ``val()``. ``derive`` fills the field for
    field-map events when it is not given directly; ``live`` extracts it for
    the live syscall source from the decoded record and the state
    (:mod:`secengine.fields.live`). Both are resolved once per key.
    """

    name: str
    type: FieldType
    desc: str
    arg: ArgMode = ArgMode.NONE
    arg_index: bool = False
    arg_key: bool = False
    dotted_arg: bool = False
    is_list: bool = False
    filter_only: bool = False
    no_rhs: bool = False
    deprecated: bool = False
    derive: Deriver | None = None
    #: The live syscall source's extraction, ``(values, arg) -> value | MISSING``
    #: (``values`` is a :class:`~secengine.fields.live.LiveFieldValues`).
    live: Callable[[Any, str | None], Any] | None = None
    #: For fields with an index argument and no index: in conditions, true if
    #: any of the values matches (Falco's ``proc.aname`` without ``[N]``).
    any_without_index: bool = False
    #: The field yields the values of several things and a check holds if any
    #: of them satisfies it (Falco's ``fd.ip``/``fd.port``/``fd.net``: either end).
    any_value: bool = False
    #: The field reads the values of these other keys instead of its own: one
    #: key is an alias (``fd.snet`` tests ``fd.sip``), several are the values
    #: of ``any_value`` fields (``fd.ip`` is ``fd.cip`` and ``fd.sip``).
    value_keys: tuple[str, ...] = ()
    #: Falco's EPF_NO_TRANSFORMER: no ``tolower(...)`` etc. around this field.
    no_transformer: bool = False
    #: Falco's EPF_TABLE_ONLY: resolvable, but left out of the field listing.
    hidden: bool = False
    #: Falco's EPF_FORMAT_SUGGESTED: appended by ``suggested_output``.
    suggested: bool = False
    #: Checks an argument when the field resolves, ``(arg, dotted) -> type``:
    #: raises ``ConditionCompileError`` with Falco's message for a bad one, and
    #: may return the field's concrete type for it (``evt.rawarg.NAME``), else None.
    resolve_arg: Callable[[str, bool], FieldType | None] | None = None

    @property
    def kind(self) -> FieldKind:
        return self.type.kind


@dataclass(frozen=True, slots=True)
class ResolvedField:
    """A field reference as compiled into a rule: definition, argument and lookup key.

    ``key`` is the full name under which the value is found in
    :class:`~secengine.events.FieldValues` (``proc.aname[2]``, ``evt.arg.flags``).
    ``index`` is the parsed numeric argument for index fields, else ``None``.
    """

    field: FieldDef
    key: str
    arg: str | None = None
    index: int | None = None

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def kind(self) -> FieldKind:
        return self.field.type.kind

    @property
    def is_list(self) -> bool:
        """True when the extracted value is a list (list fields, or ``proc.aname`` with no index)."""
        return (
            self.field.is_list
            or (self.field.any_without_index and self.arg is None)
            or self.field.any_value
        )
