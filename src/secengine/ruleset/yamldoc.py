"""YAML as yaml-cpp sees it: nodes with byte marks, yaml-cpp's null/bool/int rules.

Falco reads rules with yaml-cpp; we read them with ruamel.yaml's composer
(the node graph, which keeps a mark on every node) and reproduce the yaml-cpp
behaviours the loader depends on. The pure-Python *safe* composer is used:
the round-trip one inserts ``\a`` fold markers into folded (``>``) scalars.

- marks are 0-based and count bytes of the UTF-8 text (ruamel counts
  characters), so positions in diagnostics match Falco's;
- ``node[key]`` finds the first entry whose scalar key equals ``key``;
- a plain ``~``/``null``/``Null``/``NULL`` or an empty value is null;
- scalars convert to bool and unsigned integers the way ``YAML::convert`` does;
- syntax errors are reported with yaml-cpp's wording where it is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeGuard

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from secengine.errors import SecengineError
from secengine.ruleset.diagnostics import Position
from secengine.ruleset.messages import YAML_CPP_PROBLEMS, msg
from secengine.yamlbounds import YamlLimitError, compose_all

__all__ = [
    "Document",
    "YamlSyntaxError",
    "compose_documents",
    "get",
    "is_mapping",
    "is_null",
    "is_scalar",
    "is_sequence",
    "map_items",
    "scalar_text",
    "seq_items",
    "to_bool",
    "to_uint",
]

_NULL_TAG = "tag:yaml.org,2002:null"


class YamlSyntaxError(SecengineError):
    """The text is not YAML; ``message`` is worded like yaml-cpp's ``ParserException``."""

    def __init__(self, message: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class _Marks:
    """Converts ruamel's character marks to yaml-cpp's byte marks."""

    def __init__(self, text: str) -> None:
        self._ascii = text.isascii()
        self._lines = text.split("\n") if not self._ascii else []
        self._line_starts: list[int] = []
        if not self._ascii:
            start = 0
            for line in self._lines:
                self._line_starts.append(start)
                start += len(line.encode("utf-8", "surrogateescape")) + 1

    def position(self, index: int, line: int, column: int) -> Position:
        if self._ascii or line >= len(self._lines):
            return Position(index, line, column)
        byte_col = len(self._lines[line][:column].encode("utf-8", "surrogateescape"))
        return Position(self._line_starts[line] + byte_col, line, byte_col)


class Document:
    """The composed YAML documents of one rules content, with mark conversion."""

    def __init__(self, text: str, roots: list[Node | None]) -> None:
        self.roots = roots
        self._marks = _Marks(text)

    def mark(self, node: Node) -> Position:
        m = node.start_mark
        return self._marks.position(m.index, m.line, m.column)


def compose_documents(text: str) -> Document:
    """Compose every document of ``text`` up front, as yaml-cpp's ``LoadAll`` does.

    Raises :class:`YamlSyntaxError` for a syntax error anywhere in the text, and for
    aliases that expand past :data:`~secengine.yamlbounds.MAX_ALIAS_EXPANSION` (or
    refer to themselves) before any reader walks them.
    """
    yaml = YAML(typ="safe", pure=True)
    marks = _Marks(text)
    try:
        roots = compose_all(yaml, text)
    except YamlLimitError as exc:
        where = (
            None
            if exc.mark is None
            else marks.position(exc.mark.index, exc.mark.line, exc.mark.column)
        )
        raise YamlSyntaxError(msg("yaml_limits", problem=exc.message), where) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unknown YAML parsing error"
        if mark is None:
            raise YamlSyntaxError(_yaml_cpp_problem(problem), None) from None
        pos = marks.position(mark.index, mark.line, mark.column)
        message = msg(
            "yaml_cpp_error",
            line=pos.line + 1,
            column=pos.column + 1,
            problem=_yaml_cpp_problem(problem),
        )
        raise YamlSyntaxError(message, pos) from None
    except YAMLError as exc:  # a few errors carry no mark (e.g. unacceptable characters)
        raise YamlSyntaxError(str(exc), None) from None
    return Document(text, roots)


_QUOTED = re.compile(r"'([^']*)'")


def _yaml_cpp_problem(problem: str) -> str:
    for needle, wording in YAML_CPP_PROBLEMS:
        if needle in problem:
            if wording.endswith(": "):
                quoted = _QUOTED.search(problem)
                return wording + (quoted.group(1) if quoted else "")
            return wording
    return problem


# -- node predicates -------------------------------------------------------------------------


def is_null(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG and node.style is None


def is_scalar(node: Node | None) -> TypeGuard[ScalarNode]:
    return isinstance(node, ScalarNode) and not is_null(node)


def is_sequence(node: Node | None) -> TypeGuard[SequenceNode]:
    return isinstance(node, SequenceNode)


def is_mapping(node: Node | None) -> TypeGuard[MappingNode]:
    return isinstance(node, MappingNode)


def scalar_text(node: Node) -> str:
    """The scalar's text (yaml-cpp ``Scalar()``); null scalars read as the empty string."""
    return "" if is_null(node) else str(node.value)


def map_items(node: MappingNode) -> Iterator[tuple[Node, Node]]:
    yield from node.value


def seq_items(node: SequenceNode) -> Iterator[Node]:
    yield from node.value


def get(node: Node | None, key: str) -> Node | None:
    """yaml-cpp ``node[key]``: the value of the first entry with scalar key ``key``."""
    if not isinstance(node, MappingNode):
        return None
    pairs: list[tuple[Node, Node]] = node.value
    for k, v in pairs:
        if isinstance(k, ScalarNode) and scalar_text(k) == key:
            return v
    return None


# -- YAML::convert ---------------------------------------------------------------------------

_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})


def to_bool(text: str) -> bool | None:
    """yaml-cpp ``convert<bool>``: the YAML 1.1 spellings; ``None`` if not a bool."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


_UINT = re.compile(r"\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[ \t\n\r\f\v]*")


def to_uint(text: str, bits: int = 32) -> int | None:
    """yaml-cpp ``convert<uintN_t>``: a stream read with base detection, no sign, in range."""
    m = _UINT.fullmatch(text)
    if m is None:
        return None
    digits = m.group(1)
    if digits[:2] in ("0x", "0X"):
        value = int(digits, 16)
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits, 8)
    else:
        value = int(digits)
    return value if value < (1 << bits) else None
