"""Event blocks: the event header, its parameters, and their values by the event table.

An event block's body is ``u16 cpu``, ``u32 flags`` (the ``EVF`` blocks
only), then the driver's event: ``ppm_evt_hdr`` (``u64 ts, u64 tid, u32
len, u16 type, u32 nparams``; the pre-V2 blocks have no ``nparams``), one
length per parameter (``u16``, ``u32`` for ``EF_LARGE_PAYLOAD`` events) and
the parameter bytes. Lengths are checked against the block as libscap's
``validate_v2_event`` does; a pre-V2 event's parameter count is found the way
libscap finds it (the largest count whose lengths add up to the event).

An event whose type the table does not know (a newer libs) keeps its raw
parameters and is counted by the caller; so is a parameter past the table's
layout.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
from collections.abc import Callable
from typing import Any, Final

from secengine.capture import blocks as B
from secengine.capture.blocks import CaptureFormatError
from secengine.capture.eventtable import EVENTS, FIXED_SIZES, EventInfo, event_info

__all__ = [
    "Decoder",
    "EventLayout",
    "ScapEvent",
    "decode_params",
    "decoder",
    "event_layout",
    "param_value",
    "parse_event",
    "sockaddr_value",
    "socktuple_value",
]

_HDR: Final = struct.Struct("<QQIHI")
_HDR_V1: Final = struct.Struct("<QQIH")
#: the cpu id and the event header of the event blocks without flags
_CPU_HDR: Final = struct.Struct("<HQQIHI")
_CPU_HDR_SIZE: Final = _CPU_HDR.size
_CPU_HDR_UNPACK: Final = _CPU_HDR.unpack_from
_HDR_SIZE: Final = 26  # _HDR.size
_PLAIN_V2: Final = frozenset({B.EV_BLOCK_TYPE_V2, B.EV_BLOCK_TYPE_V2_LARGE})
_NEVENTS: Final = len(EVENTS)
_LARGE: Final = tuple(e.large_payload for e in EVENTS)
_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_SIGNED: Final = frozenset(
    {"INT8", "INT16", "INT32", "INT64", "ERRNO", "FD", "PID", "FD32", "PID32"}
)
_STRINGS: Final = frozenset({"CHARBUF", "FSPATH", "FSRELPATH"})
_INT_FMT: Final = {1: "B", 2: "H", 4: "I", 8: "Q"}
_AF_INET: Final = socket.AF_INET
_inet_ntop: Final = socket.inet_ntop
#: decoded socket addresses and tuples kept, by their bytes (a capture's sends and
#: receives repeat a few): cleared when it holds this many; only values of at most
#: _MEMO_BYTES bytes are kept (an IPv6 tuple is 37), so the memo stays small whatever the
#: capture holds (a unix socket's path can be 64 KiB)
_MAX_MEMO: Final = 4096
_MEMO_BYTES: Final = 64
#: notification and infrastructure events of old captures declare 3 bytes too many
_PPME_NOTIFICATION_E: Final = 212
_PPME_INFRASTRUCTURE_EVENT_E: Final = 278


class ScapEvent:
    """One event of a capture; ``params`` are the raw parameter bytes, in order."""

    __slots__ = ("cpu", "flags", "info", "offset", "params", "tid", "ts", "type")

    def __init__(
        self,
        ts: int,
        tid: int,
        etype: int,
        cpu: int,
        flags: int,
        params: list[bytes],
        offset: int,
        info: EventInfo | None = None,
    ) -> None:
        self.ts = ts
        self.tid = tid
        self.type = etype
        self.cpu = cpu
        self.flags = flags
        self.params = params
        self.offset = offset
        self.info: EventInfo | None = info if info is not None else event_info(etype)

    def values(self) -> dict[str, Any]:
        """Parameter name → decoded value, for the parameters the table names."""
        info = self.info
        if info is None:
            return {}
        return {
            p.name: param_value(p.type, raw)
            for p, raw in zip(info.params, self.params, strict=False)
        }

    def __repr__(self) -> str:
        name = self.info.enum if self.info is not None else f"type {self.type}"
        return f"<ScapEvent {name} tid={self.tid} ts={self.ts}>"


#: an event's place in its block: (cpu, flags, ts, tid, type, table entry, parameter
#: lengths, offset of the first parameter's bytes)
EventLayout = tuple[int, int, int, int, int, "EventInfo | None", tuple[int, ...], int]


def parse_event(block: B.Block, file: str) -> ScapEvent:
    """The event of an event block (any of the seven event block types)."""
    body = block.body
    cpu, flags, ts, tid, etype, info, lens, off = event_layout(
        block.type, body, 0, len(body), block.offset, file
    )
    params: list[bytes] = []
    append = params.append
    for n in lens:
        nxt = off + n
        append(body[off:nxt])
        off = nxt
    return ScapEvent(ts, tid, etype, cpu, flags, params, block.offset, info)


def event_layout(
    btype: int, buf: bytes, start: int, stop: int, offset: int, file: str
) -> EventLayout:
    """Where the event of the event block whose body is ``buf[start:stop]`` (at ``offset``
    in the capture) keeps its header fields and parameters, every length checked against
    the block; the parameters are not copied."""
    if btype in _PLAIN_V2 and stop - start >= _CPU_HDR_SIZE:
        # the common case, a well-formed event of a known type: one unpack, and the checks
        # below in few steps; anything else takes the general path (which says what is wrong)
        cpu, ts, tid, length, etype, nparams = _CPU_HDR_UNPACK(buf, start)
        if etype < _NEVENTS and nparams < _LENS_KEPT:
            large = _LARGE[etype]
            pos = start + 2
            end = pos + length
            lens_end = pos + _HDR_SIZE + nparams * (4 if large else 2)
            if _HDR_SIZE <= length <= stop - pos and lens_end <= end:
                lens = (_LENS32 if large else _LENS16)[nparams].unpack_from(buf, pos + _HDR_SIZE)
                if lens_end + sum(lens) <= end:
                    return cpu, 0, ts, tid, etype, EVENTS[etype], lens, lens_end
    return _event_layout(btype, buf, start, stop, offset, file)


def _event_layout(
    btype: int, buf: bytes, start: int, stop: int, offset: int, file: str
) -> EventLayout:
    """:func:`event_layout` of any event block, well-formed or not."""
    base = offset + 8 - start  # + a position in buf = its offset in the capture
    pos = start + 2
    flags = 0
    if btype in B.EVF_BLOCKS:
        pos = start + 6
    v2 = btype in B.V2_EVENT_BLOCKS
    hdr = _HDR if v2 else _HDR_V1
    if stop - start < pos - start + hdr.size:
        raise CaptureFormatError(
            file, offset + 8, f"event block of {stop - start} bytes has no event header"
        )
    cpu = _U16.unpack_from(buf, start)[0]
    if pos == start + 6:
        flags = _U32.unpack_from(buf, start + 2)[0]
    if v2:
        ts, tid, length, etype, nparams = _HDR.unpack_from(buf, pos)
    else:
        ts, tid, length, etype = _HDR_V1.unpack_from(buf, pos)
    info = event_info(etype)
    large = info is not None and info.large_payload
    if not v2:
        if etype in (_PPME_NOTIFICATION_E, _PPME_INFRASTRUCTURE_EVENT_E):
            length -= 3
        nparams = _v1_nparams(buf, pos + hdr.size, pos + length, info, file, offset + 8)
    avail = stop - pos
    lsize = 4 if large else 2
    first = pos + hdr.size
    if length < hdr.size or length > avail:
        raise CaptureFormatError(
            file, base + pos, f"event length {length} outside its block ({avail} bytes)"
        )
    end = pos + length
    lens_end = first + nparams * lsize
    if lens_end > end:
        raise CaptureFormatError(
            file,
            base + pos,
            f"event declares {nparams} parameters, more than fit in {length} bytes",
        )
    lens = (
        (_LENS32 if large else _LENS16)[nparams]
        if nparams < _LENS_KEPT
        else _lens_struct(nparams, large)
    ).unpack_from(buf, first)
    if lens_end + sum(lens) > end:  # checked once; the loop below finds which parameter
        off = lens_end
        for i, n in enumerate(lens):
            if off + n > end:
                raise CaptureFormatError(
                    file,
                    base + pos,
                    f"parameter {i} of length {n} runs past the event's {length} bytes",
                )
            off += n
    return cpu, flags, ts, tid, etype, info, lens, lens_end


@functools.lru_cache(maxsize=512)
def _lens_struct(n: int, large: bool) -> struct.Struct:
    return struct.Struct("<" + ("I" if large else "H") * n)


#: the layouts of the lengths of the events of fewer parameters than this, by their count
_LENS_KEPT: Final = 32
_LENS16: Final = tuple(_lens_struct(n, False) for n in range(_LENS_KEPT))
_LENS32: Final = tuple(_lens_struct(n, True) for n in range(_LENS_KEPT))


def _v1_nparams(
    body: bytes, start: int, end: int, info: EventInfo | None, file: str, base: int
) -> int:
    if info is None:
        return 0
    for n in range(len(info.params), -1, -1):
        vals = start + 2 * n
        if vals > end:
            continue
        total = vals + sum(_lens_struct(n, False).unpack_from(body, start)) if n else vals
        if total == end:
            return n
        if total < end:
            break
    raise CaptureFormatError(file, base, "old event block: no parameter count fits its length")


def _ip4(raw: bytes) -> str:
    return _inet_ntop(_AF_INET, raw)  # what str(ipaddress.IPv4Address(raw)) gives, faster


def _ip6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def sockaddr_value(raw: bytes) -> tuple[int, str, int] | None:
    """A ``PT_SOCKADDR``: (family, address or unix path, port); None if unreadable."""
    if not raw:
        return None
    fam = raw[0]
    if fam == 2 and len(raw) >= 7:
        return fam, _ip4(raw[1:5]), struct.unpack_from("<H", raw, 5)[0]
    if fam == 10 and len(raw) >= 19:
        return fam, _ip6(raw[1:17]), struct.unpack_from("<H", raw, 17)[0]
    if fam == 1:
        return fam, raw[1:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape"), 0
    return fam, "", 0


def socktuple_value(raw: bytes) -> tuple[int, str, int, str, int] | None:
    """A ``PT_SOCKTUPLE``: (family, source, sport, dest, dport); for a unix socket the
    addresses are the kernel's socket pointers in hex and the dest the path."""
    if not raw:
        return None
    fam = raw[0]
    if fam == 2 and len(raw) >= 13:
        sp, dp = struct.unpack_from("<H", raw, 5)[0], struct.unpack_from("<H", raw, 11)[0]
        return fam, _ip4(raw[1:5]), sp, _ip4(raw[7:11]), dp
    if fam == 10 and len(raw) >= 37:
        sp, dp = struct.unpack_from("<H", raw, 17)[0], struct.unpack_from("<H", raw, 35)[0]
        return fam, _ip6(raw[1:17]), sp, _ip6(raw[19:35]), dp
    if fam == 1 and len(raw) >= 17:
        path = raw[17:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        return fam, f"{int.from_bytes(raw[1:9], 'little'):x}", 0, path, 0
    return None


#: a parameter's decoder: (buffer, offset, length) → its value
Decoder = Callable[[bytes, int, int], Any]


def _raw(buf: bytes, off: int, n: int) -> bytes:
    return buf[off : off + n]


def _string(buf: bytes, off: int, n: int) -> str:
    end = off + n
    if n and buf[end - 1] == 0:
        end -= 1
    return buf[off:end].decode("utf-8", "surrogateescape")


def _memo(decode: Callable[[bytes], Any]) -> Decoder:
    """A decoder of ``decode``'s parameters that keeps the values it made by their bytes
    (the values are immutable tuples; the memo is bounded)."""
    memo: dict[bytes, Any] = {}

    def dec(buf: bytes, off: int, n: int) -> Any:
        raw = buf[off : off + n]
        v = memo.get(raw, memo)
        if v is memo:
            v = decode(raw)
            if n <= _MEMO_BYTES:
                if len(memo) >= _MAX_MEMO:
                    memo.clear()
                memo[raw] = v
        return v

    return dec


_sockaddr: Final = _memo(sockaddr_value)
_socktuple: Final = _memo(socktuple_value)


def _fixed(size: int, signed: bool) -> Decoder:
    unpack = struct.Struct("<" + (_INT_FMT[size].lower() if signed else _INT_FMT[size])).unpack_from

    def dec(buf: bytes, off: int, n: int) -> Any:
        if n != size:  # not its type's width: kept raw
            return buf[off : off + n]
        return unpack(buf, off)[0]

    return dec


@functools.cache
def decoder(ptype: str) -> Decoder:
    """The decoder of parameters of type ``ptype`` (``PT_*`` without the prefix)."""
    size = FIXED_SIZES.get(ptype)
    if size is not None:
        return _fixed(size, ptype in _SIGNED) if size <= 8 else _raw
    if ptype in _STRINGS:
        return _string
    if ptype == "SOCKADDR":
        return _sockaddr
    if ptype == "SOCKTUPLE":
        return _socktuple
    return _raw


#: per event type number: each parameter's name and decoder (indexed by the number, not
#: cached by the entry: hashing a table entry costs more than decoding a parameter)
_PLANS: Final = tuple(tuple((p.name, decoder(p.type)) for p in e.params) for e in EVENTS)

#: an event type's parameter decoder: (buffer, offset, lengths) → name → value
ParamsDecoder = Callable[[bytes, int, tuple[int, ...]], dict[str, Any]]


def _decode_plan(
    plan: tuple[tuple[str, Decoder], ...], buf: bytes, off: int, lens: tuple[int, ...]
) -> dict[str, Any]:
    """The parameters by ``plan``, one decoder call each (any number of parameters)."""
    values: dict[str, Any] = {}
    for (name, dec), n in zip(plan, lens, strict=False):
        values[name] = dec(buf, off, n)
        off += n
    return values


def _compile(code: int) -> ParamsDecoder:
    """The decoder of type ``code``'s events, written out for its layout: when an event has
    exactly the table's parameters (the common case) each one is read in place, integers
    unpacked inline, with no loop and no call per parameter; other counts (an older libs'
    shorter layout, parameters past the table's) go through :func:`_decode_plan`. The
    values are :func:`_decode_plan`'s (``tests/capture/test_capture_params.py``)."""
    plan = _PLANS[code]
    env: dict[str, Any] = {"_plan": plan, "_decode_plan": _decode_plan}
    lines = [
        "def decode(buf, off, lens):",
        f"    if len(lens) != {len(plan)}:",
        "        return _decode_plan(_plan, buf, off, lens)",
    ]
    if plan:
        lines.append("    " + "".join(f"n{i}, " for i in range(len(plan))) + "= lens")
    items = []
    for i, p in enumerate(EVENTS[code].params):
        at = "off" if i == 0 else f"o{i}"
        lines.append(f"    o{i + 1} = {at} + n{i}")
        size = FIXED_SIZES.get(p.type)
        dec = plan[i][1]
        if size is not None and size <= 8:
            fmt = _INT_FMT[size].lower() if p.type in _SIGNED else _INT_FMT[size]
            env[f"u{i}"] = struct.Struct("<" + fmt).unpack_from
            # not its type's width: kept raw (as _fixed)
            lines.append(f"    v{i} = u{i}(buf, {at})[0] if n{i} == {size} else buf[{at}:o{i + 1}]")
        elif dec is _raw:
            lines.append(f"    v{i} = buf[{at}:o{i + 1}]")
        elif dec is _string:  # as _string: without its NUL
            end = f"o{i + 1}"
            lines.append(
                f"    v{i} = buf[{at}:{end} - 1 if n{i} and buf[{end} - 1] == 0 else {end}]"
                '.decode("utf-8", "surrogateescape")'
            )
        else:
            env[f"d{i}"] = dec
            lines.append(f"    v{i} = d{i}(buf, {at}, n{i})")
        items.append(f"{p.name!r}: v{i}")
    lines.append("    return {" + ", ".join(items) + "}")
    exec(compile("\n".join(lines), f"<capture decoder {EVENTS[code].enum}>", "exec"), env)  # noqa: S102
    fn: ParamsDecoder = env["decode"]
    return fn


#: per event type number: its compiled decoder, made on first use (most types never occur)
_DECODERS: Final[list[ParamsDecoder | None]] = [None] * len(EVENTS)


def decode_params(info: EventInfo, buf: bytes, off: int, lens: tuple[int, ...]) -> dict[str, Any]:
    """Parameter name → value of an event whose parameters of lengths ``lens`` start at
    ``buf[off]`` (the ones past the table's layout are left out)."""
    code = info.code
    dec = _DECODERS[code]
    if dec is None:
        dec = _DECODERS[code] = _compile(code)
    return dec(buf, off, lens)


def param_value(ptype: str, raw: bytes) -> Any:
    """A parameter's value: ``int`` for the fixed-width types (signed where the type is),
    ``str`` for strings and paths, tuples for addresses, ``bytes`` otherwise (and for a
    fixed-width parameter whose length is not its type's)."""
    return decoder(ptype)(raw, 0, len(raw))
