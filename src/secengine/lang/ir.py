"""The typed intermediate form of a condition, shared by the interpreter and the compiler.

The checker builds it from the AST once fields are resolved, operators are
checked against field types, and literals are parsed with the field's type.
Nodes are frozen and hashable so the compiler can find subtrees shared
between rules (expanded macros) and evaluate each once per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from secengine.lang.ast import Pos
from secengine.lang.fielddefs import FieldKind, ResolvedField

__all__ = [
    "IAnd",
    "IBool",
    "ICheck",
    "IConst",
    "IField",
    "INot",
    "IOr",
    "ITransform",
    "Node",
    "Operand",
]


@dataclass(frozen=True, slots=True)
class IField:
    """Read one field. ``any_of``: a list of ancestor values where any may satisfy the check."""

    rf: ResolvedField
    kind: FieldKind
    is_list: bool
    any_of: bool
    unsigned_bits: int = 0  # for unsigned numeric fields: literals wrap at this width

    @property
    def key(self) -> str:
        return self.rf.key


@dataclass(frozen=True, slots=True)
class IConst:
    """A constant operand inside transformer arguments."""

    value: Any
    is_list: bool = False


@dataclass(frozen=True, slots=True)
class ITransform:
    """A transformer applied to operands; ``arg`` is the field argument (``getopt(...)[t]``)."""

    name: str
    args: tuple[Operand, ...]
    kind: FieldKind
    is_list: bool
    arg: str | None = None


Operand = IField | ITransform | IConst


@dataclass(frozen=True, slots=True)
class ICheck:
    """``left op values`` (or ``left op rhs`` for ``val()``/transformers on the right).

    ``op`` is the base operator; ``modifier`` is ``oneof``/``anyof``/``allof`` or None.
    ``values`` holds the literals parsed with the left operand's type (one for
    scalar operators, any number for list operators and modifiers).
    """

    left: Operand
    op: str
    values: tuple[Any, ...] = ()
    rhs: Operand | None = None
    modifier: str | None = None
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True, slots=True)
class IAnd:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class IOr:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class INot:
    child: Node


@dataclass(frozen=True, slots=True)
class IBool:
    """A constant truth value (from folding, e.g. ``evt.type`` inside its own bucket)."""

    value: bool


Node = ICheck | IAnd | IOr | INot | IBool
