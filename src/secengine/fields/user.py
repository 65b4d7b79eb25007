"""The ``user`` field class (libsinsp ``sinsp_filtercheck_user.cpp``).

The user the event's thread runs as (its uid, and the name, home and shell
from the host's user table) and its audit login user. The table follows
libsinsp's, in its order, with its types and descriptions.

The live syscall source extracts these (``live=``) from the process's ids and
the user database of its root (host or container).
"""

from __future__ import annotations

from typing import Any

from secengine.events import MISSING
from secengine.fields.base import FieldClass, FieldDef, FieldType
from secengine.fields.live import NO_UID, LiveExtractor, LiveFieldValues

__all__ = ["FIELD_CLASS"]


def _uid(v: LiveFieldValues, arg: str | None) -> Any:
    # the event's thread's user (libsinsp keeps it per thread: threadinfo ``m_uid``)
    p = v.proc
    return MISSING if p is None else p.user_of(v.rec.tid)[0]


def _user_attr(attr: str) -> LiveExtractor:
    """An attribute of the account of the event's thread's user (name, home, shell)."""

    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        acct = v.accounts().user(p.user_of(v.rec.tid)[0])
        return MISSING if acct is None else getattr(acct, attr)

    return get


def _loginuid(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None:
        return MISSING
    return -1 if p.loginuid == NO_UID else p.loginuid


def _loginname(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None or p.loginuid == NO_UID:
        return MISSING
    acct = v.accounts().user(p.loginuid)
    return acct.name if acct is not None else MISSING


FIELD_CLASS = FieldClass(
    name="user",
    desc="Information about the user executing the specific event.",
    sources=("syscall",),
    fields=(
        FieldDef("user.uid", FieldType.UINT32, "user ID.", live=_uid),
        FieldDef("user.name", FieldType.CHARBUF, "user name.", live=_user_attr("name")),
        FieldDef(
            "user.homedir",
            FieldType.CHARBUF,
            "home directory of the user.",
            live=_user_attr("home"),
        ),
        FieldDef("user.shell", FieldType.CHARBUF, "user's shell.", live=_user_attr("shell")),
        FieldDef(
            "user.loginuid",
            FieldType.INT64,
            "audit user id (auid), internally the loginuid is of type `uint32_t`. However, "
            "if an invalid uid corresponding to UINT32_MAX is encountered, it is returned "
            "as -1 to support familiar filtering conditions.",
            live=_loginuid,
        ),
        FieldDef("user.loginname", FieldType.CHARBUF, "audit user name (auid).", live=_loginname),
    ),
)
