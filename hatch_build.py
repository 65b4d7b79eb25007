"""Wheel build hook: compile the eBPF probe from source and ship the object in the wheel.

hatchling runs this before packing the wheel (``[tool.hatch.build.targets.wheel.hooks.custom]``
in pyproject.toml). It loads ``src/secengine/bpf/build.py`` by path (the build environment
need not have secengine's dependencies), compiles every ``*.bpf.c`` there (``probe.bpf.c``,
``profile.bpf.c``) with clang against the build machine's BTF, and adds the objects
(``secengine/bpf/probe.bpf.o``, ``secengine/bpf/profile.bpf.o``) to the wheel, which is then
tagged for Linux x86_64 (the probe reads x86_64 registers). Installing the wheel needs only
``libbpf.so.1`` at run time.

``SECENGINE_SKIP_BPF=1`` builds a wheel without the probe (the syscall source then says
how to build it); everything else works.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def load_probe_builder(root: Path) -> ModuleType:
    """``src/secengine/bpf/build.py``, loaded by path in a build environment without secengine.

    build.py needs only the standard library and ``secengine.errors`` (whose package
    ``__init__`` imports nothing eagerly), so ``src`` is put on the path while it loads;
    the ``secengine`` modules that pulls in are forgotten afterwards, leaving the build
    backend's process as it was.
    """
    src = str(root / "src")
    before = set(sys.modules)
    sys.path.insert(0, src)
    try:
        spec = importlib.util.spec_from_file_location(
            "_secengine_bpf_build", root / "src" / "secengine" / "bpf" / "build.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(src)
        for name in set(sys.modules) - before:
            if name == "secengine" or name.startswith("secengine."):
                del sys.modules[name]
    return module


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("SECENGINE_SKIP_BPF") == "1":
            return
        module = load_probe_builder(Path(self.root))
        self._tmp = tempfile.TemporaryDirectory(prefix="secengine-wheel-bpf-")
        try:
            objs = module.build_all(Path(self._tmp.name))  # the probe and the profile recorder
        except module.BuildError as e:
            raise RuntimeError(f"cannot build the eBPF probe for the wheel: {e} "
                               "(set SECENGINE_SKIP_BPF=1 to build a wheel without it)") from e
        for obj in objs:
            build_data["force_include"][str(obj)] = f"secengine/bpf/{obj.name}"
        build_data["pure_python"] = False
        build_data["tag"] = "py3-none-linux_x86_64"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
