"""Session-wide test set-up: where Falco's upstream rules are (see upstream_rules.py), the
wheel built from this checkout (built once, for every test that inspects or installs it), and
the fixtures of the agent's tests (agent_fixtures.py: tests/agent/, tests/commands/ and the
top-level tests of metrics.py and append_output.py use them)."""

from __future__ import annotations

import os

# grpc's fork handlers abort a forked child whose parent has channels open ("epoll_wait
# error: Bad file descriptor", SIGABRT) before it can exec: the CRI tests leave grpc loaded
# in this process, and tests that start children with subprocess's preexec_fn (which forks
# rather than vforks) then saw them die. Read by grpc when it is first imported. The agent
# itself spawns with vfork (no fork handlers run); docs/containers.md says so for embedders.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import subprocess
import sys
from pathlib import Path

import pytest
from agent_fixtures import (  # noqa: F401 - the agent's, its metrics' and its commands' fixtures
    events,
    pki,
    rules_file,
    silent_http,
    until,
)
from containerd_support import containerd  # noqa: F401 - the CRI tests' real containerd
from upstream_rules import ENV, UPSTREAM, require

# The rule-test pack reads ${SECENGINE_UPSTREAM_RULES}; give it this session's answer.
os.environ.setdefault(ENV, str(UPSTREAM))


@pytest.fixture(scope="session")
def upstream_rules() -> Path:
    """The directory of Falco's upstream rules files; skips the test without them."""
    return require()


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel`` builds from this checkout (with the compiled BPF objects)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(dist),
            str(Path(__file__).resolve().parents[1]),
        ],
        check=True,
        capture_output=True,
    )
    (whl,) = dist.glob("secengine-*.whl")
    return whl
