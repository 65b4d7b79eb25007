"""Fixtures for the rule loader tests (the helpers are in ruleset_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from upstream_rules import require


@pytest.fixture(scope="session")
def upstream_dir() -> Path:
    """Falco's upstream rules files (see upstream_rules.py); skips the test without them."""
    return require()
