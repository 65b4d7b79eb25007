"""Session-wide test set-up: where Falco's upstream rules are (see upstream_rules.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from upstream_rules import ENV, UPSTREAM, require

# The rule-test pack reads ${SECENGINE_UPSTREAM_RULES}; give it this session's answer.
os.environ.setdefault(ENV, str(UPSTREAM))


@pytest.fixture(scope="session")
def upstream_rules() -> Path:
    """The directory of Falco's upstream rules files; skips the test without them."""
    return require()
