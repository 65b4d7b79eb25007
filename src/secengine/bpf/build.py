"""Compile the probe: ``vmlinux.h`` from this machine's BTF, then clang to a CO-RE object.

Run ``python -m secengine.bpf.build [OUTPUT]`` (the wheel build hook and
the Makefile do). The object is portable: CO-RE relocations are resolved
against the *target* kernel's BTF when it loads, so the build machine's
kernel only provides type definitions. ``vmlinux.h`` is generated into a
temporary directory and never committed.

Needs ``clang`` (the BPF target), ``bpftool`` and the libbpf headers
(``libbpf-dev``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

__all__ = ["build", "SOURCE", "main"]

SOURCE = Path(__file__).with_name("probe.bpf.c")


class BuildError(RuntimeError):
    """The probe could not be compiled; the message says which tool is missing or failed."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise BuildError(f"{name} not found; install it (Debian: apt-get install {package})")
    return path


def build(output: Path | None = None, btf: Path = Path("/sys/kernel/btf/vmlinux")) -> Path:
    """Compile ``probe.bpf.c`` into ``output`` (default: next to the source); returns the path."""
    output = output or SOURCE.with_name("probe.bpf.o")
    clang = _tool("clang", "clang")
    bpftool = _tool("bpftool", "bpftool")
    if not Path("/usr/include/bpf/bpf_helpers.h").exists():
        raise BuildError("libbpf headers not found; install them (Debian: apt-get install "
                         "libbpf-dev)")
    if not btf.exists():
        raise BuildError(f"{btf} is missing: the build needs a kernel with BTF to generate "
                         "vmlinux.h")
    with tempfile.TemporaryDirectory(prefix="secengine-bpf-") as tmp:
        vmlinux = Path(tmp) / "vmlinux.h"
        with vmlinux.open("wb") as fh:
            subprocess.run([bpftool, "btf", "dump", "file", str(btf), "format", "c"],
                           stdout=fh, check=True)
        tmp_out = Path(tmp) / "probe.bpf.o"
        cmd = [clang, "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
               "-I", tmp, "-I", str(SOURCE.parent), "-c", str(SOURCE), "-o", str(tmp_out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"clang failed:\n{proc.stderr}")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_out, output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        out = build(Path(args[0]) if args else None)
    except (BuildError, subprocess.CalledProcessError) as e:
        sys.stderr.write(f"secengine.bpf.build: {e}\n")
        return 1
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
