"""The list of built-in field classes: the only import site of the field modules.

The order is libsinsp's ``sinsp_filter_check_list`` (generic ``evt`` first,
then the syscall classes), then the container plugin's fields, which Falco
adds for the syscall source after its own. ``secengine fields`` lists them in
this order. The Kubernetes audit plugins' classes (``k8saudit``, ``json``)
follow, for the ``k8s_audit`` source.
"""

from __future__ import annotations

from collections.abc import Mapping

from secengine.fields import (
    container,
    evt,
    fd,
    fdlist,
    flood,
    fspath,
    gen_event,
    group,
    json_fields,
    k8s_audit,
    proc,
    user,
)
from secengine.fields.base import FieldClass
from secengine.fields.event_names import SYSCALL_EVENT_TYPES
from secengine.lang.resolver import EventTypeIndex


def builtin_classes() -> list[FieldClass]:
    """Every built-in field class, generic ones first."""
    return generic_classes() + syscall_classes() + k8s_audit_classes()


def generic_classes() -> list[FieldClass]:
    """The classes every source has (libsinsp's FL_GENERIC ``evt`` class)."""
    return [gen_event.FIELD_CLASS]


def syscall_classes() -> list[FieldClass]:
    """The syscall source's field table (its spec lists it: :mod:`secengine.sources.specs`)."""
    return [
        evt.FIELD_CLASS,
        proc.FIELD_CLASS,
        user.FIELD_CLASS,
        group.FIELD_CLASS,
        fd.FIELD_CLASS,
        fspath.FIELD_CLASS,
        fdlist.FIELD_CLASS,
        container.FIELD_CLASS,
        flood.FIELD_CLASS,
    ]


def k8s_audit_classes() -> list[FieldClass]:
    """The k8s_audit source's field table (the k8saudit and json plugins' classes)."""
    return [k8s_audit.FIELD_CLASS, json_fields.FIELD_CLASS]


def syscall_event_index() -> EventTypeIndex:
    """The syscall source's ``evt.type`` names: its rules are indexed by event type."""
    return SYSCALL_EVENT_TYPES


def builtin_event_indexes() -> Mapping[str, EventTypeIndex]:
    """The built-in sources whose rules are indexed by event type, with their indexes."""
    return {"syscall": syscall_event_index()}
