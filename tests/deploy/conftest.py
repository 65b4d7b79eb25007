"""The agent's image, built once per test session for the tests that run it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import image_support
import pytest


@pytest.fixture(scope="session")
def agent_image(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Containerfile built offline on the local base image; removed after the session."""
    reason = image_support.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    context = image_support.build_context(wheel, tmp_path_factory.mktemp("image-context"))
    tag = image_support.build_agent_image(context, f"localhost/i14-ship-agent:{os.getpid()}")
    yield tag
    subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, check=False)
