"""The libscap event table view: numbers, directions, layouts of old and new events."""

from __future__ import annotations

from secengine.capture import eventtable as et


def test_numbers_index_the_table() -> None:
    assert all(e.code == i for i, e in enumerate(et.EVENTS))
    assert et.event_info(len(et.EVENTS)) is None
    assert et.event_info(-1) is None


def test_open_exit_layout_and_direction() -> None:
    e = et.event_info(3)
    assert e is not None
    assert (e.enum, e.name, e.direction) == ("PPME_SYSCALL_OPEN_X", "open", "<")
    assert [p.name for p in e.params][:4] == ["fd", "name", "flags", "mode"]
    assert e.params[2] == et.ParamInfo("flags", "FLAGS32", "HEX", "file_flags")
    assert et.EVENTS[2].direction == ">"


def test_old_layouts_are_kept() -> None:
    old = et.codes_named("PPME_SYSCALL_EXECVE_8_X")
    new = et.codes_named("PPME_SYSCALL_EXECVE_19_X")
    assert old.name == new.name == "execve"
    assert old.old_version and not new.old_version
    # a layout only grows by appending: the old one is a prefix of the new one
    assert [p.name for p in new.params][: len(old.params)] == [p.name for p in old.params]


def test_libs_version_is_noted() -> None:
    assert "driver API" in et.LIBS_VERSION


def test_every_type_has_a_size_or_is_variable() -> None:
    variable = {
        "CHARBUF",
        "BYTEBUF",
        "FSPATH",
        "FSRELPATH",
        "SOCKADDR",
        "SOCKTUPLE",
        "FDLIST",
        "DYN",
        "CHARBUFARRAY",
        "CHARBUF_PAIR_ARRAY",
    }
    for e in et.EVENTS:
        for p in e.params:
            assert p.type in et.FIXED_SIZES or p.type in variable, (e.enum, p)
