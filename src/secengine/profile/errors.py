"""Errors of the least-privilege advisor, in secengine's one hierarchy.

::

    SecengineError
    └── ProfileError          a profile could not be recorded, read, merged or verified
        └── ContainerNotFound the container named on the command line does not exist

Failures of the BPF layer keep their own type (:class:`secengine.bpf.errors.BpfError`).
Each message is one sentence saying what failed and what to do.
"""

from __future__ import annotations

from secengine.errors import SecengineError

__all__ = ["ContainerNotFound", "ProfileError"]


class ProfileError(SecengineError):
    """Recording, reading, merging or verifying a profile failed."""


class ContainerNotFound(ProfileError):
    """No running container has the given id or name."""
