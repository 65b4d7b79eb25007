"""The events the writer uses exist, with those numbers, in sysdig 0.29.3's libs, and their
layouts there are a prefix of the current table's (the reader of an older libs takes the
parameters it knows); checked against ``sysdig -L`` where sysdig is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from secengine.capture import _sysdig029
from secengine.capture.eventtable import FIXED_SIZES, codes_named
from secengine.capture.probe_events import EVENT_OF


def _pairs() -> list[str]:
    return sorted({*EVENT_OF.values(), "PPME_GENERIC"})


@pytest.mark.parametrize("prefix", _pairs())
def test_written_events_are_known_to_sysdig_029(prefix: str) -> None:
    for suffix in ("_E", "_X"):
        info = codes_named(prefix + suffix)
        old = _sysdig029.EVENT_PARAMS.get(info.code)
        assert old is not None, f"{info.enum} is newer than sysdig 0.29.3's libs"
        assert old[1] <= len(info.params), (info.enum, old, len(info.params))


def test_procexit_is_known_to_sysdig_029() -> None:
    info = codes_named("PPME_PROCEXIT_1_E")
    assert _sysdig029.EVENT_PARAMS[info.code][1] <= len(info.params)


@pytest.mark.skipif(shutil.which("sysdig") is None, reason="sysdig is not installed")
def test_sysdig_lists_each_exit_layout_as_a_prefix_of_the_current_one() -> None:
    listing = subprocess.run(
        ["sysdig", "-L"], capture_output=True, text=True, check=True, timeout=60
    ).stdout

    # "< open(FD fd, FSPATH name, ...)": every layout sysdig 0.29.3 knows, by event name, as
    # the encoding of each parameter (a fixed type by its width: FLAGS8 and ENUMFLAGS8 are
    # the same bytes; names may have changed since, e.g. execve's "pgid", now "vpgid")
    def encoding(ptype: str) -> str | int:
        ptype = {"DYNAMIC": "DYN"}.get(ptype, ptype)  # sysdig prints PT_DYN's long name
        return FIXED_SIZES.get(ptype, ptype)

    layouts: dict[str, list[list[str | int]]] = {}
    for m in re.finditer(r"^< (\w+)\((.*)\)$", listing, re.MULTILINE):
        types = [encoding(p.split()[0].removeprefix("PT_")) for p in m.group(2).split(", ") if p]
        layouts.setdefault(m.group(1), []).append(types)
    for prefix in EVENT_OF.values():
        info = codes_named(prefix + "_X")
        n = _sysdig029.EVENT_PARAMS[info.code][1]
        current = [encoding(p.type) for p in info.params[:n]]
        assert current in layouts.get(info.name, []), (info.enum, current, layouts.get(info.name))
