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

from secengine.argtypes import seconds
from secengine.commands.agent_run import run_agent
from secengine.config import (
    add_alert_arguments,
    add_config_arguments,
    add_output_timeout_argument,
)
from secengine.sources.specs import source_classes

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        description="Evaluate rules against live events and print the alerts as they happen.",
    )
    p.add_argument(
        "-r",
        "--rules",
        action="append",
        metavar="RULES",
        default=None,
        help="rules file or directory (repeatable; default: the shipped rules)",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="SOURCE",
        help="event source: any installed one (default: the first, syscall)",
    )
    add_alert_arguments(p)
    p.add_argument("--hostname", default=None, help="hostname to put in alerts")
    p.add_argument(
        "--duration",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until interrupted)",
    )
    p.add_argument(
        "--drop-alert-interval",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="at most one drop alert per this many seconds (default: 30)",
    )

    add_config_arguments(p)
    add_output_timeout_argument(p)
    # source-specific flags: each installed source adds its own group
    for cls in source_classes():
        cls.add_flags(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    return run_agent(args)
