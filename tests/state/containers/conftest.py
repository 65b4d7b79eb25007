"""The ``roots`` fixture: every runtime's files under a temporary directory (runtime_fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_fixtures import Roots, copy_fixtures


@pytest.fixture
def roots(tmp_path: Path) -> Roots:
    return copy_fixtures(tmp_path)
