"""docs/architecture.md's module map is current: every module, by layer, in one sentence."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_map() -> object:
    spec = importlib.util.spec_from_file_location("module_map", ROOT / "tools" / "module_map.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_module_map_is_current() -> None:
    tool = _module_map()
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert tool.updated(text) == text, "docs/architecture.md: run python tools/module_map.py"  # type: ignore[attr-defined]


def test_every_module_is_in_the_map_with_a_sentence() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "src" / "secengine"
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "secengine"
        assert f"[`{name}`]" in text, f"{name} is missing from the module map"
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no docstring"
