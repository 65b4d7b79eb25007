"""Check a case's alerts against its expectations, and explain every miss.

Each unmet expectation becomes a :class:`~secengine.testing.results.Failure`
whose details show, for the events concerned: where the event was written,
its fields, the deciding leaves of the rule's condition with the actual
values (:mod:`secengine.testing.explain`), and the rule's expanded
condition. At most :data:`MAX_EVENTS` events are explained per failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from secengine.lang.interpreter import evaluate
from secengine.suggest import did_you_mean
from secengine.testing.explain import explain, format_value, leaf_lines
from secengine.testing.model import RuleExpectation
from secengine.testing.results import Failure, RuleContext, RunEvent

if TYPE_CHECKING:  # pragma: no cover
    from secengine.alert import Alert
    from secengine.ruleset import Rule
    from secengine.testing.loader import LoadedCase, LoadedTestFile

__all__ = ["MAX_EVENTS", "check_case", "inactive_reason"]

#: How many events one failure explains in detail.
MAX_EVENTS = 3
#: How many leaves are listed for one event.
MAX_LEAVES = 12

_IND = "  "


def check_case(
    case: LoadedCase,
    tf: LoadedTestFile,
    ctx: RuleContext,
    events: list[RunEvent],
    alerts: list[list[Alert]],
) -> list[Failure]:
    """Every unmet expectation of ``case``, given the alerts of each of its events."""
    failures: list[Failure] = []
    checker = _Checker(tf, ctx, events, alerts)
    for exp in case.expect:
        failures.extend(checker.expectation(exp))
    if case.no_alerts:
        failures.extend(checker.no_alerts())
    return failures


class _Checker:
    def __init__(
        self,
        tf: LoadedTestFile,
        ctx: RuleContext,
        events: list[RunEvent],
        alerts: list[list[Alert]],
    ) -> None:
        self.tf = tf
        self.ctx = ctx
        self.events = events
        self.alerts = alerts

    # -- expectations ------------------------------------------------------------
    def expectation(self, exp: RuleExpectation) -> list[Failure]:
        rule = self.ctx.by_name.get(exp.rule)
        if rule is None:
            return [self._unknown_rule(exp.rule)]
        hits = [
            (i, a)
            for i, per_event in enumerate(self.alerts)
            for a in per_event
            if a.rule == exp.rule
        ]
        if len(hits) != exp.count:
            return [self._count(rule, exp.count, hits)]
        failures = []
        for i, alert in hits:
            failures.extend(self._details(exp, i, alert))
        return failures

    def no_alerts(self) -> list[Failure]:
        hits = [(i, a) for i, per_event in enumerate(self.alerts) for a in per_event]
        if not hits:
            return []
        names = sorted({a.rule for _, a in hits})
        failure = Failure(
            f"expected no alerts, got {len(hits)} (from {', '.join(repr(n) for n in names)})"
        )
        for i, alert in hits[:MAX_EVENTS]:
            failure.details.append(f"{_IND}{alert.rule!r} fired on {self._event_title(i)}:")
            failure.details.extend(self._event_lines(i, 2))
            failure.details.append(f"{_IND * 2}output: {alert.message}")
            failure.details.extend(self._why_true(self.ctx.by_name[alert.rule], i, 2))
        failure.details.extend(_more(len(hits), "alerts"))
        return [failure]

    # -- failure builders ------------------------------------------------------------
    def _unknown_rule(self, name: str) -> Failure:
        hint = did_you_mean(name, self.ctx.by_name)
        files = ", ".join(str(p) for p in self.tf.rules_files)
        return Failure(
            f"no rule named {name!r} in the loaded rules files{hint}",
            [f"{_IND}rules files: {files}"],
        )

    def _count(self, rule: Rule, expected: int, hits: list[tuple[int, Alert]]) -> Failure:
        actual = len(hits)
        failure = Failure(f"rule {rule.name!r} fired {_times(actual)}, expected {_times(expected)}")
        d = failure.details
        if actual < expected:
            reason = inactive_reason(rule, self.ctx, self.tf)
            if reason is not None:
                d.append(f"{_IND}the rule is not running: {reason}")
            else:
                fired = {i for i, _ in hits}
                d.extend(self._misses(rule, [i for i in range(len(self.events)) if i not in fired]))
        else:
            for i, _ in hits[:MAX_EVENTS]:
                d.append(f"{_IND}it fired on {self._event_title(i)}:")
                d.extend(self._event_lines(i, 2))
                d.extend(self._why_true(rule, i, 2))
            d.extend(_more(actual, "alerts"))
        d.append(f"{_IND}expanded condition of {rule.name!r}:")
        d.append(f"{_IND * 2}{rule.condition_compiled}")
        return failure

    def _misses(self, rule: Rule, missed: list[int]) -> list[str]:
        """Why the rule did not fire on these events (the most relevant first)."""
        same_source = [i for i in missed if self.events[i].source == rule.source]
        if not same_source:
            sources = sorted({self.events[i].source for i in missed})
            return [
                (
                    f"{_IND}no event has the rule's source {rule.source!r} "
                    f"(the events are {', '.join(sources)})"
                )
            ]
        types = rule.evttypes
        relevant = [
            i
            for i in same_source
            if types is None or self.events[i].values().get("evt.type") in types
        ]
        chosen = relevant or same_source
        lines: list[str] = []
        if not relevant and types is not None:
            lines.append(
                f"{_IND}no event has an evt.type the rule handles ({', '.join(sorted(types))})"
            )
        for i in chosen[:MAX_EVENTS]:
            lines.append(f"{_IND}{self._event_title(i)}:")
            lines.extend(self._event_lines(i, 2))
            lines.extend(self._why_false(rule, i, 2))
        lines.extend(_more(len(chosen), "events"))
        return lines

    def _details(self, exp: RuleExpectation, i: int, alert: Alert) -> list[Failure]:
        where = f"alert of {exp.rule!r} on {self._event_title(i)}"
        out: list[Failure] = []
        if exp.priority is not None and alert.priority != exp.priority:
            out.append(
                Failure(
                    f"{where}: priority is {alert.priority.title}, expected {exp.priority.title}"
                )
            )
        if exp.tags is not None and set(alert.tags) != set(exp.tags):
            out.append(
                Failure(f"{where}: tags are {sorted(alert.tags)}, expected {sorted(set(exp.tags))}")
            )
        if exp.output is not None and not exp.output.matches(alert.message):
            out.append(
                Failure(
                    f"{where}: output does not match",
                    [
                        f"{_IND}output:   {alert.message!r}",
                        f"{_IND}expected it {exp.output.describe()}",
                    ],
                )
            )
        for key, want in (exp.output_fields or {}).items():
            if key not in alert.output_fields:
                have = ", ".join(sorted(alert.output_fields))
                out.append(
                    Failure(
                        f"{where}: the output has no field {key!r}",
                        [f"{_IND}output fields: {have}"],
                    )
                )
                continue
            got = alert.output_fields[key]
            if not _same_value(got, want):
                out.append(
                    Failure(
                        f"{where}: output_fields[{key!r}] is {format_value(got)}, "
                        f"expected {format_value(want)}"
                    )
                )
        return out

    # -- explanation pieces ---------------------------------------------------------
    def _event_title(self, i: int) -> str:
        return f"event {i + 1} ({self.events[i].origin})"

    def _event_lines(self, i: int, depth: int) -> list[str]:
        ev = self.events[i]
        body = orjson.dumps(ev.display(), default=str).decode()
        return [f"{_IND * depth}source={ev.source} fields={body}"]

    def _why_false(self, rule: Rule, i: int, depth: int) -> list[str]:
        ind = _IND * depth
        if evaluate(rule.checked.ir, self.events[i].values()):
            other = [a.rule for a in self.alerts[i]]
            if other and self.ctx.engine.rule_matching == "first":
                return [
                    (
                        f"{ind}the condition holds, but {other[0]!r} matched this event "
                        "first (rule_matching: first reports one rule per event)"
                    )
                ]
            return [
                (
                    f"{ind}the condition holds, yet the engine reported no alert "
                    "(please report this as a secengine bug)"
                )
            ]
        leaves = explain(rule.condition, rule.checked.ir, self.events[i].values(), False)
        lines: list[str] = []
        for n, leaf in enumerate(leaves[:MAX_LEAVES]):
            lines.append(
                ind + ("first failing leaf:" if n == 0 else "also false (another alternative):")
            )
            lines.extend(f"{ind}{_IND}{text}" for text in leaf_lines(leaf))
        return lines

    def _why_true(self, rule: Rule, i: int, depth: int) -> list[str]:
        ind = _IND * depth
        leaves = explain(rule.condition, rule.checked.ir, self.events[i].values(), True)
        if not leaves:
            return []
        lines = [f"{ind}the condition holds because:"]
        for leaf in leaves[:MAX_LEAVES]:
            lines.extend(f"{ind}{_IND}{text}" for text in leaf_lines(leaf))
        if len(leaves) > MAX_LEAVES:
            lines.append(f"{ind}{_IND}... and {len(leaves) - MAX_LEAVES} more checks")
        return lines


def inactive_reason(rule: Rule, ctx: RuleContext, tf: LoadedTestFile) -> str | None:
    """Why a loaded rule is not among the engine's rules, or None if it is."""
    if rule.name in ctx.active:
        return None
    opts = tf.options
    enabled = rule.enabled
    decided_by = "its 'enabled: false'" if not enabled else None
    for sel in opts.selections():
        if sel.matches(rule):
            enabled = sel.action == "enable"
            what = f"rule: {sel.rule}" if sel.rule is not None else f"tag: {sel.tag}"
            decided_by = f"options.rules ({sel.action} {what})"
    if not enabled:
        return f"disabled by {decided_by}"
    if rule.priority > opts.priority:
        return f"its priority {rule.priority.title} is below options.priority {opts.priority.title}"
    return "not selected by the engine"


def _same_value(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return bool(got == want)
    if isinstance(want, list) and isinstance(got, (list, tuple)):
        return len(got) == len(want) and all(_same_value(g, w) for g, w in zip(got, want))
    if want is not None and got is not None and not isinstance(got, type(want)):
        return str(got) == str(want)
    return bool(got == want)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _more(total: int, what: str) -> list[str]:
    if total <= MAX_EVENTS:
        return []
    return [f"{_IND}... {total - MAX_EVENTS} more {what} not shown"]
