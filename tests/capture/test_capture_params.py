"""The compiled parameter decoders (one per event type, written out for its layout) give
exactly what decoding the parameters one at a time by their types gives: for every event
type, for parameters of their own widths and of any other, for the table's count of
parameters and for fewer or more."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from secengine.capture import events as E
from secengine.capture.eventtable import EVENTS, FIXED_SIZES

_CODES = st.integers(min_value=0, max_value=len(EVENTS) - 1)


def _param(ptype: str) -> st.SearchStrategy[bytes]:
    """Bytes for a parameter of ``ptype``: mostly its own width (or a plausible value),
    sometimes any length."""
    size = FIXED_SIZES.get(ptype)
    own: st.SearchStrategy[bytes]
    if size is not None:
        own = st.binary(min_size=size, max_size=size)
    elif ptype == "SOCKTUPLE":
        own = st.one_of(
            st.builds(lambda b: b"\x02" + b, st.binary(min_size=12, max_size=12)),
            st.builds(lambda b: b"\x0a" + b, st.binary(min_size=36, max_size=36)),
            st.builds(lambda b: b"\x01" + b, st.binary(min_size=16, max_size=40)),
        )
    elif ptype == "SOCKADDR":
        own = st.one_of(
            st.builds(lambda b: b"\x02" + b, st.binary(min_size=6, max_size=6)),
            st.builds(lambda b: b"\x0a" + b, st.binary(min_size=18, max_size=18)),
            st.builds(lambda b: b"\x01" + b + b"\0", st.binary(max_size=20)),
        )
    else:
        own = st.binary(max_size=24)
    return st.one_of(own, own, st.binary(max_size=40))


@st.composite
def _event(draw: st.DrawFn) -> tuple[int, bytes, int, tuple[int, ...]]:
    """(type number, buffer, offset of the first parameter, lengths)."""
    code = draw(_CODES)
    params = EVENTS[code].params
    count = draw(st.sampled_from([len(params), len(params), max(0, len(params) - 1), 0]))
    raws = [draw(_param(p.type)) for p in params[:count]]
    raws += draw(st.lists(st.binary(max_size=8), max_size=2))  # past the table's layout
    pad = draw(st.binary(max_size=5))
    return code, pad + b"".join(raws) + b"tail", len(pad), tuple(len(r) for r in raws)


@settings(max_examples=600)
@given(_event())
def test_a_compiled_decoder_gives_what_one_call_per_parameter_gives(
    ev: tuple[int, bytes, int, tuple[int, ...]],
) -> None:
    code, buf, off, lens = ev
    want = E._decode_plan(E._PLANS[code], buf, off, lens)
    assert E.decode_params(EVENTS[code], buf, off, lens) == want


def test_every_event_type_compiles_and_reads_its_own_layout() -> None:
    for info in EVENTS:
        raws = [bytes(FIXED_SIZES.get(p.type, 3)) for p in info.params]
        lens = tuple(len(r) for r in raws)
        buf = b"".join(raws)
        assert E.decode_params(info, buf, 0, lens) == E._decode_plan(
            E._PLANS[info.code], buf, 0, lens
        )


def test_a_parameter_not_of_its_width_is_kept_raw() -> None:
    close_x = next(e for e in EVENTS if e.enum == "PPME_SYSCALL_CLOSE_X")  # res, fd: 8 bytes
    buf = struct.pack("<q", -9) + b"\x05\x00\x00\x00"
    assert E.decode_params(close_x, buf, 0, (8, 4)) == {"res": -9, "fd": b"\x05\x00\x00\x00"}


def _memo_of(dec: object) -> dict[bytes, object]:
    cells = [c.cell_contents for c in dec.__closure__ or ()]  # type: ignore[attr-defined]
    return next(c for c in cells if isinstance(c, dict))


def test_socket_values_are_kept_only_when_small_and_the_memo_is_bounded() -> None:
    """A capture repeats a few IP tuples (kept: decoded once); a unix socket's path can be
    64 KiB, so a capture of many would hold gigabytes if those were kept too."""
    memo = _memo_of(E._socktuple)
    memo.clear()
    ip = b"\x02" + bytes([10, 0, 0, 1]) + struct.pack("<H", 80) + bytes([10, 0, 0, 2])
    ip += struct.pack("<H", 5000)
    assert E._socktuple(ip, 0, len(ip)) == (2, "10.0.0.1", 80, "10.0.0.2", 5000)
    assert E._socktuple(ip, 0, len(ip)) is E._socktuple(ip, 0, len(ip))
    long_unix = b"\x01" + bytes(16) + b"/run/" + b"x" * 5000 + b"\0"
    assert E._socktuple(long_unix, 0, len(long_unix))[3] == "/run/" + "x" * 5000
    assert list(memo) == [ip]
    for i in range(E._MAX_MEMO + 10):
        raw = b"\x02" + i.to_bytes(4, "big") + bytes(8)
        E._socktuple(raw, 0, len(raw))
    assert len(memo) <= E._MAX_MEMO
