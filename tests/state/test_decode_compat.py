"""32-bit (ia32) records are named by the ia32 table, their flag says so."""

from __future__ import annotations

import struct

import pytest

from secengine.bpf import layout as L
from secengine.bpf.syscalls import (
    COMPAT_BY_NR,
    SOCKETCALL_NR,
    SOCKETCALL_TARGETS,
    SYSCALLS,
    entry_name,
    interest_bytes,
    spec_entries,
)
from secengine.state.decode import Rec
from secengine.syscall_table import IA32_NUMBERS


def _syscall(nr: int, flags: int, path: bytes = b"") -> bytes:
    head = L.HDR.pack(0, 7, 7, nr, L.EVT_SYSCALL, 0, flags, 3, *[0] * 6)
    return head + (struct.pack("<H", len(path)) + path if path else b"")


@pytest.mark.parametrize(
    ("nr", "compat", "name"),
    [
        (5, True, "open"),  # ia32 open ...
        (5, False, "syscall"),  # ... is x86_64 fstat, which the probe does not capture
        (3, True, "syscall"),  # ia32 read (not captured) ...
        (3, False, "close"),  # ... is x86_64 close
        (6, True, "close"),
        (366, True, "setsockopt"),  # ia32 setsockopt (CVE-2021-22555's way in)
        (366, False, "syscall"),  # ... is nothing the probe captures in the x86_64 table
        (213, True, "setuid"),  # setuid32 is the setuid event
        (23, True, "setuid"),  # so is the 16-bit setuid
        (437, True, "openat2"),  # unified numbers are the same in both tables
    ],
)
def test_a_record_is_named_by_the_table_its_flag_names(nr: int, compat: bool, name: str) -> None:
    rec = Rec(_syscall(nr, L.F_COMPAT if compat else 0), 0)
    assert rec.name == name
    assert rec.is_compat is compat


@pytest.mark.parametrize(
    ("evt", "nr", "name"), [(L.EVT_EXEC, 11, "execve"), (L.EVT_CLONE, 190, "vfork")]
)
def test_exec_and_clone_records_from_32_bit_images(evt: int, nr: int, name: str) -> None:
    head = L.HDR.pack(0, 7, 7, nr, evt, 0, L.F_COMPAT, 0, *[0] * 6)
    assert Rec(head, 0).name == name


def test_the_specs_map_holds_the_32_bit_numbers_after_the_native_ones() -> None:
    entries = spec_entries({"open"})
    assert L.MAX_SYSCALLS + 5 in entries and entry_name(L.MAX_SYSCALLS + 5) == "open"
    assert 2 in entries and entry_name(2) == "open"
    # every compat spec captures what its native event captures
    native = {s.name: s for s in SYSCALLS}
    for spec in COMPAT_BY_NR.values():
        assert (spec.args, spec.extras) == (native[spec.name].args, native[spec.name].extras)
    assert all(key < 2 * L.MAX_SYSCALLS for key in entries)


def test_an_io_uring_record_says_so() -> None:
    rec = Rec(_syscall(257, L.F_URING), 0)
    assert rec.name == "openat" and rec.is_io_uring and not rec.is_compat
    assert not Rec(_syscall(257, 0), 0).is_io_uring


def test_socketcall_is_wanted_in_the_32_bit_table_when_a_call_it_stands_for_is() -> None:
    """The probe decodes ia32 ``socketcall`` (102) into the direct call; its interest byte
    follows the socket calls (102 in the x86_64 table is ``getuid``, never captured)."""
    want = interest_bytes(spec_entries({"setsockopt"}))
    assert want[SOCKETCALL_NR] == L.WANT_COMPAT
    assert want[IA32_NUMBERS["setsockopt"]] == L.WANT_COMPAT
    assert want[2] == L.WANT_NATIVE and want[5] == L.WANT_COMPAT  # open: 2 here, 5 there
    no_sockets = {
        k: v for k, v in spec_entries(None).items() if k - L.MAX_SYSCALLS not in SOCKETCALL_TARGETS
    }
    assert interest_bytes(no_sockets)[SOCKETCALL_NR] == 0
    decoded = {COMPAT_BY_NR[nr].name for nr in SOCKETCALL_TARGETS if nr in COMPAT_BY_NR}
    assert decoded == {
        *("socket", "socketpair", "bind", "connect", "listen", "accept4"),
        *("sendto", "sendmsg", "recvfrom", "recvmsg", "setsockopt"),
    }
