"""The ``process`` field class: ``proc.*`` and ``thread.*`` (libsinsp ``sinsp_filtercheck_thread.cpp``).

Fields of the thread that produced the event, of its process, and of its
ancestors. The table follows libsinsp's, in its order, with its types, flags
and descriptions.

Ancestor fields (``proc.aname``, ``proc.aexe``, ``proc.aexepath``,
``proc.apid``, ``proc.acmdline``, ``proc.aenv``) take an optional index:
``[0]`` is the process itself, ``[1]`` its parent, and so on. Without an
index, a condition is true when *any* ancestor (parent upward, the process
itself excluded) satisfies it (``any_without_index``), libsinsp's
``compare_full_aname`` and friends.

For field-map events (replay, tests) these are derived when not given (each
noted in its description):

- ``proc.aname`` with no index: the list of ``proc.aname[1]``,
  ``proc.aname[2]``, ... up to the first one absent; the same for
  ``proc.aexe``, ``proc.aexepath``, ``proc.apid``, ``proc.acmdline``.
  ``proc.aname[N]`` in turn is item N of a given ``proc.aname`` list.
- ``proc.aname[1]`` ↔ ``proc.pname`` (both ways), and ``proc.aname[0]`` ←
  ``proc.name``; likewise exe/pexe, exepath/pexepath, pid/ppid and
  cmdline/pcmdline.
- ``proc.cmdline`` = ``proc.name`` + ``" "`` + ``proc.args`` (just the name
  when there are no args), ``proc.exeline`` the same from ``proc.exe``.
- ``proc.is_sid_leader``/``is_vpgid_leader``/``is_pgid_leader`` from the ids.

The live syscall source extracts these (``live=``) from the event's process
and the process table (parents, ancestors, session and group leaders).
"""

from __future__ import annotations

import re
from typing import Any, Final

from secengine.errors import ConditionCompileError
from secengine.events import MISSING, FieldValues
from secengine.fields._values import as_int, raw
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.caps import render_caps
from secengine.fields.live import LiveExtractor, LiveFieldValues, process_attr

__all__ = ["ANCESTOR_FIELDS", "FIELD_CLASS", "MAX_ANCESTORS"]

#: Ancestor field → (its field for the process itself, its field for the parent).
ANCESTOR_FIELDS: Final = {
    "proc.aname": ("proc.name", "proc.pname"),
    "proc.aexe": ("proc.exe", "proc.pexe"),
    "proc.aexepath": ("proc.exepath", "proc.pexepath"),
    "proc.apid": ("proc.pid", "proc.ppid"),
    "proc.acmdline": ("proc.cmdline", "proc.pcmdline"),
}

#: How far up a derived ancestor list looks (Falco walks until the tree ends).
MAX_ANCESTORS: Final = 64

#: The parent field → its ancestor field.
_PARENT_OF: Final = {parent: afield for afield, (_, parent) in ANCESTOR_FIELDS.items()}

_INDEX_KEY = re.compile(r"(proc\.a[a-z]+)\[(\d+)\]")


_ANCESTOR_KEYS: dict[str, tuple[str, ...]] = {
    base: tuple(f"{base}[{i}]" for i in range(1, MAX_ANCESTORS + 1)) for base in ANCESTOR_FIELDS
}


def _ancestor(values: FieldValues, afield: str, index: int) -> Any:
    """``afield[index]`` from what the event gives: the self/parent fields or a list."""
    self_field, parent_field = ANCESTOR_FIELDS[afield]
    if index == 0:
        return values[self_field]
    if index == 1:
        parent = raw(values, parent_field)
        if parent is not MISSING:
            return parent
    given = raw(values, afield)
    if isinstance(given, (list, tuple)) and len(given) >= index:
        value = given[index - 1]
        return MISSING if value is None else value
    return MISSING


def _derive_ancestor(values: FieldValues, key: str) -> Any:
    """``proc.aname`` (the list of ancestors) or ``proc.aname[N]`` (one of them)."""
    m = _INDEX_KEY.fullmatch(key)
    if m is not None:
        return _ancestor(values, m.group(1), int(m.group(2)))
    keys = _ANCESTOR_KEYS.get(key)
    if keys is None:
        return MISSING
    # Read the given values directly (this runs once per event for each list,
    # on the hot path of rules like "any ancestor is a shell"); only the
    # parent may come from its own field (proc.pname for proc.aname[1]).
    first = raw(values, keys[0])
    if first is MISSING:
        first = raw(values, ANCESTOR_FIELDS[key][1])
        if first is MISSING:
            return MISSING
    out: list[Any] = [first]
    get = dict.get
    for k in keys[1:]:
        value = get(values, k)
        if value is None or value is MISSING:
            break
        out.append(value)
    return out


def _derive_parent(values: FieldValues, key: str) -> Any:
    """``proc.pname`` from ``proc.aname[1]`` (read raw: the two derive each other)."""
    afield = _PARENT_OF[key]
    value = raw(values, f"{afield}[1]")
    if value is not MISSING:
        return value
    given = raw(values, afield)
    if isinstance(given, (list, tuple)) and given and given[0] is not None:
        return given[0]
    return MISSING


def _join_args(head: Any, args: Any) -> Any:
    if not isinstance(head, str):
        return MISSING
    if isinstance(args, (list, tuple)):
        args = " ".join(str(a) for a in args)
    if args is MISSING or args == "":
        return head
    if not isinstance(args, str):
        return MISSING
    return f"{head} {args}"


def _derive_cmdline(values: FieldValues, key: str) -> Any:
    head = values["proc.name"] if key == "proc.cmdline" else values["proc.exe"]
    args = values["proc.args"]
    if args is MISSING:
        return MISSING
    return _join_args(head, args)


_LEADER_IDS: Final = {
    "proc.is_sid_leader": ("proc.sid", "proc.vpid"),
    "proc.is_vpgid_leader": ("proc.vpgid", "proc.vpid"),
    "proc.is_pgid_leader": ("proc.pgid", "proc.pid"),
}


def _derive_leader(values: FieldValues, key: str) -> Any:
    group_field, id_field = _LEADER_IDS[key]
    group, pid = as_int(values[group_field]), as_int(values[id_field])
    if group is None or pid is None:
        return MISSING
    return group == pid


def _resolve_cgroup(arg: str, dotted: bool) -> FieldType | None:
    """``thread.cgroup.SUBSYS``: SUBSYS is letters and ``_`` only, as libsinsp parses it."""
    if not dotted or not re.fullmatch(r"[A-Za-z_]+", arg):
        raise ConditionCompileError(
            f"filter_check called with nonexistent field thread.cgroup.{arg}"
        )
    return None


_DERIVED_LIST = (
    " Field-map events: without an index, derived as the list of the [1], [2], ... "
    "values given, up to the first one absent; [0] and [1] from the fields of the "
    "process and of its parent."
)


# ---------------------------------------------------------------------------
# live extraction (the syscall source: the process table)
# ---------------------------------------------------------------------------


def _proc_args(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    return MISSING if p is None else " ".join(p.args)


def _proc_cmdline(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    return MISSING if p is None else p.cmdline


def _pp(attr: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        pp = v.parent()
        if pp is None:
            return MISSING
        return pp.cmdline if attr == "cmdline" else getattr(pp, attr)

    return get


def _ancestor_field(attr: str) -> LiveExtractor:
    """``proc.a*[N]`` (``arg`` is the index N) or, without an index, every ancestor's value."""

    def get(v: LiveFieldValues, arg: int | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        procs = v.state.procs
        if arg is None:
            values = [
                a.cmdline if attr == "cmdline" else getattr(a, attr) for a in procs.ancestors(p)
            ]
            return values if values else MISSING
        a = procs.ancestor(p, arg)
        if a is None:
            return MISSING
        return a.cmdline if attr == "cmdline" else getattr(a, attr)

    return get


def _leader(attr: str, which: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        leader = v.state.procs.peek(getattr(p, which))
        return MISSING if leader is None else getattr(leader, attr)

    return get


def _duration(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None or not p.start_ts:
        return MISSING
    return max(0, v.rec.ts - p.start_ts)


def _pduration(v: LiveFieldValues, arg: str | None) -> Any:
    pp = v.parent()
    if pp is None or not pp.start_ts:
        return MISSING
    return max(0, v.rec.ts - pp.start_ts)


def _start(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    return MISSING if p is None or not p.start_ts else p.start_ts


def _pstart(v: LiveFieldValues, arg: str | None) -> Any:
    pp = v.parent()
    return MISSING if pp is None or not pp.start_ts else pp.start_ts


def _exe_flag(bit: int) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else bool(p.exe_flags & bit)

    return get


def _ctime_duration(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None or not p.exe_ctime or not p.start_ts:
        return MISSING
    return max(0, p.start_ts - p.exe_ctime)


def _env(v: LiveFieldValues, arg: int | str | None) -> Any:
    """``proc.env``: every variable, space-separated; ``proc.env[NAME]``: NAME's value ("" when
    unset, as libsinsp's ``get_env``)."""
    p = v.proc
    if p is None:
        return MISSING
    if arg is None:
        return " ".join(p.env)
    prefix = f"{arg}="
    for item in p.env:
        if item.startswith(prefix):
            return item[len(prefix) :]
    return ""


#: se_ns / ProcessView.ns order
_NS_INDEX: Final = {"user": 0, "mnt": 1, "net": 2, "pid": 3}


def _is_host_ns(kind: str) -> LiveExtractor:
    i = _NS_INDEX[kind]

    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        mine, host = p.ns[i], v.state.host_ns[i]
        return MISSING if not mine or not host else mine == host

    return get


def _cwd(v: LiveFieldValues, arg: str | None) -> Any:
    """The working directory with a trailing ``/``, as libsinsp keeps it (``update_cwd``):
    Falco's rules compare it so (``proc.cwd startswith "/dev/shm/"``), and a cwd of exactly
    ``/dev/shm`` must match that."""
    p = v.proc
    if p is None:
        return MISSING
    cwd: str = p.cwd
    return cwd if not cwd or cwd.endswith("/") else cwd + "/"


def _process_flag(attr: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else bool(getattr(p, attr))

    return get


def _exe_mode_bit(bit: int) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None or not p.exe_mode else bool(p.exe_mode & bit)

    return get


def _exe_owner(attr: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None or not p.exe_mode else getattr(p, attr)

    return get


def _exe_fcaps(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    caps = None if p is None else p.file_caps()
    return MISSING if caps is None else render_caps(caps)


def _ns_field(kind: str, what: str) -> FieldDef:
    return FieldDef(
        f"proc.is_host_{kind}ns",
        FieldType.BOOL,
        f"'true' if the process is in the host's (the initial) {what} namespace: its "
        f"/proc/PID/ns/{kind} inode, read by the probe at exec, clone, unshare and setns, is "
        f"pid 1's. A secengine field: Falco has none.",
        live=_is_host_ns(kind),
    )


def _caps(attr: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else render_caps(getattr(p, attr))

    return get


def _is_leader(which: str, vattr: str) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else getattr(p, which) == getattr(p, vattr)

    return get


FIELD_CLASS = FieldClass(
    name="process",
    desc="Additional information about the process and thread executing the syscall event.",
    sources=("syscall",),
    fields=(
        FieldDef(
            "proc.exe",
            FieldType.CHARBUF,
            "The first command-line argument (i.e., argv[0]), typically the executable name "
            "or a custom string as specified by the user. It is primarily obtained from "
            "syscall arguments, truncated after 4096 bytes, or, as a fallback, by reading "
            "/proc/PID/cmdline, in which case it may be truncated after 1024 bytes. This "
            "field may differ from the last component of proc.exepath, reflecting how "
            "command invocation and execution paths can vary.",
            live=process_attr("exe"),
        ),
        FieldDef(
            "proc.pexe",
            FieldType.CHARBUF,
            "The proc.exe (first command line argument argv[0]) of the parent process."
            + " Field-map events: derived from proc.aexe[1] when not given.",
            derive=_derive_parent,
            live=_pp("exe"),
        ),
        FieldDef(
            "proc.aexe",
            FieldType.CHARBUF,
            "The proc.exe (first command line argument argv[0]) for a specific process "
            "ancestor. You can access different levels of ancestors by using indices. For "
            "example, proc.aexe[1] retrieves the proc.exe of the parent process, "
            "proc.aexe[2] retrieves the proc.exe of the grandparent process, and so on. The "
            "current process's proc.exe line can be obtained using proc.aexe[0]. When used "
            "without any arguments in filters, proc.aexe matches any of the process "
            "ancestors. For instance, you can use `proc.aexe endswith java` to match any "
            "process ancestor whose proc.exe ends with the term `java`. In output, "
            "proc.aexe without arguments returns the space-separated list of proc.exe "
            "values of all ancestors." + _DERIVED_LIST,
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            no_transformer=True,
            arg_index=True,
            any_without_index=True,
            derive=_derive_ancestor,
            live=_ancestor_field("exe"),
        ),
        FieldDef(
            "proc.exepath",
            FieldType.CHARBUF,
            "The full executable path of a process, resolving to the canonical path for "
            "symlinks. This is primarily obtained from the kernel, or as a fallback, by "
            "reading /proc/PID/exe (in the latter case, the path is truncated after 1024 "
            "bytes). For the modern eBPF driver,due to verifier limits, path components may "
            "be truncated to 96.",
            live=process_attr("exepath"),
        ),
        FieldDef(
            "proc.pexepath",
            FieldType.CHARBUF,
            "The proc.exepath (full executable path) of the parent process."
            + " Field-map events: derived from proc.aexepath[1] when not given.",
            derive=_derive_parent,
            live=_pp("exepath"),
        ),
        FieldDef(
            "proc.aexepath",
            FieldType.CHARBUF,
            "The proc.exepath (full executable path) for a specific process ancestor. You "
            "can access different levels of ancestors by using indices. For example, "
            "proc.aexepath[1] retrieves the proc.exepath of the parent process, "
            "proc.aexepath[2] retrieves the proc.exepath of the grandparent process, and so "
            "on. The current process's proc.exepath line can be obtained using "
            "proc.aexepath[0]. When used without any arguments in filters, proc.aexepath "
            "matches any of the process ancestors. For instance, you can use `proc.aexepath "
            "endswith java` to match any process ancestor whose path ends with the term "
            "`java`. In output, proc.aexepath without arguments returns the space-separated "
            "list of proc.exepath values of all ancestors." + _DERIVED_LIST,
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            no_transformer=True,
            arg_index=True,
            any_without_index=True,
            derive=_derive_ancestor,
            live=_ancestor_field("exepath"),
        ),
        FieldDef(
            "proc.name",
            FieldType.CHARBUF,
            "The process name (truncated after 16 characters) generating the event "
            "(task->comm). Truncation is determined by kernel settings and not by Falco. "
            "This field is collected from the syscalls args or, as a fallback, extracted "
            "from /proc/PID/comm. The name of the process and the name of the executable "
            "file on disk (if applicable) can be different if a process is given a custom "
            "name which is often the case for example for java applications.",
            live=process_attr("comm"),
        ),
        FieldDef(
            "proc.pname",
            FieldType.CHARBUF,
            "The proc.name (truncated after 16 characters) of the parent process."
            + " Field-map events: derived from proc.aname[1] when not given.",
            derive=_derive_parent,
            live=_pp("comm"),
        ),
        FieldDef(
            "proc.aname",
            FieldType.CHARBUF,
            "The proc.name (truncated after 16 characters) for a specific process ancestor. "
            "You can access different levels of ancestors by using indices. For example, "
            "proc.aname[1] retrieves the proc.name of the parent process, proc.aname[2] "
            "retrieves the proc.name of the grandparent process, and so on. The current "
            "process's proc.name line can be obtained using proc.aname[0]. When used "
            "without any arguments in filters, proc.aname matches any of the process "
            "ancestors. For instance, you can use `proc.aname=bash` to match any process "
            "ancestor whose name is `bash`. In output, proc.aname without arguments returns "
            "the space-separated list of proc.name values of all ancestors." + _DERIVED_LIST,
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            no_transformer=True,
            arg_index=True,
            any_without_index=True,
            derive=_derive_ancestor,
            live=_ancestor_field("comm"),
        ),
        FieldDef(
            "proc.args",
            FieldType.CHARBUF,
            "The arguments passed on the command line when starting the process generating "
            "the event excluding argv[0] (truncated after 4096 bytes). This field is "
            "collected from the system call arguments, or as a fallback, extracted from "
            "/proc/PID/cmdline, can be accessed by specifying proc.args[INDEX], e.g., "
            "proc.args[0] or proc.args[1]. The indexing is zero-based, meaning proc.args[0] "
            "refers to the first command-line argument passed, rather than argv[0].",
            arg=ArgMode.OPTIONAL,
            arg_index=True,
            live=_proc_args,
        ),
        FieldDef(
            "proc.aargs",
            FieldType.CHARBUF,
            "The arguments passed on the command line when starting the process generating "
            "the event for a specific process ancestor. You can access different levels of "
            "ancestors by using indices. For example, proc.aargs[1] retrieves the arguments "
            "passed on the command line of the parent process, proc.aargs[2] retrieves the "
            "proc.args of the grandparent process, and so on. The current process's "
            "arguments passed on the command line can be obtained using proc.aargs[0]. When "
            "used without any arguments in filters, proc.aargs matches any of the process "
            "ancestors. For instance, you can use `proc.aargs contains base64` to match any "
            "process ancestor whose arguments contain the term base64. In output, "
            "proc.aargs without arguments returns the space-separated list of proc.args "
            "values of all ancestors.",
            arg=ArgMode.OPTIONAL,
            arg_index=True,
        ),
        FieldDef(
            "proc.cmdline",
            FieldType.CHARBUF,
            "The concatenation of `proc.name + proc.args` (truncated after 4096 bytes) when "
            "starting the process generating the event."
            + " Field-map events: derived from proc.name and proc.args when not given.",
            derive=_derive_cmdline,
            live=_proc_cmdline,
        ),
        FieldDef(
            "proc.pcmdline",
            FieldType.CHARBUF,
            "The proc.cmdline (full command line (proc.name + proc.args)) of the parent "
            "process." + " Field-map events: derived from proc.acmdline[1] when not given.",
            derive=_derive_parent,
            live=_pp("cmdline"),
        ),
        FieldDef(
            "proc.acmdline",
            FieldType.CHARBUF,
            "The full command line (proc.name + proc.args) for a specific process ancestor. "
            "You can access different levels of ancestors by using indices. For example, "
            "proc.acmdline[1] retrieves the full command line of the parent process, "
            "proc.acmdline[2] retrieves the proc.cmdline of the grandparent process, and so "
            "on. The current process's full command line can be obtained using "
            "proc.acmdline[0]. When used without any arguments in filters, proc.acmdline "
            "matches any of the process ancestors. For instance, you can use `proc.acmdline "
            "contains base64` to match any process ancestor whose command line contains the "
            "term base64. In output, proc.acmdline without arguments returns the "
            "space-separated list of proc.cmdline values of all ancestors." + _DERIVED_LIST,
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            no_transformer=True,
            arg_index=True,
            any_without_index=True,
            derive=_derive_ancestor,
            live=_ancestor_field("cmdline"),
        ),
        FieldDef("proc.cmdnargs", FieldType.UINT64, "The number of command line args (proc.args)."),
        FieldDef(
            "proc.cmdlenargs",
            FieldType.UINT64,
            "The total count of characters / length of the command line args (proc.args) "
            "combined excluding whitespaces between args.",
        ),
        FieldDef(
            "proc.exeline",
            FieldType.CHARBUF,
            "The full command line, with exe as first argument (proc.exe + proc.args) when "
            "starting the process generating the event."
            + " Field-map events: derived from proc.exe and proc.args when not given.",
            derive=_derive_cmdline,
        ),
        FieldDef(
            "proc.env",
            FieldType.CHARBUF,
            "The environment variables of the process generating the event as concatenated "
            "string 'ENV_NAME=value ENV_NAME1=value1'. Can also be used to extract the "
            "value of a known env variable, e.g. proc.env[ENV_NAME].",
            arg=ArgMode.OPTIONAL,
            arg_key=True,
            arg_index=True,
            live=_env,
        ),
        FieldDef(
            "proc.aenv",
            FieldType.CHARBUF,
            "[EXPERIMENTAL] This field can be used in three flavors: (1) as a filter "
            "checking all parents, e.g. 'proc.aenv contains xyz', which is similar to the "
            "familiar 'proc.aname contains xyz' approach, (2) checking the `proc.env` of a "
            "specified level of the parent, e.g. 'proc.aenv[2]', which is similar to the "
            "familiar 'proc.aname[2]' approach, or (3) checking the first matched value of "
            "a known ENV_NAME in the parent lineage, such as 'proc.aenv[ENV_NAME]' (across "
            "a max of 20 ancestor levels). This field may be deprecated or undergo breaking "
            "changes in future releases. Please use it with caution.",
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            no_transformer=True,
            arg_key=True,
            arg_index=True,
            any_without_index=True,
        ),
        FieldDef(
            "proc.cwd",
            FieldType.CHARBUF,
            "The current working directory of the event.",
            live=_cwd,
        ),
        FieldDef(
            "proc.loginshellid",
            FieldType.INT64,
            "The pid of the oldest shell among the ancestors of the current process, if "
            "there is one. This field can be used to separate different user sessions.",
        ),
        FieldDef(
            "proc.tty",
            FieldType.UINT32,
            "The controlling terminal of the process. 0 for processes without a terminal.",
            live=process_attr("tty"),
        ),
        FieldDef(
            "proc.pid",
            FieldType.INT64,
            "The id of the process generating the event.",
            live=process_attr("pid"),
        ),
        FieldDef(
            "proc.ppid",
            FieldType.INT64,
            "The pid of the parent of the process generating the event."
            + " Field-map events: derived from proc.apid[1] when not given.",
            derive=_derive_parent,
            live=process_attr("ptid"),
        ),
        FieldDef(
            "proc.apid",
            FieldType.INT64,
            "The pid for a specific process ancestor. You can access different levels of "
            "ancestors by using indices. For example, proc.apid[1] retrieves the pid of the "
            "parent process, proc.apid[2] retrieves the pid of the grandparent process, and "
            "so on. The current process's pid can be obtained using proc.apid[0]. When used "
            "without any arguments in filters, proc.apid matches any of the process "
            "ancestors. For instance, you can use `proc.apid=1337` to match any process "
            "ancestor whose pid is equal to 1337. In output, proc.apid without arguments "
            "defaults to proc.apid[0] (the current process's pid)." + _DERIVED_LIST,
            arg=ArgMode.OPTIONAL,
            no_rhs=True,
            no_transformer=True,
            arg_index=True,
            any_without_index=True,
            derive=_derive_ancestor,
            live=_ancestor_field("pid"),
        ),
        FieldDef(
            "proc.vpid",
            FieldType.INT64,
            "The id of the process generating the event as seen from its current PID namespace.",
            live=process_attr("vpid"),
        ),
        FieldDef(
            "proc.pvpid",
            FieldType.INT64,
            "The id of the parent process generating the event as seen from its current PID "
            "namespace.",
            live=_pp("vpid"),
        ),
        FieldDef(
            "proc.sid",
            FieldType.INT64,
            "The session id of the process generating the event.",
            live=process_attr("sid"),
        ),
        FieldDef(
            "proc.sname",
            FieldType.CHARBUF,
            "The name of the current process's session leader. This is either the process "
            "with pid=proc.sid or the eldest ancestor that has the same sid as the current "
            "process.",
            live=_leader("comm", "sid"),
        ),
        FieldDef(
            "proc.sid.exe",
            FieldType.CHARBUF,
            "The first command line argument argv[0] (usually the executable name or a "
            "custom one) of the current process's session leader. This is either the "
            "process with pid=proc.sid or the eldest ancestor that has the same sid as the "
            "current process.",
            live=_leader("exe", "sid"),
        ),
        FieldDef(
            "proc.sid.exepath",
            FieldType.CHARBUF,
            "The full executable path of the current process's session leader. This is "
            "either the process with pid=proc.sid or the eldest ancestor that has the same "
            "sid as the current process.",
            live=_leader("exepath", "sid"),
        ),
        FieldDef(
            "proc.vpgid",
            FieldType.INT64,
            "The process group id of the process generating the event, as seen from its "
            "current PID namespace.",
            live=process_attr("vpgid"),
        ),
        FieldDef(
            "proc.vpgid.name",
            FieldType.CHARBUF,
            "The name of the current process's process group leader. This is either the "
            "process with proc.vpgid == proc.vpid or the eldest ancestor that has the same "
            "vpgid as the current process. The description of `proc.is_vpgid_leader` offers "
            "additional insights.",
            live=_leader("comm", "pgid"),
        ),
        FieldDef(
            "proc.vpgid.exe",
            FieldType.CHARBUF,
            "The first command line argument argv[0] (usually the executable name or a "
            "custom one) of the current process's process group leader. This is either the "
            "process with proc.vpgid == proc.vpid or the eldest ancestor that has the same "
            "vpgid as the current process. The description of `proc.is_vpgid_leader` offers "
            "additional insights.",
            live=_leader("exe", "pgid"),
        ),
        FieldDef(
            "proc.vpgid.exepath",
            FieldType.CHARBUF,
            "The full executable path of the current process's process group leader. This "
            "is either the process with proc.vpgid == proc.vpid or the eldest ancestor that "
            "has the same vpgid as the current process. The description of "
            "`proc.is_vpgid_leader` offers additional insights.",
            live=_leader("exepath", "pgid"),
        ),
        FieldDef(
            "proc.pgid",
            FieldType.INT64,
            "The process group id of the process generating the event, as seen from host "
            "PID namespace.",
            live=process_attr("pgid"),
        ),
        FieldDef(
            "proc.pgid.name",
            FieldType.CHARBUF,
            "The name of the current process's process group leader. This is either the "
            "process with proc.pgid == proc.pid or the eldest ancestor that has the same "
            "pgid as the current process. The description of `proc.is_pgid_leader` offers "
            "additional insights.",
            live=_leader("comm", "pgid"),
        ),
        FieldDef(
            "proc.pgid.exe",
            FieldType.CHARBUF,
            "The first command line argument argv[0] (usually the executable name or a "
            "custom one) of the current process's process group leader. This is either the "
            "process with proc.pgid == proc.pid or the eldest ancestor that has the same "
            "pgid as the current process. The description of `proc.is_pgid_leader` offers "
            "additional insights.",
            live=_leader("exe", "pgid"),
        ),
        FieldDef(
            "proc.pgid.exepath",
            FieldType.CHARBUF,
            "The full executable path of the current process's process group leader. This "
            "is either the process with proc.pgid == proc.pid or the eldest ancestor that "
            "has the same pgid as the current process. The description of "
            "`proc.is_pgid_leader` offers additional insights.",
            live=_leader("exepath", "pgid"),
        ),
        FieldDef(
            "proc.duration",
            FieldType.RELTIME,
            "Number of nanoseconds since the process started.",
            live=_duration,
        ),
        FieldDef(
            "proc.ppid.duration",
            FieldType.RELTIME,
            "Number of nanoseconds since the parent process started.",
            live=_pduration,
        ),
        FieldDef(
            "proc.pid.ts",
            FieldType.RELTIME,
            "Start of process as epoch timestamp in nanoseconds.",
            live=_start,
        ),
        FieldDef(
            "proc.ppid.ts",
            FieldType.RELTIME,
            "Start of parent process as epoch timestamp in nanoseconds.",
            live=_pstart,
        ),
        FieldDef(
            "proc.is_exe_writable",
            FieldType.BOOL,
            "'true' if this process' executable file is writable by the same user that "
            "spawned the process.",
            live=_exe_flag(1),
        ),
        FieldDef(
            "proc.is_exe_upper_layer",
            FieldType.BOOL,
            "'true' if this process' executable file is in upper layer in overlayfs. This "
            "field value can only be trusted if the underlying kernel version is greater or "
            "equal than 3.18.0, since overlayfs was introduced at that time.",
            live=_exe_flag(2),
        ),
        FieldDef(
            "proc.is_exe_lower_layer",
            FieldType.BOOL,
            "'true' if this process' executable file is in lower layer in overlayfs. This "
            "field value can only be trusted if the underlying kernel version is greater or "
            "equal than 3.18.0, since overlayfs was introduced at that time.",
            live=_exe_flag(8),
        ),
        FieldDef(
            "proc.is_exe_from_memfd",
            FieldType.BOOL,
            "'true' if the executable file of the current process is an anonymous file "
            "created using memfd_create() and is being executed by referencing its file "
            "descriptor (fd). This type of file exists only in memory and not on disk. "
            "Relevant to detect malicious in-memory code injection. Requires kernel version "
            "greater or equal to 3.17.0.",
            live=_exe_flag(4),
        ),
        FieldDef(
            "proc.is_sid_leader",
            FieldType.BOOL,
            "'true' if this process is the leader of the process session, proc.sid == "
            "proc.vpid. For host processes vpid reflects pid."
            + " Field-map events: derived from proc.sid and proc.vpid when not given.",
            derive=_derive_leader,
            live=_is_leader("pid", "sid"),
        ),
        FieldDef(
            "proc.is_vpgid_leader",
            FieldType.BOOL,
            "'true' if this process is the leader of the virtual process group, proc.vpgid "
            "== proc.vpid. For host processes vpgid and vpid reflect pgid and pid. Can help "
            "to distinguish if the process was 'directly' executed for instance in a tty "
            "(similar to bash history logging, `is_vpgid_leader` would be 'true') or "
            "executed as descendent process in the same process group which for example is "
            "the case when subprocesses are spawned from a script (`is_vpgid_leader` would "
            "be 'false')."
            + " Field-map events: derived from proc.vpgid and proc.vpid when not given.",
            derive=_derive_leader,
            live=_is_leader("vpid", "vpgid"),
        ),
        FieldDef(
            "proc.is_pgid_leader",
            FieldType.BOOL,
            "'true' if this process is the leader of the process group, proc.pgid == "
            "proc.pid. Can help to distinguish if the process was 'directly' executed for "
            "instance in a tty (similar to bash history logging, `is_pgid_leader` would be "
            "'true') or executed as descendent process in the same process group which for "
            "example is the case when subprocesses are spawned from a script "
            "(`is_pgid_leader` would be 'false')."
            + " Field-map events: derived from proc.pgid and proc.pid when not given.",
            derive=_derive_leader,
            live=_is_leader("pid", "pgid"),
        ),
        FieldDef(
            "proc.exe_ino",
            FieldType.INT64,
            "The inode number of the executable file on disk. Can be correlated with fd.ino.",
            live=process_attr("exe_ino"),
        ),
        FieldDef(
            "proc.exe_ino.ctime",
            FieldType.ABSTIME,
            "Last status change time of executable file (inode->ctime) as epoch timestamp "
            "in nanoseconds. Time is changed by writing or by setting inode information "
            "e.g. owner, group, link count, mode etc.",
            live=process_attr("exe_ctime"),
        ),
        FieldDef(
            "proc.exe_ino.mtime",
            FieldType.ABSTIME,
            "Last modification time of executable file (inode->mtime) as epoch timestamp in "
            "nanoseconds. Time is changed by file modifications, e.g. by mknod, truncate, "
            "utime, write of more than zero bytes etc. For tracking changes in owner, "
            "group, link count or mode, use proc.exe_ino.ctime instead.",
            live=process_attr("exe_mtime"),
        ),
        FieldDef(
            "proc.exe_ino.ctime_duration_proc_start",
            FieldType.ABSTIME,
            "Number of nanoseconds between modifying status of executable image and "
            "spawning a new process using the changed executable image.",
            live=_ctime_duration,
        ),
        FieldDef(
            "proc.exe_ino.ctime_duration_pidns_start",
            FieldType.ABSTIME,
            "Number of nanoseconds between PID namespace start ts and ctime exe file if PID "
            "namespace start predates ctime.",
        ),
        FieldDef(
            "proc.pidns_init_start_ts",
            FieldType.UINT64,
            "Start of PID namespace (container or non container pid namespace) as epoch "
            "timestamp in nanoseconds.",
            live=process_attr("pidns_init_start"),
        ),
        _ns_field("user", "user"),
        _ns_field("mnt", "mount"),
        _ns_field("net", "network"),
        _ns_field("pid", "pid"),
        FieldDef(
            "proc.is_cwd_outside_root",
            FieldType.BOOL,
            "'true' if the working directory is not under the process's root directory: the "
            "probe's walk of its path, at the last chdir, fchdir or exec, reached the mount "
            "namespace's root without passing the process's root (a host directory reached "
            "through a descriptor leaked into a container, CVE-2024-21626). 'false' when not "
            "known (a process read from /proc). A secengine field: Falco has none.",
            live=_process_flag("cwd_outside_root"),
        ),
        FieldDef(
            "proc.is_exe_outside_root",
            FieldType.BOOL,
            "'true' if the executable file, at exec, was not under the process's root "
            "directory (as proc.is_cwd_outside_root: a host binary run through a leaked "
            "descriptor). A secengine field: Falco has none.",
            live=_process_flag("exe_outside_root"),
        ),
        FieldDef(
            "proc.is_exe_setuid",
            FieldType.BOOL,
            "'true' if the executable file has its set-user-ID bit (S_ISUID), as the probe read "
            "its inode at exec. A secengine field: Falco has none.",
            live=_exe_mode_bit(0o4000),
        ),
        FieldDef(
            "proc.is_exe_setgid",
            FieldType.BOOL,
            "'true' if the executable file has its set-group-ID bit (S_ISGID), as the probe "
            "read its inode at exec. A secengine field: Falco has none.",
            live=_exe_mode_bit(0o2000),
        ),
        FieldDef(
            "proc.exe_uid",
            FieldType.UINT32,
            "The owner (uid, in the initial user namespace) of the executable file, as the "
            "probe read its inode at exec. A secengine field: Falco has none.",
            live=_exe_owner("exe_uid"),
        ),
        FieldDef(
            "proc.exe_gid",
            FieldType.UINT32,
            "The group (gid, in the initial user namespace) of the executable file, as the "
            "probe read its inode at exec. A secengine field: Falco has none.",
            live=_exe_owner("exe_gid"),
        ),
        FieldDef(
            "proc.exe_fcaps",
            FieldType.CHARBUF,
            "The permitted set of the executable file's capabilities (its security.capability "
            "extended attribute), in the format of thread.cap_permitted; empty when it has "
            "none. Read from /proc/PID/exe when a rule first asks (a process gone by then has "
            "no value). A secengine field: Falco has none.",
            live=_exe_fcaps,
        ),
        FieldDef(
            "thread.cap_permitted",
            FieldType.CHARBUF,
            "The permitted capabilities set",
            live=_caps("cap_permitted"),
        ),
        FieldDef(
            "thread.cap_inheritable",
            FieldType.CHARBUF,
            "The inheritable capabilities set",
            live=_caps("cap_inheritable"),
        ),
        FieldDef(
            "thread.cap_effective",
            FieldType.CHARBUF,
            "The effective capabilities set",
            live=_caps("cap_effective"),
        ),
        FieldDef(
            "proc.fdopencount",
            FieldType.UINT64,
            "Number of open FDs for the process",
            live=lambda v, a: MISSING if v.proc is None else len(v.proc.fds),
        ),
        FieldDef(
            "proc.fdlimit",
            FieldType.INT64,
            "Maximum number of FDs the process can open.",
            live=process_attr("fdlimit"),
        ),
        FieldDef(
            "proc.fdusage",
            FieldType.DOUBLE,
            "The ratio between open FDs and maximum available FDs for the process.",
        ),
        FieldDef("proc.vmsize", FieldType.UINT64, "Total virtual memory for the process (as kb)."),
        FieldDef(
            "proc.vmrss", FieldType.UINT64, "Resident non-swapped memory for the process (as kb)."
        ),
        FieldDef("proc.vmswap", FieldType.UINT64, "Swapped memory for the process (as kb)."),
        FieldDef(
            "thread.pfmajor", FieldType.UINT64, "Number of major page faults since thread start."
        ),
        FieldDef(
            "thread.pfminor", FieldType.UINT64, "Number of minor page faults since thread start."
        ),
        FieldDef(
            "thread.tid",
            FieldType.INT64,
            "The id of the thread generating the event.",
            live=lambda v, a: v.rec.tid,
        ),
        FieldDef(
            "thread.ismain",
            FieldType.BOOL,
            "'true' if the thread generating the event is the main one in the process.",
            live=lambda v, a: v.rec.tid == v.rec.pid,
        ),
        FieldDef(
            "thread.vtid",
            FieldType.INT64,
            "The id of the thread generating the event as seen from its current PID namespace.",
            live=lambda v, a: v.rec.tid if v.proc is None or v.proc.vpid == v.proc.pid else MISSING,
        ),
        FieldDef(
            "thread.nametid",
            FieldType.CHARBUF,
            "This field chains the process name and tid of a thread and can be used as a "
            "specific identifier of a thread for a specific execve.",
            hidden=True,
        ),
        FieldDef(
            "thread.exectime",
            FieldType.RELTIME,
            "CPU time spent by the last scheduled thread, in nanoseconds. Exported by "
            "switch events only.",
        ),
        FieldDef(
            "thread.totexectime",
            FieldType.RELTIME,
            "Total CPU time, in nanoseconds since the beginning of the capture, for the "
            "current thread. Exported by switch events only.",
        ),
        FieldDef(
            "thread.cgroups",
            FieldType.CHARBUF,
            "All cgroups the thread belongs to, aggregated into a single string.",
            live=process_attr("cgroup"),
        ),
        FieldDef(
            "thread.cgroup",
            FieldType.CHARBUF,
            "The cgroup the thread belongs to, for a specific subsystem. e.g. "
            "thread.cgroup.cpuacct.",
            arg=ArgMode.REQUIRED,
            arg_key=True,
            dotted_arg=True,
            resolve_arg=_resolve_cgroup,
        ),
        FieldDef(
            "proc.nthreads",
            FieldType.UINT64,
            "The number of alive threads that the process generating the event currently "
            "has, including the leader thread. Please note that the leader thread may not "
            "be here, in that case 'proc.nthreads' and 'proc.nchilds' are equal",
        ),
        FieldDef(
            "proc.nchilds",
            FieldType.UINT64,
            "The number of alive not leader threads that the process generating the event "
            "currently has. This excludes the leader thread.",
        ),
        FieldDef(
            "thread.cpu", FieldType.DOUBLE, "The CPU consumed by the thread in the last second."
        ),
        FieldDef(
            "thread.cpu.user",
            FieldType.DOUBLE,
            "The user CPU consumed by the thread in the last second.",
        ),
        FieldDef(
            "thread.cpu.system",
            FieldType.DOUBLE,
            "The system CPU consumed by the thread in the last second.",
        ),
        FieldDef(
            "thread.vmsize",
            FieldType.UINT64,
            "For the process main thread, this is the total virtual memory for the process "
            "(as kb). For the other threads, this field is zero.",
        ),
        FieldDef(
            "thread.vmrss",
            FieldType.UINT64,
            "For the process main thread, this is the resident non-swapped memory for the "
            "process (as kb). For the other threads, this field is zero.",
        ),
        FieldDef(
            "thread.vmsize.b",
            FieldType.UINT64,
            "For the process main thread, this is the total virtual memory for the process "
            "(in bytes). For the other threads, this field is zero.",
            hidden=True,
        ),
        FieldDef(
            "thread.vmrss.b",
            FieldType.UINT64,
            "For the process main thread, this is the resident non-swapped memory for the "
            "process (in bytes). For the other threads, this field is zero.",
            hidden=True,
        ),
        FieldDef(
            "proc.stdin.type",
            FieldType.CHARBUF,
            "The type of file descriptor 0, corresponding to stdin, of the process "
            "generating the event.",
        ),
        FieldDef(
            "proc.stdout.type",
            FieldType.CHARBUF,
            "The type of file descriptor 1, corresponding to stdout, of the process "
            "generating the event.",
        ),
        FieldDef(
            "proc.stderr.type",
            FieldType.CHARBUF,
            "The type of file descriptor 2, corresponding to stderr, of the process "
            "generating the event.",
        ),
        FieldDef(
            "proc.stdin.name",
            FieldType.CHARBUF,
            "The name of the file descriptor 0, corresponding to stdin, of the process "
            "generating the event.",
        ),
        FieldDef(
            "proc.stdout.name",
            FieldType.CHARBUF,
            "The name of the file descriptor 1, corresponding to stdout, of the process "
            "generating the event.",
        ),
        FieldDef(
            "proc.stderr.name",
            FieldType.CHARBUF,
            "The name of the file descriptor 2, corresponding to stderr, of the process "
            "generating the event.",
        ),
    ),
)
