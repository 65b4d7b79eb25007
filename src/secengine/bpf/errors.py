"""Errors of the BPF layer, in secengine's one hierarchy.

::

    SecengineError
    └── BpfError                 a libbpf call failed (errno, the call, a hint)
        └── BpfUnavailableError  this host cannot run the probe at all: no
                                 libbpf.so.1, no BTF, not privileged

Each carries ``errno`` (or ``None``) and a message that is one sentence
saying what failed and what to do, so the command line prints it as is.
"""

from __future__ import annotations

from secengine.errors import SecengineError

__all__ = ["BpfError", "BpfUnavailableError"]


class BpfError(SecengineError):
    """A libbpf call failed; ``errno`` is the positive error number, if any."""

    def __init__(self, message: str, errno: int | None = None, call: str | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.call = call


class BpfUnavailableError(BpfError):
    """The probe cannot run on this host (missing library, BTF or privileges)."""
