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
    agent = Agent(_cfg(rules_file), sources=[MemorySource([events.open(i) for i in range(5)])],
                  sinks=[sink])
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
