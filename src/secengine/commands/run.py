"""``secengine run``: live detection, printing alerts as they happen.

``secengine run -r RULES... --source syscall [--json]`` loads the rules,
tells the source which event types they need (the syscall probe turns that
into its in-kernel filter), starts the source and evaluates each event as
soon as its record has been applied to the state. Alerts go to stdout (text
or Falco JSON), one per line, flushed at once; diagnostics go to stderr.

Kernel drops are reported like Falco's internal drop alert ("Falco
internal: syscall event drop", at most one per ``--drop-alert-interval``
seconds) and summed at exit. A source that cannot start (not root, no BTF,
no libbpf) makes the command fail with its one-sentence reason.

Exit status: 0 after a clean stop (Ctrl-C or SIGTERM), 1 when the rules do
not load or the source cannot start, 2 for unusable arguments.

With a configuration (``-c FILE`` and/or ``-o key=value``), ``run`` builds a
:class:`~secengine.agent.Agent` instead: every source under ``sources:``
(plus the one ``--source`` names, configured by its flags below; the
syscall source when neither names one), every enabled ``*_output``, the
metrics endpoint, SIGHUP reload and the drop actions of the file; the
command's flags override the file's keys. Its exit status is the agent's
(:class:`~secengine.agent.ExitStatus`: 0 clean stop, 1 rules do not load,
2 bad configuration or a source/output that cannot start, 3 a source
failed, 4 ``syscall_event_drops`` asked to exit).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from secengine.internal_alerts import drop_alert
from secengine.priority import Priority

if TYPE_CHECKING:  # pragma: no cover
    from secengine.alert import Alert
    from secengine.ruleset import RuleSet

__all__ = ["add_parser", "interest_of", "run"]



def _priority(text: str) -> Priority:
    try:
        return Priority.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid priority {text!r}") from None


def _alert_writer(formatter: Any, as_json: bool, out: IO[bytes]
                  ) -> Callable[[list[Alert]], None]:
    if as_json:
        dump = formatter.json

        def write(alerts: list[Alert]) -> None:
            out.write(b"".join(dump(a) + b"\n" for a in alerts))
    else:
        text = formatter.text

        def write(alerts: list[Alert]) -> None:
            out.write("".join(text(a) + "\n" for a in alerts).encode("utf-8"))
    return write


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
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds (default: run until interrupted)")
    p.add_argument("--drop-alert-interval", type=float, default=30.0, metavar="SECONDS",
                   help="at most one drop alert per this many seconds (default: 30)")
    p.add_argument("--ring-buffer-mb", type=int, default=16, metavar="MB",
                   help="kernel ring buffer size, a power of two (default: 16)")
    from secengine.config import add_config_arguments
    from secengine.sources.k8s_webhook import add_arguments

    add_config_arguments(p)
    # source-specific flags: each source module adds its own group here
    add_arguments(p)
    p.set_defaults(run=run)
    return p


def interest_of(ruleset: RuleSet, source: str) -> frozenset[str] | None:
    """The union of the event types of the source's rules; None if one needs every type."""
    out: set[str] = set()
    for rule in ruleset.rules:
        if rule.source != source or not rule.enabled:
            continue
        if rule.evttypes is None:
            return None
        out |= rule.evttypes
    return frozenset(out)


def tune_gc() -> None:
    """Keep Python's cyclic garbage collector from stalling the reader.

    Per-event objects are freed by reference counting (they hold no cycles);
    what the collector would scan again and again is the long-lived heap:
    compiled rules and the state seeded from /proc. Freezing that heap and
    collecting the young generation less often keeps full collections short.
    Called once everything is loaded.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run(args: argparse.Namespace) -> int:
    if args.config is not None or args.options:
        from secengine.commands.agent_run import run_agent

        return run_agent(args)
    args.source = args.source or "syscall"
    args.min_priority = args.min_priority or Priority.DEBUG
    args.rule_matching = args.rule_matching or "first"
    args.json = bool(args.json)
    from secengine.bpf.errors import BpfError
    from secengine.commands.replay import _load_report, _rules_files
    from secengine.engine import Engine
    from secengine.output import AlertFormatter
    from secengine.ruleset import load_rules
    from secengine.sources.syscall import SyscallSource

    err = sys.stderr
    try:
        files = _rules_files(args.rules)
    except FileNotFoundError as e:
        err.write(f"secengine run: {e}\n")
        return 2
    if not files:
        err.write("secengine run: no rules files given or found\n")
        return 2
    ruleset = load_rules([str(p) for p in files])
    if not ruleset.successful:
        err.write(_load_report(ruleset))
        err.write("secengine run: rules failed to load\n")
        return 1
    formatter = AlertFormatter(hostname=args.hostname)
    engine = Engine(ruleset, rule_matching=args.rule_matching, min_priority=args.min_priority,
                    formatter=formatter)
    write = _alert_writer(formatter, args.json, sys.stdout.buffer)
    if args.source == "k8s_audit":
        from secengine.sources.k8s_webhook import run_command

        return run_command(args, engine, sys.stdout.buffer, err)

    source = SyscallSource(ring_bytes=args.ring_buffer_mb * 1024 * 1024)
    source.set_interest(interest_of(ruleset, source.name))
    source.use_rules(engine.rules)
    try:
        source.open()
    except BpfError as e:
        err.write(f"secengine run: cannot start the syscall source: {e}\n")
        return 1
    tune_gc()
    err.write(f"secengine run: watching {len(source.captured)} syscall types with "
              f"{len(engine.rules)} rules (seeded {source.seeded} processes)\n")
    err.flush()
    try:
        _loop(source, engine, write, formatter.hostname, args, sys.stdout.buffer)
    finally:
        stats = source.kernel_stats()
        source.close()
        err.write(f"secengine run: {source.stats.records} records, {engine.stats.events} events, "
                  f"{engine.stats.alerts} alerts, {stats.get('dropped', 0)} dropped in the "
                  "kernel\n")
    return 0


def _loop(source: Any, engine: Any, write: Callable[[list[Alert]], None], hostname: str,
          args: argparse.Namespace, out: IO[bytes]) -> None:
    stop = {"now": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["now"] = True

    old = signal.signal(signal.SIGTERM, on_signal)
    deadline = None if args.duration is None else time.monotonic() + args.duration
    process = engine.process
    pending: list[Alert] = []

    def on_event(ev: Any) -> None:
        alerts = process(ev)
        if alerts:
            pending.extend(alerts)

    last_drops = 0
    last_drop_alert = 0.0
    last_check = time.monotonic()
    try:
        while not stop["now"]:
            source.read_batch(on_event)
            if pending:
                write(pending)
                out.flush()
                pending.clear()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if now - last_check >= 1.0:
                last_check = now
                dropped = source.kernel_stats().get("dropped", 0)
                if dropped > last_drops and now - last_drop_alert >= args.drop_alert_interval:
                    write([drop_alert("syscall", dropped - last_drops, source.stats.records,
                                      hostname)])
                    out.flush()
                    last_drops = dropped
                    last_drop_alert = now
            source.wait_if_idle()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
