"""Where a configuration key was set, and the located problems a bad one becomes.

A problem is ``(where, key, message)``: ``where`` is ``file:line:column``,
the command-line option that set the key, or ``defaults``; ``key`` the dotted
path (``http_output.url``). :class:`ConfigFileError` carries every problem of
one load, so a user sees them all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from secengine.errors import ConfigError
from secengine.suggest import did_you_mean

__all__ = ["ConfigFileError", "Marks", "did_you_mean", "problems_of", "where"]

#: (line, column) of each key path of a file.
Marks = dict[tuple[Any, ...], tuple[int, int]]


class ConfigFileError(ConfigError):
    """One or more bad keys or values; ``problems`` lists ``(where, key, message)``."""

    def __init__(self, problems: Sequence[tuple[str, str, str]]) -> None:
        self.problems = list(problems)
        lines = [
            f"{where}: {key}: {message}" if key else f"{where}: {message}"
            for where, key, message in self.problems
        ]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [key for _, key, _ in self.problems]


def where(name: str | None, marks: Marks, loc: tuple[Any, ...], origin: dict[str, str]) -> str:
    """Where the key at ``loc`` was set: its command-line origin, else the closest mark in
    file ``name``, else the file (or ``defaults``)."""
    if loc and isinstance(loc[0], str) and loc[0] in origin:
        return origin[loc[0]]
    for n in range(len(loc), 0, -1):
        mark = marks.get(tuple(loc[:n]))
        if mark is not None:
            return f"{name}:{mark[0]}:{mark[1]}"
    return name if name is not None else "defaults"


def problems_of(
    error: ValidationError,
    root: type[BaseModel],
    name: str | None,
    marks: Marks,
    origin: dict[str, str],
) -> list[tuple[str, str, str]]:
    """pydantic's errors for model ``root`` as located problems (unknown keys with a suggestion)."""
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _is_union_tag(p)))
        key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + _suggest(root, loc)
        else:
            message = err["msg"].removeprefix("Value error, ")
        problems.append((where(name, marks, loc, origin), key, message))
    return problems


def _is_union_tag(part: str) -> bool:
    return part in ("str", "dict[str,str]", "list[str]") or part.startswith(
        ("function-", "literal[")
    )


def _suggest(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    model: Any = root
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return ""
        annotation = field.annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        if model is None:
            return ""
    return did_you_mean(str(loc[-1]), list(model.model_fields))
