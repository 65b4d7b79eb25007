"""Load a ``*.ruletest.yaml`` file: YAML → model → cases with concrete events.

Loading checks everything that can be checked without running the rules:
the YAML, the shape (:mod:`secengine.testing.model`), that the rules files
exist, that templates and ``extends`` refer to something and do not loop,
and that inline events use known fields with values of the right types.
Each problem is a :class:`~secengine.testing.model.RuleTestError` naming
``file:line``. Event files are only read when their case runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from secengine.fields.registry import FieldRegistry
from secengine.ruleset.paths import RULE_TEST_SUFFIX
from secengine.sources.fieldmap import DEFAULT_SOURCE
from secengine.sources.specs import field_registry
from secengine.testing.fieldcheck import field_problems
from secengine.testing.model import (
    EventFile,
    InlineEvent,
    Options,
    RuleExpectation,
    RuleTestError,
    RuleTestFile,
    RuleTestSkipped,
    Template,
)
from secengine.testing.yamlsource import Path_, line_of, load_yaml

#: ``${NAME}`` in a ``rules_files`` entry: the environment variable NAME.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

__all__ = [
    "TEST_FILE_SUFFIX",
    "CaseEvent",
    "FileEvents",
    "LoadedCase",
    "LoadedTestFile",
    "discover",
    "display_path",
    "load_test_file",
]

#: The name ending of rule-test files (what ``secengine test DIR`` and the pytest plugin collect).
TEST_FILE_SUFFIX = RULE_TEST_SUFFIX


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """An inline event after its template was applied; ``time`` None = assigned when run."""

    source: str
    time: int | None
    fields: dict[str, Any]
    origin: str  # "file:line"


@dataclass(frozen=True, slots=True)
class FileEvents:
    """A reference to an event file, read when the case runs."""

    path: Path
    format: str | None
    source: str | None
    origin: str


@dataclass(frozen=True, slots=True)
class LoadedCase:
    index: int
    name: str
    line: int
    events: tuple[CaseEvent | FileEvents, ...]
    expect: tuple[RuleExpectation, ...]
    no_alerts: bool
    #: ``file:line`` of the case, for reports.
    origin: str


@dataclass(frozen=True, slots=True)
class LoadedTestFile:
    path: Path
    #: The path as reports show it (relative to the working directory when below it).
    label: str
    rules_files: tuple[Path, ...]
    options: Options
    cases: tuple[LoadedCase, ...]


def display_path(path: Path) -> str:
    """``path`` relative to the working directory if it is below it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Test files under ``paths``: directories are searched recursively for
    ``*.ruletest.yaml``; a file named explicitly is taken whatever its name.

    Raises ``FileNotFoundError`` for a path that does not exist.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        path = Path(item)
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*" + TEST_FILE_SUFFIX) if p.is_file())
        elif path.is_file():
            candidates = [path]
        else:
            raise FileNotFoundError(f"no such file or directory: {str(item)!r}")
        for p in candidates:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(p)
    return found


def load_test_file(path: Path, registry: FieldRegistry | None = None) -> LoadedTestFile:
    """Read, validate and resolve one test file; raises :class:`RuleTestError`."""
    if registry is None:
        registry = field_registry()
    label = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RuleTestError(
            f"cannot read the test file: {getattr(e, 'strerror', None) or e}", label
        ) from None
    try:
        doc = load_yaml(text)
    except ValueError as e:
        line, reason = _split_line(str(e))
        raise RuleTestError(reason, label, line) from None
    try:
        model = RuleTestFile.model_validate(doc.data)
    except ValidationError as e:
        raise _validation_error(e, doc.lines, label) from None
    return _Resolver(path, label, model, doc.lines, registry).resolve()


def _split_line(message: str) -> tuple[int | None, str]:
    if message.startswith("line "):
        head, _, rest = message.partition(": ")
        try:
            return int(head[5:]), rest
        except ValueError:
            pass
    return None, message


def _validation_error(e: ValidationError, lines: dict[Path_, int], label: str) -> RuleTestError:
    """The first pydantic error as ``file:line: at <path>: <message>`` (and a count of the rest)."""
    errors = e.errors(include_url=False)
    # A container whose item failed also reports itself (a tuple left too short):
    # keep only the most specific errors.
    locs = [tuple(err["loc"]) for err in errors]
    errors = [
        err
        for err, loc in zip(errors, locs)
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
    ]
    first = errors[0]
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc if p not in ("inline", "file"))
    msg = first["msg"]
    msg = msg.removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    # YAML words for pydantic's Python ones
    msg = (
        msg.replace("valid tuple", "list")
        .replace("Tuple should", "List should")
        .replace("valid dictionary", "mapping")
    )
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    text = f"{where}: {msg}{more}" if where else f"{msg}{more}"
    return RuleTestError(text, label, line_of(lines, loc))


class _Resolver:
    """Applies templates, checks fields, and builds the loaded cases of one file."""

    def __init__(
        self,
        path: Path,
        label: str,
        model: RuleTestFile,
        lines: dict[Path_, int],
        registry: FieldRegistry,
    ) -> None:
        self.path = path
        self.base = path.parent
        self.label = label
        self.model = model
        self.lines = lines
        self.registry = registry
        self._templates: dict[str, tuple[str | None, dict[str, Any]]] = {}

    def error(self, message: str, at: Path_) -> RuleTestError:
        return RuleTestError(message, self.label, line_of(self.lines, at))

    def origin(self, at: Path_) -> str:
        line = line_of(self.lines, at)
        return f"{self.label}:{line}" if line is not None else self.label

    def resolve(self) -> LoadedTestFile:
        rules_files = tuple(
            self._rules_file(i, name) for i, name in enumerate(self.model.rules_files)
        )
        for name in self.model.templates:
            self._template(name, ())
        names: dict[str, int] = {}
        cases = []
        for i, case in enumerate(self.model.cases):
            if case.name in names:
                raise self.error(
                    f"case name {case.name!r} is used twice "
                    f"(first at line {line_of(self.lines, ('cases', names[case.name]))})",
                    ("cases", i, "name"),
                )
            names[case.name] = i
            events = tuple(self._event(i, j, ev) for j, ev in enumerate(case.events))
            cases.append(
                LoadedCase(
                    i,
                    case.name,
                    line_of(self.lines, ("cases", i)) or 1,
                    events,
                    case.expect,
                    case.no_alerts,
                    self.origin(("cases", i)),
                )
            )
        return LoadedTestFile(self.path, self.label, rules_files, self.model.options, tuple(cases))

    def _rules_file(self, i: int, name: str) -> Path:
        """``rules_files[i]``: relative to this file, ``${NAME}`` read from the environment."""
        at: Path_ = ("rules_files", i)
        unset = [v for v in _VARIABLE.findall(name) if not os.environ.get(v)]
        if unset:
            problem = f"rules file {name}: the environment variable {unset[0]} is not set"
        else:
            path = self.base / _VARIABLE.sub(lambda m: os.environ[m.group(1)], name)
            if path.exists():
                return path
            problem = f"rules file not found: {name} (looked for {path})"
        reason = self.model.skip_if_rules_missing
        if reason is not None:
            raise RuleTestSkipped(f"{reason} ({problem})", self.origin(at))
        raise self.error(problem, at)

    def _template(self, name: str, chain: Sequence[str]) -> tuple[str | None, dict[str, Any]]:
        """The (source, fields) of a template with everything it extends applied."""
        done = self._templates.get(name)
        if done is not None:
            return done
        tpl: Template = self.model.templates[name]
        at: Path_ = ("templates", name)
        if name in chain:
            loop = " -> ".join([*chain, name])
            raise self.error(f"templates extend each other in a loop: {loop}", at)
        source: str | None = None
        fields: dict[str, Any] = {}
        if tpl.extends is not None:
            if tpl.extends not in self.model.templates:
                raise self.error(self._unknown_template(tpl.extends), at + ("extends",))
            source, fields = self._template(tpl.extends, [*chain, name])
        result = (tpl.source or source, _merge(fields, tpl.fields))
        self._templates[name] = result
        return result

    def _unknown_template(self, name: str) -> str:
        known = ", ".join(sorted(self.model.templates)) or "none are defined"
        return f"no template named {name!r} (templates: {known})"

    def _event(
        self, case: int, index: int, spec: InlineEvent | EventFile
    ) -> CaseEvent | FileEvents:
        at: Path_ = ("cases", case, "events", index)
        if isinstance(spec, EventFile):
            path = self.base / spec.file
            if not path.is_file():
                problem = (
                    f"event file not found: {spec.file}"
                    if not os.path.lexists(path)
                    else f"event file {spec.file} is a directory"
                    if path.is_dir()
                    else f"event file {spec.file} is not a regular file"
                )
                raise self.error(f"{problem} (looked for {path})", at + ("file",))
            return FileEvents(path, spec.format, spec.source, self.origin(at))
        source: str | None = None
        fields: dict[str, Any] = {}
        if spec.extends is not None:
            if spec.extends not in self.model.templates:
                raise self.error(self._unknown_template(spec.extends), at + ("extends",))
            source, fields = self._template(spec.extends, ())
        fields = _merge(fields, spec.fields)
        source = spec.source or source or DEFAULT_SOURCE
        problems = field_problems(source, fields, self.registry)
        if problems:
            key, problem = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise self.error(problem + more, at + ("fields", key))
        return CaseEvent(source, spec.time, fields, self.origin(at))


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``overrides``; a ``None`` override removes the key."""
    out = dict(base)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
