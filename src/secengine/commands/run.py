"""``secengine run``: live detection, printing alerts as they happen.

``secengine run -r RULES... [--source syscall] [--json]`` runs an
:class:`~secengine.agent.Agent` (:mod:`secengine.commands.agent_run`) with the
syscall source: the rules' event types become the probe's in-kernel filter,
each event is evaluated as soon as its record has been applied to the state,
alerts go to stdout (text or Falco JSON), diagnostics to stderr. Any kernel
drop is reported with Falco's internal drop alert (at most one per
``--drop-alert-interval`` seconds) and summed at exit. A source that cannot
start (not root, no BTF, no libbpf) makes the command fail at once with its
one-sentence reason (exit status 2).

With a configuration (``-c FILE`` and/or ``-o key=value``) the agent also
starts every source under ``sources:`` and every enabled ``*_output``, the
metrics endpoint, SIGHUP reload and the file's drop actions; the command's
flags override the file's keys. The exit status is the agent's, from the
table every command shares (:class:`~secengine.exit_status.ExitStatus`,
``docs/exit-status.md``): 0 clean stop, 1 rules do not load, 2 bad
arguments or configuration or a source/output that cannot start, 3 a
source failed, 4 ``syscall_event_drops`` asked to exit, 5 an alert was not
delivered by some output. At exit, stderr gets each output's delivered,
failed and dropped counts; ``--output-timeout MS`` bounds the outputs'
drain time (``output_timeout``).

``--source k8s_audit`` serves the audit webhook instead
(:class:`~secengine.sources.k8s_webhook.K8sAuditWebhookSource`, configured by
the ``--k8s-audit-*`` flags), through the same agent.
"""

from __future__ import annotations

import argparse

from secengine.commands.argtypes import non_negative, seconds, share
from secengine.priority import Priority

__all__ = ["add_parser", "run"]


def _priority(text: str) -> Priority:
    try:
        return Priority.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid priority {text!r}") from None


def _ring_buffer_mb(text: str) -> int:
    """``--ring-buffer-mb``: a power of two of at least 1 (the kernel's ring buffer must be)."""
    try:
        mb = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of megabytes: {text!r}") from None
    if mb < 1 or mb & (mb - 1):
        raise argparse.ArgumentTypeError(
            f"{mb} is not a power of two of at least 1 (try 8, 16 or 64)")
    return mb


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="detect live: evaluate rules against what this host does (needs root)",
        description="Evaluate rules against live events and print the alerts as they happen.",
    )
    p.add_argument("-r", "--rules", action="append", metavar="RULES", default=None,
                   help="rules file or directory (repeatable; default: the shipped rules)")
    p.add_argument("--source", default=None, choices=("syscall", "k8s_audit"),
                   help="event source (default: syscall)")
    p.add_argument("--json", action="store_true", default=None,
                   help="print alerts as Falco's alert JSON")
    p.add_argument("--min-priority", default=None, type=_priority, metavar="PRIORITY",
                   help="load only rules at least this severe (default: debug)")
    p.add_argument("--rule-matching", choices=("first", "all"), default=None,
                   help="stop at the first matching rule per event, or report all")
    p.add_argument("--hostname", default=None, help="hostname to put in alerts")
    p.add_argument("--duration", type=seconds, default=None, metavar="SECONDS",
                   help="stop after this many seconds (default: run until interrupted)")
    p.add_argument("--drop-alert-interval", type=seconds, default=30.0, metavar="SECONDS",
                   help="at most one drop alert per this many seconds (default: 30)")
    p.add_argument("--ring-buffer-mb", type=_ring_buffer_mb, default=16, metavar="MB",
                   help="kernel ring buffer size, a power of two (default: 16)")
    p.add_argument("--producer-rate", type=non_negative, default=20_000.0, metavar="EVENTS",
                   help="each process's budget of syscall events per second, per class; past "
                        "it the kernel counts its events and reports a flood (0: no budget; "
                        "default: 20000)")
    p.add_argument("--producer-burst", type=non_negative, default=100_000, metavar="EVENTS",
                   help="events a process may send at once above its rate (default: 100000)")
    p.add_argument("--priority-headroom", type=share, default=0.25, metavar="SHARE",
                   help="share of the ring buffer only priority events (exec, credential and "
                        "namespace changes, connects, opens of files rules name) may use "
                        "(0: none; default: 0.25)")
    from secengine.config import add_config_arguments, add_output_timeout_argument
    from secengine.sources.k8s_webhook import add_arguments

    add_config_arguments(p)
    add_output_timeout_argument(p)
    # source-specific flags: each source module adds its own group here
    add_arguments(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from secengine.commands.agent_run import run_agent

    return run_agent(args)
