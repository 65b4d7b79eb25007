"""Our ctypes binding of ``libbpf.so.1``: one signature table, one error translator.

Only the calls the loader needs are bound. :data:`SIGNATURES` is the single
table of C prototypes (``argtypes``, ``restype`` and the prototype as text);
:func:`bind` applies it once and attaches an *errcheck* to each function
according to how that call reports failure (a negative errno, a NULL pointer
with ``errno`` set). Every failure becomes a :class:`~.errors.BpfError`
naming the call, the errno and, for the errnos users meet (EPERM, ENOENT,
E2BIG, EINVAL...), what to do about it. Nothing here is loaded on import:
:func:`lib` opens the library on first use, and a missing library is a
:class:`~.errors.BpfUnavailableError` with an install hint.

libbpf's log callback receives a ``va_list``; it is formatted with libc's
``vsnprintf`` and collected (the verifier log is what a user needs when a
program does not load). The callback object is kept referenced for the
whole life of the process, and never raises into C.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno as _errno
import os
import threading
from collections.abc import Callable
from typing import Any, Final

from secengine.bpf.errors import BpfError, BpfUnavailableError

__all__ = [
    "LIBRARY",
    "SIGNATURES",
    "ObjectOpenOpts",
    "clear_log",
    "error_for",
    "lib",
    "log_lines",
    "open_opts",
]

LIBRARY: Final = "libbpf.so.1"

_p = ctypes.c_void_p
_int = ctypes.c_int
_u32 = ctypes.c_uint32
_str = ctypes.c_char_p
_size = ctypes.c_size_t

#: How a call reports failure: ``"neg"`` a negative errno return, ``"null"`` a
#: NULL pointer with errno set, ``None`` it cannot fail.
#: name -> (argtypes, restype, failure style, C prototype)
SIGNATURES: Final[dict[str, tuple[list[Any], Any, str | None, str]]] = {
    "libbpf_set_print": (
        [_p],
        _p,
        None,
        "libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)",
    ),
    "libbpf_num_possible_cpus": ([], _int, "neg", "int libbpf_num_possible_cpus(void)"),
    "bpf_object__open_file": (
        [_str, _p],
        _p,
        "null",
        (
            "struct bpf_object *bpf_object__open_file(const char *path, "
            "const struct bpf_object_open_opts *opts)"
        ),
    ),
    "bpf_object__load": ([_p], _int, "neg", "int bpf_object__load(struct bpf_object *obj)"),
    "bpf_object__close": ([_p], None, None, "void bpf_object__close(struct bpf_object *obj)"),
    "bpf_object__find_map_by_name": (
        [_p, _str],
        _p,
        "null",
        (
            "struct bpf_map *bpf_object__find_map_by_name("
            "const struct bpf_object *obj, const char *name)"
        ),
    ),
    "bpf_object__find_program_by_name": (
        [_p, _str],
        _p,
        "null",
        (
            "struct bpf_program *bpf_object__find_program_by_name("
            "const struct bpf_object *obj, const char *name)"
        ),
    ),
    "bpf_map__set_max_entries": (
        [_p, _u32],
        _int,
        "neg",
        "int bpf_map__set_max_entries(struct bpf_map *map, __u32 max)",
    ),
    "bpf_map__fd": ([_p], _int, "neg", "int bpf_map__fd(const struct bpf_map *map)"),
    "bpf_program__set_autoload": (
        [_p, ctypes.c_bool],
        _int,
        "neg",
        ("int bpf_program__set_autoload(struct bpf_program *prog, bool autoload)"),
    ),
    "bpf_program__attach": (
        [_p],
        _p,
        "null",
        "struct bpf_link *bpf_program__attach(const struct bpf_program *prog)",
    ),
    "bpf_link__destroy": ([_p], _int, "neg", "int bpf_link__destroy(struct bpf_link *link)"),
    "bpf_map_update_elem": (
        [_int, _p, _p, ctypes.c_uint64],
        _int,
        "neg",
        ("int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)"),
    ),
    "bpf_map_lookup_elem": (
        [_int, _p, _p],
        _int,
        "neg",
        "int bpf_map_lookup_elem(int fd, const void *key, void *value)",
    ),
    "bpf_map_delete_elem": (
        [_int, _p],
        _int,
        "neg",
        "int bpf_map_delete_elem(int fd, const void *key)",
    ),
    "bpf_map_get_next_key": (
        [_int, _p, _p],
        _int,
        "neg",
        "int bpf_map_get_next_key(int fd, const void *key, void *next_key)",
    ),
}


class ObjectOpenOpts(ctypes.Structure):
    """The leading fields of ``struct bpf_object_open_opts``, up to ``btf_custom_path``.

    libbpf reads only the first ``sz`` bytes of its option structs, so this
    prefix (the same since libbpf 1.0) is a complete options block.
    ``btf_custom_path`` is why we pass one: with it, libbpf takes CO-RE
    relocations from that file alone instead of also walking every kernel
    BTF object with ``BPF_BTF_GET_NEXT_ID``, which needs ``CAP_SYS_ADMIN``;
    libbpf 1.1 (Debian 12) fails the load with EPERM without it, so the
    probe could not run with capabilities (CAP_BPF, CAP_PERFMON) alone.
    """

    _fields_ = (
        ("sz", _size),  # size_t sz;
        ("object_name", _str),  # const char *object_name;
        ("relaxed_maps", ctypes.c_bool),  # bool relaxed_maps;
        ("pin_root_path", _str),  # const char *pin_root_path;
        ("_removed_attach_prog_fd", _u32),  # __u32 :32;
        ("kconfig", _str),  # const char *kconfig;
        ("btf_custom_path", _str),  # const char *btf_custom_path;
    )


def open_opts(btf_custom_path: str | None) -> ObjectOpenOpts:
    """Options for ``bpf_object__open_file``: CO-RE against ``btf_custom_path`` when given."""
    opts = ObjectOpenOpts()
    opts.sz = ctypes.sizeof(ObjectOpenOpts)
    if btf_custom_path is not None:
        opts.btf_custom_path = btf_custom_path.encode()
    return opts


#: What to do about the errnos users meet, keyed by errno.
_HINTS: Final = {
    _errno.EPERM: "run as root (or with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE)",
    _errno.EACCES: "run as root; the kernel refused the program (see the verifier log)",
    _errno.ENOENT: "the kernel lacks something the probe needs (BTF at "
    "/sys/kernel/btf/vmlinux, or a tracepoint)",
    _errno.ESRCH: "the kernel lacks a type or field the probe reads (CO-RE relocation failed)",
    _errno.E2BIG: "the program is too large for this kernel's verifier",
    _errno.EINVAL: "the kernel rejected the program or map (see the verifier log)",
    _errno.ENOTSUP: "this kernel does not support the program type",
    _errno.ENOMEM: "not enough locked memory; raise RLIMIT_MEMLOCK or use a smaller ring buffer",
}

_PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_log: list[str] = []
_MAX_LOG_LINES = 4000
_callbacks: list[Any] = []  # keeps the log callback alive for the process's life
_libc: ctypes.CDLL | None = None


def error_for(call: str, err: int) -> BpfError:
    """The BpfError for ``call`` failing with errno ``err``, with a hint when we have one."""
    name = _errno.errorcode.get(err, str(err))
    hint = _HINTS.get(err)
    text = f"{call} failed: {os.strerror(err)} ({name})"
    if hint:
        text += f"; {hint}"
    cls = BpfUnavailableError if err in (_errno.EPERM, _errno.EACCES) else BpfError
    return cls(text, errno=err, call=call)


def _errcheck(style: str | None, name: str) -> Callable[..., Any] | None:
    if style == "neg":

        def check_neg(result: int, func: Any, args: Any) -> int:
            if result < 0:
                raise error_for(name, -result)
            return result

        return check_neg
    if style == "null":

        def check_null(result: int | None, func: Any, args: Any) -> int:
            if not result:
                err = ctypes.get_errno() or _errno.ENOENT
                raise error_for(name, err)
            return result

        return check_null
    return None


def _on_log(level: int, fmt: bytes | None, va: int | None) -> int:
    """libbpf's print callback: format with vsnprintf and keep the text."""
    try:
        if fmt is None or _libc is None:
            return 0
        buf = ctypes.create_string_buffer(4096)
        n = _libc.vsnprintf(buf, ctypes.sizeof(buf), fmt, ctypes.c_void_p(va))
        if n > 0:
            text = buf.value.decode("utf-8", "replace")
            if len(_log) < _MAX_LOG_LINES:
                _log.extend(text.rstrip("\n").split("\n"))
    except Exception:  # noqa: BLE001 - never raise through a C frame
        return 0
    return 0


def _open_libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.vsnprintf.argtypes = [ctypes.c_char_p, _size, ctypes.c_char_p, ctypes.c_void_p]
    libc.vsnprintf.restype = _int
    return libc


def bind(handle: ctypes.CDLL) -> ctypes.CDLL:
    """Apply :data:`SIGNATURES` to a loaded library."""
    for name, (argtypes, restype, style, _proto) in SIGNATURES.items():
        fn = getattr(handle, name)
        fn.argtypes = argtypes
        fn.restype = restype
        check = _errcheck(style, name)
        if check is not None:
            fn.errcheck = check
    return handle


def lib() -> ctypes.CDLL:
    """The bound libbpf, opened on first use; raises BpfUnavailableError if absent."""
    global _lib, _libc
    with _lock:
        if _lib is None:
            _libc = _open_libc()
            try:
                handle = ctypes.CDLL(LIBRARY, use_errno=True)
            except OSError:
                found = ctypes.util.find_library("bpf")
                raise BpfUnavailableError(
                    f"{LIBRARY} was not found{' (found ' + found + ')' if found else ''}; "
                    "install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1, "
                    "Fedora: dnf install libbpf)"
                ) from None
            bind(handle)
            callback = _PRINT_FN(_on_log)
            _callbacks.append(callback)
            handle.libbpf_set_print(ctypes.cast(callback, ctypes.c_void_p))
            _lib = handle
        return _lib


def log_lines() -> list[str]:
    """libbpf's messages since the last :func:`clear_log` (verifier logs included)."""
    return list(_log)


def clear_log() -> None:
    _log.clear()
