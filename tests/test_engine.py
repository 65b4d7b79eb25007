"""The engine: indexing by event type, Falco's evaluation order, rule matching modes,
priority and enable/disable selection, missing-field semantics, mistyped events."""

from __future__ import annotations

from typing import Any

import pytest

from secengine import engine as engine_module
from secengine.engine import Engine, RuleSelection
from secengine.events import MISSING, Event, FieldValues
from secengine.fields.live import LiveFieldValues
from secengine.output import AlertFormatter
from secengine.priority import Priority
from secengine.sources.specs import load_rules

RULES = """
- list: shells
  items: [bash, sh]
- macro: spawned_process
  condition: evt.type in (execve, execveat)
- macro: container
  condition: container.id != host
- rule: Shell in container
  desc: a shell in a container
  condition: spawned_process and container and proc.name in (shells)
  output: shell %proc.name in %container.id (parent=%proc.pname)
  priority: WARNING
  tags: [shell, container]
- rule: Any exec of bash
  desc: bash anywhere
  condition: spawned_process and proc.name = bash
  output: bash ran
  priority: NOTICE
  tags: [shell]
- rule: Read shadow
  desc: shadow read
  condition: evt.type in (open, openat) and fd.name startswith /etc/shadow
  output: shadow read by %proc.name
  priority: ERROR
- rule: Not an exec
  desc: uses a complement type set
  condition: evt.type != execve and proc.name = weird
  output: weird %evt.type
  priority: DEBUG
- rule: Never
  desc: statically empty
  condition: evt.num = 0
  output: never
  priority: INFO
- rule: Catch all by name
  desc: no evt.type at all
  condition: proc.name = bash and not proc.pname = sshd
  output: catch-all %proc.name
  priority: INFO
  enabled: false
"""


def engine(**kw) -> Engine:  # type: ignore[no-untyped-def]
    rs = load_rules([("rules.yaml", RULES)])
    assert rs.successful, rs.render_text()
    return Engine(rs, formatter=AlertFormatter(hostname="h"), **kw)


def ev(**fields) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        "syscall",
        1_700_000_000_000_000_000,
        FieldValues({k.replace("__", "."): v for k, v in fields.items()}),
    )


def names(alerts) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.rule for a in alerts]


def test_first_match_wins_in_definition_order() -> None:
    e = engine()
    alerts = e.process(ev(evt__type="execve", proc__name="bash", container__id="abc123"))
    assert names(alerts) == ["Shell in container"]
    assert alerts[0].priority is Priority.WARNING


def test_all_matches() -> None:
    e = engine(rule_matching="all")
    alerts = e.process(ev(evt__type="execve", proc__name="bash", container__id="abc123"))
    assert names(alerts) == ["Shell in container", "Any exec of bash"]


def test_index_by_type() -> None:
    e = engine(rule_matching="all")
    assert names(e.process(ev(evt__type="openat", fd__name="/etc/shadow", proc__name="cat"))) == [
        "Read shadow"
    ]
    # the same fields on another event type match nothing
    assert e.process(ev(evt__type="close", fd__name="/etc/shadow", proc__name="cat")) == []
    # a complement set: every type but execve
    assert names(e.process(ev(evt__type="close", proc__name="weird"))) == ["Not an exec"]
    assert e.process(ev(evt__type="execve", proc__name="weird")) == []


def test_missing_field_makes_comparison_false() -> None:
    e = engine()
    # container.id missing: `container.id != host` is false, so not "in a container"
    assert names(e.process(ev(evt__type="execve", proc__name="bash"))) == ["Any exec of bash"]


def test_min_priority() -> None:
    e = engine(min_priority=Priority.WARNING)
    assert names(e.process(ev(evt__type="execve", proc__name="bash", container__id="c"))) == [
        "Shell in container"
    ]
    assert e.process(ev(evt__type="execve", proc__name="bash")) == []
    assert [r.name for r in e.rules] == ["Shell in container", "Read shadow"]


def test_selections_by_glob_and_tag() -> None:
    e = engine(
        selections=[
            RuleSelection("disable", tag="container"),
            RuleSelection("enable", rule="Catch all*"),
        ],
        rule_matching="all",
    )
    alerts = e.process(
        ev(evt__type="execve", proc__name="bash", container__id="c", proc__pname="cron")
    )
    assert names(alerts) == ["Any exec of bash", "Catch all by name"]


def test_mistyped_values_fall_back_to_interpreter() -> None:
    e = engine()
    # proc.name is a number here: string comparisons are simply false, nothing crashes
    alerts = e.process(ev(evt__type="openat", fd__name=5, proc__name=5))
    assert alerts == []
    assert e.stats.mistyped_events == 1


def test_stats_count_alerts_per_rule() -> None:
    e = engine()
    e.process_batch(
        [
            ev(evt__type="execve", proc__name="bash"),
            ev(evt__type="execve", proc__name="bash"),
            ev(evt__type="openat", fd__name="/etc/shadow", proc__name="cat"),
        ]
    )
    assert e.stats.events == 3
    assert e.stats.by_rule == {"Any exec of bash": 2, "Read shadow": 1}


def test_alert_carries_rendered_output() -> None:
    e = engine()
    [alert] = e.process(ev(evt__type="execve", proc__name="bash", container__id="c1"))
    assert alert.output.endswith("Warning shell bash in c1 (parent=<NA>)")
    assert alert.output_fields["proc.pname"] is None
    assert alert.tags == ["container", "shell"] or tuple(alert.tags) == ("container", "shell")


def test_bad_rule_matching_value() -> None:
    with pytest.raises(ValueError):
        engine(rule_matching="some")  # type: ignore[arg-type]


NET_RULES = """
- rule: Either end in 10/8 on ssh
  desc: fd.net and fd.port match either end of the connection
  condition: evt.type=connect and fd.net = 10.0.0.0/8 and fd.port = 22 and not fd.snet = 192.168.0.0/16
  output: x %fd.name
  priority: INFO
- rule: Either end is 1.2.3.4
  desc: fd.ip
  condition: evt.type=connect and fd.ip = 1.2.3.4
  output: y
  priority: INFO
"""


@pytest.mark.parametrize(
    "fields,expected",
    [
        (
            {"fd.cip": "10.1.1.1", "fd.sip": "8.8.8.8", "fd.cport": 5000, "fd.sport": 22},
            ["Either end in 10/8 on ssh"],
        ),
        (
            {"fd.cip": "8.8.8.8", "fd.sip": "10.1.1.1", "fd.cport": 22, "fd.sport": 5000},
            ["Either end in 10/8 on ssh"],
        ),
        ({"fd.cip": "10.1.1.1", "fd.sip": "192.168.1.1", "fd.cport": 5000, "fd.sport": 22}, []),
        (
            {"fd.cip": "1.2.3.4", "fd.sip": "8.8.8.8", "fd.cport": 5000, "fd.sport": 23},
            ["Either end is 1.2.3.4"],
        ),
        ({"fd.cport": 22}, []),
    ],
)
def test_either_end_network_fields(fields, expected) -> None:  # type: ignore[no-untyped-def]
    rs = load_rules([("net.yaml", NET_RULES)])
    assert rs.successful, rs.render_text()
    e = Engine(rs, formatter=AlertFormatter(hostname="h"))
    assert (
        names(e.process(Event("syscall", 0, FieldValues(dict(fields, **{"evt.type": "connect"})))))
        == expected
    )


def test_event_number_and_time_fields_come_from_the_event() -> None:
    rs = load_rules(
        [
            (
                "t.yaml",
                """
- rule: Numbered and timed
  desc: evt.num and evt.time* read the event itself
  condition: evt.type=open and evt.num = 3 and evt.rawtime > 5 and evt.time.iso8601 startswith "2023-"
  output: n=%evt.num
  priority: INFO
""",
            )
        ]
    )
    e = Engine(rs, formatter=AlertFormatter(hostname="h"))
    [alert] = e.process(Event("syscall", 1_700_000_000_000_000_000, {"evt.type": "open"}, num=3))
    assert alert.output.endswith("n=3")
    assert e.process(Event("syscall", 1_700_000_000_000_000_000, {"evt.type": "open"}, num=4)) == []
    # another year: the time condition is false
    assert e.process(Event("syscall", 1_800_000_000_000_000_000, {"evt.type": "open"}, num=3)) == []


# -- extraction errors: counted per field and rule, never a silent no-match ------------------


def test_a_wrong_typed_field_map_value_is_counted_per_field_and_rule(
    caplog: pytest.LogCaptureFixture,
) -> None:
    e = engine()
    # fd.name is a number: `startswith` cannot apply, the rule cannot match, and that is counted
    with caplog.at_level("WARNING", logger="secengine.engine"):
        assert e.process(ev(evt__type="openat", fd__name=5, proc__name="cat")) == []
        assert e.process(ev(evt__type="openat", fd__name=6, proc__name="cat")) == []
    assert e.stats.mistyped_events == 2
    assert e.stats.field_errors == {("fd.name", "Read shadow"): 2}
    # logged once per field, naming the field and the event type
    logged = [r.getMessage() for r in caplog.records if "fd.name" in r.getMessage()]
    assert len(logged) == 1
    assert "openat" in logged[0] and "int" in logged[0]


def test_well_typed_events_count_no_extraction_error() -> None:
    e = engine()
    e.process_batch(
        [
            ev(evt__type="openat", fd__name="/etc/shadow", proc__name="cat"),
            ev(evt__type="execve", proc__name="bash"),
        ]
    )
    assert e.stats.mistyped_events == 0
    assert e.stats.field_errors == {}


class _Rec:
    """What the live extractors read of a decoded record (an exec of pid 7)."""

    name = "execve"
    evt = 2
    ts = tid = pid = 7
    res = 0
    args = (0,) * 6


class _FailingProcess:
    """A process whose command name cannot be read, as a buggy live extractor would fail."""

    container_id = "c" * 64
    pid = 7

    def __init__(self, error: Exception) -> None:
        self.error = error

    @property
    def comm(self) -> str:
        raise self.error


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("comm"), TypeError("bad")])
def test_an_extractor_that_raises_is_counted_not_a_silent_no_match(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    e = engine()
    fields = LiveFieldValues(
        _Rec(),
        _FailingProcess(error),
        -1,
        None,
        False,  # type: ignore[arg-type]
        None,
    )  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="secengine.engine"):
        assert e.process(Event("syscall", 1, fields)) == []
    assert e.stats.field_errors == {
        ("proc.name", "Shell in container"): 1,
        ("proc.name", "Any exec of bash"): 1,
    }
    [logged] = [r.getMessage() for r in caplog.records if "proc.name" in r.getMessage()]
    assert "execve" in logged and type(error).__name__ in logged


def test_a_wrong_typed_value_in_a_check_without_inline_code_is_counted_too() -> None:
    # transformers are evaluated by a closure in the generated code: it must not swallow the
    # failure, or the event never reaches the counting fallback
    rs = load_rules(
        [
            (
                "rules.yaml",
                """
- rule: Upper bash
  desc: d
  condition: evt.type = execve and toupper(proc.name) = BASH
  output: o
  priority: INFO
""",
            )
        ]
    )
    e = Engine(rs, formatter=AlertFormatter(hostname="h"))
    assert e.process(ev(evt__type="execve", proc__name=5)) == []
    assert e.stats.mistyped_events == 1
    assert e.stats.field_errors == {("proc.name", "Upper bash"): 1}
    assert names(e.process(ev(evt__type="execve", proc__name="bash"))) == ["Upper bash"]


# -- the batch loop (codegen.compile_batch): one generated loop per source and batch ---------
def _mixed_events() -> list[Event]:
    """Every path through a batch loop: each bucket, types met first mid-batch, another
    source, an event without a type, mistyped values (the interpreter's fallback).
    Each event's timestamp is its position, so that an alert names its event."""
    kinds = [
        ("syscall", {"evt.type": "execve", "proc.name": "bash", "container.id": "c1"}),
        ("syscall", {"evt.type": "execveat", "proc.name": "sh", "container.id": "host"}),
        ("syscall", {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "cat"}),
        ("syscall", {"proc.name": "weird"}),  # evt.type set below: many types, met late
        ("syscall", {"evt.type": "openat", "fd.name": 5, "proc.name": 5}),
        ("other", {"evt.type": "execve", "proc.name": "bash"}),
        ("syscall", {"proc.name": "weird"}),  # no type at all
        ("syscall", {"evt.type": "close", "proc.name": "weird", "proc.pname": "sshd"}),
    ]
    out = []
    for i in range(800):
        source, fields = kinds[i % len(kinds)]
        if i % len(kinds) == 3:
            fields = dict(fields, **{"evt.type": f"type{i % 37}"})
        out.append(Event(source, i, FieldValues(fields)))
    return out


@pytest.fixture
def early_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch loops compiled after 100 events, again after 50 outside them (not tens of thousands)."""
    monkeypatch.setattr(engine_module, "_LOOP_AFTER", 100)
    monkeypatch.setattr(engine_module, "_RECOMPILE_AFTER", 50)


@pytest.mark.parametrize("matching", ["first", "all"])
@pytest.mark.usefixtures("early_loops")
def test_batches_give_the_alerts_of_one_event_at_a_time(matching: str) -> None:
    """Events one at a time, then (mid-batch) a batch loop compiled part-way (buckets built
    mid-batch, the loop compiled again), then steady, give in event order the alerts of
    evaluating each event alone."""
    one = engine(rule_matching=matching)
    expected = [(a.rule, a.time) for e in _mixed_events() for a in one.process(e)]
    rules = {"Shell in container", "Read shadow", "Not an exec"}
    assert {r for r, _ in expected} == rules | (
        {"Any exec of bash"} if matching == "all" else set()
    )
    batched = engine(rule_matching=matching)
    for _ in range(3):  # the first batch builds the buckets as it meets them
        got = [(a.rule, a.time) for a in batched.process_batch(_mixed_events())]
        assert got == expected
    assert batched.stats.events == 3 * len(_mixed_events())
    assert batched.stats.mistyped_events == 3 * one.stats.mistyped_events > 0
    loop = batched._loops["syscall"]
    assert loop.before == 100
    assert "def batch_syscall" in loop.fn.__secengine_source__  # type: ignore[union-attr]


@pytest.mark.parametrize("matching", ["first", "all"])
@pytest.mark.usefixtures("early_loops")
def test_an_error_making_an_alert_in_the_batch_loop_is_not_taken_for_a_mistyped_value(
    matching: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A match leaves the loop's code by an exception of its own and its alerts are made
    outside the ``try`` that sends mistyped values to the interpreter: a TypeError raised
    while making an alert propagates, once, instead of evaluating the event again."""
    e = engine(rule_matching=matching)
    e.process_batch(_mixed_events())  # the loop is compiled
    assert e._loops["syscall"].fn is not None
    mistyped = e.stats.mistyped_events
    made: list[str] = []

    def broken(self: AlertFormatter, rule: Any, event: Event) -> Any:
        made.append(rule.name)
        raise TypeError("formatter fault")

    monkeypatch.setattr(AlertFormatter, "make_alert", broken)
    shell = Event(
        "syscall", 1, FieldValues({"evt.type": "execve", "proc.name": "bash", "container.id": "c1"})
    )
    with pytest.raises(TypeError, match="formatter fault"):
        e.process_batch([shell] * 3)
    assert made == ["Shell in container"]
    assert e.stats.mistyped_events == mistyped


class _LazyValues(FieldValues):
    """Values computed on first read, with ``get`` in Python (as the live source's)."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:
        value = self[key]
        return default if value is MISSING else value


@pytest.mark.usefixtures("early_loops")
def test_a_source_whose_values_have_a_python_get_is_read_through_subscripts() -> None:
    """Its buckets read `fields[key]` (one Python call less per read than its `get`), with
    the alerts of the other form, one at a time and in the batch loop."""
    lazy, plain = engine(), engine()
    for _ in range(2):
        events = _mixed_events()
        want = [(a.rule, a.time) for a in plain.process_batch(events)]
        again = [Event(e.source, e.ts, _LazyValues(e.fields)) for e in events]
        assert [(a.rule, a.time) for a in lazy.process_batch(again)] == want
    source = lazy._bucket_for("syscall", "execve").fn.__secengine_source__  # type: ignore[attr-defined]
    assert "f['proc.name']" in source and "g('" not in source
    assert "g('proc.name', M)" in plain._bucket_for("syscall", "execve").fn.__secengine_source__  # type: ignore[attr-defined]


@pytest.mark.usefixtures("early_loops")
def test_code_reading_through_subscripts_binds_no_get() -> None:
    """Binding `f.get` costs a method object per event: code that never calls it (a source
    read through subscripts) does not bind it, one at a time or in the batch loop."""
    lazy, plain = engine(), engine()
    for _ in range(3):
        events = _mixed_events()
        want = [(a.rule, a.time) for a in plain.process_batch(events)]
        again = [Event(e.source, e.ts, _LazyValues(e.fields)) for e in events]
        assert [(a.rule, a.time) for a in lazy.process_batch(again)] == want
    for eng, binds in ((lazy, False), (plain, True)):
        loop = eng._loops["syscall"].fn
        assert loop is not None
        bucket = eng._bucket_for("syscall", "execve").fn
        for source in (loop.__secengine_source__, bucket.__secengine_source__):  # type: ignore[attr-defined]
            assert ("g = f.get" in source) is binds, source


def test_short_runs_compile_no_batch_loop() -> None:
    """Below _LOOP_AFTER events a source's events are evaluated one at a time: compiling
    the loop would cost a short replay more than it saves."""
    e = engine()
    e.process_batch(_mixed_events())
    assert e._loops["syscall"].fn is None


@pytest.mark.usefixtures("early_loops")
def test_a_literal_holding_the_code_words_survives_the_batch_loop() -> None:
    """Where a bucket gives its answer is marked by a character no literal can hold (NUL: the
    language refuses it and repr escapes it): a
    rule's string that reads like code changes nothing."""
    rules = """
- rule: Odd literal
  desc: a literal that looks like the generated code
  condition: "evt.type = execve and proc.cmdline contains 'return 1; break'"
  output: odd
  priority: INFO
"""
    rs = load_rules([("rules.yaml", rules)])
    assert rs.successful, rs.render_text()
    e = Engine(rs, formatter=AlertFormatter(hostname="h"))
    hit = Event(
        "syscall",
        1,
        FieldValues({"evt.type": "execve", "proc.cmdline": "x return 1; break", "proc.name": "x"}),
    )
    miss = Event(
        "syscall", 2, FieldValues({"evt.type": "execve", "proc.cmdline": "x", "proc.name": "x"})
    )
    for _ in range(2):
        assert [a.time for a in e.process_batch([miss, hit, miss] * 200)] == [1] * 200
