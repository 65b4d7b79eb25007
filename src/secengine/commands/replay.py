"""``secengine replay``: run rules over recorded field-map events and print the alerts.

Alerts go to stdout, one per line (Falco's text line, or Falco's alert JSON
with ``--json``); everything else goes to stderr: rule-loading errors,
rejected input lines (``file:line: reason``), and at the end a summary in the
shape of Falco's end-of-run statistics. When stderr is a terminal a progress
bar shows the share of input read, the event rate and the alerts so far;
when it is not, nothing but the summary is printed there.

Exit status (the table every command shares, ``docs/exit-status.md``): 0
after a complete run (rejected lines are reported, not fatal), 1 when the
rules do not load, 2 for unusable arguments, configuration or inputs,
including an input from which not one event could be read (binary junk, the
wrong format): its good neighbours are still replayed, but the run is not
reported clean. 5 (``UNDELIVERED``) when any alert was not delivered (an
output failed or dropped it; the summary says which output and how many). A
line longer than ``--max-line-size`` (config ``replay.max_line_size``,
default 16 MiB) is skipped and reported like any other rejected line; reading
stays linear in the input and memory bounded by that cap
(:mod:`secengine.sources.lines`).

Without a configuration, alerts are written to stdout in this thread: a
reader that reads slowly slows the replay down, as in any pipe, and a reader
that has gone (``| head -1``) makes the remaining alerts fail, counted.

With a configuration (``-c FILE`` and/or ``-o key=value``) the rules, the
engine keys (``priority``, ``rule_matching``, ``rules:``, ``append_output``,
formatting) and the outputs come from it, flags overriding the file: alerts
go to every enabled ``*_output`` (``stdout_output`` is on by default), each
waiting for room in its queue rather than dropping, since a file can wait;
but an output that makes no progress for ``output_timeout`` milliseconds
(``--output-timeout``) is no longer waited for: its alerts are dropped,
counted, until it delivers again, so one stuck output does not hold the
others. At the end the outputs drain for at most ``output_timeout``.
"""

from __future__ import annotations

import argparse
import gc
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from secengine.assembly import build_engine, build_sinks
from secengine.capture.blocks import CaptureFormatError
from secengine.capture.replay import SOURCE as CAPTURE_SOURCE
from secengine.config import (
    AgentConfig,
    add_alert_arguments,
    add_config_arguments,
    add_output_timeout_argument,
    load_cli_config,
    rules_file_paths,
)
from secengine.engine import Engine
from secengine.errors import ConfigError, SecengineError
from secengine.exit_status import ExitStatus, describe_failure, describe_os_error
from secengine.output import AlertFormatter
from secengine.plugins import load_target
from secengine.priority import Priority
from secengine.sinks.drain import drain, report_lines, undelivered
from secengine.sinks.render import AlertRenderer
from secengine.sinks.stdout import StdoutSink
from secengine.sources.base import rule_event_types
from secengine.sources.lines import DEFAULT_MAX_LINE
from secengine.sources.replay import STDIN, ReplaySource
from secengine.sources.specs import installed_specs, load_rules, resolve_rules_paths

if TYPE_CHECKING:  # pragma: no cover
    from secengine.alert import Alert
    from secengine.errors import EventFormatError
    from secengine.sinks.base import Sink
    from secengine.sources.replay import ReplayStats

__all__ = ["add_parser", "run"]

#: How many rejected lines are printed before the rest are only counted.
MAX_REPORTED_ERRORS = 20


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "replay",
        description="Evaluate rules over field-map event files (one JSON object per line, "
        "optionally gzip-compressed; '-' reads stdin) or Falco/sysdig capture files (.scap, "
        "optionally gzip-compressed; recognised by their content) and print the alerts.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="field-map event file (.jsonl, .jsonl.gz), capture file (.scap, .scap.gz) or '-' "
        "for stdin (field-map lines only)",
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
        help="event source of input lines that do not name one (default: the first "
        "installed source, syscall); a source with a reader of its own reads "
        "its files too: with k8s_audit, Kubernetes audit logs (JSON lines of "
        "Event/EventList, EventList documents, directories, gzip)",
    )
    add_alert_arguments(p)
    p.add_argument(
        "--hostname", default=None, help="hostname to put in alerts (default: this machine's name)"
    )
    p.add_argument(
        "--max-line-size",
        default=None,
        type=_size,
        metavar="SIZE",
        help="skip and report input lines longer than this, in bytes or with a "
        "KiB/MiB/GiB suffix (default: 16MiB; config replay.max_line_size)",
    )

    add_config_arguments(p)
    add_output_timeout_argument(p)
    p.set_defaults(run=run)
    return p


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}


def _size(text: str) -> int:
    """A byte count: ``1048576``, ``1MiB``, ``64k`` (units are powers of 1024)."""
    number = text.strip().rstrip("bBiIkKmMgG")
    unit = text.strip()[len(number) :].lower()
    if number.isdigit() and unit in _UNITS and int(number) * _UNITS[unit] >= 1:
        return int(number) * _UNITS[unit]
    raise argparse.ArgumentTypeError(
        f"invalid size {text!r} (a positive number of bytes, or with KiB, MiB or GiB)"
    )


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


class _Diagnostics:
    """stderr, through rich's console when a progress bar is drawn there."""

    def __init__(self, stream: IO[str], console: Any | None) -> None:
        self.stream = stream
        self.console = console
        self.shown_errors = 0

    def print(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self.stream.write(text + "\n")

    def rejected(self, error: EventFormatError) -> None:
        self.shown_errors += 1
        if self.shown_errors <= MAX_REPORTED_ERRORS:
            # a capture's fault ends its file (the events before it counted): no line skipped
            self.print(
                str(error) if isinstance(error, CaptureFormatError) else f"{error} (line skipped)"
            )
        elif self.shown_errors == MAX_REPORTED_ERRORS + 1:
            self.print("further rejected lines are counted but not shown")


def summary_lines(engine: Engine, stats: ReplayStats, seconds: float) -> list[str]:
    """The end-of-run report: input counters, then Falco's detection statistics."""
    es = engine.stats
    rate = stats.events / seconds if seconds > 0 else 0.0
    lines = [
        (
            f"Events read: {stats.events} from {stats.files} input(s) in {seconds:.2f}s "
            f"({rate:,.0f} events/s)"
        ),
        f"Lines rejected: {stats.rejected}",
        f"Events detected: {es.alerts}",
        "Rule counts by severity:",
    ]
    for prio in Priority:
        n = es.by_priority.get(prio, 0)
        if n:
            lines.append(f"   {prio.short_upper}: {n}")
    lines.append("Triggered rules by rule name:")
    for rule in engine.rules:
        n = es.by_rule.get(rule.name, 0)
        if n:
            lines.append(f"   {rule.name}: {n}")
    lines += engine.field_error_lines()
    return lines


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    specs = {s.name: s for s in installed_specs()}
    if args.source is None:
        args.source = next(iter(specs))
    if args.source not in specs:
        err.write(
            f"secengine replay: unknown event source {args.source!r} for --source "
            f"(known: {', '.join(specs)})\n"
        )
        return int(ExitStatus.USAGE)
    spec = specs[args.source]
    # a source with a reader of its own (audit logs) reads its files and directories too
    own_reader = spec.replay_reader is not None
    readers = [s.name for s in specs.values() if s.replay_reader is not None]
    for name in args.inputs:
        problem = None if name == STDIN else _input_problem(name, own_reader, readers)
        if problem is not None:
            err.write(f"secengine replay: cannot read input {problem}\n")
            return int(ExitStatus.USAGE)
    configured = _configured(args)
    if configured is not None and not isinstance(configured, tuple):
        return configured
    args.json = bool(args.json)
    args.min_priority = args.min_priority or Priority.DEBUG
    args.rule_matching = args.rule_matching or "first"
    rules_files = (
        resolve_rules_paths(args.rules) if configured is None else [Path(f) for f in configured[1]]
    )
    if not rules_files:
        err.write("secengine replay: no rules files given or found\n")
        return 2

    ruleset = load_rules([str(p) for p in rules_files])  # the installed sources' fields
    if not ruleset.successful:
        err.write(ruleset.render_text() + "\n")
        err.write("secengine replay: rules failed to load\n")
        return 1

    max_line_size = (
        configured[0].replay.max_line_size
        if configured is not None
        else args.max_line_size or DEFAULT_MAX_LINE
    )
    progress = _progress() if err.isatty() else None
    sinks: list[Sink]
    if configured is None:
        formatter = AlertFormatter(hostname=args.hostname)
        engine = Engine(
            ruleset,
            rule_matching=args.rule_matching,
            min_priority=args.min_priority,
            formatter=formatter,
        )
        sinks = [_stdout_sink(formatter, args.json, progress)]
        timeout_ms = (
            args.output_timeout if args.output_timeout is not None else AgentConfig().output_timeout
        )
    else:
        try:
            engine, sinks = _configured_engine(configured[0], ruleset)
        except (SecengineError, OSError) as e:  # a bad key, or an output that cannot start
            err.write(f"secengine replay: {describe_failure(e)}\n")
            return int(ExitStatus.USAGE)
        timeout_ms = configured[0].output_timeout
    drain_seconds = timeout_ms / 1000.0
    # Everything allocated so far (rules, compiled code, imported modules) lives
    # until exit: keep it out of the collector's way for the rest of the run.
    gc.collect()
    gc.freeze()
    write = _sinks_writer(sinks, drain_seconds)
    diags = _Diagnostics(err, progress.console if progress is not None else None)
    source: Any = None
    if spec.replay_reader is not None:
        read = load_target(spec.replay_reader)
        source = read(args.inputs, on_error=diags.rejected, max_line_size=max_line_size)
    if source is None:
        source = ReplaySource(
            args.inputs,
            default_source=args.source,
            on_error=diags.rejected,
            max_line_size=max_line_size,
        )
    if isinstance(source, ReplaySource):  # a capture yields only what the rules read
        source.set_interest(rule_event_types(engine.rules, CAPTURE_SOURCE))
    started = time.perf_counter()
    process_batch = engine.process_batch
    if progress is None:
        for batch in source.batches():
            alerts = process_batch(batch)
            if alerts:
                write(alerts)
    else:
        with progress:
            task = progress.add_task(
                "replay", total=source.stats.bytes_total, events=0, rate=0.0, alerts=0
            )
            shown = 0.0
            for batch in source.batches():
                alerts = process_batch(batch)
                if alerts:
                    write(alerts)
                now = time.perf_counter()
                if now - shown < _PROGRESS_EVERY:  # a capture's batches are single events
                    continue
                shown = now
                elapsed = now - started
                st = source.stats
                progress.update(
                    task,
                    completed=st.bytes_read,
                    events=st.events,
                    rate=st.events / elapsed if elapsed > 0 else 0.0,
                    alerts=engine.stats.alerts,
                )
            st = source.stats
            progress.update(task, completed=st.bytes_read, events=st.events)
    drain(sinks, drain_seconds)
    for line in summary_lines(engine, source.stats, time.perf_counter() - started):
        diags.print(line)
    diags.print("Alerts by output:")
    for line in report_lines(sinks):
        diags.print(f"   {line}")
    unusable = _unusable_inputs(source.stats, diags, spec.event_noun if own_reader else "event")
    if unusable:
        return unusable
    lost = undelivered(sinks)
    if lost:
        status = ExitStatus.UNDELIVERED
        diags.print(f"secengine replay: {lost} alerts not delivered (exit status {int(status)})")
        return int(status)
    return int(ExitStatus.OK)


#: Seconds between two updates of the progress bar (it redraws ten times a second).
_PROGRESS_EVERY = 0.05

#: How many unusable inputs are named before the rest are only counted.
MAX_NAMED_INPUTS = 20


def _unusable_inputs(stats: ReplayStats, diags: _Diagnostics, noun: str) -> int:
    """Name the inputs no event could be read from; 2 if there are any, else 0."""
    for label in stats.unusable[:MAX_NAMED_INPUTS]:
        diags.print(f"secengine replay: no {noun} could be read from {label}")
    more = len(stats.unusable) - MAX_NAMED_INPUTS
    if more > 0:
        diags.print(f"secengine replay: and from {more} more input(s)")
    return int(ExitStatus.USAGE if stats.unusable else ExitStatus.OK)


def _input_problem(name: str, own_reader: bool, readers: list[str]) -> str | None:
    """Why ``name`` cannot be replayed (``PATH: reason``), or None when it can be opened.

    Inputs are regular files (``-`` reads a pipe from stdin); directories only
    for a source with a replay reader of its own (``readers``: ``k8s_audit``
    reads the audit logs in them).
    """
    try:
        mode = os.stat(name).st_mode
    except OSError as e:
        return describe_os_error(e)
    if stat.S_ISDIR(mode):
        only = " or ".join(f"--source {r}" for r in readers)
        return (
            None
            if own_reader
            else (f"{name}: is a directory (name the files in it; only {only} reads directories)")
        )
    if not stat.S_ISREG(mode):
        return f"{name}: not a regular file (pipe it into 'secengine replay -' instead)"
    return None


def _sinks_writer(sinks: list[Sink], timeout: float) -> Callable[[list[Alert]], None]:
    """Hand each batch of alerts to every output, waiting for room while it makes progress."""

    def write(alerts: list[Alert]) -> None:
        for sink in sinks:
            sink.put_many(alerts, timeout)

    return write


class _ConsoleStream:
    """Bytes written through rich's console, so that alert lines appear above the bar."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def write(self, data: bytes) -> int:
        self.console.out(data.decode("utf-8"), end="", highlight=False)
        return len(data)

    def flush(self) -> None:
        pass


def _stdout_sink(formatter: AlertFormatter, as_json: bool, progress: Any | None) -> Sink:
    """The stdout output of a replay without configuration, run inline (see the docstring).

    When stdout is the terminal the progress bar is drawn on, lines go
    through rich so that they are not torn by the bar's redraws.
    """

    stream: Any = None
    if progress is not None and sys.stdout.isatty():
        stream = _ConsoleStream(progress.console)
    # flushed after each alert, so that what a reader that went away did get is counted
    sink = StdoutSink(label="stdout", renderer=AlertRenderer(formatter, as_json), stream=stream)
    sink.start(threaded=False)
    return sink


def _configured(args: argparse.Namespace) -> tuple[Any, list[str]] | int | None:
    """With ``-c``/``-o``: the configuration and its rules files (or exit status 2); else None."""
    if getattr(args, "config", None) is None and not getattr(args, "options", None):
        return None

    try:
        cfg = load_cli_config(args)
    except ConfigError as e:
        sys.stderr.write(f"secengine replay: {e}\n")
        return 2
    return cfg, rules_file_paths(cfg)


def _configured_engine(cfg: Any, ruleset: Any) -> tuple[Engine, list[Any]]:
    """The engine and the started outputs a configuration describes."""

    engine = build_engine(cfg, ruleset)
    sinks = build_sinks(cfg, engine.formatter)
    started: list[Any] = []
    try:
        for sink in sinks:
            sink.start()
            started.append(sink)
    except Exception:
        for sink in started:
            sink.stop(timeout=1.0)
        raise
    return engine, sinks


def _progress() -> Any:
    """A rich progress bar on stderr: share and bytes of input read, events and events/s,
    alerts so far, time taken and time left (the same for JSON lines and captures)."""

    return Progress(
        TextColumn("[bold]replay"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TextColumn("{task.fields[rate]:,.0f} events/s"),
        TextColumn("{task.fields[alerts]:,} alerts"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
