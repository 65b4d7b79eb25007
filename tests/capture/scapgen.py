"""Small captures built by hand, block by block, for the reader's error and fuzz tests."""

from __future__ import annotations

import struct

from secengine.capture import blocks as B
from secengine.capture.eventtable import codes_named

__all__ = ["block", "capture", "event", "section"]


def block(btype: int, body: bytes) -> bytes:
    total = len(body) + 12
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def section() -> bytes:
    return block(B.SHB_BLOCK_TYPE, struct.pack("<IHHq", B.SHB_MAGIC, 1, 2, -1))


def event(code: int | str, tid: int, params: list[bytes], ts: int = 1_000, cpu: int = 0) -> bytes:
    """A V2 event block (16-bit parameter lengths)."""
    if isinstance(code, str):
        code = codes_named(code).code
    lens = b"".join(struct.pack("<H", len(p)) for p in params)
    length = 26 + len(lens) + sum(len(p) for p in params)
    hdr = struct.pack("<QQIHI", ts, tid, length, code, len(params))
    return block(B.EV_BLOCK_TYPE_V2, struct.pack("<H", cpu) + hdr + lens + b"".join(params))


def s(text: str) -> bytes:
    return text.encode() + b"\0"


def i64(v: int) -> bytes:
    return struct.pack("<q", v)


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def capture(*blocks: bytes) -> bytes:
    return section() + b"".join(blocks)


def open_events(tid: int = 100, path: str = "/etc/shadow", fd: int = 3) -> list[bytes]:
    """An open of ``path`` by ``tid`` and its close, as enter/exit pairs."""
    return [
        event("PPME_SYSCALL_OPEN_E", tid, [s(path), u32(1), u32(0)]),
        event("PPME_SYSCALL_OPEN_X", tid, [i64(fd), s(path), u32(1), u32(0), u32(0), i64(0)]),
        event("PPME_SYSCALL_CLOSE_E", tid, [i64(fd)]),
        event("PPME_SYSCALL_CLOSE_X", tid, [i64(0), i64(fd)]),
    ]


def _str16(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<H", len(b)) + b


def thread(
    tid: int,
    pid: int,
    ptid: int,
    comm: str,
    exe: str,
    args: list[str],
    *,
    cwd: str = "/",
    uid: int = 0,
    gid: int = 0,
    cgroups: list[str] = (),  # type: ignore[assignment]
    loginuid: int = 0xFFFFFFFF,
) -> bytes:
    """One process list V9 entry (its length counts itself)."""
    body = struct.pack("<QQQ", tid, pid, ptid) + struct.pack("<qq", pid, pid)
    body += _str16(comm) + _str16(exe) + _str16(exe)
    body += _str16("\0".join(args) + ("\0" if args else "")) + _str16(cwd)
    body += struct.pack("<QIII", 1024, 0, uid, gid) + struct.pack("<IIIQQ", 0, 0, 0, 0, 0)
    body += _str16("") + struct.pack("<qq", tid, pid)
    body += _str16("\0".join(cgroups) + ("\0" if cgroups else "")) + _str16("/")
    body += struct.pack("<QI", 0, 0) + struct.pack("<I", loginuid)
    return struct.pack("<I", len(body) + 4) + body


def proclist(*threads: bytes) -> bytes:
    return block(B.PL_BLOCK_TYPE_V9, b"".join(threads))


def userlist(*users: tuple[int, int, str]) -> bytes:
    out = b""
    for uid, gid, name in users:
        body = b"\0" + struct.pack("<II", uid, gid) + _str16(name) + _str16("/home/" + name)
        body += _str16("/bin/sh")
        out += struct.pack("<I", len(body) + 4) + body
    return block(B.UL_BLOCK_TYPE_V2, out)


def fdlist(tid: int, *files: tuple[int, str]) -> bytes:
    out = struct.pack("<Q", tid)
    for fd, path in files:
        body = struct.pack("<QQB", fd, 0, 16) + struct.pack("<I", 1) + _str16(path)
        out += struct.pack("<I", len(body) + 4) + body
    return block(B.FDL_BLOCK_TYPE_V2, out)
