"""Fuzzing the Kubernetes audit decoders: payloads, field extraction, audit log files.

Properties (docs/fuzzing.md): decoding any JSON value raises nothing but
:class:`AuditPayloadError`; extracting any ``ka.*``/``jevt.*`` field from any
event that decoded (however its parts are typed) raises nothing; formatting
an alert that prints every field raises nothing; the file reader turns any
bytes into events and ``file:line`` rejections, never an exception; memory
stays within a bound proportional to the input.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from fuzzing import JSON_VALUES, bounded_memory, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from k8s_audit_cases import container, create_pod, exec_into, host_path, pod, simple

from secengine.engine import Engine
from secengine.errors import EventFormatError
from secengine.fields import json_fields, k8s_audit
from secengine.fields.base import ArgMode, FieldDef
from secengine.sources.k8s_audit import (
    AuditPayloadError,
    K8sAuditFileSource,
    decode_payload,
    parse_timestamp,
)
from secengine.sources.specs import load_rules

pytestmark = pytest.mark.fuzz

#: Realistic events to start from: mutations of these reach deep into the extractors.
BASES: list[dict[str, Any]] = [
    create_pod(
        pod(
            containers=[
                container(
                    securityContext={
                        "privileged": True,
                        "capabilities": {"add": ["SYS_ADMIN"]},
                        "runAsUser": 0,
                    }
                )
            ],
            volumes=[host_path("root", "/")],
            hostNetwork=True,
            hostPID=True,
        )
    ),
    exec_into("web-1"),
    simple("get", "secrets", "s", "default"),
    simple("delete", "configmaps", "c", "kube-system"),
]


def _keys(fdef: FieldDef) -> list[str]:
    """The field as rules can write it: bare, with an index, with a key."""
    if fdef.arg is ArgMode.NONE:
        return [fdef.name]
    keys = [] if fdef.arg is ArgMode.REQUIRED else [fdef.name]
    if fdef.arg_index:
        keys += [f"{fdef.name}[0]", f"{fdef.name}[3]"]
    if fdef.arg_key or not fdef.arg_index:
        keys += [
            f"{fdef.name}[command]",
            f"{fdef.name}[/requestObject/spec]",
            f"{fdef.name}[/items/0]",
            f"{fdef.name}[x/~1y]",
        ]
    return keys


FIELD_KEYS = [
    key
    for cls in (k8s_audit.FIELD_CLASS, json_fields.FIELD_CLASS)
    for fdef in cls.fields
    for key in _keys(fdef)
]
PRINTABLE = [
    f.name
    for cls in (k8s_audit.FIELD_CLASS, json_fields.FIELD_CLASS)
    for f in cls.fields
    if f.arg is not ArgMode.REQUIRED and not f.filter_only
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic audit event with a few of its parts replaced by any JSON value."""
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = draw(JSON_VALUES)
    doc.setdefault("auditID", "fuzz")
    return doc


@pytest.fixture(scope="module")
def every_field_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """An engine whose one rule matches every audit event and prints every field."""
    rules = tmp_path_factory.mktemp("rules") / "all.yaml"
    output = " ".join(f"{name}=%{name}" for name in PRINTABLE)
    rules.write_text(
        "- rule: every field\n  desc: fuzz\n  condition: ka.auditid exists or not ka.auditid "
        f'exists\n  output: "{output}"\n  priority: INFO\n  source: k8s_audit\n'
    )
    rs = load_rules([str(rules)])
    assert rs.successful, rs.render_text()
    return Engine(rs)


@fuzz_settings(short=150)
@given(
    JSON_VALUES
    | st.lists(mutated_events(), max_size=3)
    | mutated_events()
    | st.builds(
        lambda items: {"kind": "EventList", "items": items},
        st.lists(mutated_events() | JSON_VALUES, max_size=3),
    )
)
def test_decoding_any_payload(payload: Any) -> None:
    size = len(orjson.dumps(payload))
    with bounded_memory(64 * size + (1 << 20)):
        try:
            events = decode_payload(payload, max_event_size=1 << 18)
        except AuditPayloadError as e:
            assert str(e)
            return
    for ev in events:
        for key in FIELD_KEYS:
            ev.fields.get(key)


@fuzz_settings(short=150)
@given(st.lists(mutated_events(), min_size=1, max_size=3))
def test_every_field_of_any_event_extracts_and_prints(
    every_field_engine: Engine, docs: list[dict[str, Any]]
) -> None:
    events = decode_payload(docs)
    for ev in events:
        for key in FIELD_KEYS:
            ev.fields.get(key)
    alerts = every_field_engine.process_batch(events)
    assert len(alerts) == len(events)
    for alert in alerts:
        every_field_engine.formatter.json(alert)
        every_field_engine.formatter.text(alert)


@fuzz_settings(short=300)
@given(
    st.text(max_size=40)
    | st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,12})?(Z|[+-]\d{2}:\d{2})\Z")
    | JSON_VALUES
)
def test_any_timestamp(text: Any) -> None:
    try:
        assert isinstance(parse_timestamp(text), int)
    except AuditPayloadError as e:
        assert str(e)


@fuzz_settings(short=100)
@given(
    st.lists(
        st.binary(max_size=200)
        | mutated_events().map(orjson.dumps)
        | st.sampled_from([b"{", b"[", b"\n", b"\r\n", b"\x1f\x8b", b'{"kind":']),
        max_size=12,
    ).map(b"\n".join),
    st.integers(1, 600),
)
def test_audit_file_of_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, max_line: int
) -> None:
    path: Path = tmp_path_factory.mktemp("audit") / "audit.log"
    path.write_bytes(data)
    errors: list[EventFormatError] = []
    src = K8sAuditFileSource([str(path)], on_error=errors.append, max_line_size=max_line)
    with bounded_memory(64 * len(data) + (1 << 20)):
        events = [ev for batch in src.batches() for ev in batch]
    assert src.stats.events == len(events)
    assert src.stats.rejected == len(errors)
    for e in errors:
        assert str(e).startswith(f"{path}:")
