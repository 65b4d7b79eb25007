"""Fixtures of the fleet tests: a real broker of each kind (tests/broker_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from broker_support import Broker, make_broker


@pytest.fixture(params=["nats", "redis"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """A running broker of each kind, stopped at the end."""
    b = make_broker(request.param, tmp_path / f"{request.param}-data")
    b.start()
    yield b
    b.stop()
