"""The key table of ``docs/configuration.md``, generated from the models (a test keeps them equal)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from secengine.config.model import AgentConfig

__all__ = ["reference_markdown", "reference_rows"]


def _default_text(info: Any) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return ""
    elif info.default is PydanticUndefined:
        return ""
    else:
        value = info.default
    if value is None:
        return "`null`"
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (list, dict)) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def _nested_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def reference_rows(model: Any = None, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key, default, description)`` for every configuration key, depth first.

    Keys inside lists and maps are written ``rules[].enable.rule`` and
    ``sinks.<name>.plugin``. This is the table ``docs/configuration.md``
    carries; a test keeps the two equal.
    """
    model = AgentConfig if model is None else model
    rows: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        key = prefix + name
        rows.append((key, _default_text(info), info.description or ""))
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        nested = _nested_model(annotation)
        if nested is None:
            continue
        if origin is list:
            rows.extend(reference_rows(nested, key + "[]."))
        elif origin is dict:
            rows.extend(reference_rows(nested, key + ".<name>."))
        else:
            rows.extend(reference_rows(nested, key + "."))
    return rows


def reference_markdown() -> str:
    """The key table of ``docs/configuration.md`` (between its ``BEGIN``/``END`` markers)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default, desc in reference_rows():
        escaped = desc.replace("|", "\\|")
        lines.append(f"| `{key}` | {default} | {escaped} |")
    return "\n".join(lines) + "\n"
