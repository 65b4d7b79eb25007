"""Plugin discovery: built-ins by name, entry points read lazily, duplicate names refused."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Any, ClassVar

import pytest

from secengine import plugins
from secengine.alert import Alert
from secengine.errors import ConfigError
from secengine.plugins import DuplicatePluginError, PluginRegistry, UnknownPluginError
from secengine.sinks.base import Sink
from secengine.sinks.memory import MemorySink


class _Mine(Sink):
    name: ClassVar[str] = "mine"

    def deliver(self, alert: Alert) -> None:
        pass


def _registry(monkeypatch: Any, eps: list[metadata.EntryPoint]) -> PluginRegistry[Any]:
    def fake(group: str) -> list[metadata.EntryPoint]:
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(plugins.metadata, "entry_points", fake)
    return PluginRegistry("sink", plugins.SINK_GROUP, Sink, dict(plugins.BUILTIN_SINKS))


def _ep(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name, value, plugins.SINK_GROUP)


def test_builtins_resolve_by_name() -> None:
    reg = plugins.sink_registry()
    assert {"stdout", "file", "http", "syslog", "program", "memory"} <= set(reg.names())
    assert reg.get("memory") is MemorySink
    assert "replay" in plugins.source_registry()


def test_entry_points_are_imported_only_when_asked_for(monkeypatch: Any) -> None:
    module = "tests_fake_sink_module"
    monkeypatch.delitem(sys.modules, module, raising=False)
    reg = _registry(monkeypatch, [_ep("fake", f"{module}:FakeSink")])
    assert "fake" in reg.names()
    assert module not in sys.modules
    with pytest.raises(ConfigError, match=f"cannot load sink plugin 'fake' from {module}:FakeSink"):
        reg.get("fake")


def test_entry_point_for_a_third_party_class(monkeypatch: Any) -> None:
    reg = _registry(monkeypatch, [_ep("mine", f"{__name__}:_Mine")])
    assert reg.get("mine") is _Mine


def test_duplicate_entry_points_are_refused(monkeypatch: Any) -> None:
    reg = _registry(
        monkeypatch, [_ep("http", f"{__name__}:_Mine"), _ep("mine", "a:B"), _ep("mine", "c:D")]
    )
    with pytest.raises(
        DuplicatePluginError,
        match="'http' is claimed by several plugins: "
        r"secengine.sinks.http:HttpSink \(secengine\); .*_Mine",
    ):
        reg.get("http")
    with pytest.raises(DuplicatePluginError, match="'mine'"):
        reg.get("mine")
    assert reg.get("file").__name__ == "FileSink"  # other names still work


def test_the_same_target_twice_is_one_plugin(monkeypatch: Any) -> None:
    reg = _registry(monkeypatch, [_ep("memory", "secengine.sinks.memory:MemorySink")])
    assert reg.get("memory") is MemorySink


def test_register_refuses_a_taken_name(monkeypatch: Any) -> None:
    reg = _registry(monkeypatch, [])
    reg.register("mine", _Mine)
    reg.register("mine", _Mine)  # the same class again is fine
    assert reg.get("mine") is _Mine
    with pytest.raises(DuplicatePluginError, match="already taken"):
        reg.register("stdout", _Mine)
    with pytest.raises(ConfigError, match="not a subclass"):
        reg.register("bad", dict)  # type: ignore[arg-type]
    reg.unregister("mine")
    with pytest.raises(UnknownPluginError, match="unknown sink 'mine'"):
        reg.get("mine")
