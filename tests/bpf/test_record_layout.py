"""events.h is the single source of the record layout: the Python mirror must match it."""

from __future__ import annotations

import re

from secengine.bpf import layout as L

_C_SIZES = {"__u8": 1, "__u16": 2, "__u32": 4, "__u64": 8, "__s64": 8}
_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _header() -> str:
    return L.HEADER_PATH.read_text()


def _constants(text: str) -> dict[str, int]:
    out = {}
    for name, value in re.findall(
        r"^#define (SE_[A-Z0-9_]+) (0x[0-9a-fA-F]+|\d+)\b", text, re.MULTILINE
    ):
        out[name] = int(value, 0)
    return out


def _struct_format(text: str, name: str, structs: dict[str, str]) -> str:
    body = re.search(rf"struct {name} \{{(.*?)\n\}};", text, re.DOTALL)
    assert body, f"struct {name} not found in events.h"
    fmt = ""
    consts = _constants(text)
    for line in body.group(1).splitlines():
        line = line.split("/*")[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(struct \w+|__[us]\d+) (\w+)(?:\[(\w+)\])?;", line)
        assert m, f"cannot read {line!r} in struct {name}"
        ctype, _field, count = m.groups()
        n = int(consts.get(count, count)) if count else 1
        if ctype.startswith("struct "):
            fmt += structs[ctype.split()[1]] * n
        elif ctype == "__u8" and n > 1:
            fmt += f"{n}s"
        else:
            ch = _FMT[_C_SIZES[ctype]]
            fmt += (ch.lower() if ctype.startswith("__s") else ch) * n
    return fmt


def _normalise(fmt: str) -> str:
    """Expand repeat counts (``6Q`` -> ``QQQQQQ``) but keep byte strings (``16s``)."""
    out = ""
    for count, ch in re.findall(r"(\d*)([a-zA-Z])", fmt.lstrip("<")):
        if ch == "s":
            out += f"{count}s"
        else:
            out += ch * int(count or 1)
    return out


def test_constants_match_the_header() -> None:
    consts = _constants(_header())
    for name, value in L.CONSTANTS.items():
        assert consts[name] == value, name


def test_every_mirrored_struct_matches_field_by_field() -> None:
    text = _header()
    structs: dict[str, str] = {}
    for name in L.STRUCTS:
        structs[name] = _struct_format(text, name, structs)
        assert _normalise(L.STRUCTS[name].format) == _normalise(structs[name]), name


def test_struct_sizes_are_what_the_probe_writes() -> None:
    assert L.HDR.size == 80
    assert L.FILE.size == 64
    assert L.CREDS.size == 56
    assert L.PROC.size == 168
    assert L.SPEC.size == 12
