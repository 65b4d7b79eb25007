"""The Sink machinery: bounded queue with counted drops, isolated failures, drain on stop."""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import pytest

from secengine.alert import Alert
from secengine.sinks.base import RateLimitedLog, Sink, SinkError
from secengine.sinks.memory import CallbackSink, MemorySink


class _Blocking(Sink):
    """Delivers only while ``gate`` is open; records what it got."""

    name: ClassVar[str] = "blocking"

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        self.gate = threading.Event()
        self.got: list[int] = []
        self.closed = False

    def deliver(self, alert: Alert) -> None:
        while not self.gate.wait(0.05):
            if self.abandoned:
                raise SinkError("abandoned")
        self.got.append(alert.output_fields["n"])

    def close(self) -> None:
        self.closed = True


class _Failing(Sink):
    name: ClassVar[str] = "failing"

    def deliver(self, alert: Alert) -> None:
        raise SinkError(f"receiver refused alert {alert.output_fields['n']}")


def test_overflow_is_dropped_and_counted_without_blocking(alert: Any) -> None:
    sink = _Blocking(queue_capacity=3)
    sink.start()
    accepted = [sink.submit(alert(i)) for i in range(10)]
    # one alert may be in the worker's hands, three in the queue: the rest are dropped
    assert accepted.count(False) in (6, 7)
    assert sink.stats.dropped == accepted.count(False)
    sink.gate.set()
    assert sink.stop(timeout=5)
    assert sink.got == [i for i, ok in enumerate(accepted) if ok]
    assert sink.stats.delivered == len(sink.got) and sink.closed


def test_failures_are_counted_and_logged_with_a_rate_limit(alert: Any, caplog: Any) -> None:
    caplog.set_level(logging.ERROR, logger="secengine.sinks")
    sink = _Failing(failure_log_interval=60)
    sink.start()
    for i in range(5):
        sink.submit(alert(i))
    sink.stop(timeout=5)
    assert sink.stats.failed == 5 and sink.stats.delivered == 0
    logged = [r for r in caplog.records if "receiver refused" in r.getMessage()]
    assert len(logged) == 1
    assert (
        "sink failing: delivery failed: SinkError: receiver refused alert 0"
        in logged[0].getMessage()
    )


def test_stop_gives_up_after_its_deadline_and_counts_what_was_left(alert: Any) -> None:
    sink = _Blocking(queue_capacity=10)
    sink.start()
    for i in range(5):
        sink.submit(alert(i))
    assert not sink.stop(timeout=0.2)
    assert not sink.running
    assert sink.got == []
    assert sink.stats.dropped + sink.stats.failed == 5
    assert not sink.submit(alert(9)) and sink.stats.dropped + sink.stats.failed == 6


def test_reopen_runs_on_the_worker_before_the_next_delivery(alert: Any) -> None:
    events: list[str] = []

    class Reopening(MemorySink):
        def reopen(self) -> None:
            events.append("reopen")

        def deliver(self, a: Alert) -> None:
            events.append("deliver")
            super().deliver(a)

    with Reopening() as sink:
        sink.submit(alert(0))
        assert sink.wait_for(1)
        sink.request_reopen()
        sink.submit(alert(1))
        assert sink.wait_for(2)
    assert events == ["deliver", "reopen", "deliver"]


def test_callback_sink_calls_back_on_its_own_thread(alert: Any) -> None:
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def cb(a: Alert) -> None:
        seen.append((a.rule, threading.current_thread().name))
        done.set()

    with CallbackSink(cb, label="cb") as sink:
        sink.submit(alert(0))
        assert done.wait(5)
    assert seen == [("open_from_cat", "secengine-sink-cb")]


def test_memory_sink_keeps_alerts_and_rendered_lines(alert: Any) -> None:
    sink = MemorySink()
    with sink:
        for i in range(3):
            sink.submit(alert(i))
        assert sink.wait_for(3)
    assert [a.output_fields["n"] for a in sink.alerts] == [0, 1, 2]
    assert sink.lines[0] == alert(0).output.encode()
    assert not sink.wait_for(4, timeout=0.01)
    sink.clear()
    assert sink.alerts == [] and sink.lines == []


def test_rate_limited_log_counts_suppressed_messages(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    log = RateLimitedLog(logging.getLogger("t"), interval=0.0)
    assert log.log(logging.INFO, "k", "one")
    slow = RateLimitedLog(logging.getLogger("t"), interval=3600)
    assert slow.log(logging.INFO, "k", "first")
    assert not slow.log(logging.INFO, "k", "second")
    assert slow.log(logging.INFO, "other", "another kind")
    slow._last["k"] = -1e9  # as if the interval had passed
    assert slow.log(logging.INFO, "k", "third")
    assert caplog.messages[-1] == "third (1 similar messages suppressed)"


def test_queue_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MemorySink(queue_capacity=0)
