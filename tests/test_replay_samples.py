"""Smoke test of what ships: the default rules load cleanly and the samples give the expected alerts.

The golden file is reviewed by hand; after a deliberate change to the rules or
the samples regenerate it with::

    TZ=UTC .venv/bin/secengine replay samples/events.jsonl --json --hostname golden \\
        > tests/golden/samples.expected.jsonl
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from secengine.engine import Engine
from secengine.output import AlertFormatter
from secengine.resources import resource_path
from secengine.sources.replay import ReplaySource
from secengine.sources.specs import load_rules

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "samples.expected.jsonl"
RULES = sorted((ROOT / "rules").glob("*.yaml"))

#: What the intrusion in samples/generate_events.py must trigger, rule by rule.
EXPECTED_COUNTS = {
    "Interactive Shell in Container": 1,
    "Credential File Read by Unexpected Process": 1,
    "Write Below Binary Directory": 1,
    "Packet Socket Opened": 1,
    "Kernel Module Loaded": 1,
    "Process Attached with Ptrace": 1,
    "Program Run from Memory File Descriptor": 1,
    "Symlink to Credential File": 1,
    "Netcat-like Tool Started": 2,
    "Log File Truncated or Deleted": 3,
    "Search for Credentials on Disk": 2,
    "Unexpected Setuid to Root": 1,
    "Dynamic Linker Preload File Modified": 1,
    # The samples hold no link, namespace or flood events; rules/tests/ covers these rules.
    "Hard Link to Credential File": 0,
    "Namespace Change by Unexpected Process": 0,
    "Syscall Flood by Process": 0,
}


@pytest.fixture(scope="module")
def ruleset():  # type: ignore[no-untyped-def]
    return load_rules([str(p) for p in RULES])


def test_shipped_rules_are_the_packaged_ones() -> None:
    assert [p.name for p in RULES] == ["secengine_rules.yaml"]
    assert resource_path("rules") == ROOT / "rules"


def test_default_rules_load_without_errors_or_warnings(ruleset) -> None:  # type: ignore[no-untyped-def]
    assert ruleset.successful, ruleset.render_text()
    assert not ruleset.has_warnings, ruleset.render_text()
    assert sorted(r.name for r in ruleset.rules) == sorted(EXPECTED_COUNTS)


def _alerts(ruleset, rule_matching: str = "first") -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    formatter = AlertFormatter(hostname="golden")
    engine = Engine(ruleset, rule_matching=rule_matching, formatter=formatter)  # type: ignore[arg-type]
    source = ReplaySource([ROOT / "samples" / "events.jsonl"])
    alerts = [a for batch in source.batches() for a in engine.process_batch(batch)]
    assert source.stats.rejected == 0
    return [orjson.loads(formatter.json(a)) for a in alerts]


def test_samples_give_the_golden_alerts(ruleset, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        alerts = _alerts(ruleset)
    finally:
        monkeypatch.undo()
        time.tzset()
    expected = [orjson.loads(line) for line in GOLDEN.read_text().splitlines()]
    assert alerts == expected
    assert Counter(a["rule"] for a in alerts) == Counter(EXPECTED_COUNTS)


def test_no_event_matches_two_rules(ruleset) -> None:  # type: ignore[no-untyped-def]
    """Each intrusion step is reported once, by the rule written for it."""
    first = _alerts(ruleset, "first")
    every = _alerts(ruleset, "all")
    assert [a["rule"] for a in every] == [a["rule"] for a in first]


def test_samples_are_mostly_benign() -> None:
    lines = (ROOT / "samples" / "events.jsonl").read_bytes().splitlines()
    assert 300 <= len(lines) <= 1000
    assert sum(EXPECTED_COUNTS.values()) < len(lines) / 10
