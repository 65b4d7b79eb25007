"""The held child: known pid before it runs, released on demand, exec failures reported."""

from __future__ import annotations

import time
from pathlib import Path

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

    code = (
        "from secengine.profile.launch import HeldChild\n"
        "c = HeldChild(['sh', '-c', 'echo out; echo err >&2'], stdout_to_stderr=True)\n"
        "c.release(); c.wait()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout == "" and proc.stderr == "out\nerr\n"


def test_a_held_child_never_runs_when_its_parent_dies_first(tmp_path) -> None:
    """secengine killed while holding the command: the command must not run unobserved."""
    import subprocess
    import sys

    mark = tmp_path / "ran"
    code = (
        "import os\nfrom secengine.profile.launch import HeldChild\n"
        f"c = HeldChild(['touch', {str(mark)!r}])\nprint(c.pid, flush=True)\nos._exit(1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    pid = int(proc.stdout)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break  # gone (reaped by init)
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    time.sleep(0.2)
    assert not mark.exists()


def test_stderr_goes_through_the_relay_scrubbed_and_its_tail_is_kept(tmp_path) -> None:
    from secengine.profile.redact import Scrubber
    from secengine.profile.relay import StderrRelay

    out = tmp_path / "stderr"
    with open(out, "wb") as f:
        relay = StderrRelay(Scrubber(["hunter2"]), out_fd=f.fileno())
        script = (
            "printf 'a hunt'; printf 'er2 line\\n';"
            "echo 'Error: =hunter2 refused' >&2; printf 'no end'"
        )
        child = HeldChild(["sh", "-c", script], stdout_to_stderr=True, stderr=relay)
        child.release()
        assert child.wait(10) == 0
        relay.drain(5)
        relay.close()
    text = out.read_text()
    assert text == "a <redacted> line\nError: =<redacted> refused\nno end"
    assert relay.tail == text


def test_terminate_tree_stops_the_command_and_what_it_started(tmp_path) -> None:
    from secengine.profile.launch import descendants

    child = HeldChild(["sh", "-c", "sleep 30 & sleep 30; wait"])
    child.release()
    end = time.monotonic() + 10
    while len(descendants(child.pid)) < 2 and time.monotonic() < end:
        time.sleep(0.05)
    below = descendants(child.pid)
    assert len(below) == 2
    child.terminate_tree(5)
    assert child.returncode is not None
    time.sleep(0.2)
    for pid in below:
        state = "gone"
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            pass
        assert state in ("gone", "Z")
