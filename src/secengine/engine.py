"""The engine: index loaded rules by (source, event type) and evaluate events.

Per event the hot path is one dictionary lookup for the event's bucket and
one call of the bucket's generated function (:mod:`secengine.lang.codegen`),
which evaluates the bucket's rules in definition order. Buckets are built on
first use. Alerts are made only for matches.

Falco semantics kept here (spec §4.1): rules indexed under the event's type
run first, then rules whose type set is empty (Falco's "all event types"
list); ``rule_matching: first`` stops at the first match, ``all`` reports
every match but, as in Falco, skips the catch-all list once an indexed rule
matched. Rules below the minimum priority are not loaded; enable/disable
selections by name glob or tag apply in order after the rules' own
``enabled`` keys.
"""

from __future__ import annotations

import fnmatch
import logging
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from secengine.events import Event, FieldExtractionError, FieldValues
from secengine.lang.codegen import (
    BatchFunction,
    BucketFunction,
    compile_batch,
    compile_bucket,
    generation,
)
from secengine.lang.evttypes import TypeSet, event_type_set
from secengine.lang.interpreter import evaluate
from secengine.lang.simplify import simplify
from secengine.priority import Priority

if TYPE_CHECKING:  # pragma: no cover
    from secengine.alert import Alert
    from secengine.output import AlertFormatter
    from secengine.ruleset import Rule, RuleSet

__all__ = ["Engine", "EngineStats", "RuleSelection"]

_OTHER_TYPE = "\0other"
_MAX_CACHED_TYPES = 4096
#: At most this many fields get their first extraction error logged (then only counted).
_MAX_LOGGED_FIELDS = 64
#: What makes a generated bucket function give up on an event (then the interpreter decides).
_FALLBACK_ERRORS = (TypeError, AttributeError, ValueError, FieldExtractionError)
_log = logging.getLogger("secengine.engine")


@dataclass(frozen=True, slots=True)
class RuleSelection:
    """One entry of Falco's ``rules:`` config: enable or disable by rule-name glob and/or tag."""

    action: Literal["enable", "disable"]
    rule: str | None = None
    tag: str | None = None

    def matches(self, rule: Rule) -> bool:
        if self.rule is not None and not fnmatch.fnmatchcase(rule.name, self.rule):
            return False
        if self.tag is not None and self.tag not in rule.tags:
            return False
        return self.rule is not None or self.tag is not None


@dataclass(slots=True)
class EngineStats:
    """Counters kept by the engine; cheap enough to update on the hot path."""

    events: int = 0
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[Priority] = field(default_factory=Counter)
    #: Events whose values did not have the declared types (evaluated by the interpreter).
    mistyped_events: int = 0
    #: (field key, rule name) → evaluations of that rule on which the field's extractor
    #: raised or gave a value of the wrong type (the rule did not match on those).
    field_errors: Counter[tuple[str, str]] = field(default_factory=Counter)


class _Bucket:
    __slots__ = ("fn", "rules")

    def __init__(self, fn: BucketFunction, rules: list[Rule]) -> None:
        self.fn = fn
        self.rules = rules


#: Events of a source evaluated one at a time (a call of their bucket's function each)
#: before its batch loop is compiled. Compiling the loop costs about what it saves on
#: 20,000-50,000 events (6 ms: the buckets' code is compiled a second time, as one
#: function), so short runs (a replay of a small file) never pay for it.
_LOOP_AFTER = 32_768
#: Events evaluated outside a source's batch loop (of buckets built after it) before the
#: loop is compiled again with them, for the same reason: rare event types never cause a compile.
_RECOMPILE_AFTER = 16_384


class _Loop:
    """A source's batch loop (:func:`compile_batch`) and what it was compiled with."""

    __slots__ = ("before", "fn", "generation", "outside", "slots", "types")

    def __init__(self) -> None:
        #: each bucket function inlined (buckets of several types may share one) → its slot
        self.slots: dict[BucketFunction, int] = {}
        #: event type → slot (the loop reads it live: new types of inlined buckets are added)
        self.types: dict[str | None, int] = {}
        self.fn: BatchFunction | None = None
        self.generation = -1
        #: events of this source evaluated outside the loop since it was compiled
        self.outside = 0
        #: events of this source evaluated one at a time before the loop was first compiled
        self.before = 0


class Engine:
    """Evaluates events against a loaded rule set and returns alerts."""

    def __init__(
        self,
        rules: RuleSet | Iterable[Rule],
        *,
        rule_matching: Literal["first", "all"] = "first",
        min_priority: Priority | str = Priority.DEBUG,
        selections: Sequence[RuleSelection] = (),
        formatter: AlertFormatter | None = None,
    ) -> None:
        if rule_matching not in ("first", "all"):
            raise ValueError(f"rule_matching must be 'first' or 'all', not {rule_matching!r}")
        if isinstance(min_priority, str):
            min_priority = Priority.parse(min_priority)
        all_rules = list(getattr(rules, "rules", rules))
        self.rule_matching = rule_matching
        self.min_priority = min_priority
        self.stats = EngineStats()
        if formatter is None:
            from secengine.output import AlertFormatter

            formatter = AlertFormatter(hostname=socket.gethostname())
        self.formatter = formatter
        self._all_matches = rule_matching == "all"
        self.rules: list[Rule] = self._select(all_rules, min_priority, selections)
        # Sources whose spec indexes rules by event type (the compiler marks their
        # rules: Rule.by_event_type); the rules of any other source share one bucket.
        self._indexed: frozenset[str] = frozenset(r.source for r in self.rules if r.by_event_type)
        self._typesets: dict[str, TypeSet] = {
            r.name: event_type_set(r.condition) for r in self.rules if r.source in self._indexed
        }
        self._mentioned: dict[str, frozenset[str]] = {}
        for r in self.rules:
            ts = self._typesets.get(r.name)
            names = ts.names if ts is not None else frozenset()
            self._mentioned[r.source] = self._mentioned.get(r.source, frozenset()) | names
        self._buckets: dict[str, dict[str | None, _Bucket]] = {}
        self._loops: dict[str, _Loop] = {}
        #: sources whose events read every field through ``fields[key]`` (their ``get`` is
        #: a Python method): see :func:`~secengine.lang.codegen.compile_bucket`
        self._subscript: dict[str, bool] = {}
        self._logged_fields: set[str] = set()
        #: Called with (rule, event, alert) for each alert of a rule that asks for a response
        #: (``Rule.response``), before the alert is returned: the agent's responder.
        self.on_response: Callable[[Rule, Event, Alert], None] | None = None

    @staticmethod
    def _select(
        rules: list[Rule], min_priority: Priority, selections: Sequence[RuleSelection]
    ) -> list[Rule]:
        enabled = {r.name: r.enabled for r in rules}
        for sel in selections:
            for r in rules:
                if sel.matches(r):
                    enabled[r.name] = sel.action == "enable"
        chosen = [r for r in rules if enabled[r.name] and r.priority <= min_priority]
        chosen.sort(key=lambda r: r.index)
        return chosen

    # -- evaluation ----------------------------------------------------------------
    def process(self, event: Event) -> list[Alert]:
        """Evaluate one event; return its alerts (empty list when nothing matched).

        One call of the event's bucket function: a live source hands the engine
        its events one at a time (each is evaluated before the next record changes
        the state), and for one event the batch loop's set-up costs more than the
        call it saves. The batch loop's events of other types take this path too.
        """
        self.stats.events += 1
        by_type = self._buckets.get(event.source)
        bucket = None if by_type is None else by_type.get(event.type)
        if bucket is None:
            bucket = self._bucket_for(event.source, event.type, event.fields)
        try:
            hit = bucket.fn(event)
        except _FALLBACK_ERRORS:
            hit = self._interpret(bucket, event)
        if self._all_matches:
            return [self._alert(bucket.rules[i], event) for i in hit] if hit else []
        return [] if hit < 0 else [self._alert(bucket.rules[hit], event)]

    def process_batch(self, events: Iterable[Event]) -> list[Alert]:
        """Evaluate many events; alerts come out in event order.

        The first :data:`_LOOP_AFTER` events of a source are evaluated one at a
        time (:meth:`_each`: a call of the bucket's function per event); from then
        on they run through the source's batch loop (:func:`compile_batch`: one
        generated loop with every bucket's code inline); events of a type no
        bucket of the loop serves yet, or of another source, take :meth:`process`.
        This is the hot path of replay and of the agent.
        """
        if not isinstance(events, (list, tuple)):
            events = list(events)  # counted once below, instead of one addition per event
        if len(events) == 1:  # a live source's event (see process)
            return self.process(events[0])
        out: list[Alert] = []
        if not events:
            return out
        self.stats.events += len(events)
        source = events[0].source
        loop = self._loops.get(source)
        if loop is None:
            loop = self._loops[source] = _Loop()
        rest: Sequence[Event] = events
        if loop.fn is None:
            if loop.before + len(events) <= _LOOP_AFTER:
                loop.before += len(events)
                self._each(events, out)
                return out
            head = _LOOP_AFTER - loop.before
            loop.before = _LOOP_AFTER
            self._each(events[:head], out)
            rest = events[head:]
        it = iter(rest)
        while self._loop_for(source, loop)(it, out):
            pass  # the loop stopped to be compiled again with buckets built meanwhile
        return out

    def _each(self, events: Sequence[Event], out: list[Alert]) -> None:
        """Evaluate ``events`` one at a time, each with a call of its bucket's function."""
        buckets = self._buckets
        all_matches = self._all_matches
        alert = self._alert
        # A batch comes from one source as a rule: its bucket table is looked up
        # again only when the source changes.
        source: str | None = None
        by_type: dict[str | None, _Bucket] = {}
        for event in events:
            if event.source != source:
                source = event.source
                by_type = buckets.get(source) or {}
            bucket = by_type.get(event.type)
            if bucket is None:
                bucket = self._bucket_for(event.source, event.type, event.fields)
                by_type = buckets[event.source]
            try:
                hit = bucket.fn(event)
            except _FALLBACK_ERRORS:
                hit = self._interpret(bucket, event)
            if all_matches:
                if hit:
                    rules = bucket.rules
                    out.extend(alert(rules[i], event) for i in hit)
            elif hit >= 0:
                out.append(alert(bucket.rules[hit], event))

    def _loop_for(self, source: str, loop: _Loop) -> BatchFunction:
        """The batch loop of ``source``, compiled again if buckets were built or changed since."""
        if loop.fn is not None and loop.generation == generation():
            if loop.outside < _RECOMPILE_AFTER:
                return loop.fn
            loop.outside = 0
            if all(b.fn in loop.slots for b in self._buckets.get(source, {}).values()):
                return loop.fn
        by_type = self._buckets.setdefault(source, {})
        fns = list(dict.fromkeys(b.fn for b in by_type.values()))
        slots = loop.slots = {fn: i for i, fn in enumerate(fns)}
        loop.types.clear()
        loop.types.update((t, slots[b.fn]) for t, b in by_type.items())
        loop.generation = generation()
        loop.outside = 0

        def slow(event: Event, out: list[Alert]) -> bool:
            self.stats.events -= 1  # counted with its batch: process counts it again
            out.extend(self.process(event))
            if event.source != source:
                return False
            loop.outside += 1
            bucket = by_type.get(event.type)
            slot = None if bucket is None else slots.get(bucket.fn)
            if slot is not None and len(loop.types) < _MAX_CACHED_TYPES:
                loop.types[event.type] = slot  # a new type of a bucket already inlined
                return False
            return loop.outside >= _RECOMPILE_AFTER

        def hit(found: Any, event: Event, out: list[Alert]) -> None:
            rules = by_type[event.type].rules
            if self._all_matches:
                out.extend(self._alert(rules[i], event) for i in found)
            else:
                out.append(self._alert(rules[found], event))

        def interpret(event: Event) -> Any:
            return self._interpret(by_type[event.type], event)

        loop.fn = compile_batch(
            fns,
            {
                "_src": source,
                "_tk": loop.types,
                "_slow": slow,
                "_hit": hit,
                "_interp": interpret,
                "_E": _FALLBACK_ERRORS,
            },
            all_matches=self._all_matches,
            name=f"batch_{_ident(source)}",
        )
        return loop.fn

    def matching_rules(self, event: Event) -> list[Rule]:
        """The rules that match ``event`` (honouring ``rule_matching``), without making alerts."""
        bucket = self._bucket_for(event.source, event.type, event.fields)
        hit = self._evaluate(bucket, event)
        if self._all_matches:
            return [bucket.rules[i] for i in hit]
        return [] if hit < 0 else [bucket.rules[hit]]

    def _evaluate(self, bucket: _Bucket, event: Event) -> Any:
        try:
            return bucket.fn(event)
        except _FALLBACK_ERRORS:
            return self._interpret(bucket, event)

    def _alert(self, rule: Rule, event: Event) -> Alert:
        stats = self.stats
        stats.alerts += 1
        stats.by_rule[rule.name] += 1
        stats.by_priority[rule.priority] += 1
        made = self.formatter.make_alert(rule, event)
        if rule.response is not None and self.on_response is not None:
            self.on_response(rule, event, made)
        return made

    def _interpret(self, bucket: _Bucket, event: Event) -> Any:
        """Slow path for events whose values are not of the declared types.

        Fields whose extractor raised or whose value has the wrong type are
        counted per field and rule (``EngineStats.field_errors``) and logged
        once per field, so that they never silently read as "no match".
        """
        self.stats.mistyped_events += 1
        hits = []
        matched_indexed = False
        for i, rule in enumerate(bucket.rules):
            if self._all_matches and matched_indexed and self._is_catch_all(rule):
                break
            errors: dict[str, str] = {}
            matched = evaluate(rule.checked.ir, event.fields, errors.setdefault)
            if errors:
                self._field_errors(rule, event, errors)
            if matched:
                if not self._all_matches:
                    return i
                hits.append(i)
                matched_indexed = not self._is_catch_all(rule)
        return hits if self._all_matches else -1

    def _field_errors(self, rule: Rule, event: Event, errors: dict[str, str]) -> None:
        counts = self.stats.field_errors
        for key, reason in errors.items():
            counts[key, rule.name] += 1
            if key not in self._logged_fields and len(self._logged_fields) < _MAX_LOGGED_FIELDS:
                self._logged_fields.add(key)
                _log.warning(
                    "field %s on an event of type %s (source %s): %s; the conditions "
                    "reading it are false there (counted per field and rule, logged "
                    "once per field)",
                    key,
                    event.type,
                    event.source,
                    reason,
                )

    def field_error_lines(self) -> list[str]:
        """The run summary's report of extraction errors: a total, then one line per field and rule."""
        counts = self.stats.field_errors
        if not counts:
            return []
        lines = [f"Field extraction errors: {sum(counts.values())}"]
        lines += [f"   {key} (rule {rule}): {n}" for (key, rule), n in sorted(counts.items())]
        return lines

    def _is_catch_all(self, rule: Rule) -> bool:
        ts = self._typesets.get(rule.name)
        return ts is not None and ts.is_empty

    # -- indexing ---------------------------------------------------------------------
    def _bucket_for(
        self, source: str, evt_type: str | None, fields: FieldValues | None = None
    ) -> _Bucket:
        """The bucket for events of this source and type, built and cached on first use.

        Only the rules of sources indexed by event type (the syscall source) are
        bucketed by type; other sources have one bucket. Types that no rule
        names share one bucket, so arbitrary type strings in input cannot grow
        the cache without bound.
        """
        by_type = self._buckets.setdefault(source, {})
        bucket = by_type.get(evt_type)
        if bucket is not None:
            return bucket
        if source not in self._indexed:
            index_type: str | None = None
        elif evt_type is None or evt_type in self._mentioned.get(source, frozenset()):
            index_type = evt_type
        else:
            index_type = _OTHER_TYPE
        bucket = by_type.get(index_type)
        if bucket is None:
            if source not in self._subscript and fields is not None:
                # decided once per source, by the first event's class: buckets of one source
                # share a batch loop (either form gives the same values, see compile_bucket)
                self._subscript[source] = type(fields).get is not dict.get
            bucket = by_type[index_type] = self._build(source, index_type)
        if len(by_type) < _MAX_CACHED_TYPES:
            by_type[evt_type] = bucket
        return bucket

    def _build(self, source: str, evt_type: str | None) -> _Bucket:
        rules = [r for r in self.rules if r.source == source]
        if source in self._indexed:
            indexed = [
                r
                for r in rules
                if not self._typesets[r.name].is_empty and evt_type in self._typesets[r.name]
            ]
            catch_all = [r for r in rules if self._typesets[r.name].is_empty]
            rules = indexed + catch_all
            split = len(indexed) if catch_all else None
        else:
            split = None
        # _OTHER_TYPE folds every evt.type check as for a name no rule mentions;
        # None (an event without a type) folds nothing.
        trees = [simplify(r.checked.ir, evt_type) for r in rules]
        fn = compile_bucket(
            trees,
            all_matches=self._all_matches,
            catch_all_from=split,
            name=f"bucket_{_ident(source)}_{_ident(evt_type or 'any')}",
            subscript_reads=self._subscript.get(source, False),
        )
        return _Bucket(fn, rules)


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40] or "x"
