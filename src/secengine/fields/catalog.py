"""The list of built-in field classes: the only import site of the field modules.

The order is libsinsp's ``sinsp_filter_check_list`` (generic ``evt`` first,
then the syscall classes), then the container plugin's fields, which Falco
adds for the syscall source after its own. ``secengine fields`` lists them in
this order. The Kubernetes audit plugins' classes (``k8saudit``, ``json``)
follow, for the ``k8s_audit`` source.
"""

from __future__ import annotations

from secengine.fields.base import FieldClass


def builtin_classes() -> list[FieldClass]:
    """Every built-in field class, generic ones first."""
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

    return [
        gen_event.FIELD_CLASS,
        evt.FIELD_CLASS,
        proc.FIELD_CLASS,
        user.FIELD_CLASS,
        group.FIELD_CLASS,
        fd.FIELD_CLASS,
        fspath.FIELD_CLASS,
        fdlist.FIELD_CLASS,
        container.FIELD_CLASS,
        flood.FIELD_CLASS,
        k8s_audit.FIELD_CLASS,
        json_fields.FIELD_CLASS,
    ]
