"""The field catalog as text, JSON and Markdown, in the shapes ``falco --list`` prints.

Generated from the same tables the rules compile against, so the listing
cannot drift from what resolves. The shapes follow libsinsp's
``filter_fieldclass_info::as_string`` / ``as_json`` / ``as_markdown`` and
Falco's ``falco_engine::list_fields``: field classes in registration order,
each once, with the sorted set of event sources it serves; fields flagged
EPF_TABLE_ONLY (``hidden``) or deprecated are left out; a field's flags are
shown as Falco's tags (``ARG_REQUIRED``, ``EPF_IS_LIST``, ``FILTER_ONLY``...).
Text wraps descriptions at 120 columns with a 30-column name block; JSON is
pretty-printed with two spaces and sorted keys (Falco re-dumps it through
nlohmann::json, whose objects are sorted).

Where our descriptors are more precise than libsinsp's table (we mark index
and key arguments of ``proc.aname`` and friends, which libsinsp parses in
code), the tags show ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from secengine.fields.base import ArgMode, FieldClass, FieldDef
from secengine.fields.registry import FieldRegistry

__all__ = [
    "ListedClass",
    "field_tags",
    "listed_classes",
    "render_json",
    "render_markdown",
    "render_names",
    "render_text",
]

#: libsinsp's ``s_rightblock_start`` and ``s_width``.
RIGHTBLOCK = 30
WIDTH = 120


@dataclass(frozen=True, slots=True)
class ListedClass:
    """A field class as listed: the class, its event sources (sorted) and its shown fields."""

    fclass: FieldClass
    sources: tuple[str, ...]
    fields: tuple[FieldDef, ...]


def _shown(f: FieldDef, include_deprecated: bool) -> bool:
    return not f.hidden and (include_deprecated or not f.deprecated)


def listed_classes(
    registry: FieldRegistry, source: str | None = None, include_deprecated: bool = False
) -> list[ListedClass]:
    """The classes ``falco --list [source]`` would print, each once, in order.

    Raises ``KeyError`` when ``source`` is given and has no fields.
    """
    if source is not None and not registry.has_source(source):
        raise KeyError(source)
    sources = [source] if source is not None else registry.sources()
    by_class: dict[int, set[str]] = {}
    order: list[FieldClass] = []
    for src in sources:
        for fc in registry.classes_for(src):
            if id(fc) not in by_class:
                by_class[id(fc)] = set()
                order.append(fc)
            by_class[id(fc)].add(src)
    out = []
    for fc in order:
        fields = tuple(f for f in fc.fields if _shown(f, include_deprecated))
        if not fields:
            continue
        out.append(ListedClass(fc, tuple(sorted(by_class[id(fc)])), fields))
    return out


def field_tags(f: FieldDef) -> list[str]:
    """The field's flags as Falco's listing tags, sorted as Falco's ``std::set`` keeps them."""
    tags: set[str] = set()
    if f.filter_only:
        tags.add("FILTER_ONLY")
    if f.hidden:
        tags.add("EPF_TABLE_ONLY")
    if f.deprecated:
        tags.add("EPF_DEPRECATED")
    if f.no_rhs:
        tags.add("EPF_NO_RHS")
    if f.no_transformer:
        tags.add("EPF_NO_TRANSFORMER")
    if f.arg is not ArgMode.NONE:
        tags.add("ARG_REQUIRED" if f.arg is ArgMode.REQUIRED else "ARG_ALLOWED")
        if f.arg_index:
            tags.add("ARG_INDEX")
        if f.arg_key:
            tags.add("ARG_KEY")
    if f.is_list:
        tags.add("EPF_IS_LIST")
    return sorted(tags)


def _wrap(text: str) -> str:
    """libsinsp's ``wrapstring``: words (each followed by a space) wrapped at 90 columns."""
    out: list[str] = []
    length = 0
    for word in text.split():
        wordlen = len(word) + 1
        if length + wordlen <= WIDTH - RIGHTBLOCK:
            length += wordlen
        else:
            out.append("\n" + " " * RIGHTBLOCK)
            length = wordlen
        out.append(word + " ")
    return "".join(out)


def _class_title(fc: FieldClass) -> str:
    return fc.name + (f" ({fc.shortdesc})" if fc.shortdesc else "")


def render_text(classes: list[ListedClass], verbose: bool = False) -> str:
    """``falco --list`` text: a block per class, then ``name  description`` lines."""
    blocks = []
    for lc in classes:
        lines = ["-" * 31 + "\n"]
        lines.append("Field Class:".ljust(RIGHTBLOCK) + _class_title(lc.fclass) + "\n")
        if lc.fclass.desc:
            lines.append("Description:".ljust(RIGHTBLOCK) + _wrap(lc.fclass.desc) + "\n")
        if lc.sources:
            lines.append(
                "Event Sources:".ljust(RIGHTBLOCK) + "".join(s + " " for s in lc.sources) + "\n"
            )
        lines.append("\n")
        for f in lc.fields:
            if len(f.name) > RIGHTBLOCK:
                lines.append(f.name + "\n" + " " * RIGHTBLOCK)
            else:
                lines.append(f.name.ljust(RIGHTBLOCK))
            desc = f.desc
            tags = field_tags(f)
            if tags:
                desc = "(" + ",".join(tags) + ") " + desc
            if verbose:
                desc = f"(Type: {f.type.falco_name}) " + desc
            lines.append(_wrap(desc) + "\n")
        blocks.append("".join(lines) + "\n")
    return "".join(blocks)


def _field_json(f: FieldDef, include_deprecated: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "type": f.type.falco_name,
        "desc": f.desc,
        "is_list": f.is_list,
    }
    if include_deprecated:
        out["is_deprecated"] = f.deprecated
    if f.arg is ArgMode.NONE:
        out["argument"] = None
    else:
        kinds = (["INDEX"] if f.arg_index else []) + (["KEY"] if f.arg_key else [])
        out["argument"] = {"required": f.arg is ArgMode.REQUIRED, "type": kinds}
    return out


def render_json(classes: list[ListedClass], include_deprecated: bool = False) -> str:
    """``falco --list -J``: ``{"fieldclasses": [...]}``, two-space indent, sorted keys."""
    items = []
    for lc in classes:
        item: dict[str, Any] = {"name": lc.fclass.name}
        if lc.fclass.desc:
            item["desc"] = lc.fclass.desc
        if lc.sources:
            item["event_sources"] = list(lc.sources)
        item["fields"] = [_field_json(f, include_deprecated) for f in lc.fields]
        items.append(item)
    return json.dumps({"fieldclasses": items}, indent=2, sort_keys=True, ensure_ascii=False)


def render_markdown(classes: list[ListedClass]) -> str:
    """``falco --list --markdown``: a section and a table per class."""
    parts = []
    for lc in classes:
        lines = [f"## Field Class: {lc.fclass.name}\n\n"]
        if lc.fclass.desc:
            lines.append(lc.fclass.desc + "\n\n")
        if lc.sources:
            lines.append("Event Sources: " + "".join(s + " " for s in lc.sources) + "\n\n")
        lines.append("Name | Type | Description\n")
        lines.append(":----|:-----|:-----------\n")
        for f in lc.fields:
            ftype = f.type.falco_name
            if f.is_list:
                ftype = f"LIST({ftype})"
            lines.append(f"`{f.name}` | {ftype} | {f.desc}\n")
        parts.append("".join(lines) + "\n")
    return "".join(parts)


def render_names(classes: list[ListedClass], as_json: bool = False) -> str:
    """``falco --list -N``: field names only, one a line (or ``{"fieldnames": [...]}``)."""
    names = [f.name for lc in classes for f in lc.fields if not f.deprecated]
    if as_json:
        return json.dumps({"fieldnames": names}, indent=2, ensure_ascii=False)
    return "".join(n + "\n" for n in names)
