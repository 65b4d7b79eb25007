"""Write the module map of docs/architecture.md: every module, by layer, in one sentence.

The sentence is the first paragraph of the module's docstring, so the map
cannot drift from the code: ``tests/test_architecture_doc.py`` fails when a
module is added, moved or re-described without re-running this script. The
layers are read from the import-linter contract in ``pyproject.toml``, the
same one ``lint-imports`` enforces.

Run ``python tools/module_map.py`` to rewrite the section in place, or
``--check`` to exit 1 when it is out of date.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "secengine"
DOC = ROOT / "docs" / "architecture.md"
START = "<!-- module-map:start (tools/module_map.py writes this section) -->"
END = "<!-- module-map:end -->"


def layers() -> list[list[str]]:
    """The contract's layers, top first, each a list of top-level module names."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [[name.strip() for name in layer.split(":")] for layer in contract["layers"]]


def summary(path: Path) -> str:
    """The first paragraph of a module's docstring, on one line."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split()).replace("|", "\\|")


def modules(top: str) -> list[tuple[str, Path]]:
    """``(dotted name under secengine, file)`` for a top-level module or every module of a package."""
    package = PACKAGE / top
    if not package.is_dir():
        return [(top, PACKAGE / f"{top}.py")]
    found = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def render() -> str:
    root = PACKAGE / "__init__.py"
    lines = [
        START,
        "",
        "### the package's public names",
        "",
        "| module | what it is |",
        "|---|---|",
    ]
    lines += [f"| [`secengine`](../src/secengine/__init__.py) | {summary(root)} |", ""]
    for layer in layers():
        lines += [f"### {', '.join(layer)}", ""]
        lines += ["| module | what it is |", "|---|---|"]
        for top in layer:
            for name, path in modules(top):
                file = path.relative_to(ROOT / "src").as_posix()
                lines.append(f"| [`{name}`](../src/{file}) | {summary(path)} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def updated(text: str) -> str:
    """``text`` (the architecture doc) with its module-map section replaced by the current map."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + render() + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is out of date")
    args = parser.parse_args(argv)
    text = DOC.read_text()
    new = updated(text)
    if args.check:
        if new != text:
            print(f"{DOC}: the module map is out of date; run python tools/module_map.py")
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
