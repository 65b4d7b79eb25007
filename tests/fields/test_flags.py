"""Flag tables: libsinsp's rendering order, enum and mode tables, and parsing back."""

from __future__ import annotations

import pytest

from secengine.fields.flags import flag_table, flag_table_names, parse_flags, render_flags


@pytest.mark.parametrize(
    "value, text",
    [
        (4097, "O_RDONLY|O_CLOEXEC"),  # verified against sysdig -r
        (1, "O_RDONLY"),
        (2, "O_WRONLY"),
        (3, "O_RDWR"),  # RDWR consumes both bits
        (0, "O_NONE"),
        (2 | 4 | 256, "O_TRUNC|O_CREAT|O_WRONLY"),  # table order, not bit order
        (3 | 4 | 32 | 4096, "O_EXCL|O_CREAT|O_RDWR|O_CLOEXEC"),
        (8192 | 3, "O_RDWR|O_TMPFILE"),
    ],
)
def test_open_flags(value: int, text: str) -> None:
    assert render_flags("file_flags", value) == text


def test_file_flags_table_order_is_the_drivers() -> None:
    names = [n for n, _ in flag_table("file_flags").entries]
    assert names[:14] == [
        "O_LARGEFILE",
        "O_DIRECTORY",
        "O_DIRECT",
        "O_TRUNC",
        "O_SYNC",
        "O_NONBLOCK",
        "O_EXCL",
        "O_DSYNC",
        "O_APPEND",
        "O_CREAT",
        "O_RDWR",
        "O_WRONLY",
        "O_RDONLY",
        "O_CLOEXEC",
    ]
    assert flag_table("file_flags").value_of("O_CLOEXEC") == 4096


def test_enum_tables_match_exactly() -> None:
    assert flag_table("socket_families").kind == "enum"
    assert render_flags("socket_families", 17) == "AF_PACKET"
    assert render_flags("socket_families", 1) == "AF_LOCAL|AF_UNIX"  # both names, table order
    assert render_flags("socket_families", 999) == ""
    assert render_flags("ptrace_requests", 11) == "PTRACE_ATTACH"  # PPM codes, not Linux's
    assert render_flags("bpf_commands", 5) == "BPF_PROG_LOAD"


def test_mode_table() -> None:
    assert flag_table("chmod_mode").kind == "mode"
    assert render_flags("chmod_mode", 0o4755) == (
        "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"
    )
    assert render_flags("chmod_mode", 0o100) == "S_IXUSR"


def test_no_match_renders_empty() -> None:
    assert render_flags("clone_flags", 0) == ""


@pytest.mark.parametrize(
    "text, value",
    [
        ("O_RDONLY|O_CLOEXEC", 4097),
        ("4097(O_RDONLY|O_CLOEXEC)", 4097),
        ("4097", 4097),
        (4097, 4097),
        ("0x1001", 4097),
        (" O_WRONLY | O_CREAT ", 6),
        ("O_NOT_A_FLAG", None),
        ("", None),
        (True, None),
    ],
)
def test_parse(text: object, value: int | None) -> None:
    assert parse_flags("file_flags", text) == value  # type: ignore[arg-type]


def test_round_trip_for_every_flags_table() -> None:
    for name in flag_table_names():
        table = flag_table(name)
        if table.kind != "flags":
            continue
        for _, v in table.entries:
            text = render_flags(table, v)
            if text:
                assert parse_flags(table, text) == v, (name, v, text)


def test_unknown_table() -> None:
    with pytest.raises(KeyError):
        flag_table("no_such_table")
