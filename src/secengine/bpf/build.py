"""Compile the probe: ``vmlinux.h`` from this machine's BTF, then clang to a CO-RE object.

Run ``python -m secengine.bpf.build [OUTPUT]`` (the wheel build hook and
the Makefile do). With no argument every ``*.bpf.c`` here is compiled next
to its source (``probe.bpf.c`` -> ``probe.bpf.o``, ``profile.bpf.c`` ->
``profile.bpf.o``); an existing directory as OUTPUT receives every object;
any other OUTPUT is where the probe alone goes. The object is portable:
CO-RE relocations are resolved against the *target* kernel's BTF when it
loads, so the build machine's kernel only provides type definitions. ``vmlinux.h`` is generated into a
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
from collections.abc import Sequence
from pathlib import Path

from secengine.errors import SecengineError

__all__ = ["SOURCE", "build", "build_all", "main", "object_name", "sources"]

SOURCE = Path(__file__).with_name("probe.bpf.c")


class BuildError(SecengineError, RuntimeError):
    """The probe could not be compiled; the message says which tool is missing or failed."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path is None:
        raise BuildError(f"{name} not found; install it (Debian: apt-get install {package})")
    return path


def sources() -> list[Path]:
    """Every BPF program source next to this module (``*.bpf.c``)."""
    return sorted(SOURCE.parent.glob("*.bpf.c"))


def object_name(source: Path) -> str:
    """``probe.bpf.c`` -> ``probe.bpf.o``."""
    return source.name[: -len(".c")] + ".o"


def build_all(
    outdir: Path | None = None, btf: Path = Path("/sys/kernel/btf/vmlinux")
) -> list[Path]:
    """Compile every :func:`sources` file into ``outdir`` (default: next to each source)."""
    return [build((outdir or src.parent) / object_name(src), btf, source=src) for src in sources()]


def build(
    output: Path | None = None, btf: Path = Path("/sys/kernel/btf/vmlinux"), source: Path = SOURCE
) -> Path:
    """Compile ``source`` (default ``probe.bpf.c``) into ``output`` (default: next to it)."""
    output = output or source.with_name(object_name(source))
    clang = _tool("clang", "clang")
    bpftool = _tool("bpftool", "bpftool")
    if not Path("/usr/include/bpf/bpf_helpers.h").exists():
        raise BuildError(
            "libbpf headers not found; install them (Debian: apt-get install libbpf-dev)"
        )
    if not btf.exists():
        raise BuildError(
            f"{btf} is missing: the build needs a kernel with BTF to generate vmlinux.h"
        )
    with tempfile.TemporaryDirectory(prefix="secengine-bpf-") as tmp:
        vmlinux = Path(tmp) / "vmlinux.h"
        with vmlinux.open("wb") as fh:
            subprocess.run(
                [bpftool, "btf", "dump", "file", str(btf), "format", "c"], stdout=fh, check=True
            )
        tmp_out = Path(tmp) / object_name(source)
        cmd = [
            clang,
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-I",
            tmp,
            "-I",
            str(source.parent),
            "-c",
            str(source),
            "-o",
            str(tmp_out),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BuildError(f"clang failed:\n{proc.stderr}")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_out, output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args or Path(args[0]).is_dir():
            outs = build_all(Path(args[0]) if args else None)
        else:
            outs = [build(Path(args[0]))]
    except (BuildError, subprocess.CalledProcessError) as e:
        sys.stderr.write(f"secengine.bpf.build: {e}\n")
        return 1
    for out in outs:
        print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
