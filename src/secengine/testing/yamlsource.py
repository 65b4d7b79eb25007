"""Read a rule-test file into plain Python data, remembering the line of every value.

Test files are ordinary YAML 1.2 (anchors, aliases and ``<<`` merge keys
included), read with ruamel.yaml's safe composer. We build the Python values
ourselves from the node graph rather than letting ruamel construct them, so
that every mapping value and list item gets its line number recorded under
its path (``("cases", 3, "events", 0)``). The model layer then turns a
pydantic error location into ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from secengine.yamlbounds import YamlLimitError, compose_all

__all__ = ["Path_", "YamlData", "line_of", "load_yaml", "read_yaml_file"]

#: A path into the data: mapping keys and list indexes.
Path_ = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlData:
    """The decoded document and the 1-based line of each path in it."""

    __slots__ = ("data", "lines")

    def __init__(self, data: Any, lines: dict[Path_, int]) -> None:
        self.data = data
        self.lines = lines


class _ReadError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load_yaml(text: str) -> YamlData:
    """Decode one YAML document; raises ``ValueError`` with ``"line N: reason"``."""
    yaml = YAML(typ="safe", pure=True)
    try:
        nodes = compose_all(yaml, text)
    except YamlLimitError as e:
        where = f"line {e.mark.line + 1}: " if e.mark is not None else ""
        raise ValueError(where + e.message) from None
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ValueError(f"{where}invalid YAML: {problem}") from None
    if len(nodes) != 1 or nodes[0] is None:
        raise ValueError("a rule-test file holds exactly one YAML document")
    lines: dict[Path_, int] = {}
    try:
        data = _Builder(yaml, lines).build(nodes[0], ())
    except _ReadError as e:
        where = f"line {e.line}: " if e.line is not None else ""
        raise ValueError(where + e.message) from None
    return YamlData(data, lines)


def line_of(lines: dict[Path_, int], loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest known path along ``loc`` (a pydantic error location).

    Parts of ``loc`` that are not in the data (union tags such as ``"inline"``)
    are skipped.
    """
    path: Path_ = ()
    for part in loc:
        candidate = path + (part,)
        if candidate in lines:
            path = candidate
    return lines.get(path)


class _Builder:
    def __init__(self, yaml: YAML, lines: dict[Path_, int]) -> None:
        self.construct = yaml.constructor.construct_object
        self.lines = lines
        self.active: set[int] = set()

    def build(self, node: Node, path: Path_) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.construct(node, deep=True)
        if id(node) in self.active:
            raise _ReadError(
                "a YAML alias refers to a node that contains it", node.start_mark.line + 1
            )
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise _ReadError(f"unsupported YAML node {node.tag}", node.start_mark.line + 1)

    def _mapping(self, node: MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merged: list[MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node))
                continue
            key = self._key(key_node)
            if key in out:
                raise _ReadError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            out[key] = self.build(value_node, path + (key,))
        # ``<<`` entries supply defaults: explicit keys win, earlier merges win over later ones.
        for source in merged:
            for key, value in self._mapping(source, path).items():
                out.setdefault(key, value)
        return out

    def _key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise _ReadError("mapping keys must be plain values", node.start_mark.line + 1)
        key = self.construct(node, deep=True)
        return key if isinstance(key, str) else str(key)

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        raise _ReadError("'<<' needs a mapping or a list of mappings", node.start_mark.line + 1)


def read_yaml_file(path: Path) -> YamlData:
    """:func:`load_yaml` of a file's text (``OSError`` and ``ValueError`` propagate)."""
    return load_yaml(path.read_text(encoding="utf-8"))
