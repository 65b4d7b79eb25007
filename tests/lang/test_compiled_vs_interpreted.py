"""The compiled bucket functions must agree with the reference interpreter (hypothesis).

Conditions are generated as text over a fake field class covering every kind
(so parsing and checking are exercised too), combined with and/or/not, and
evaluated on generated events where any field may be missing. Rules share
sub-conditions on purpose, to exercise the per-event memoisation of shared
subtrees, and evt.type checks are folded per bucket.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secengine.events import MISSING, Event, FieldValues
from secengine.lang import check_condition, codegen, parse_condition
from secengine.lang.codegen import _INLINE_AFTER, compile_bucket, prefix_bounds
from secengine.lang.interpreter import evaluate
from secengine.lang.ir import IBool
from secengine.lang.simplify import simplify

WORDS = ["bash", "sh", "/usr/bin/x", "/etc/shadow", "Bash", "", "a b", "/tmp/x.so", "runc:[0:P]"]
TYPES = ["open", "execve", "connect"]
IPS = ["10.0.0.1", "192.168.1.5", "::1", "10.1.2.3"]

quoted = st.sampled_from(WORDS).map(lambda w: '"' + w + '"')
num_lit = st.integers(-5, 5).map(str)


def _list(items: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(items, min_size=0, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ")")


str_field = st.sampled_from(["t.str", "t.str2", "t.env[HOME]", "t.anc[1]", "t.arg.flags"])
string_check = st.one_of(
    st.tuples(str_field, st.sampled_from(["<", ">=", ">"]), num_lit).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(
        str_field,
        st.sampled_from(
            ["=", "==", "!=", "contains", "icontains", "startswith", "endswith", "glob", "iglob"]
        ),
        quoted,
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(str_field, st.sampled_from(["in", "intersects", "pmatch"]), _list(quoted)).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(
        str_field,
        st.sampled_from(["startswith", "endswith", "contains", "="]),
        st.sampled_from(["oneof", "anyof", "allof"]),
        _list(quoted),
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]}"),
    st.tuples(
        str_field, st.sampled_from(["regex"]), st.sampled_from(["'b.*'", "'/etc/.*'", "'x'"])
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(
        str_field,
        st.sampled_from(["=", "!=", "contains"]),
        st.sampled_from(["val(t.str)", "tolower(t.str2)"]),
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    str_field.map(lambda f: f"{f} exists"),
)
number_check = st.one_of(
    st.tuples(
        st.sampled_from(["t.num", "t.unum"]),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        num_lit,
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(
        st.sampled_from(["t.num", "t.unum"]), st.sampled_from(["in", "intersects"]), _list(num_lit)
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.sampled_from(["len(t.str) > 3", "len(t.list) = 2", "t.num exists"]),
)
other_check = st.one_of(
    st.sampled_from(
        [
            "t.bool = true",
            "t.bool != false",
            "t.bool exists",
            "t.ip = 10.0.0.1",
            "t.ip != ::1",
            "t.ip in (10.0.0.1, 192.168.1.5)",
            "t.net = 10.0.0.0/8",
            "t.buf contains abc",
            "t.buf bcontains 6162",
            "t.buf startswith ab",
        ]
    ),
    st.tuples(
        st.sampled_from(["t.list", "t.anc"]), st.sampled_from(["in", "intersects"]), _list(quoted)
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(
        st.sampled_from(["t.anc"]), st.sampled_from(["=", "!=", "startswith", "contains"]), quoted
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.sampled_from(["t.list exists", "t.anc exists"]),
    st.tuples(st.sampled_from(["=", "!="]), st.sampled_from(TYPES)).map(
        lambda t: f"evt.type {t[0]} {t[1]}"
    ),
    st.sampled_from(["evt.type in (open, execve)", "evt.type in (connect)"]),
)
leaf = st.one_of(string_check, number_check, other_check)


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        children.map(lambda c: f"not {c}"),
    )


condition = st.recursive(leaf, combine, max_leaves=8)

event = st.fixed_dictionaries(
    {},
    optional={
        "t.str": st.sampled_from(WORDS) | st.none(),
        "t.str2": st.sampled_from(WORDS),
        "t.env[HOME]": st.sampled_from(WORDS),
        "t.anc[1]": st.sampled_from(WORDS),
        "t.arg.flags": st.sampled_from(["O_RDONLY|O_CLOEXEC", "O_TRUNC", ""]),
        "t.num": st.integers(-6, 6) | st.none(),
        "t.unum": st.integers(0, 6) | st.just(2**32 - 1),
        "t.bool": st.booleans(),
        "t.ip": st.sampled_from(IPS),
        "t.buf": st.sampled_from(["abc", "xab", ""]),
        "t.list": st.lists(st.sampled_from(WORDS), max_size=3),
        "t.anc": st.lists(st.sampled_from(WORDS), max_size=3),
    },
)


class LazyValues(FieldValues):
    """Like the live source's values: ``get`` is a Python method going through ``__missing__``."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:
        value = self[key]
        return default if value is MISSING else value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(condition, min_size=1, max_size=4),
    st.lists(event, min_size=1, max_size=4),
    st.sampled_from(TYPES),
    st.booleans(),
    st.sampled_from([(FieldValues, False), (LazyValues, True), (FieldValues, True)]),
)
def test_compiled_agrees_with_interpreter(
    registry, texts, events, evt_type, all_matches, reads
) -> None:  # type: ignore[no-untyped-def]
    # Rules that share sub-conditions, like rules that use the same macros; every field
    # read through `get` or (subscript_reads, as for live events) through `[]`.
    values_class, subscript = reads
    texts = texts + [f"({texts[0]}) and ({t})" for t in texts[1:]]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    folded = [simplify(ir, evt_type) for ir in irs]
    fn = compile_bucket(folded, all_matches=all_matches, subscript_reads=subscript)
    if subscript:
        assert "g('" not in fn.__secengine_source__
    for values in events:
        values = dict(values, **{"evt.type": evt_type})
        ev = Event("test", 0, values_class(values))
        expected = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
        try:
            got = fn(ev)
        except (TypeError, AttributeError, ValueError):
            # The documented escape hatch: the engine re-evaluates such an event with the
            # interpreter. Only values outside the declared types (JSON null here) may use it.
            assert None in values.values(), (texts, values, fn.__secengine_source__)
            continue
        if all_matches:
            assert got == expected, (texts, values, fn.__secengine_source__)
        else:
            assert got == (expected[0] if expected else -1), (
                texts,
                values,
                fn.__secengine_source__,
            )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(condition, min_size=1, max_size=4),
    st.lists(
        st.tuples(st.sampled_from([*TYPES, "close"]), st.sampled_from(["test", "other"]), event),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_batch_loop_agrees_with_interpreter(registry, texts, events, all_matches) -> None:  # type: ignore[no-untyped-def]
    """One loop over a batch (:func:`compile_batch`) with the code of every bucket inline
    answers for each event what the interpreter does; events of another source or of a
    type it has no bucket for go to ``_slow``; values it cannot compare, to ``_interp``."""
    texts = texts + [f"({texts[0]}) and ({t})" for t in texts[1:]]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    fns = {
        t: compile_bucket([simplify(ir, t) for ir in irs], all_matches=all_matches) for t in TYPES
    }
    distinct = list(dict.fromkeys(fns.values()))
    built = [
        (Event(src, i, FieldValues(dict(v, **{"evt.type": t}))), t)
        for i, (t, src, v) in enumerate(events)
    ]

    def answer(ev: Event) -> object:
        found = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
        return found if all_matches else (found[0] if found else -1)

    helpers = {
        "_src": "test",
        "_tk": {t: distinct.index(fn) for t, fn in fns.items()},
        "_slow": lambda ev, out: out.append(("slow", ev.ts)),
        "_hit": lambda x, ev, out: out.append(("hit", ev.ts, x)),
        "_interp": answer,
        "_E": (TypeError, AttributeError, ValueError),
    }
    loop = codegen.compile_batch(distinct, helpers, all_matches=all_matches, name="batch")
    out: list[object] = []
    assert loop(iter([ev for ev, _ in built]), out) is False
    expected: list[object] = []
    for ev, t in built:
        if ev.source != "test" or t not in fns:
            expected.append(("slow", ev.ts))
        elif (found := answer(ev)) not in ([], -1):
            expected.append(("hit", ev.ts, found))
    assert out == expected, (texts, loop.__secengine_source__)  # type: ignore[attr-defined]


# -- the compiler's own rewrites, each driven where it triggers ---------------------------
# Dispatch on one field's value (codegen._dispatch_plan) needs many equality tests of that
# field; cost ordering needs costly leaves (regex, glob, val(), addresses) beside cheap ones;
# per-event read caching needs fields read by several tests. These conditions lean that way.
EQ_WORDS = ["bash", "sh", "zsh", "find", "grep", ""]
eq_quoted = st.sampled_from(EQ_WORDS).map(lambda w: '"' + w + '"')
eq_check = st.one_of(
    st.tuples(st.sampled_from(["=", "!="]), eq_quoted).map(lambda t: f"t.str {t[0]} {t[1]}"),
    _list(eq_quoted).map(lambda xs: f"t.str in {xs}"),
    st.tuples(st.sampled_from(["=", "!="]), st.integers(-2, 2)).map(
        lambda t: f"t.num {t[0]} {t[1]}"
    ),
    st.sampled_from(["t.bool = true", "t.bool = false", "t.bool != true"]),
)
costly_check = st.sampled_from(
    [
        "t.str2 regex 'b.*'",
        "t.str glob '*sh'",
        "t.str2 = val(t.str)",
        "t.ip = 10.0.0.1",
        "t.str pmatch (/usr, /etc)",
        "t.str = tolower(t.str2)",
        "t.str2 contains abc",
    ]
)
dispatch_leaf = st.one_of(eq_check, eq_check, costly_check, string_check)
dispatch_condition = st.recursive(dispatch_leaf, combine, max_leaves=10)
dispatch_event = st.fixed_dictionaries(
    {},
    optional={
        "t.str": st.sampled_from([*EQ_WORDS, "dash", "Bash"]) | st.none() | st.integers(0, 2),
        "t.str2": st.sampled_from(WORDS),
        "t.num": st.integers(-3, 3) | st.none() | st.booleans(),
        "t.bool": st.booleans() | st.none() | st.integers(0, 1),
        "t.ip": st.sampled_from(IPS),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(dispatch_condition, min_size=2, max_size=6),
    st.lists(dispatch_event, min_size=1, max_size=6),
    st.booleans(),
)
def test_dispatch_ordering_and_caching_agree_with_interpreter(
    registry,
    texts,
    events,  # type: ignore[no-untyped-def]
    all_matches,
) -> None:
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    fn = compile_bucket(
        [simplify(ir, "open") for ir in irs],
        all_matches=all_matches,
        catch_all_from=len(irs) // 2 if all_matches else None,
    )
    # each event twice: its group's code runs as a function of its own, then inline
    try:
        codegen._INLINE_AFTER = 2
        _check_events(irs, fn, [*events, *events], all_matches, texts)
    finally:
        codegen._INLINE_AFTER = _INLINE_AFTER


def _check_events(irs, fn, events, all_matches, texts) -> None:  # type: ignore[no-untyped-def]
    for values in events:
        ev = Event("test", 0, FieldValues(dict(values, **{"evt.type": "open"})))
        hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
        if all_matches:
            split = len(irs) // 2
            first = [i for i in hits if i < split]
            expected: object = first or [i for i in hits if i >= split]
        else:
            expected = hits[0] if hits else -1
        try:
            got = fn(ev)
        except (TypeError, AttributeError, ValueError):
            # the engine's escape hatch: only for values outside the declared types
            assert any(v is None or type(v) in (int, bool) for v in values.values()), (
                texts,
                values,
                fn.__secengine_source__,
            )
            continue
        assert got == expected, (texts, values, fn.__secengine_source__)


def test_bucket_dispatches_on_the_field_most_tests_compare(registry) -> None:  # type: ignore[no-untyped-def]
    texts = [
        't.str in ("bash", "sh") and t.str2 = x',
        "t.str = find and t.num > 1",
        "t.str = grep and t.str2 contains y",
        't.str in ("bash", "zsh") and t.bool = true',
        "t.num = 3 or t.str2 startswith /tmp",
    ]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=True)
    # one lookup of the value decides the group (missing and null included)
    assert re.search(r"k = _tb\d+_\(g\('t.str', M\), 0\)", fn.__secengine_source__)
    assert "if k ==" not in fn.__secengine_source__  # each group's code comes with its first event
    code = fn.__code__

    def check(value: object) -> None:
        fields = {"t.str2": "x", "t.num": 3, "t.bool": True, "evt.type": "open"}
        if value is not None:
            fields["t.str"] = value
        ev = Event("test", 0, FieldValues(fields))
        assert fn(ev) == [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)], value

    for value in ("bash", "sh", "zsh", "find", "grep", "other", "", None, 7):
        check(value)
    assert fn.__code__ is code  # groups run as functions of their own at first
    for _ in range(_INLINE_AFTER):
        check("sh")
    # a common group's code is then inline: the same function (the engine holds it), new code
    assert fn.__code__ is not code
    assert fn.__secengine_source__.count("if k ==") == 1
    for value in ("bash", "sh", "zsh", "find", "grep", "other", "", None, 7):
        check(value)


def test_catch_all_rules_skipped_after_a_match_even_when_the_first_folded_away() -> None:
    # Rules from catch_all_from on run only if none before matched; the check sat after
    # the skip of a rule folded to False, so a folded first catch-all rule let the rest run.
    fn = compile_bucket(
        [IBool(True), IBool(False), IBool(True)], all_matches=True, catch_all_from=1
    )
    assert fn(Event("test", 0, FieldValues({}))) == [0]


def test_a_repeated_read_is_read_again_only_where_some_paths_made_it(registry) -> None:  # type: ignore[no-untyped-def]
    # t.str2 is read by three rules, never as a first test: assigned in the first rule,
    # read bare later in that conjunction (every path there has read it), and read again
    # (and assigned) in the later rules, where the first rule may have stopped before it:
    # a read costs one C call, while a "was it read?" test needs the local set to None
    # for every event.
    texts = [
        "t.num = 1 and t.str2 contains b and t.str2 endswith z",
        "t.bool = true and t.str2 contains c",
        "t.num = 2 and t.str2 endswith d",
    ]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=False)
    source = fn.__secengine_source__
    assert "('b' in (_r0 := g('t.str2', M))) and _r0.endswith('z')" in source
    assert "('c' in (_r0 := g('t.str2', M)))" in source
    assert "is not None else" not in source
    assert "= None\n" not in source
    for num in (1, 2, 3):
        for flag in (True, False):
            for text in ("bz", "cd", "z", None):
                fields = {"t.num": num, "t.bool": flag, "evt.type": "open"}
                if text is not None:
                    fields["t.str2"] = text
                ev = Event("test", 0, FieldValues(fields))
                hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
                assert fn(ev) == (hits[0] if hits else -1), (fields, source)


def test_a_field_tested_with_icontains_is_lowered_once_per_event(registry) -> None:  # type: ignore[no-untyped-def]
    # Falco's "Search Private Keys or Passwords" tests proc.args icontains ten words:
    # the value is lowered into a local on first use and later tests read the local; in
    # a later rule, where the first may have stopped before lowering, it is lowered again.
    texts = [
        "t.num > 0 and (t.str icontains ab or t.str icontains CD or t.str icontains ef)",
        "t.unum > 1 and (t.str icontains GH or t.str icontains ij)",
        "t.num < 0 and t.str icontains kl",
    ]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    for all_matches in (False, True):
        fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=all_matches)
        source = fn.__secengine_source__
        lowered = re.findall(
            r"'(\w\w)' in \(_l0 := [^()]*(?:\([^()]*\))?[^()]*\.lower\(\)\)", source
        )
        assert lowered == ["ab", "gh", "kl"], source
        assert "('cd' in _l0) or ('ef' in _l0)" in source
        assert "('ij' in _l0)" in source
        assert source.count(".lower()") == 3, source
        for num in (-1, 1, 3):
            for text in ("xAbx", "cD", "EF", "gh", "IJ", "kl", "", None, 7):
                fields: dict[str, Any] = {"t.num": num, "t.unum": num, "evt.type": "open"}
                if text is not None:
                    fields["t.str"] = text
                ev = Event("test", 0, FieldValues(fields))
                hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
                try:
                    got = fn(ev)
                except AttributeError:  # not a string: the engine asks the interpreter
                    assert text == 7
                    continue
                assert got == (hits if all_matches else hits[0] if hits else -1), fields


def test_conjunctions_evaluate_shared_then_selective_then_other_then_negations(registry) -> None:  # type: ignore[no-untyped-def]
    # Rule 0 as Falco's "Directory traversal monitored file read" is written: a macro,
    # an `or` of alternatives, a selective `contains`, an exception list. Its `and`
    # evaluates the shared macro (rule 1 uses it too) first, then the `contains` that
    # few values pass, then the `or`, then the negation; a glob (costly) stays last.
    texts = [
        (
            "(t.bool = true and t.num > 0) and (t.str startswith /etc/ or t.str contains id_rsa)"
            " and not t.str2 in (bash, sh) and t.arg.flags contains ../ and t.str glob '*x*'"
        ),
        "(t.bool = true and t.num > 0) and t.str2 = sh",
    ]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    for all_matches in (False, True):
        fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=all_matches)
        lines = fn.__secengine_source__.split("\n")
        nest = [i for i, line in enumerate(lines) if line.startswith("    if (_m0 := ")]
        assert len(nest) == 1, lines  # both rules nest under the macro
        rule0 = lines[nest[0] + 1]
        order = [rule0.index(part) for part in ("'../' in", "'/etc/'", "not (", "_cb")]
        assert order == sorted(order), rule0
        for flag in (True, False):
            for num in (0, 1):
                for text in ("/etc/x", "a/id_rsa/x", "/tmp", None):
                    for args in ("a/../b", "", None):
                        fields: dict[str, Any] = {"t.bool": flag, "t.num": num, "t.str2": "sh"}
                        fields.update({"t.str": text, "t.arg.flags": args, "evt.type": "open"})
                        ev = Event("test", 0, FieldValues({k: v for k, v in fields.items() if v}))
                        hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
                        want = hits if all_matches else hits[0] if hits else -1
                        assert fn(ev) == want, (fields, fn.__secengine_source__)


def test_a_shared_selective_condition_goes_before_other_shared_ones(registry) -> None:  # type: ignore[no-untyped-def]
    # As Falco's "Read sensitive file ..." rules: `open_read and sensitive_files and ...`.
    # Both macros are shared; sensitive_files (an `or` of `in` tests) passes few events,
    # open_read (a flag, a type, a number) most: both rules nest under sensitive_files.
    macros = (
        "(t.bool = true and t.str = f and t.num >= 0) and (t.str2 in (a, b) or t.env[HOME] in (c))"
    )
    texts = [f"{macros} and t.unum > 1", f"{macros} and not t.unum > 1"]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=False)
    lines = fn.__secengine_source__.split("\n")
    outer = [i for i, line in enumerate(lines) if line.startswith("    if (_m")]
    assert len(outer) == 1 and "in _k" in lines[outer[0]], lines
    assert lines[outer[0] + 1].startswith("        if (_m"), lines  # then open_read, shared
    for flag in (True, False):
        for name in ("a", "x", None):
            for unum in (0, 2):
                fields: dict[str, Any] = {"t.bool": flag, "t.str": "f", "t.num": 1, "t.unum": unum}
                fields.update({"evt.type": "open"}, **({"t.str2": name} if name else {}))
                ev = Event("test", 0, FieldValues(fields))
                hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
                assert fn(ev) == (hits[0] if hits else -1), (fields, lines)


def test_the_field_read_once_at_the_top_is_the_first_one_evaluated(registry) -> None:  # type: ignore[no-untyped-def]
    # Each rule's first test in the order of evaluation (here the selective `contains`,
    # not the `>` written first) runs for every event: its field is read at the top.
    texts = ["t.num > 0 and t.str2 contains q", "t.unum > 1 and t.num < 5"]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=False)
    source = fn.__secengine_source__
    assert "    _f0 = g('t.str2', M)\n    _f1 = g('t.unum', M)\n    if (('q' in _f0)" in source
    for num in (0, 1, 6):
        for text in ("q", "x", None):
            fields: dict[str, Any] = {"t.num": num, "t.unum": num, "evt.type": "open"}
            if text is not None:
                fields["t.str2"] = text
            ev = Event("test", 0, FieldValues(fields))
            hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
            assert fn(ev) == (hits[0] if hits else -1), (fields, source)


def test_rules_sharing_their_first_test_are_nested_under_it(registry) -> None:  # type: ignore[no-untyped-def]
    # Rules 0 and 1 start with the same (shared) test: one `if` on it holds both, and
    # inside it the read of t.str2 that rule 0 made is used bare by rule 1.
    texts = [
        "(t.bool = true or t.str contains x) and t.str2 contains b and t.str endswith z",
        "(t.bool = true or t.str contains x) and t.str2 endswith c",
        # (a glob: costly, evaluated after t.num; a selective `startswith` would go first,
        # and its field would be read once for every event, at the top)
        "t.num > 2 and t.str2 glob 'd*'",
    ]
    irs = [check_condition(parse_condition(t), "test", registry).ir for t in texts]
    for all_matches in (False, True):
        fn = compile_bucket([simplify(ir, "open") for ir in irs], all_matches=all_matches)
        source = fn.__secengine_source__
        head = "    if (_m0 := ((_f0 == True) or ('x' in (_r0 := g('t.str', M))))):\n"
        assert head in source, source
        assert "        if _r1.endswith('c'): " in source, source
        for num in (1, 2, 3):
            for flag in (True, False, None):
                for text in ("bc", "dc", "d", "xbz", None):
                    fields: dict[str, object] = {"t.num": num, "evt.type": "open"}
                    if flag is not None:
                        fields["t.bool"] = flag
                    if text is not None:
                        fields["t.str2"] = fields["t.str"] = text
                    ev = Event("test", 0, FieldValues(fields))
                    hits = [i for i, ir in enumerate(irs) if evaluate(ir, ev.fields)]
                    want = hits if all_matches else (hits[0] if hits else -1)
                    assert fn(ev) == want, (fields, source)


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=6), st.text(max_size=8))
def test_prefix_bounds_decide_startswith(prefix: str, value: str) -> None:
    # compiled `startswith` is two string comparisons; near misses are the interesting case
    for v in (value, prefix + value, prefix[:-1] + value, prefix[:-1]):
        bounds = prefix_bounds(prefix)
        if bounds is None:
            assert prefix == "" or prefix.endswith("\U0010ffff")
            continue
        low, high = bounds
        assert (low <= v < high) == v.startswith(prefix), (prefix, v)


def test_compiled_startswith_is_false_for_missing_and_falls_back_for_other_types(registry) -> None:  # type: ignore[no-untyped-def]
    ir = check_condition(parse_condition("t.str startswith /usr"), "test", registry).ir
    fn = compile_bucket([simplify(ir, "open")], all_matches=False)
    assert ">= '/usr' and _v < '/uss'" in fn.__secengine_source__
    for value, expected in (("/usr/bin", 0), ("/us", -1), ("/usr", 0), ("/ust", -1)):
        assert fn(Event("test", 0, FieldValues({"t.str": value}))) == expected
    assert fn(Event("test", 0, FieldValues({}))) == -1
    for wrong in (None, 3, ["/usr"], b"/usr"):
        with pytest.raises(TypeError):  # the engine then asks the interpreter
            fn(Event("test", 0, FieldValues({"t.str": wrong})))


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4), st.text(max_size=8))
def test_values_starting_with_any_prefix_lie_between_the_outer_bounds(
    prefixes: list[str], value: str
) -> None:
    # several prefixes compile to `low <= v < high and v.startswith(prefixes)`
    bounds = [prefix_bounds(p) for p in prefixes]
    if any(b is None for b in bounds):
        return
    low = min(b[0] for b in bounds if b is not None)
    high = max(b[1] for b in bounds if b is not None)
    for v in [value, *(p + value for p in prefixes)]:
        if v.startswith(tuple(prefixes)):
            assert low <= v < high, (prefixes, v)
