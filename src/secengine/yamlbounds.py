"""Bounds on YAML input: alias expansion, checked on the composed node graph before anything
reads it, and nesting depth.

An alias is a reference, so ``b: &b [*a, *a]`` over thirty levels ("billion
laughs") composes into a few dozen nodes that every reader that walks values
(schema validation, exception values, configuration models) sees as a
billion. Rules files, ``*.ruletest.yaml`` files and the ``-c`` configuration
are all composed first and measured here: the documents with every alias
expanded may be larger than the composed graph by at most
:data:`MAX_ALIAS_EXPANSION` (nodes plus scalar characters); a recursive alias
(a node that contains an alias to itself) is refused outright. The
measurement visits each distinct node once, so it is linear in the text.

Nesting is bounded too (:data:`MAX_DEPTH`): ``[[[[...`` a few hundred levels
deep would exhaust Python's stack in ruamel's recursive composer, and costs the
scanner work per token that grows with the depth.
"""

from __future__ import annotations

from collections.abc import Iterable

from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import StreamMark
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from secengine.errors import SecengineError

__all__ = ["MAX_ALIAS_EXPANSION", "MAX_DEPTH", "YamlLimitError", "check_aliases", "compose_all"]

#: Nodes plus scalar characters that aliases may add to a YAML file (about a
#: megabyte of repeated text); ordinary anchors for shared lists stay far below.
MAX_ALIAS_EXPANSION = 1_000_000


class YamlLimitError(SecengineError, ValueError):
    """A YAML text nests too deeply, or its aliases expand past the limit or refer to
    themselves.

    ``mark`` is ruamel's 0-based position of the anchored node at fault.
    """

    def __init__(self, message: str, mark: StreamMark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark

    def where(self, name: str) -> str:
        """``name:line:column`` (1-based) of the node at fault, or ``name``."""
        if self.mark is None:
            return name
        return f"{name}:{self.mark.line + 1}:{self.mark.column + 1}"


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _own_weight(node: Node) -> int:
    return 1 + len(node.value) if isinstance(node, ScalarNode) else 1


def check_aliases(roots: Iterable[Node | None], limit: int = MAX_ALIAS_EXPANSION) -> None:
    """Raise :class:`YamlLimitError` if aliases expand ``roots`` by more than ``limit``."""
    weight: dict[int, int] = {}  # expanded weight of each finished node
    active: set[int] = set()  # nodes on the current path (a cycle comes back to one)
    shared: dict[int, Node] = {}  # nodes referenced more than once
    distinct = expanded = 0
    for root in roots:
        if root is None:
            continue
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, finished = stack.pop()
            key = id(node)
            if finished:
                active.discard(key)
                weight[key] = _own_weight(node) + sum(weight[id(c)] for c in _children(node))
                continue
            if key in weight:
                shared[key] = node
                continue
            if key in active:
                raise YamlLimitError(
                    "recursive YAML alias: this anchored node contains an alias to itself",
                    node.start_mark,
                )
            active.add(key)
            distinct += _own_weight(node)
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(_children(node)))
        expanded += weight[id(root)]
    if expanded - distinct > limit:
        worst = max(shared.values(), key=lambda n: weight[id(n)])
        raise YamlLimitError(
            f"YAML aliases expand this text by more than {limit} nodes and characters "
            "(the largest aliased node starts here)",
            worst.start_mark,
        )


#: Collections may nest this deep. ruamel's composer recurses about three Python frames
#: per level, and its scanner re-checks one pending simple key per open flow
#: collection at every token, so ``[[[[...`` is refused while it is read (the
#: composer's own ``max_depth``), before the stack or the scanner's quadratic work
#: grows; rules and configurations nest under ten levels.
MAX_DEPTH = 100


def compose_all(yaml: YAML, text: str) -> list[Node | None]:
    """``yaml.compose_all(text)`` with nesting bounded by :data:`MAX_DEPTH` and aliases
    checked (:func:`check_aliases`), each refused as a located :class:`YamlLimitError`."""
    yaml.max_depth = MAX_DEPTH  # counted in nodes: a scalar inside is a level too
    try:
        roots = list(yaml.compose_all(text))
    except MaxDepthExceededError as error:
        raise YamlLimitError(
            f"YAML collections nest more than {MAX_DEPTH} levels deep here, "
            "deeper than this reader follows",
            error.problem_mark,
        ) from None
    check_aliases(roots)
    return roots
