"""Errors of the least-privilege advisor, in secengine's one hierarchy.

::

    SecengineError
    └── ProfileError          a profile could not be recorded, read, merged or verified
        └── ContainerNotFound the container named on the command line does not exist

Failures of the BPF layer keep their own type (:class:`secengine.bpf.errors.BpfError`).
Each message is one sentence saying what failed and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from secengine.errors import SecengineError

__all__ = ["ContainerNotFound", "ProfileError", "read_json"]


class ProfileError(SecengineError):
    """Recording, reading, merging or verifying a profile failed."""


class ContainerNotFound(ProfileError):
    """No running container has the given id or name."""


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
