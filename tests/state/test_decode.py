"""The record header as :class:`~secengine.state.decode.Rec` decodes it: every field of
``se_hdr`` where the probe put it (the decoder reads the header in two parts)."""

from __future__ import annotations

import pytest

from secengine.bpf import layout as L
from secengine.bpf.syscalls import BY_NR
from secengine.state.decode import HDR_ARGS, HDR_FIXED, Rec, RecordFormatError


def test_the_two_parts_the_header_is_read_in_are_se_hdr() -> None:
    assert HDR_FIXED.format + HDR_ARGS.format.lstrip("<") == L.HDR.format
    assert HDR_FIXED.size + HDR_ARGS.size == L.HDR_SIZE


def test_every_header_field_lands_in_its_attribute() -> None:
    nr = next(n for n, spec in BY_NR.items() if spec.name == "dup3")
    args = (2**64 - 1, 7, 0x80000, 4, 5, 2**63)
    data = L.HDR.pack(10_000, 4243, 4242, nr, L.EVT_SYSCALL, 0, 0, -9, *args) + b"tail"
    rec = Rec(data, 1_000)
    assert (rec.ts, rec.tid, rec.pid, rec.nr, rec.evt, rec.flags, rec.res) == (
        11_000,
        4243,
        4242,
        nr,
        L.EVT_SYSCALL,
        0,
        -9,
    )
    assert rec.args == args
    assert rec.arg(0) == -1  # a C int
    assert rec.name == "dup3"
    assert rec.spec is BY_NR[nr]
    assert rec.data is data


def test_a_record_shorter_than_its_header_is_refused() -> None:
    with pytest.raises(RecordFormatError, match="shorter than its 80-byte header"):
        Rec(bytes(L.HDR_SIZE - 1), 0)
