"""profile.h is the single source of the recorder's map layout: the Python mirror must match it."""

from __future__ import annotations

import re

from secengine.profile import layout as L

_C = {"__u8": "B", "__u16": "H", "__u32": "I", "__u64": "Q", "__s32": "i", "__s64": "q"}


def _header() -> str:
    return L.HEADER_PATH.read_text()


def _constants(text: str) -> dict[str, int]:
    return {
        name: int(value, 0)
        for name, value in re.findall(
            r"^#define (PF_[A-Z0-9_]+) (0x[0-9a-fA-F]+|\d+)\b", text, re.MULTILINE
        )
    }


def _struct_format(text: str, name: str) -> str:
    """The struct's fields as a struct-module format, arrays expanded (``__u32 a, b;`` too)."""
    body = re.search(rf"struct {name} \{{(.*?)\n\}};", text, re.DOTALL)
    assert body, f"struct {name} not found in profile.h"
    consts = _constants(text)
    fmt = ""
    for line in re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.DOTALL).splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"(__[us]\d+) (.+);", line)
        assert m, f"cannot read {line!r} in struct {name}"
        ctype, decls = m.groups()
        for decl in decls.split(","):
            dims = re.findall(r"\[(\w+)\]", decl)
            n = 1
            for d in dims:
                n *= int(consts.get(d, d) if not d.isdigit() else d)
            fmt += _C[ctype] * n
    return fmt


def _expand(fmt: str) -> str:
    return "".join(
        ch * int(count or 1) for count, ch in re.findall(r"(\d*)([a-zA-Z])", fmt.lstrip("<"))
    )


def test_every_constant_matches_the_header() -> None:
    consts = _constants(_header())
    for name, value in L.CONSTANTS.items():
        assert consts[name] == value, name
    mirrored = set(L.CONSTANTS)
    assert {
        n for n in consts if n.startswith(("PF_OP_", "PF_SET_", "PF_PHASE_", "PF_STAT_"))
    } <= mirrored


def test_every_struct_matches_field_by_field() -> None:
    text = _header()
    for name, st in L.STRUCTS.items():
        assert _expand(st.format) == _struct_format(text, name), name


def test_sizes_are_what_the_kernel_maps_hold() -> None:
    assert L.OP_KEY.size == 64
    assert L.BITS.size == L.NPHASES * L.NSETS * L.WORDS * 8
    assert L.MAX_SYSCALLS == L.WORDS * 64


def test_name_tables_cover_every_index() -> None:
    assert len(L.PHASE_NAMES) == L.NPHASES
    assert len(L.SET_NAMES) == L.NSETS
    assert len(L.OP_NAMES) == L.NOPS
    assert len(L.STAT_NAMES) == L.STAT_COUNT
