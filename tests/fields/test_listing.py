"""The catalog listing in Falco's ``--list`` shapes."""

from __future__ import annotations

import json

import pytest

from secengine.fields import FieldRegistry, FieldType, listing
from secengine.fields.base import ArgMode, FieldClass, FieldDef


def _registry() -> FieldRegistry:
    generic = FieldClass(
        "evt",
        "These fields can be used for all event types",
        (),
        (FieldDef("evt.num", FieldType.UINT64, "event number."),),
        generic=True,
        shortdesc="All event types",
    )
    sysc = FieldClass(
        "process",
        "Process fields.",
        ("syscall",),
        (
            FieldDef(
                "proc.aname",
                FieldType.CHARBUF,
                "ancestor name.",
                arg=ArgMode.OPTIONAL,
                arg_index=True,
                no_rhs=True,
                no_transformer=True,
                any_without_index=True,
            ),
            FieldDef("proc.old", FieldType.CHARBUF, "gone.", deprecated=True),
            FieldDef("proc.hidden", FieldType.CHARBUF, "table only.", hidden=True),
            FieldDef(
                "fd.types",
                FieldType.CHARBUF,
                "types.",
                is_list=True,
                arg=ArgMode.OPTIONAL,
                arg_index=True,
                no_rhs=True,
            ),
            FieldDef("fd.net", FieldType.IPNET, "net.", filter_only=True),
            FieldDef("a.very.long.field.name.over.thirty", FieldType.CHARBUF, "word " * 40),
        ),
    )
    plugin = FieldClass(
        "ka",
        "",
        ("k8s_audit",),
        (FieldDef("ka.verb", FieldType.CHARBUF, "verb.", arg=ArgMode.REQUIRED, arg_key=True),),
    )
    return FieldRegistry([generic, sysc, plugin])


def test_generic_class_lists_every_source_once() -> None:
    classes = listing.listed_classes(_registry())
    assert [(c.fclass.name, c.sources) for c in classes] == [
        ("evt", ("k8s_audit", "syscall")),
        ("process", ("syscall",)),
        ("ka", ("k8s_audit",)),
    ]


def test_source_filter_and_unknown_source() -> None:
    classes = listing.listed_classes(_registry(), "k8s_audit")
    assert [(c.fclass.name, c.sources) for c in classes] == [
        ("evt", ("k8s_audit",)),
        ("ka", ("k8s_audit",)),
    ]
    with pytest.raises(KeyError):
        listing.listed_classes(_registry(), "nope")


def test_hidden_and_deprecated_fields_are_left_out() -> None:
    fields = [f.name for f in listing.listed_classes(_registry())[1].fields]
    assert "proc.old" not in fields and "proc.hidden" not in fields
    with_deprecated = listing.listed_classes(_registry(), include_deprecated=True)
    assert "proc.old" in [f.name for f in with_deprecated[1].fields]


def test_tags() -> None:
    by = {f.name: f for c in listing.listed_classes(_registry()) for f in c.fields}
    assert listing.field_tags(by["proc.aname"]) == [
        "ARG_ALLOWED",
        "ARG_INDEX",
        "EPF_NO_RHS",
        "EPF_NO_TRANSFORMER",
    ]
    assert listing.field_tags(by["fd.types"]) == [
        "ARG_ALLOWED",
        "ARG_INDEX",
        "EPF_IS_LIST",
        "EPF_NO_RHS",
    ]
    assert listing.field_tags(by["fd.net"]) == ["FILTER_ONLY"]
    assert listing.field_tags(by["ka.verb"]) == ["ARG_KEY", "ARG_REQUIRED"]


def test_text_shape() -> None:
    text = listing.render_text(listing.listed_classes(_registry(), "syscall"))
    lines = text.split("\n")
    assert lines[:5] == [
        "-------------------------------",
        "Field Class:                  evt (All event types)",
        "Description:                  These fields can be used for all event types ",
        "Event Sources:                syscall ",
        "",
    ]
    assert lines[5] == "evt.num                       event number. "
    assert (
        "proc.aname                    (ARG_ALLOWED,ARG_INDEX,EPF_NO_RHS,EPF_NO_TRANSFORMER) "
        "ancestor name. " in lines
    )
    # A name longer than the 30-column block goes on a line of its own.
    i = lines.index("a.very.long.field.name.over.thirty")
    assert lines[i + 1].startswith(" " * 30 + "word word")
    # Descriptions wrap at 120 columns: 30 for the name, 90 for words.
    assert all(len(line) <= 121 for line in lines)
    assert lines[i + 2].startswith(" " * 30 + "word")
    assert text.endswith(" \n\n")


def test_verbose_text_shows_types() -> None:
    text = listing.render_text(listing.listed_classes(_registry(), "syscall"), verbose=True)
    assert "evt.num                       (Type: UINT64) event number. " in text


def test_json_shape() -> None:
    doc = json.loads(listing.render_json(listing.listed_classes(_registry())))
    classes = doc["fieldclasses"]
    assert classes[0] == {
        "name": "evt",
        "desc": "These fields can be used for all event types",
        "event_sources": ["k8s_audit", "syscall"],
        "fields": [
            {
                "name": "evt.num",
                "type": "UINT64",
                "desc": "event number.",
                "is_list": False,
                "argument": None,
            }
        ],
    }
    by = {f["name"]: f for f in classes[1]["fields"]}
    assert by["proc.aname"]["argument"] == {"required": False, "type": ["INDEX"]}
    assert by["fd.types"]["is_list"] is True
    assert classes[2]["fields"][0]["argument"] == {"required": True, "type": ["KEY"]}
    assert "desc" not in classes[2]


def test_json_is_pretty_and_sorted() -> None:
    text = listing.render_json(listing.listed_classes(_registry(), "k8s_audit"))
    assert text.startswith('{\n  "fieldclasses": [\n    {\n      "desc": ')


def test_markdown_shape() -> None:
    md = listing.render_markdown(listing.listed_classes(_registry(), "syscall"))
    assert md.startswith(
        "## Field Class: evt\n\nThese fields can be used for all event types\n\n"
        "Event Sources: syscall \n\nName | Type | Description\n"
        ":----|:-----|:-----------\n`evt.num` | UINT64 | event number.\n"
    )
    assert "`fd.types` | LIST(CHARBUF) | types.\n" in md


def test_names_only() -> None:
    classes = listing.listed_classes(_registry(), "k8s_audit")
    assert listing.render_names(classes) == "evt.num\nka.verb\n"
    assert json.loads(listing.render_names(classes, as_json=True)) == {
        "fieldnames": ["evt.num", "ka.verb"]
    }


def test_builtin_catalog_lists(registry: FieldRegistry) -> None:
    classes = listing.listed_classes(registry, "syscall")
    names = {f.name for c in classes for f in c.fields}
    assert {"proc.aname", "evt.arg", "fd.name", "container.id", "k8s.ns.name"} <= names
    assert "evt.dir" not in names  # deprecated
    assert "evt.latency.quantized" not in names  # EPF_TABLE_ONLY
