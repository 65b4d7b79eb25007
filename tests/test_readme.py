"""Every README command that needs neither root nor the network works as written.

The shell lines of the README's ``sh``/``bash`` blocks are run from the
repository root (``.venv/bin/`` is this interpreter's directory); ``sudo``
and ``make`` lines are left to the live tests and to ``make`` itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith(("sudo ", "make ")):
                lines.append(command)
    return lines


def test_the_readme_has_commands_to_check() -> None:
    assert len(_commands()) >= 8


@pytest.mark.parametrize("command", _commands())
def test_readme_command_works_as_written(command: str) -> None:
    assert ".venv/bin/" in command, f"a README command outside the venv: {command}"
    done = subprocess.run(
        command.replace(".venv/bin/", f"{BIN}/"),
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
