"""Sink and source plugins by name: built-ins plus the ``secengine.sinks``/``.sources`` entry points.

A configuration names plugins (``http``, ``syslog``, ``k8s_audit``...); this
module turns a name into a class. Discovery reads only entry-point
*metadata*: nothing is imported until a plugin is asked for by name, so a
broken third-party package costs nothing unless it is used, and importing
secengine stays side-effect free.

Names are unique. Two plugins that claim the same name with different
targets are refused: :meth:`PluginRegistry.register` raises at once, and a
name claimed twice by installed packages raises
:class:`DuplicatePluginError` (naming both targets) when it is looked up,
never silently picking one. The same target registered twice (a built-in
that is also declared as an entry point by secengine's own packaging) is one
plugin, not a duplicate.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, TypeVar

from secengine.errors import ConfigError
from secengine.sinks.base import Sink
from secengine.sources.base import Source

__all__ = [
    "SINK_GROUP",
    "SOURCE_GROUP",
    "DuplicatePluginError",
    "PluginRegistry",
    "UnknownPluginError",
    "load_target",
    "sink_registry",
    "source_registry",
]

SINK_GROUP = "secengine.sinks"
SOURCE_GROUP = "secengine.sources"

#: The sinks secengine ships, as ``module:attribute`` targets (imported on use).
BUILTIN_SINKS: dict[str, str] = {
    "stdout": "secengine.sinks.stdout:StdoutSink",
    "file": "secengine.sinks.file:FileSink",
    "http": "secengine.sinks.http:HttpSink",
    "syslog": "secengine.sinks.syslog:SyslogSink",
    "program": "secengine.sinks.program:ProgramSink",
    "memory": "secengine.sinks.memory:MemorySink",
    "nats": "secengine.sinks.nats:NatsSink",
    "redis": "secengine.sinks.redis:RedisSink",
}

#: The sources secengine ships (also declared as entry points in ``pyproject.toml``).
BUILTIN_SOURCES: dict[str, str] = {
    "replay": "secengine.sources.replay:ReplaySource",
    "syscall": "secengine.sources.syscall:SyscallSource",
    "k8s_audit": "secengine.sources.k8s_webhook:K8sAuditWebhookSource",
    "nats": "secengine.sources.nats:NatsSource",
    "redis": "secengine.sources.redis:RedisSource",
}

T = TypeVar("T")


class UnknownPluginError(ConfigError):
    """No plugin of that kind has that name."""


class DuplicatePluginError(ConfigError):
    """Two different plugins claim the same name."""


@dataclass(frozen=True, slots=True)
class _Entry:
    target: str  # "module:attr", or "<object>" for objects registered directly
    origin: str  # "secengine", a distribution name, or "register()"
    obj: Any = None


class PluginRegistry(Generic[T]):
    """Named plugin classes of one kind (sinks or sources), loaded lazily.

    ``base`` is the class every plugin must derive from; ``builtins`` maps
    names to ``module:attr`` targets. Entry points of ``group`` are read
    the first time a name is looked up or listed.
    """

    def __init__(self, kind: str, group: str, base: type[T], builtins: dict[str, str]) -> None:
        self.kind = kind
        self.group = group
        self.base = base
        self._entries: dict[str, _Entry] = {n: _Entry(t, "secengine") for n, t in builtins.items()}
        self._conflicts: dict[str, list[_Entry]] = {}
        self._discovered = False
        self._loaded: dict[str, type[T]] = {}

    # -- registration ----------------------------------------------------------------
    def register(self, name: str, plugin: type[T] | str) -> None:
        """Add a plugin class (or a ``module:attr`` target); a name already taken is refused."""
        self._discover()
        if isinstance(plugin, str):
            entry = _Entry(plugin, "register()")
        else:
            self._checked(name, plugin)
            entry = _Entry(f"{plugin.__module__}:{plugin.__qualname__}", "register()", plugin)
        old = self._entries.get(name)
        if old is not None and not _same(old, entry):
            raise DuplicatePluginError(
                f"{self.kind} plugin name {name!r} is already taken by {old.target} "
                f"({old.origin}); refusing {entry.target}"
            )
        if name in self._conflicts:
            raise DuplicatePluginError(self._conflict_message(name))
        self._entries[name] = entry
        if entry.obj is not None:
            self._loaded[name] = entry.obj

    def unregister(self, name: str) -> None:
        """Forget a plugin (for tests and embedders that registered their own)."""
        self._entries.pop(name, None)
        self._loaded.pop(name, None)
        self._conflicts.pop(name, None)

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for ep in metadata.entry_points(group=self.group):
            dist = getattr(ep, "dist", None)
            origin = getattr(dist, "name", None) or "an installed package"
            entry = _Entry(ep.value, origin)
            old = self._entries.get(ep.name)
            if old is None:
                self._entries[ep.name] = entry
            elif not _same(old, entry):
                self._conflicts.setdefault(ep.name, [old]).append(entry)

    # -- lookup ------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every known plugin name (without importing anything)."""
        self._discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def get(self, name: str) -> type[T]:
        """The plugin class called ``name``, imported now if it was not yet."""
        self._discover()
        if name in self._conflicts:
            raise DuplicatePluginError(self._conflict_message(name))
        cls = self._loaded.get(name)
        if cls is not None:
            return cls
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise UnknownPluginError(f"unknown {self.kind} {name!r} (known: {known})")
        try:
            cls = load_target(entry.target)
        except Exception as e:
            raise ConfigError(
                f"cannot load {self.kind} plugin {name!r} from {entry.target} "
                f"({entry.origin}): {type(e).__name__}: {e}"
            ) from e
        plugin = self._loaded[name] = self._checked(name, cls)
        return plugin

    def _checked(self, name: str, cls: object) -> type[T]:
        """``cls`` if it is a subclass of this registry's base class, else a ConfigError."""
        if isinstance(cls, type) and issubclass(cls, self.base):
            return cls
        raise ConfigError(
            f"{self.kind} plugin {name!r} ({cls!r}) is not a subclass of "
            f"{self.base.__module__}.{self.base.__qualname__}"
        )

    def _conflict_message(self, name: str) -> str:
        claims = "; ".join(f"{e.target} ({e.origin})" for e in self._conflicts[name])
        return f"{self.kind} plugin name {name!r} is claimed by several plugins: {claims}"


def _same(a: _Entry, b: _Entry) -> bool:
    if a.obj is not None and b.obj is not None:
        return a.obj is b.obj
    return a.target == b.target


def load_target(target: str) -> Any:
    """The object a ``module:attr.path`` target names, its module imported now."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in attr.strip().split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


_SINKS: PluginRegistry[Any] | None = None
_SOURCES: PluginRegistry[Any] | None = None


def sink_registry() -> PluginRegistry[Any]:
    """The process-wide sink registry (created on first use)."""
    global _SINKS
    if _SINKS is None:
        _SINKS = PluginRegistry("sink", SINK_GROUP, Sink, BUILTIN_SINKS)
    return _SINKS


def source_registry() -> PluginRegistry[Any]:
    """The process-wide source registry (created on first use)."""
    global _SOURCES
    if _SOURCES is None:
        _SOURCES = PluginRegistry("source", SOURCE_GROUP, Source, BUILTIN_SOURCES)
    return _SOURCES
