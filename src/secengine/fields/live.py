"""What live extraction reads, and the field values of one live syscall event.

The live syscall source keeps state (processes, fds, users, containers) and
decodes the probe's records; the field classes (``fields/<family>.py``) own
the code that turns them into field values, next to each field's
descriptor (``FieldDef.live``). This module is the contract between the two:
small :class:`typing.Protocol` types for what an extractor reads (the
decoded record, a process, an fd, a container, the user and group lookups,
the state that holds them), which ``secengine.state`` satisfies without this
package importing it, and :class:`LiveFieldValues`, whose ``__missing__``
(inherited from :class:`~secengine.events.FieldValues`) runs a field's live
extractor the first time a rule or an output reads it.

A key is resolved once per process (:meth:`LiveFieldValues.find_extraction`) into
``(extractor, argument)``, the argument parsed then: the field's ``live`` extraction, else its
field-map derivation (``fd.directory`` from ``fd.name`` for a field with no
live extractor), else nothing. An extractor is a plain function
``(values, arg) -> value | MISSING`` that returns its field's declared type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Final, NamedTuple, Protocol

from secengine.events import MISSING, Extraction, FieldValues

__all__ = [
    "NO_UID",
    "Account",
    "Container",
    "ContainerMount",
    "ContainerPod",
    "FdView",
    "FloodReport",
    "LiveExtractor",
    "LiveFieldValues",
    "LiveRecord",
    "LiveState",
    "ProcessView",
    "UserLookup",
    "no_value",
    "process_attr",
]

#: The syscall source's name: the source whose field tables hold the live extractors.
SYSCALL_SOURCE: Final = "syscall"
#: The kernel's "no uid" (``(uid_t)-1``), e.g. the loginuid of a process no login started.
NO_UID: Final = 0xFFFFFFFF


class FloodReport(NamedTuple):
    """What a flood record says about a producer over its budget (``flood.*``)."""

    suppressed: int
    total: int
    admitted: int
    evttype: str
    budget: str
    comm: str
    cgroup: str


class LiveRecord(Protocol):
    """A decoded probe record (``secengine.state.decode.Rec``)."""

    @property
    def ts(self) -> int: ...
    @property
    def tid(self) -> int: ...
    @property
    def pid(self) -> int: ...
    @property
    def res(self) -> int: ...
    @property
    def args(self) -> tuple[int, ...]: ...
    #: the event type (``evt.type``); ``procexit`` and ``flood`` for those records
    @property
    def name(self) -> str: ...
    #: a 32-bit (ia32) syscall
    @property
    def is_compat(self) -> bool: ...
    #: an io_uring operation, read as the syscall it stands for
    @property
    def is_io_uring(self) -> bool: ...

    def arg(self, i: int) -> int:
        """Argument ``i`` as a C ``int``."""
        ...

    def params(self, proc: ProcessView | None) -> dict[str, Any]:
        """Falco's parameters of the event: name → raw (PPM-converted) value."""
        ...

    def open_flags(self) -> int | None:
        """The PPM open flags (with ``O_F_CREATED``) of an open/openat/openat2, else None."""
        ...

    def flood(self) -> FloodReport | None:
        """The flood report of a ``flood`` record, else None."""
        ...

    def netlink_proto(self) -> int | None:
        """The netlink protocol of the socket the event creates or sends on, else None."""
        ...

    def netlink_types(self) -> list[int]:
        """The message types at the head of a send on a netlink socket (else empty)."""
        ...

    def fd_fmode(self) -> int | None:
        """The kernel's ``f_mode`` of the event's fd as the probe read it, else None."""
        ...


class FdView(Protocol):
    """An open fd (``secengine.state.fds.FdInfo``)."""

    @property
    def typechar(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def nameraw(self) -> str: ...
    @property
    def l4proto(self) -> str: ...
    @property
    def lip(self) -> str | None: ...
    @property
    def rip(self) -> str | None: ...
    @property
    def cip(self) -> str | None: ...
    @property
    def sip(self) -> str | None: ...
    @property
    def lport(self) -> int: ...
    @property
    def rport(self) -> int: ...
    @property
    def cport(self) -> int: ...
    @property
    def sport(self) -> int: ...
    @property
    def is_server(self) -> bool: ...
    @property
    def has_role(self) -> bool: ...
    @property
    def connected(self) -> bool: ...
    @property
    def dev(self) -> int: ...
    @property
    def ino(self) -> int: ...
    #: the probe found the file outside the opening process's root
    @property
    def outside_root(self) -> bool: ...


class FdLookup(Protocol):
    """A process's fd table."""

    def get(self, fd: int) -> FdView | None: ...
    def __len__(self) -> int: ...


class ProcessView(Protocol):
    """A process (``secengine.state.threads.Process``); ids, names and times as the probe saw them."""

    @property
    def pid(self) -> int: ...
    @property
    def ptid(self) -> int: ...
    @property
    def vpid(self) -> int: ...
    @property
    def sid(self) -> int: ...
    @property
    def pgid(self) -> int: ...
    @property
    def vpgid(self) -> int: ...
    @property
    def comm(self) -> str: ...
    @property
    def exe(self) -> str: ...
    @property
    def exepath(self) -> str: ...
    @property
    def args(self) -> list[str]: ...
    @property
    def cmdline(self) -> str: ...
    @property
    def cwd(self) -> str: ...
    @property
    def env(self) -> list[str]: ...
    @property
    def tty(self) -> int: ...
    @property
    def uid(self) -> int: ...
    @property
    def gid(self) -> int: ...
    def user_of(self, tid: int) -> tuple[int, int]:
        """(uid, gid) of the thread ``tid``: its own when it has one, else the process's."""
        ...

    @property
    def loginuid(self) -> int: ...
    @property
    def cap_inheritable(self) -> int: ...
    @property
    def cap_permitted(self) -> int: ...
    @property
    def cap_effective(self) -> int: ...
    @property
    def start_ts(self) -> int: ...
    @property
    def exe_flags(self) -> int: ...
    #: the probe found the working directory / the executable outside the process's root
    @property
    def cwd_outside_root(self) -> bool: ...
    @property
    def exe_outside_root(self) -> bool: ...
    @property
    def exe_ino(self) -> int: ...
    @property
    def exe_ctime(self) -> int: ...
    @property
    def exe_mtime(self) -> int: ...
    #: the executable's inode mode (0: not known), owner and group
    @property
    def exe_mode(self) -> int: ...
    @property
    def exe_uid(self) -> int: ...
    @property
    def exe_gid(self) -> int: ...
    #: namespace inodes: user, mnt, net, pid (0: not known)
    @property
    def ns(self) -> tuple[int, int, int, int]: ...
    def file_caps(self) -> int | None:
        """The executable's permitted file capabilities (0: none; None: not readable)."""
        ...

    @property
    def cgroup(self) -> str: ...
    @property
    def container_id(self) -> str: ...
    @property
    def pidns_init_start(self) -> int: ...
    @property
    def fdlimit(self) -> int: ...
    @property
    def fds(self) -> FdLookup: ...


class ProcessLookup(Protocol):
    """The process table: parents, ancestors and group leaders."""

    # ``proc`` is one of the table's own processes (typed Any: the table's own class)
    def parent(self, proc: Any) -> ProcessView | None: ...
    def ancestors(self, proc: Any) -> Iterator[ProcessView]: ...
    def ancestor(self, proc: Any, n: int) -> ProcessView | None: ...
    def peek(self, pid: int) -> ProcessView | None: ...


class Account(Protocol):
    """A user account (``secengine.state.users.Account``)."""

    @property
    def name(self) -> str: ...
    @property
    def home(self) -> str: ...
    @property
    def shell(self) -> str: ...


class UserLookup(Protocol):
    """One root's users and groups (``secengine.state.users.UserDb``)."""

    def user(self, uid: int) -> Account | None: ...
    def group(self, gid: int) -> str | None: ...


class UserTables(Protocol):
    """The host's user database and each container's."""

    @property
    def host(self) -> UserLookup: ...
    def db(self, container_id: str, pid: int) -> UserLookup: ...


class ContainerMount(Protocol):
    """One mount of a container (``secengine.state.containers.Mount``)."""

    @property
    def source(self) -> str: ...
    @property
    def dest(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def rw(self) -> bool: ...
    @property
    def propagation(self) -> str: ...


class ContainerPod(Protocol):
    """The Kubernetes pod of a container (``secengine.state.containers.PodInfo``)."""

    @property
    def sandbox_id(self) -> str: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def ip(self) -> str: ...


class Container(Protocol):
    """A container's metadata (``secengine.state.containers.ContainerInfo``)."""

    @property
    def resolved(self) -> bool: ...
    @property
    def mounts(self) -> Sequence[ContainerMount]: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def pod(self) -> ContainerPod | None: ...


class ContainerLookup(Protocol):
    """The containers' metadata by full id (asked for on first sight, filled in later)."""

    def get(self, full_id: str) -> Container: ...


class LiveState(Protocol):
    """The state the live extractors consult (``secengine.state.tracker.StateTracker``)."""

    @property
    def procs(self) -> ProcessLookup: ...
    @property
    def users(self) -> UserTables: ...
    @property
    def containers(self) -> ContainerLookup: ...
    #: the initial namespaces' inodes (user, mnt, net, pid; 0: not known)
    @property
    def host_ns(self) -> tuple[int, int, int, int]: ...


#: A field's live extraction: ``(values, arg) -> value | MISSING``; ``arg`` is the
#: field's argument as the registry parsed it when the key was first read: an
#: ``int`` for an index (``proc.aname[2]``), the text for a key or a name
#: (``container.label[app]``, ``evt.arg.flags``), None without one.
LiveExtractor = Callable[["LiveFieldValues", Any], Any]
#: Finds a syscall field's live extraction from its name and written argument.
LiveResolver = Callable[[str, "str | None"], "Extraction | None"]

_dict_get: Final = dict.get
_ABSENT: Final = object()
_KEY: Final = re.compile(r"([a-z0-9_.]+?)(?:\[(.*)\])?")


class LiveFieldValues(FieldValues):
    """Field values of one live syscall event, extracted from the record and the state.

    Only ``evt.type`` is set when the event is made (the engine indexes on
    it); the rest is computed on first read and cached, MISSING excepted
    (a container's metadata may arrive between a rule and the output).
    """

    __slots__ = ("fd", "fdnum", "name_changed", "proc", "rec", "state")

    cache_missing: ClassVar[bool] = False
    #: The live extractor of field ``name`` with argument ``arg`` and the argument as parsed,
    #: or None: installed by :mod:`secengine.fields.registry` when it loads, which the package
    #: does first (the registry knows the field classes, which import this module).
    live_extraction: ClassVar[LiveResolver] = staticmethod(lambda name, arg: None)

    def __init__(
        self,
        rec: LiveRecord,
        proc: ProcessView | None,
        fdnum: int,
        fd: FdView | None,
        name_changed: bool,
        state: LiveState,
    ) -> None:
        # (no dict.__init__: a new dict is empty already, and the call costs ~10 % of this)
        self["evt.type"] = rec.name
        self.rec = rec
        self.proc = proc
        self.fdnum = fdnum
        self.fd = fd
        self.name_changed = name_changed
        self.state = state

    def get(self, key: str, default: Any = None) -> Any:
        # compiled rules read through ``get``; a cached value is one C-level lookup
        value = _dict_get(self, key, _ABSENT)
        if value is _ABSENT:
            value = self.__missing__(key)
        return default if value is MISSING else value

    @classmethod
    def find_extraction(cls, key: str) -> Extraction:
        """The field's live extractor and argument, else its field-map derivation."""
        m = _KEY.fullmatch(key)
        if m is not None:
            found = cls.live_extraction(m.group(1), m.group(2))
            if found is not None:
                return found
        return FieldValues.find_extraction(key)

    # -- what several field families look up ---------------------------------------
    def parent(self) -> ProcessView | None:
        """The parent process, or None."""
        p = self.proc
        return None if p is None else self.state.procs.parent(p)

    def accounts(self) -> UserLookup:
        """The user and group names that apply to the event's process (its container's)."""
        p = self.proc
        users = self.state.users
        if p is None:
            return users.host
        return users.db(p.container_id, p.pid)


def process_attr(attr: str) -> LiveExtractor:
    """The extractor of a plain attribute of the event's process."""

    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else getattr(p, attr)

    return get


def no_value(v: LiveFieldValues, arg: str | None) -> Any:
    """The extractor of a field the live source knows but has no value for (``evt.buffer``)."""
    return MISSING
