"""The agent's part of the public surface is pinned, and stays lazy to import."""

from __future__ import annotations

import subprocess
import sys

import secengine

AGENT_API = {
    "Agent",
    "ExitStatus",
    "AgentConfig",
    "load_config",
    "Source",
    "BatchSource",
    "EventQueue",
    "SourceStats",
    "MemorySource",
    "ReplaySource",
    "Sink",
    "SinkStats",
    "SinkError",
    "MemorySink",
    "CallbackSink",
    "AlertRenderer",
}


def test_agent_names_are_public() -> None:
    assert AGENT_API <= set(secengine.__all__)
    from secengine.agent import Agent
    from secengine.sinks.memory import MemorySink

    assert secengine.Agent is Agent and secengine.MemorySink is MemorySink
    assert issubclass(secengine.MemorySink, secengine.Sink)
    assert issubclass(secengine.MemorySource, secengine.Source)


def test_importing_secengine_does_not_import_the_agent() -> None:
    code = (
        "import sys, secengine\n"
        "loaded = {'secengine.agent', 'secengine.sinks', 'secengine.config', 'pydantic'}"
        " & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
