"""The ``secengine`` command line: parses arguments and dispatches to ``commands/``.

Each subcommand lives in its own module under :mod:`secengine.commands` with
two functions, ``add_parser(subparsers)`` and ``run(args) -> int``; this module
only knows their names. A command module imports what its run needs at its top,
so start-up imports only the chosen command's module (:func:`build_parser` with
the command word): ``secengine fields`` never loads the agent, the engine or the
profiler. Only the listing (``secengine --help``, no command, an unknown one)
lists the commands, from the table alone.

:func:`main` is also the boundary where no Python traceback gets past: an
error a command did not handle becomes one line on stderr and a status from
:class:`~secengine.exit_status.ExitStatus` (``docs/exit-status.md``). An
unexpected exception is a bug: one line asking for a report, and the
traceback only with ``--debug`` (or ``SECENGINE_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from secengine import __version__
from secengine.exit_status import ExitStatus, describe_failure, failure_status

__all__ = ["COMMANDS", "DEBUG_ENV", "build_parser", "command_word", "main"]

#: Subcommand modules (``secengine.commands.NAME``) and the line ``--help`` lists each
#: with, in that order. The line lives here, not in the module, so that the listing
#: imports no command module.
COMMANDS: dict[str, str] = {
    "replay": "evaluate rules over recorded field-map events (JSON lines)",
    "validate": "validate rules files like 'falco -V'",
    "fields": "list the fields rules can use (like falco --list)",
    "test": "run rule unit tests (*.ruletest.yaml) without a kernel",
    "run": "detect live: evaluate rules against what this host does (needs root)",
    "profile": "propose and prove a least-privilege seccomp profile and capability set",
}

#: Set to a non-empty value other than ``0`` to get tracebacks, as ``--debug`` does.
DEBUG_ENV = "SECENGINE_DEBUG"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``command`` alone (its module is the only one imported), or, when
    ``command`` is None or not one of :data:`COMMANDS`, the listing: every command with
    its line from the table and no module loaded (``--help``, and the "invalid choice"
    error naming them all)."""
    parser = argparse.ArgumentParser(
        prog="secengine",
        description="Runtime security detection with Falco-compatible rules.",
        epilog="Exit statuses are the same for every command: see docs/exit-status.md.",
    )
    parser.add_argument("--version", action="version", version=f"secengine {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show the Python traceback of an internal error (also {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    sub.required = True
    if command not in COMMANDS:
        # the listing: each command's line from the table, no command module loaded
        for name, summary in COMMANDS.items():
            sub.add_parser(name, help=summary, add_help=False)
        return parser
    # the designed dispatch: the command table names the module to load
    module = importlib.import_module(f"secengine.commands.{command}")
    _add_debug(module.add_parser(sub))
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the options
    before the command, ``--debug``, ``--version`` and ``-h``, take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug`` after the subcommand too (``secengine run --debug``), at every level."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an internal error",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                _add_debug(child)


def _debug(args: argparse.Namespace | None) -> bool:
    if args is not None and getattr(args, "debug", False):
        return True
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _prefix(args: argparse.Namespace) -> str:
    """``secengine run`` / ``secengine profile verify``: who is speaking, for the error line."""
    words = ["secengine", str(getattr(args, "subcommand", "") or "")]
    sub = getattr(args, "profile_command", None)
    if sub:
        words.append(str(sub))
    return " ".join(w for w in words if w)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_word(words))
    args = parser.parse_args(words)
    try:
        status = int(args.run(args))
    except KeyboardInterrupt:
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error of ours.
        _forget_stdout()
        return int(ExitStatus.OK)
    except Exception as e:  # noqa: BLE001 - the one boundary: nothing escapes as a traceback
        return _report(args, e)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _forget_stdout()  # the commands that send alerts have counted them
    return status


def _forget_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of bytes a closed
    pipe refused prints no "Exception ignored" message (Python's documented recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _report(args: argparse.Namespace, error: Exception) -> int:
    status = failure_status(error)
    err = sys.stderr
    if status is ExitStatus.INTERNAL_ERROR:
        err.write(
            f"{_prefix(args)}: internal error: {type(error).__name__}: {describe_failure(error)}\n"
        )
        if _debug(args):
            traceback.print_exception(error, file=err)
        else:
            err.write(
                "This is a bug in secengine: please report it with the output of the "
                f"same command run with --debug ({DEBUG_ENV}=1).\n"
            )
    else:
        err.write(f"{_prefix(args)}: {describe_failure(error)}\n")
        if _debug(args):
            traceback.print_exception(error, file=err)
    err.flush()
    return int(status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
