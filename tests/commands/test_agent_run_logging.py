"""commands/agent_run: the ``secengine`` logger's stderr handler."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from secengine.commands.agent_run import configure_logging


def test_log_lines_go_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that kept the stderr it first saw wrote into a closed stream once stderr
    was replaced (an embedding application's redirect, each in-process CLI call of the
    test suite): "--- Logging error --- ValueError: I/O operation on closed file" when a
    webserver thread logged a failed TLS handshake later."""
    logger = logging.getLogger("secengine")
    before = list(logger.handlers), logger.level
    first, second = io.StringIO(), io.StringIO()
    try:
        monkeypatch.setattr(sys, "stderr", first)
        configure_logging("info", to_stderr=True)
        first.close()
        monkeypatch.setattr(sys, "stderr", second)
        configure_logging("info", to_stderr=True)  # added once, whatever stderr is now
        logging.getLogger("secengine.web").warning("TLS handshake from 127.0.0.1:1 failed")
        assert second.getvalue() == ("secengine: WARNING: TLS handshake from 127.0.0.1:1 failed\n")
    finally:
        logger.handlers[:] = before[0]
        logger.setLevel(before[1])
