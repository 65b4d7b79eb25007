"""What an eBPF object needs before it can load, checked first so that each lack is one sentence.

The syscall probe (:class:`~secengine.bpf.loader.Probe`) and the profile
recorder (:class:`~secengine.profile.recorder.Recorder`) need the same
things: an architecture whose registers they read (x86_64), root (or the BPF
capabilities), a kernel with BTF for their CO-RE relocations, and the
compiled object. :func:`check` tests them in that order, so that a user
without root hears that first, and raises
:class:`~secengine.bpf.errors.BpfUnavailableError` saying what to do; only
the names in the sentences differ between the two callers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from secengine.bpf import syscalls
from secengine.bpf.errors import BpfUnavailableError

__all__ = ["BTF_PATH", "check"]

#: Where the kernel exposes its BTF; without it no CO-RE object loads.
BTF_PATH: Final = Path("/sys/kernel/btf/vmlinux")


def check(obj: Path, *, what: str, needed_by: str, instead: str) -> None:
    """Raise BpfUnavailableError unless compiled object ``obj`` could load here.

    ``what`` names the object ("probe", "recorder"), ``needed_by`` who needs
    root for it ("the syscall source"), and ``instead`` what a user without
    root can run ("run 'sudo secengine run ...'").
    """
    syscalls.check_arch()
    if os.geteuid() != 0:
        raise BpfUnavailableError(
            f"{needed_by} needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE) to load "
            f"the eBPF {what}; {instead}"
        )
    if not BTF_PATH.exists():
        raise BpfUnavailableError(
            f"this kernel exposes no BTF ({BTF_PATH} is missing), which the CO-RE {what} "
            "needs; use a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution "
            "kernels since 5.8 are)"
        )
    if not obj.is_file():
        raise BpfUnavailableError(
            f"the compiled {what} {obj} is missing; build it with "
            "'python -m secengine.bpf.build' (needs clang, bpftool and libbpf-dev) or install "
            "a secengine wheel, which ships it"
        )
