"""Errors of the least-privilege advisor, in secengine's one hierarchy.

::

    SecengineError
    └── ProfileError          a profile could not be recorded, read, merged or verified
        ├── ContainerNotFound the container named on the command line does not exist
        ├── WorkloadNotStarted the command never got its workload running (exit status 3)
        └── Interrupted       SIGINT/SIGTERM stopped the recording (exit status 128 + N)

Failures of the BPF layer keep their own type (:class:`secengine.bpf.errors.BpfError`).
Each message is one sentence saying what failed and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from secengine.errors import SecengineError

__all__ = ["ContainerNotFound", "Interrupted", "ProfileError", "WorkloadNotStarted", "read_json"]


class ProfileError(SecengineError):
    """Recording, reading, merging or verifying a profile failed."""


class ContainerNotFound(ProfileError):
    """No running container has the given id or name."""


class WorkloadNotStarted(ProfileError):
    """The command ran, but its workload never did (image missing, bad flags, refused).

    A recording of nothing would make a profile of nothing, so none is written.
    ``recording`` is what was recorded meanwhile (``verify`` looks for the
    profile's denials in it: a profile that stops the runtime is a FAIL, not this).
    """

    def __init__(self, message: str, recording: object = None) -> None:
        super().__init__(message)
        self.recording = recording


class Interrupted(ProfileError):
    """SIGINT or SIGTERM arrived: what secengine started was stopped; nothing is written."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def read_json(path: Path) -> Any:
    """A JSON file's content; a ProfileError naming the file (and line) when it cannot be read."""
    try:
        return json.loads(path.read_text())
    except OSError as e:
        raise ProfileError(f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ProfileError(f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise ProfileError(f"{path}: not JSON: not UTF-8 text (byte {e.start})") from None
    except RecursionError:
        raise ProfileError(f"{path}: not a profile or recording: JSON nested too deeply") from None
