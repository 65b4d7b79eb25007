"""The held child: known pid before it runs, released on demand, exec failures reported."""

from __future__ import annotations

import time

import pytest

from secengine.profile.errors import ProfileError
from secengine.profile.launch import HeldChild


def test_the_child_waits_for_release(tmp_path) -> None:
    mark = tmp_path / "ran"
    child = HeldChild(["sh", "-c", f"touch {mark}"])
    time.sleep(0.2)
    assert not mark.exists()  # held: has not exec'd
    assert child.poll() is None
    child.release()
    assert child.wait(10) == 0
    assert mark.exists() and child.duration > 0


def test_exit_codes_and_signals() -> None:
    child = HeldChild(["sh", "-c", "exit 3"])
    child.release()
    assert child.wait(10) == 3
    sleeper = HeldChild(["sleep", "30"])
    sleeper.release()
    sleeper.signal()
    assert sleeper.wait(10) == -15


def test_a_command_that_cannot_run() -> None:
    child = HeldChild(["/no/such/program"])
    with pytest.raises(ProfileError, match="cannot run '/no/such/program'"):
        child.release()
    assert child.returncode == 127
    with pytest.raises(ProfileError, match="no command"):
        HeldChild([])


def test_output_can_be_sent_to_stderr(tmp_path) -> None:
    import subprocess
    import sys

    code = ("from secengine.profile.launch import HeldChild\n"
            "c = HeldChild(['sh', '-c', 'echo out; echo err >&2'], stdout_to_stderr=True)\n"
            "c.release(); c.wait()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout == "" and proc.stderr == "out\nerr\n"
