"""``secengine fields`` through the CLI entry point."""

from __future__ import annotations

import json

import pytest

from secengine.cli import main


def test_text_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "-------------------------------\nField Class:                  evt (All event types)\n"
    )
    assert "Field Class:                  process\n" in out
    assert "Field Class:                  container (plugin)\n" in out
    assert (
        "\nproc.aname                    (ARG_ALLOWED,ARG_INDEX,EPF_NO_RHS,EPF_NO_TRANSFORMER)"
        in out
    )
    assert "Event Sources:                syscall \n" in out


def test_json_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--json", "--source", "syscall"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in doc["fieldclasses"]]
    assert names == [
        "evt",
        "evt",
        "process",
        "user",
        "group",
        "fd",
        "fs.path",
        "fdlist",
        "container (plugin)",
        "flood",
    ]
    fd = next(c for c in doc["fieldclasses"] if c["name"] == "fd")
    by = {f["name"]: f for f in fd["fields"]}
    assert by["fd.types"]["is_list"] is True
    assert by["fd.types"]["argument"] == {"required": False, "type": ["INDEX"]}
    assert by["fd.name"] == {
        "name": "fd.name",
        "type": "CHARBUF",
        "is_list": False,
        "argument": None,
        "desc": by["fd.name"]["desc"],
    }
    assert fd["event_sources"] == ["syscall"]


def test_markdown_and_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("## Field Class: evt\n")
    assert main(["fields", "-N"]) == 0
    names = capsys.readouterr().out.splitlines()
    assert "proc.aname" in names and "evt.dir" not in names
    assert main(["fields", "-v"]) == 0
    assert "(Type: CHARBUF)" in capsys.readouterr().out


def test_unknown_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--source", "nope"]) == 2  # ExitStatus.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Value for --source must be a valid source type" in captured.err


def test_json_and_markdown_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["fields", "--json", "--markdown"])
    assert info.value.code == 2  # a usage error, not a listing that happened to exit
    assert "argument --markdown: not allowed with argument --json" in capsys.readouterr().err
