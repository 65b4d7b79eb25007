"""Shared fixtures for the field-class tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from secengine.events import FieldValues
from secengine.fields import FieldRegistry, default_registry


@pytest.fixture(scope="session")
def registry() -> FieldRegistry:
    """The built-in registry; building it installs the field derivations."""
    return default_registry()


@pytest.fixture
def values(registry: FieldRegistry) -> Callable[..., FieldValues]:
    """Build a field-map event's values: ``values({"proc.name": "bash"})``."""

    def make(given: dict[str, Any] | None = None, **kw: Any) -> FieldValues:
        return FieldValues({**(given or {}), **kw})

    return make
