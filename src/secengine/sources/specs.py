"""The installed event sources' specs, and what is assembled from them.

Each :class:`~secengine.sources.base.Source` class registered in the
``secengine.sources`` entry-point group (secengine's own and any installed
package's, :mod:`secengine.plugins`) may carry a
:class:`~secengine.sources.base.SourceSpec`. From those specs come:

- :func:`field_registry`: the field registry rules compile against (the
  generic ``evt`` class, then each source's field table and event-type index);
- :func:`load_rules`: :func:`secengine.ruleset.load_rules` with that registry
  (what :func:`secengine.load_rules` is);
- :func:`spec` / :func:`names`: the sources ``secengine run --source`` and
  ``secengine replay --source`` accept;
- :func:`default_rules_files`: the rules files shipped for the sources.

Nothing here names a source: adding one is registering its class.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from secengine.fields import catalog
from secengine.fields.registry import FieldRegistry
from secengine.plugins import BUILTIN_SOURCES, UnknownPluginError, source_registry
from secengine.ruleset import RuleSet
from secengine.ruleset import load_rules as _load_rules
from secengine.ruleset.loader import RulesSource
from secengine.ruleset.paths import expand_rules_paths
from secengine.ruleset.version import PROVIDED_PLUGINS
from secengine.sources.base import Source, SourceSpec

__all__ = [
    "default_rules_files",
    "field_registry",
    "installed_specs",
    "load_rules",
    "names",
    "resolve_rules_paths",
    "source_class",
    "source_classes",
    "spec",
]


def _installed() -> dict[str, type[Source]]:
    """Event source name → the first registered plugin class producing it.

    secengine's own first (in their built-in order), then the others by
    name. Importing a plugin's class is the price of asking: its module is
    imported here, its field classes only when the registry is built.
    """
    registry = source_registry()
    ordered = [n for n in BUILTIN_SOURCES if n in registry]
    ordered += [n for n in registry.names() if n not in BUILTIN_SOURCES]
    out: dict[str, type[Source]] = {}
    for plugin in ordered:
        cls = registry.get(plugin)
        found: SourceSpec | None = getattr(cls, "spec", None)
        if found is not None and found.name not in out:
            out[found.name] = cls
    return out


def _relays() -> dict[str, type[Source]]:
    """Plugin name → class of the registered plugins that produce no event source of their
    own but can be started from flags: the broker sources (``nats``, ``redis``), which carry
    events of every source."""
    registry = source_registry()
    ordered = [n for n in BUILTIN_SOURCES if n in registry]
    ordered += [n for n in registry.names() if n not in BUILTIN_SOURCES]
    out: dict[str, type[Source]] = {}
    for plugin in ordered:
        cls = registry.get(plugin)
        startable = "from_flags" in {
            k for klass in cls.__mro__[:-1] if klass is not Source for k in vars(klass)
        }
        if getattr(cls, "spec", None) is None and startable:
            out[plugin] = cls
    return out


def source_classes() -> list[type[Source]]:
    """The plugin classes ``secengine run --source`` can start: the installed event sources
    in spec order, then the relays of any source (the broker sources)."""
    return list(_installed().values()) + list(_relays().values())


def installed_specs() -> list[SourceSpec]:
    """The specs of every registered source plugin that produces an event source."""
    return [cls.spec for cls in _installed().values() if cls.spec is not None]


def spec(name: str) -> SourceSpec:
    """The spec of the event source ``name``; raises UnknownPluginError naming the known ones."""
    cls = _installed().get(name)
    if cls is None or cls.spec is None:
        source_class(name)  # raises, naming the known ones
        raise UnknownPluginError(f"{name!r} is no event source: it relays events of any source")
    return cls.spec


def source_class(name: str) -> type[Source]:
    """The plugin class producing the event source ``name``, or the relay plugin of that
    name (``nats``, ``redis``): what ``run --source`` starts."""
    sources, relays = _installed(), _relays()
    cls = sources.get(name) or relays.get(name)
    if cls is None:
        raise UnknownPluginError(
            f"unknown event source {name!r} for --source (known: {', '.join(sources)}; "
            f"relays of every source: {', '.join(relays)})"
        )
    return cls


def names() -> list[str]:
    """The event sources installed, secengine's own first."""
    return [s.name for s in installed_specs()]


def field_registry(specs: Iterable[SourceSpec] | None = None) -> FieldRegistry:
    """The field registry of ``specs`` (default: the installed sources), built once per set."""
    return _registry_for(tuple(installed_specs() if specs is None else specs))


@functools.cache
def _registry_for(specs: tuple[SourceSpec, ...]) -> FieldRegistry:
    registry = FieldRegistry(catalog.generic_classes())
    for s in specs:
        registry.add_source(
            s.name, s.field_classes(), None if s.event_index is None else s.event_index()
        )
    return registry


def load_rules(
    sources: Sequence[RulesSource],
    *,
    registry: Any = None,
    extra_sources: Iterable[str] = (),
    provided_plugins: Mapping[str, str] = PROVIDED_PLUGINS,
) -> RuleSet:
    """:func:`secengine.ruleset.load_rules` against the installed sources' fields.

    ``registry`` (any :class:`~secengine.lang.resolver.FieldResolver`) replaces them.
    """
    return _load_rules(
        sources,
        registry=field_registry() if registry is None else registry,
        extra_sources=extra_sources,
        provided_plugins=provided_plugins,
    )


def default_rules_files() -> list[Path]:
    """The rules files shipped for the installed sources, in source order."""
    out: list[Path] = []
    for s in installed_specs():
        if s.default_rules is not None:
            out.extend(p for p in s.default_rules() if p not in out)
    return out


def resolve_rules_paths(given: Iterable[str | os.PathLike[str]] | None) -> list[Path]:
    """The rules files a command's ``-r`` options name, or the installed sources' shipped
    rules when none is given."""
    given = list(given or ())
    return expand_rules_paths(given) if given else default_rules_files()
