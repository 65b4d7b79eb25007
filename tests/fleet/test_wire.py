"""Events on the wire: field-map and audit events survive the trip and raise the same alerts."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from secengine.assembly import engine_from_config
from secengine.config import AgentConfig
from secengine.events import MISSING
from secengine.fleet.wire import WireError, decode_event, encode_event
from secengine.sources.k8s_audit import audit_events, make_event
from secengine.sources.replay import read_events

ROOT = Path(__file__).resolve().parents[2]


def _engine() -> object:
    cfg = AgentConfig.model_validate(
        {"rules_files": [str(ROOT / "rules"), str(ROOT / "samples" / "k8s_audit_rules.yaml")]}
    )
    return engine_from_config(cfg)[0]


def test_events_decode_to_events_raising_the_same_alerts() -> None:
    events = list(read_events(ROOT / "samples" / "events.jsonl"))
    for line in (ROOT / "samples" / "k8s_audit.jsonl").read_bytes().splitlines():
        events += [make_event(doc) for doc in audit_events(orjson.loads(line))]
    engine = _engine()
    before = [a.output for a in engine.process_batch(events)]  # type: ignore[attr-defined]
    # evaluation cached what was missing: the wire leaves it out
    assert any(v is MISSING for e in events for v in e.fields.values())
    again = [decode_event(encode_event(e), i) for i, e in enumerate(events)]
    after = [a.output for a in _engine().process_batch(again)]  # type: ignore[attr-defined]
    assert before == after
    assert any(e.source == "k8s_audit" for e in again)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"fields": {}}', "time"),
        (b'{"source": "k8s_audit", "time": 1, "audit": {"kind": "Event"}}', "stageTimestamp"),
    ],
)
def test_a_message_that_is_no_event_says_why(body: bytes, why: str) -> None:
    with pytest.raises(WireError, match=why):
        decode_event(body)
