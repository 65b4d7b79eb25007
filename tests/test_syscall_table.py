"""The x86_64 syscall table: names by number, bitmaps to names."""

from __future__ import annotations

import re
from pathlib import Path

from secengine.syscall_table import NAMES, NUMBERS, name_of, names_of_bits, number_of

_HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def test_well_known_numbers() -> None:
    assert (NUMBERS["read"], NUMBERS["execve"], NUMBERS["openat"], NUMBERS["clone3"]) == (
        0,
        59,
        257,
        435,
    )
    assert NUMBERS["mseal"] == 462  # newer than the distribution's headers
    assert NAMES[337] is None  # the unassigned range 337-423


def test_agrees_with_the_installed_kernel_headers() -> None:
    text = _HEADER.read_text()
    pairs = re.findall(r"#define __NR_(\w+) (\d+)", text)
    assert len(pairs) > 300
    for name, nr in pairs:
        assert NAMES[int(nr)] == name


def test_names_and_numbers_round_trip() -> None:
    assert name_of(257) == "openat"
    assert name_of(400) == "syscall_400"
    assert number_of("syscall_400") == 400
    assert number_of("no_such_call") is None


def test_bitmap_to_names() -> None:
    words = [0] * 8
    for nr in (0, 63, 64, 257, 511):
        words[nr >> 6] |= 1 << (nr & 63)
    assert names_of_bits(words) == {"read", name_of(63), name_of(64), "openat", "syscall_511"}
    assert names_of_bits([0] * 8) == set()


def test_the_ia32_table_numbers_its_own_way_until_the_unified_numbers() -> None:
    from secengine.syscall_table import IA32_NAMES, IA32_NUMBERS, NAMES, UNIFIED_FROM

    assert IA32_NAMES[5] == "open" and NAMES[5] == "fstat"
    assert IA32_NUMBERS["setsockopt"] == 366 and IA32_NUMBERS["socketcall"] == 102
    assert IA32_NAMES[UNIFIED_FROM:] == NAMES[UNIFIED_FROM:]
    assert IA32_NAMES[UNIFIED_FROM] == "pidfd_send_signal"
