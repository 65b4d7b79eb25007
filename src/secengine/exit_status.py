"""The exit statuses of every ``secengine`` command, in one table.

Scripts and service managers act on a command's exit status, so one number
means one thing whichever command returns it. Every command returns a
member of :class:`ExitStatus`; :func:`secengine.cli.main` maps what escapes a
command (a :class:`~secengine.errors.SecengineError`, an ``OSError``, a bug)
to one of them. ``docs/exit-status.md`` is this table for users; a test
checks that the two agree and that each command returns what the table says.

====  ================  =========================================================
 0    OK                done: the run ended as asked, every file is valid,
                        every case passed, the profile was written or verified
 1    FAILED            what was checked failed: the rules do not load (run,
                        replay, validate), a rule-test case fails or coverage is
                        missing (test), a profile does not hold (profile verify)
 2    USAGE             the command cannot do its job with what it was given:
                        bad arguments, configuration, input files or output
                        paths, or an environment that lacks a privilege, BTF,
                        libbpf or a container engine (a source or output that
                        cannot start)
 3    SOURCE_FAILED     an event source failed while running (run)
 4    DROPS_EXIT        ``syscall_event_drops.actions`` said ``exit`` (run)
 5    UNDELIVERED       an alert could not be delivered to an output (run, replay)
 6    NOT_STARTED       the workload never started (profile run, exec, verify,
                        baseline): the engine is missing, refused the command
                        or its runtime did; nothing is written
70    INTERNAL_ERROR    a bug in secengine: an unexpected exception (sysexits'
                        ``EX_SOFTWARE``); one line on stderr, the traceback with
                        ``--debug`` or ``SECENGINE_DEBUG=1``
130   INTERRUPTED       stopped by Ctrl-C (SIGINT) before finishing (128 + 2)
143   TERMINATED        stopped by SIGTERM before finishing (128 + 15; profile
                        commands: what they started is stopped and removed)
====  ================  =========================================================

``secengine run`` stops cleanly on SIGINT/SIGTERM and then returns ``OK``:
stopping is how a live agent ends. The agent's older names stay as aliases
(``RULES_FAILED`` = ``FAILED``, ``CONFIG_ERROR`` = ``USAGE``).
"""

from __future__ import annotations

import enum

from secengine.errors import RulesLoadError, SecengineError

__all__ = ["ExitStatus", "describe_failure", "describe_os_error", "failure_status"]


class ExitStatus(enum.IntEnum):
    """The process exit status of a ``secengine`` command (see the module's table)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    SOURCE_FAILED = 3
    DROPS_EXIT = 4
    UNDELIVERED = 5
    NOT_STARTED = 6
    INTERNAL_ERROR = 70
    INTERRUPTED = 130
    TERMINATED = 143

    # aliases kept for the agent's API (Agent.run returns these names)
    RULES_FAILED = 1
    CONFIG_ERROR = 2

    @property
    def meaning(self) -> str:
        """A few words for summaries (``exit status 2 (usage)``)."""
        return self.name.lower().replace("_", " ")


def failure_status(error: BaseException) -> ExitStatus:
    """The status for an exception that escaped a command (the boundary in ``cli.main``).

    Errors secengine raises on purpose, and the operating system's refusals
    (a missing or unreadable file, a directory where a file belongs, no
    privilege), are the user's input or environment: :attr:`ExitStatus.USAGE`.
    Anything else is a bug: :attr:`ExitStatus.INTERNAL_ERROR`.
    """

    if isinstance(error, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    if isinstance(error, RulesLoadError):
        return ExitStatus.FAILED
    if isinstance(error, (SecengineError, OSError, UnicodeDecodeError)):
        return ExitStatus.USAGE
    return ExitStatus.INTERNAL_ERROR


def describe_failure(error: BaseException) -> str:
    """One sentence for an exception that escaped a command, naming the place when known."""
    if isinstance(error, OSError):
        return describe_os_error(error)
    if isinstance(error, UnicodeDecodeError):
        return f"cannot decode the input as UTF-8 ({error.reason} at byte {error.start})"
    return str(error).strip() or type(error).__name__


def describe_os_error(error: OSError) -> str:
    """``PATH: reason`` for an ``OSError`` (``[Errno 13] ...`` is for programmers)."""
    reason = error.strerror or str(error)
    if error.filename is not None and error.filename2 is not None:
        return f"{error.filename} -> {error.filename2}: {reason}"
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return reason
