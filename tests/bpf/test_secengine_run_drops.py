"""The live tests' run helper fails on a miss that a drop may have caused, and never retries.

Pure Python (no probe): the exit summary is the text ``secengine run`` writes on stderr.
"""

from __future__ import annotations

from typing import Any

import pytest
import secengine_run
from secengine_run import Drops, alerts_seen, drops_of

_CLEAN = "secengine run: 120 events, 1 alerts and 0 internal alerts, 0 dropped in the kernel, "
_DROPPED = (
    "secengine run: kernel drops: 7 ring full, 0 ring busy, 2 refused to keep the priority "
    "headroom, 0 over a producer's budget (0 flood events); 3 filtered out in the kernel\n"
    "secengine run: 120 events, 0 alerts and 1 internal alerts, 9 dropped in the kernel, "
)
_CVE = {"rule": "X (CVE-1)", "tags": ["CVE-1"]}
_INTERNAL = {"rule": "Falco internal: syscall event drop", "tags": []}


def test_the_exit_summary_gives_the_kernel_drops_and_their_reasons() -> None:
    assert not drops_of(_CLEAN, [_CVE])
    drops = drops_of(_DROPPED, [_INTERNAL])
    assert drops == Drops(9, 1, drops.detail)
    assert "7 ring full" in drops.detail and "9 events dropped in the kernel" in str(drops)


def test_an_internal_drop_alert_alone_is_a_loss() -> None:
    assert drops_of(_CLEAN, [_INTERNAL]).internal_alerts == 1


def _runs(
    monkeypatch: pytest.MonkeyPatch, results: list[tuple[list[dict[str, Any]], str]]
) -> list[int]:
    calls: list[int] = []

    def fake(action: Any, settle: float) -> tuple[list[dict[str, Any]], Drops]:
        alerts, err = results[len(calls)]
        calls.append(1)
        action()
        return alerts, drops_of(err, alerts)

    monkeypatch.setattr(secengine_run, "_run_during", fake)
    return calls


def test_a_miss_in_a_run_that_dropped_events_fails_with_the_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _runs(monkeypatch, [([_INTERNAL], _DROPPED), ([_CVE], _CLEAN)])
    with pytest.raises(AssertionError, match="9 events dropped in the kernel.*7 ring full"):
        alerts_seen(lambda: None, lambda got: any("CVE-1" in a["tags"] for a in got))
    assert len(calls) == 1, "a run is never repeated: a retry would let a real miss pass"


def test_a_miss_without_drops_is_returned_for_the_test_to_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _runs(monkeypatch, [([], _CLEAN), ([_CVE], _CLEAN)])
    assert alerts_seen(lambda: None, lambda got: bool(got)) == []
    assert len(calls) == 1


def test_drops_that_hid_nothing_awaited_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _runs(monkeypatch, [([_CVE, _INTERNAL], _DROPPED)])
    assert alerts_seen(lambda: None, lambda got: _CVE in got) == [_CVE, _INTERNAL]
