"""The agent under asyncio: serve() until the sources run out, cancellation stops it cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from secengine.agent import Agent, ExitStatus
from secengine.config import load_config
from secengine.sinks.memory import MemorySink
from secengine.sources.replay import MemorySource


def _cfg(rules_file: Path) -> Any:
    return load_config(options=[f"rules_files=[{rules_file}]", "stdout_output.enabled=false"])


def test_serve_until_the_sources_are_done(rules_file: Path, events: Any) -> None:
    sink = MemorySink()
    agent = Agent(
        _cfg(rules_file), sources=[MemorySource([events.open(i) for i in range(5)])], sinks=[sink]
    )
    assert asyncio.run(agent.serve()) is ExitStatus.OK
    assert len(sink.alerts) == 5


def test_cancelling_serve_stops_the_agent(rules_file: Path, events: Any) -> None:
    source = events.live()
    sink = MemorySink()
    agent = Agent(_cfg(rules_file), sources=[source], sinks=[sink])

    async def main() -> None:
        task = asyncio.create_task(agent.serve())
        while not agent.running:
            await asyncio.sleep(0.01)
        source.push([events.open(0)])
        while not sink.alerts:
            await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    assert not agent.running and source.stopped and agent.status is ExitStatus.OK


def test_async_context_manager(rules_file: Path, events: Any) -> None:
    sink = MemorySink()

    async def main() -> None:
        async with Agent(_cfg(rules_file), sinks=[sink]) as agent:
            agent.feed([events.open(1)])
            while not sink.alerts:
                await asyncio.sleep(0.01)

    asyncio.run(main())
    assert [a.rule for a in sink.alerts] == ["cat_open"]


def test_running_means_every_source_has_started(rules_file: Path, events: Any) -> None:
    """``running`` turned true before the sources started, so a caller that waited for it and
    then fed a source found it unstarted (the cancellation test above failed so, now and then)."""
    import threading
    import time

    source = events.live()
    real_start = source.start

    def slow_start(out: Any) -> None:
        time.sleep(0.3)
        real_start(out)

    source.start = slow_start
    agent = Agent(_cfg(rules_file), sources=[source], sinks=[MemorySink()])
    starter = threading.Thread(target=agent.start)
    starter.start()
    try:
        deadline = time.monotonic() + 10
        while not agent.running and time.monotonic() < deadline:
            time.sleep(0.001)
        assert agent.running and source.out is not None
    finally:
        starter.join(10)
        agent.stop()
