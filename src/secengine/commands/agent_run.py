"""``secengine run -c FILE``: the configured agent (every source, every output, reload, metrics).

Not a subcommand of its own: :mod:`secengine.commands.run` hands over here
when a configuration is given (``-c`` or ``-o``). The command's flags
override the file (``-r``, ``--min-priority``, ``--rule-matching``,
``--json``, ``--hostname``); ``--source`` adds that source, configured by its
own flags (``--ring-buffer-mb``, ``--k8s-audit-*``), to those under
``sources:``; with neither, the syscall source runs, as in Falco.
``--duration`` stops the agent after that many seconds; ``--output-timeout``
sets ``output_timeout``, the outputs' drain time at exit.

At exit, stderr gets one line per output (delivered, failed, dropped) and
a total; alerts not delivered make the exit status 5 (``UNDELIVERED``) when
the run otherwise ended as asked.

Logging follows ``log_level`` and ``log_stderr``. The exit status is the
agent's :class:`~secengine.exit_status.ExitStatus`.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import threading
from typing import Any, TextIO

from secengine.agent import Agent
from secengine.config import load_cli_config
from secengine.errors import ConfigError, SecengineError
from secengine.exit_status import ExitStatus
from secengine.sinks.drain import report_lines, undelivered
from secengine.sources.specs import names, source_class
from secengine.web.limits import raise_open_file_limit

__all__ = ["configure_logging", "flag_sources", "run_agent"]

_LEVELS = {
    "emergency": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "notice": logging.INFO,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


class _StderrHandler(logging.StreamHandler[TextIO]):
    """The handler configure_logging adds (so that it adds it once).

    It writes to ``sys.stderr`` as it is when a record arrives, as logging's own
    last-resort handler does, not to the stream it first saw: a webserver thread
    may log after stderr was replaced and the old stream closed.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """``setStream`` and the base class assign a stream: there is none to keep."""


def configure_logging(level: str, to_stderr: bool) -> None:
    """The ``secengine`` logger as the configuration says (only ever called by commands)."""
    logger = logging.getLogger("secengine")
    logger.setLevel(_LEVELS[level])
    if to_stderr and not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("secengine: %(levelname)s: %(message)s"))
        logger.addHandler(handler)


def flag_sources(args: argparse.Namespace, configured: set[str]) -> list[Any]:
    """The source ``--source`` names, built from its flags (none if the file configures it).

    Without ``--source`` and without configured sources, the first installed
    source (secengine's own come first: ``syscall``). Any installed source
    whose class can be built from flags (``Source.from_flags``) may be named.
    """

    name = args.source
    if name is None and not configured:
        name = names()[0]
    if name is None or name in configured:
        return []
    return [source_class(name).from_flags(args)]


def flag_only_options(args: argparse.Namespace) -> list[str]:
    """Drop handling of ``secengine run`` without a configuration: alert on any loss,
    at most once per ``--drop-alert-interval`` seconds (the file's keys otherwise)."""
    interval = getattr(args, "drop_alert_interval", 30.0)
    rate = 1e9 if interval <= 0 else 1.0 / interval
    return ["syscall_event_drops.threshold=0", f"syscall_event_drops.rate={rate}"]


def tune_gc() -> None:
    """Keep Python's cyclic garbage collector from stalling live sources.

    Per-event objects are freed by reference counting (they hold no cycles);
    what the collector would scan again and again is the long-lived heap:
    compiled rules and the state seeded from /proc. Freezing that heap and
    collecting the young generation less often keeps full collections short.
    """

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _report_start(agent: Any) -> None:
    """One line per source on stderr once everything runs (what users and tests wait for)."""
    tune_gc()
    rules = len(agent.engine.rules)
    for source in agent.sources:
        line = f"secengine run: {source.describe_start(rules)}"
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run_agent(args: argparse.Namespace) -> int:
    err = sys.stderr
    flags_only = args.config is None and not args.options
    if flags_only:
        args.options = flag_only_options(args)
    try:
        cfg = load_cli_config(args)
        configure_logging(cfg.log_level, cfg.log_stderr)
        sources = flag_sources(args, {n for n, b in cfg.sources.items() if b.enabled})
    except ConfigError as e:
        err.write(f"secengine run: {e}\n")
        return int(ExitStatus.USAGE)
    if flags_only:
        # the one source of a flag-only run: if it cannot start, say why in one sentence
        for source in sources:
            try:
                source.preflight()
            except SecengineError as e:
                err.write(f"secengine run: cannot start the {source.name} source: {e}\n")
                return int(ExitStatus.USAGE)
    log = logging.getLogger("secengine.agent")
    raise_open_file_limit()  # each HTTP connection is a file (see web.limits)
    for warning in cfg.warnings:
        log.warning("%s", warning)
    agent = Agent(cfg, sources=sources, config_loader=lambda: load_cli_config(args))
    timer = None
    if args.duration is not None:
        timer = threading.Timer(args.duration, agent.request_stop)
        timer.daemon = True
        timer.start()
    try:
        status = agent.run(on_started=_report_start)
    finally:
        if timer is not None:
            timer.cancel()
    if agent.error is not None and not cfg.log_stderr:
        err.write(f"secengine run: {agent.error}\n")
    c = agent.counters
    kernel = sum(
        s.kernel_stats().get("dropped", 0) for s in agent.sources if hasattr(s, "kernel_stats")
    )
    for source in agent.sources:
        for line in (source.describe_end() or "").splitlines():
            err.write(f"secengine run: {line}\n")
    for line in report_lines(agent.sinks):
        err.write(f"secengine run: output {line}\n")
    try:
        field_errors = agent.engine.field_error_lines()
    except RuntimeError:  # the rules never loaded: nothing was evaluated
        field_errors = []
    for line in field_errors:
        err.write(f"secengine run: {line.strip()}\n")
    err.write(
        f"secengine run: {sum(c.events.values())} events, {sum(c.alerts.values())} alerts "
        f"and {sum(c.drop_alerts.values())} internal alerts, "
        f"{kernel} dropped in the kernel, "
        f"{undelivered(agent.sinks)} alerts not delivered; "
        f"exit status {int(status)} ({status.meaning})\n"
    )
    return int(status)
