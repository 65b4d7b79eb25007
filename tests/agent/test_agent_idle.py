"""An idle agent's evaluation thread sleeps until a batch or a wake-up, and a finite source
that runs out ends the run at once (the source wakes the loop; no polling either way)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from secengine.agent import Agent, ExitStatus
from secengine.config import load_config
from secengine.sinks.memory import MemorySink
from secengine.sources.replay import MemorySource


def _cfg(rules_file: Path) -> Any:
    return load_config(options=[f"rules_files=[{rules_file}]", "stdout_output.enabled=false"])


def _wakeups(native_id: int) -> int:
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    return int(status.split("voluntary_ctxt_switches:")[1].split()[0])


def test_an_idle_agents_evaluation_thread_wakes_about_once_a_second(
    rules_file: Path, events: Any
) -> None:
    agent = Agent(_cfg(rules_file), sources=[events.live()], sinks=[MemorySink()])
    agent.start()
    try:
        (evaluator,) = [t for t in threading.enumerate() if t.name == "secengine-eval"]
        assert evaluator.native_id is not None
        time.sleep(0.2)
        before = _wakeups(evaluator.native_id)
        time.sleep(3.0)
        assert _wakeups(evaluator.native_id) - before <= 8  # every_second; was 30 (0.1 s poll)
    finally:
        t0 = time.monotonic()
        agent.stop()
        assert time.monotonic() - t0 < 2.0


def test_a_finite_source_running_out_ends_the_run_at_once(rules_file: Path, events: Any) -> None:
    sink = MemorySink()
    agent = Agent(
        _cfg(rules_file), sources=[MemorySource([events.open(i) for i in range(3)])], sinks=[sink]
    )
    t0 = time.monotonic()
    assert agent.run(handle_signals=False) is ExitStatus.OK
    assert len(sink.alerts) == 3
    assert time.monotonic() - t0 < 1.0
