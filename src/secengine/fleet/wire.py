"""Events on the wire between nodes and a central evaluator: the replay format, one per message.

A field-map event travels as its field-map line (``docs/replay-format.md``:
``{"source", "time", "fields"}``), so that what a node sends is what
``secengine replay`` reads; values its evaluation found missing (cached as
``MISSING``) are left out, as the format says of missing values. A Kubernetes audit event travels as the audit
object itself, ``{"source": "k8s_audit", "time": ..., "audit": {...}}``: the
central side extracts the ``ka.*`` fields from it as the webhook does,
instead of receiving only the fields the node's rules happened to read.

A live syscall event carries the values extracted while the node evaluated
it (its field map holds what its rules read), not the process tables behind
them: the central evaluator's syscall rules see those fields only.

:func:`decode_event` raises :class:`WireError` for a message that is not
one event (bad JSON, a bad envelope, an unusable audit object): the
consumer dead-letters it.
"""

from __future__ import annotations

from typing import Any

import orjson

from secengine.errors import SecengineError
from secengine.events import MISSING, Event
from secengine.sources.fieldmap import FieldMapError, event_from_obj
from secengine.sources.k8s_audit import SOURCE as AUDIT_SOURCE
from secengine.sources.k8s_audit import AuditFieldValues, AuditPayloadError, make_event

__all__ = ["WireError", "decode_event", "encode_event"]


class WireError(SecengineError, ValueError):
    """A message that is not one event; the message says why (it is dead-lettered)."""


def encode_event(event: Event) -> bytes:
    """The message body of ``event``."""
    fields = event.fields
    obj: dict[str, Any]
    if isinstance(fields, AuditFieldValues):
        obj = {"source": AUDIT_SOURCE, "time": event.ts, "audit": fields.doc}
    else:
        # evaluation caches what it could not extract as MISSING: absent, not a value
        values = {k: v for k, v in fields.items() if v is not MISSING}
        obj = {"source": event.source, "time": event.ts, "fields": values}
    return orjson.dumps(obj, default=str)


def decode_event(body: bytes, num: int = 0) -> Event:
    """The event a message body carries; :class:`WireError` if it carries none."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise WireError(f"not JSON: {e}") from None
    try:
        if isinstance(obj, dict) and "audit" in obj:
            return make_event(obj["audit"], num)
        return event_from_obj(obj, num=num)
    except (FieldMapError, AuditPayloadError) as e:
        raise WireError(str(e)) from None
