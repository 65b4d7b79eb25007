"""Load diagnostics: where a problem is (a context chain), what it is, and how Falco prints it.

A port of Falco's ``rule_loader::context``, ``rule_loader::result`` and
``falco_load_result``. Every error and warning carries a chain of locations
(file → item → value → condition position) and is rendered either as the
verbose text of ``falco -V`` (with a caret snippet) or as Falco's JSON. The
renderings are byte-compatible with Falco's, including its quirks (JSON
``codedesc`` of errors holds the short text; condition locations add the
YAML mark of the condition to the parser's 1-based line and column).

Positions are 0-based YAML marks counted in bytes of the UTF-8 file, as
yaml-cpp counts them; rules contents are kept as bytes for the snippets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from secengine.errors import RulesLoadError
from secengine.ruleset.messages import DeprecatedField, ErrorCode, ItemType, WarningCode

__all__ = [
    "SNIPPET_WIDTH",
    "Context",
    "Diagnostic",
    "ItemError",
    "LoadResult",
    "Location",
    "Position",
]

#: Falco's ``context::default_snippet_width``.
SNIPPET_WIDTH = 160

RulesContents = Mapping[str, bytes]


@dataclass(frozen=True, slots=True)
class Position:
    """A 0-based YAML mark: byte ``offset``, ``line`` and ``column``."""

    offset: int = 0
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Location:
    """One link of a context chain: the content ``name``, a position, and what is there."""

    name: str
    position: Position
    item_type: ItemType
    item_name: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "item_type": self.item_type.value,
            "item_name": self.item_name,
            "position": {
                "name": self.name,
                "line": self.position.line,
                "column": self.position.column,
                "offset": self.position.offset,
            },
        }


@dataclass(frozen=True, slots=True)
class Context:
    """A chain of locations from the rules content down to the problem.

    ``alt_content`` holds the condition text for contexts that point inside a
    condition: snippets are then cut from it instead of from the file.
    """

    locations: tuple[Location, ...]
    alt_content: bytes = b""

    # -- construction (mirrors the C++ constructors) --------------------------------
    @classmethod
    def root(cls, name: str) -> Context:
        """The whole document ``name`` (Falco's ``context(name)``)."""
        return cls((Location(name, Position(), ItemType.RULES_CONTENT, ""),))

    @property
    def name(self) -> str:
        """The content name (file name) of the chain."""
        return self.locations[0].name

    def child(self, position: Position, item_type: ItemType, item_name: str = "") -> Context:
        """A new context one level deeper, in the same content."""
        return Context(self.locations + (Location(self.name, position, item_type, item_name),))

    def value_at(self, position: Position) -> Context:
        """Falco's ``context(mark, parent)``: an anonymous value at ``position``."""
        return self.child(position, ItemType.VALUE_FOR, "")

    def condition(self, idx: int, line: int, col: int, condition: str) -> Context:
        """A location inside ``condition`` (parser position: 0-based ``idx``, 1-based line/col).

        Falco adds the parser position to the position of the last location of
        this chain (the YAML mark of the condition value), and names the
        location by a quoted prefix of the condition.
        """
        text = condition.encode("utf-8", "surrogateescape")
        byte_idx = len(condition[:idx].encode("utf-8", "surrogateescape"))
        if len(text) > 20:
            shown = text[:17].decode("utf-8", "replace") + '..."'
        else:
            shown = condition + '"'
        cond_name = ('"' + shown).replace("\n", " ").replace("\r", " ")
        last = self.locations[-1].position
        pos = Position(byte_idx + last.offset, line + last.line, col + last.column)
        loc = Location(cond_name, pos, ItemType.CONDITION_EXPRESSION, "")
        return Context(self.locations + (loc,), alt_content=text)

    # -- rendering ------------------------------------------------------------------------
    def as_string(self) -> str:
        lines = []
        for i, loc in enumerate(self.locations):
            head = "In " if i == 0 else "    "
            item = loc.item_type.value
            if loc.item_name:
                item += " '" + loc.item_name + "'"
            lines.append(f"{head}{item}: ({loc.name}:{loc.position.line}:{loc.position.column})\n")
        return "".join(lines)

    def as_json(self) -> dict[str, object]:
        return {"locations": [loc.as_json() for loc in self.locations]}

    def snippet(self, contents: RulesContents, width: int = SNIPPET_WIDTH) -> str:
        """The line around the last location with a ``^`` under it (Falco's ``snippet``)."""
        loc = self.locations[-1]
        if not self.alt_content and loc.name not in contents:
            return "<No context for file + " + loc.name + ">\n"
        content = self.alt_content if self.alt_content else contents[loc.name]
        if not content:
            return "<No context available>\n"
        return _snippet(content, loc.position.offset, width)


_CONTROL_TO_QUESTION = bytes(
    0x3F if (b < 0x20 and b != 0x09) or b == 0x7F else b for b in range(256)
)


def _snippet(content: bytes, offset: int, width: int) -> str:
    size = len(content)
    half = width // 2
    pos = offset
    # A mark may point past the end (a dangling "tags:" at EOF) or at a newline.
    while pos > 0 and (pos >= size or content[pos] == 0x0A):
        pos -= 1
    start = pos
    while start > 0 and content[start] != 0x0A and (pos - start) < half:
        start -= 1
    end = pos
    while end < size - 1 and content[end] != 0x0A and (end - pos) < half:
        end += 1
    if start < size and content[start] == 0x0A:
        start += 1
    if end < size and content[end] == 0x0A:
        end -= 1
    piece = bytearray(content[start : end + 1]) if end + 1 > start else bytearray()
    if not piece:
        return "<No context available>\n"
    if pos - start >= half:
        piece[0:3] = b"..."
    if end - pos >= half:
        piece[len(piece) - 3 :] = b"..."
    # A rules file is input: its control bytes (ESC sequences that drive a terminal)
    # are shown as '?', one for one so that the caret still points at the place.
    out = bytes(piece).translate(_CONTROL_TO_QUESTION) + b"\n"
    # Falco compares against ret.size() - 1 with unsigned arithmetic.
    if pos - start <= len(out) - 1:
        out += b" " * (pos - start) + b"^\n"
    return out.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One error or warning: a code, Falco's message and where it happened.

    ``deprecated_field`` is set for Falco's ``deprecated_field_warning`` (a
    ``LOAD_DEPRECATED_ITEM`` about a field), which renders slightly differently.
    """

    code: ErrorCode | WarningCode
    message: str
    context: Context
    deprecated_field: DeprecatedField | None = None

    @property
    def is_error(self) -> bool:
        return isinstance(self.code, ErrorCode)

    @property
    def short(self) -> str:
        """The short text printed in parentheses after the code."""
        text = self.code.short
        if self.deprecated_field is not None:
            text += ": field '" + self.deprecated_field.field_name + "'"
        return text

    @property
    def codedesc(self) -> str:
        """The JSON ``codedesc``: short text for errors (Falco's bug), long text for warnings."""
        if isinstance(self.code, ErrorCode):
            return self.code.short
        text = self.code.desc
        if self.deprecated_field is not None:
            text += ": " + self.deprecated_field.desc
        return text

    def render_text(self, contents: RulesContents) -> str:
        return (
            self.context.as_string()
            + "------\n"
            + self.context.snippet(contents)
            + "------\n"
            + f"{self.code.name} ({self.short}): {self.message}\n"
        )

    def as_json(self, contents: RulesContents) -> dict[str, object]:
        ctx = self.context.as_json()
        ctx["snippet"] = self.context.snippet(contents)
        out: dict[str, object] = {
            "code": self.code.name,
            "codedesc": self.codedesc,
            "context": ctx,
            "message": self.message,
        }
        if self.deprecated_field is not None:
            out["deprecated_field"] = self.deprecated_field.field_name
        return out


class ItemError(RulesLoadError):
    """Falco's ``rule_load_exception``: stops loading the current file.

    Raised inside the loader stages and always caught by :func:`load_rules`,
    which records it as an error of the file's :class:`LoadResult`.
    """

    def __init__(self, code: ErrorCode, message: str, context: Context) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.context = context


@dataclass(slots=True)
class LoadResult:
    """The outcome of loading one rules content (one file).

    ``contents`` maps every content name loaded so far to its bytes; Falco
    renders snippets from it, and warnings of a later file can point into an
    earlier one. ``schema_warnings`` is Falco's schema-validation status list
    (``["ok"]`` when the YAML matched the rules JSON schema).
    """

    name: str
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict, repr=False)
    schema_warnings: list[str] = field(default_factory=list)

    # -- collecting -----------------------------------------------------------------------
    def add_error(self, code: ErrorCode, message: str, context: Context) -> None:
        self.errors.append(Diagnostic(code, message, context))

    def add_warning(self, code: WarningCode, message: str, context: Context) -> None:
        self.warnings.append(Diagnostic(code, message, context))

    def add_deprecated_field_warning(
        self, df: DeprecatedField, message: str, context: Context
    ) -> None:
        self.warnings.append(
            Diagnostic(WarningCode.LOAD_DEPRECATED_ITEM, message, context, deprecated_field=df)
        )

    # -- status ---------------------------------------------------------------------------
    @property
    def successful(self) -> bool:
        return not self.errors

    @property
    def has_warnings(self) -> bool:
        return bool(self.warnings)

    @property
    def schema_valid(self) -> bool:
        return not self.schema_warnings or self.schema_warnings[0] == "ok"

    # -- rendering ------------------------------------------------------------------------
    def _status(self) -> str:
        head = self.name + ": " if self.name else ""
        if self.successful:
            return head + ("Ok, with warnings" if self.warnings else "Ok")
        return head + "Invalid"

    def summary(self) -> str:
        """Falco's one-line summary (``as_string(false)``)."""
        out = self._status()
        if self.schema_warnings and not self.schema_valid:
            out += (
                f"\n {len(self.schema_warnings)} schema warnings: ["
                + " ".join(self.schema_warnings)
                + "]"
            )
        if self.errors:
            out += (
                f"\n {len(self.errors)} errors: ["
                + " ".join(f"{d.code.name} ({d.short})" for d in self.errors)
                + "]"
            )
        if self.warnings:
            out += (
                f"\n {len(self.warnings)} warnings: ["
                + " ".join(f"{d.code.name} ({d.short})" for d in self.warnings)
                + "]"
            )
        return out

    def render_text(self, contents: RulesContents | None = None) -> str:
        """Falco's verbose text (``as_string(true)``): status, then every error and warning."""
        contents = self.contents if contents is None else contents
        out = self._status()
        if self.schema_warnings and not self.schema_valid:
            out += f"\n{len(self.schema_warnings)} Schema warnings:\n"
            for status in self.schema_warnings:
                out += "------\n" + status + "\n"
            out += "------\n"
        if self.errors:
            out += f"\n{len(self.errors)} Errors:\n"
            out += "".join(d.render_text(contents) for d in self.errors)
        if self.warnings:
            out += f"\n{len(self.warnings)} Warnings:\n"
            out += "".join(d.render_text(contents) for d in self.warnings)
        return out

    def as_json(self, contents: RulesContents | None = None) -> dict[str, object]:
        """Falco's JSON object for this result (keys are sorted when dumped)."""
        contents = self.contents if contents is None else contents
        out: dict[str, object] = {"name": self.name, "successful": self.successful}
        if self.schema_warnings:
            out["schema_valid"] = self.schema_valid
            out["schema_warnings"] = [] if self.schema_valid else list(self.schema_warnings)
        out["errors"] = [d.as_json(contents) for d in self.errors]
        out["warnings"] = [d.as_json(contents) for d in self.warnings]
        return out


def dump_json(obj: object) -> str:
    """Serialise like nlohmann ``dump(-1)``: compact, sorted keys, UTF-8 kept as is."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
