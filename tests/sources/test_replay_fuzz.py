"""Fuzzing the field-map decoder (JSON Lines replay) and the engine on what it decodes.

Properties (docs/fuzzing.md): a line of any bytes gives an event, nothing
(blank) or a :class:`FieldMapError`; a file of any bytes gives events and
``file:line`` rejections, whatever the chunking and line cap, never an
exception, in memory proportional to the input; the shipped rules evaluate
and print events whose field values have any JSON type without raising.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fuzzing import JSON_VALUES, bounded_memory, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from secengine.engine import Engine
from secengine.errors import EventFormatError
from secengine.events import Event, FieldValues
from secengine.fields.base import ArgMode
from secengine.fields.registry import default_registry
from secengine.ruleset.paths import default_rules_files
from secengine.sources.fieldmap import FieldMapError, parse_line
from secengine.sources.replay import ReplaySource
from secengine.sources.specs import load_rules

pytestmark = pytest.mark.fuzz

#: Field keys rules can name for syscall events (bare and with typical arguments).
FIELD_KEYS = sorted(
    {
        f.name
        for c in default_registry().classes_for("syscall")
        for f in c.fields
        if f.arg is not ArgMode.REQUIRED
    }
    | {"proc.aname[2]", "proc.env[HOME]", "evt.arg.flags", "evt.arg[fd]", "fd.name"}
)
EVT_TYPES = [
    "openat",
    "open",
    "execve",
    "connect",
    "accept",
    "unlink",
    "rename",
    "setuid",
    "ptrace",
    "mkdir",
    "bpf",
    "chmod",
    "sendto",
    "clone",
    "procexit",
]

envelopes = st.fixed_dictionaries(
    {
        "time": st.integers(-(2**63), 2**63 - 1) | st.text(max_size=30) | JSON_VALUES,
        "fields": st.dictionaries(
            st.sampled_from(FIELD_KEYS) | st.text(max_size=10), JSON_VALUES, max_size=6
        )
        | JSON_VALUES,
    },
    optional={"source": st.sampled_from(["syscall", "k8s_audit", ""]) | JSON_VALUES},
)


@fuzz_settings(short=300)
@given(st.binary(max_size=200) | envelopes.map(orjson.dumps))
def test_any_line(line: bytes) -> None:
    try:
        event = parse_line(line, num=1)
    except FieldMapError as e:
        assert str(e)
        return
    assert event is None or isinstance(event, Event)


@fuzz_settings(short=100)
@given(
    st.lists(
        st.binary(max_size=100)
        | envelopes.map(orjson.dumps)
        | st.sampled_from([b"", b"\r", b"\x1f\x8b\x08", b"{", b'{"time": 1}']),
        max_size=10,
    ).map(b"\n".join),
    st.integers(1, 300),
    st.integers(1, 300),
)
def test_file_of_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, max_line: int, chunk: int
) -> None:
    path: Path = tmp_path_factory.mktemp("replay") / "events.jsonl"
    path.write_bytes(data)
    errors: list[EventFormatError] = []
    src = ReplaySource([path], on_error=errors.append, max_line_size=max_line, chunk_size=chunk)
    with bounded_memory(64 * len(data) + (1 << 20)):
        events = list(src)
    assert src.stats.events == len(events)
    assert src.stats.rejected == len(errors)
    assert all(str(e).startswith(f"{path}:") for e in errors)


@pytest.fixture(scope="module")
def shipped_engine() -> Engine:
    rs = load_rules([str(p) for p in default_rules_files()])
    assert rs.successful
    return Engine(rs, rule_matching="all")


@st.composite
def mistyped_events(draw: st.DrawFn) -> Event:
    fields: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(FIELD_KEYS), JSON_VALUES, max_size=12)
    )
    fields["evt.type"] = draw(st.sampled_from(EVT_TYPES) | JSON_VALUES)
    return Event("syscall", draw(st.integers(0, 2**63 - 1)), FieldValues(fields))


@fuzz_settings(short=80)
@given(st.lists(mistyped_events(), min_size=1, max_size=5))
def test_shipped_rules_on_values_of_any_type(shipped_engine: Engine, events: list[Event]) -> None:
    for alert in shipped_engine.process_batch(events):
        shipped_engine.formatter.text(alert)
        shipped_engine.formatter.json(alert)
