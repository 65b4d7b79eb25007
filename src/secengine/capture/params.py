"""Event parameters as libscap stores them: one encoder per ``PT_*`` type.

A capture keeps each parameter as raw bytes whose meaning its type gives
(``driver/ppm_events_public.h``): integers little-endian at their width,
strings NUL-terminated, socket addresses and tuples in the driver's packed
form (``PPM_AF_*`` family byte, addresses in network order, ports in host
order). :func:`encode` turns the value secengine has for a parameter into
those bytes; socket addresses come from the probe's raw ``sockaddr`` and
tuples from its view of the socket (:func:`sockaddr`, :func:`socktuple`).
"""

from __future__ import annotations

import socket as _socket
import struct
from collections.abc import Callable
from typing import Any, Final

from secengine.capture.eventtable import FIXED_SIZES

__all__ = ["encode", "nul_list", "sockaddr", "socktuple", "socktuple_of_names"]

_PPM_AF_UNIX: Final = 1
_PPM_AF_INET: Final = 2
_PPM_AF_INET6: Final = 10
_SIGNED: Final = frozenset(
    {"INT8", "INT16", "INT32", "INT64", "ERRNO", "FD", "PID", "FD32", "PID32"}
)


def _int_encoder(size: int, signed: bool) -> Callable[[Any], bytes]:
    mask = (1 << (8 * size)) - 1

    def enc(v: Any) -> bytes:
        if isinstance(v, (bytes, bytearray)):  # already encoded (an address)
            return bytes(v)[:size].ljust(size, b"\0")
        return (int(v or 0) & mask).to_bytes(size, "little")

    del signed  # two's complement through the mask: signed and unsigned pack the same
    return enc


def _text(v: Any) -> bytes:
    if v is None:
        return b"\0"
    b = v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape")
    return b + b"\0"


def _buf(v: Any) -> bytes:
    if v is None:
        return b""
    return v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape")


def _raw(v: Any) -> bytes:
    """Types built by the caller (socket addresses, tuples, dynamic values)."""
    return v if isinstance(v, bytes) else b""


_ENCODERS: Final[dict[str, Callable[[Any], bytes]]] = {
    **{t: _int_encoder(n, t in _SIGNED) for t, n in FIXED_SIZES.items()},
    "CHARBUF": _text,
    "FSPATH": _text,
    "FSRELPATH": _text,
    "BYTEBUF": _buf,
}


def encode(ptype: str, value: Any) -> bytes:
    """``value`` as a parameter of type ``ptype`` (``PT_*`` without the prefix)."""
    return _ENCODERS.get(ptype, _raw)(value)


def nul_list(items: list[str] | tuple[str, ...], limit: int = 4096) -> bytes:
    """Strings as the driver sends ``args``/``env``: each one NUL-terminated, cut at
    ``limit`` bytes."""
    return b"".join(s.encode("utf-8", "surrogateescape") + b"\0" for s in items)[:limit]


def sockaddr(raw: bytes) -> bytes:
    """A user ``struct sockaddr`` (kernel layout) as the driver's ``PT_SOCKADDR``; empty
    for a family the driver does not decode."""
    if len(raw) < 2:
        return b""
    family = raw[0] | raw[1] << 8
    if family == _socket.AF_INET and len(raw) >= 8:
        port = struct.unpack_from(">H", raw, 2)[0]
        return struct.pack("<B4sH", _PPM_AF_INET, raw[4:8], port)
    if family == _socket.AF_INET6 and len(raw) >= 24:
        port = struct.unpack_from(">H", raw, 2)[0]
        return struct.pack("<B16sH", _PPM_AF_INET6, raw[8:24], port)
    if family == _socket.AF_UNIX:
        return bytes([_PPM_AF_UNIX]) + raw[2:].split(b"\0", 1)[0] + b"\0"
    return b""


def socktuple(
    family: int, src: bytes, sport: int, dst: bytes, dport: int, unix_path: str = ""
) -> bytes:
    """A ``PT_SOCKTUPLE``: source (the client) then destination (the server), as the
    driver orders a connected socket's ends."""
    if family == _socket.AF_INET:
        return struct.pack("<B4sH4sH", _PPM_AF_INET, src[:4], sport, dst[:4], dport)
    if family == _socket.AF_INET6:
        return struct.pack("<B16sH16sH", _PPM_AF_INET6, src[:16], sport, dst[:16], dport)
    if family == _socket.AF_UNIX:
        return struct.pack("<BQQ", _PPM_AF_UNIX, 0, 0) + _text(unix_path)
    return b""


def socktuple_of_names(
    family: int, cip: str | None, cport: int, sip: str | None, sport: int
) -> bytes:
    """:func:`socktuple` from text addresses (the state's view of a socket)."""
    af = _socket.AF_INET if family == 4 else _socket.AF_INET6
    size = 4 if af == _socket.AF_INET else 16

    def packed(ip: str | None) -> bytes:
        if not ip:
            return b"\0" * size
        try:
            return _socket.inet_pton(af, ip)
        except OSError:
            if af == _socket.AF_INET6:  # an IPv4-mapped address rendered as IPv4
                return b"\0" * 10 + b"\xff\xff" + _socket.inet_aton(ip)
            return b"\0" * size

    return socktuple(af, packed(cip), cport, packed(sip), sport)
