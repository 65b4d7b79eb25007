"""The command table of ``secengine.cli``: one command's start-up imports one command module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from secengine.cli import COMMANDS, build_parser, command_word

_LOADED = (
    "import sys; from secengine.cli import build_parser, command_word; "
    "build_parser(command_word(sys.argv[1:])).parse_args(sys.argv[1:]); "
    "print(' '.join(sorted(m for m in sys.modules if m.startswith('secengine.'))))"
)


def _modules_after_parsing(argv: list[str]) -> set[str]:
    """The secengine modules a fresh interpreter has loaded once it parsed ``argv``."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["fields", "-N"], "fields"),
        (["--debug", "validate", "-r", "x"], "validate"),
        (["--version"], None),
        ([], None),
        (["-h"], None),
    ],
)
def test_command_word_is_the_first_word_that_is_not_an_option(
    argv: list[str], word: str | None
) -> None:
    assert command_word(argv) == word


def test_one_command_loads_its_own_module_only() -> None:
    loaded = _modules_after_parsing(["fields", "-N"])
    assert "secengine.commands.fields" in loaded
    others = {f"secengine.commands.{name}" for name in COMMANDS if name != "fields"}
    assert not loaded & others, sorted(loaded & others)
    # the fields listing needs neither the agent nor the engine
    assert not {"secengine.agent", "secengine.engine"} & loaded


def test_the_listing_and_an_unknown_command_name_every_command() -> None:
    every = build_parser(None)
    unknown = build_parser("no-such-command")
    for parser in (every, unknown):
        sub = next(a for a in parser._actions if a.dest == "subcommand")
        assert list(sub.choices or ()) == list(COMMANDS)


def test_a_known_command_builds_its_parser_alone() -> None:
    parser = build_parser("validate")
    sub = next(a for a in parser._actions if a.dest == "subcommand")
    assert list(sub.choices or ()) == ["validate"]


def test_the_listing_loads_no_command_module() -> None:
    """``secengine --help`` lists every command from the table alone (it was the one
    start-up that got slower when each command module moved its imports to its top)."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.replace("parse_args(sys.argv[1:])", "format_help()")],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(done.stdout.split())
    assert not {m for m in loaded if m.startswith("secengine.commands.")}, sorted(loaded)
    listing = build_parser(None).format_help()
    for name, summary in COMMANDS.items():
        assert name in listing
        assert summary.split()[0] in listing
