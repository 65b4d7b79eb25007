"""Response alerts: every action and its outcome, as a Falco-format alert of its own.

Rule name :data:`RESPONSE_RULE`, the triggering alert's source and
hostname, the tag ``secengine_response``, and ``response.*`` output fields
(the rule that asked, the action, the outcome, the sentence, the latency
from the event to the action's effect) next to the target's ``proc.pid``,
``proc.name`` and ``container.id``, so that any sink or Falcosidekick
route can see what was done and what was only reported.
"""

from __future__ import annotations

import time
from typing import Any, Final

from secengine.alert import Alert
from secengine.eventtime import render_time
from secengine.response.outcome import Outcome
from secengine.response.target import Target
from secengine.ruleset.response import ActionKind

__all__ = ["RESPONSE_RULE", "RESPONSE_TAG", "response_alert"]

#: The rule name of every response alert.
RESPONSE_RULE: Final = "secengine response"
#: The tag every response alert carries.
RESPONSE_TAG: Final = "secengine_response"


def response_alert(
    trigger: Alert,
    action: ActionKind,
    outcome: Outcome,
    target: Target,
    *,
    dry_run: bool,
    ts: int | None = None,
) -> Alert:
    """The alert reporting ``outcome`` of ``action``, asked for by ``trigger``'s rule."""
    ts = time.time_ns() if ts is None else ts
    latency_us = None if outcome.latency_ns is None else outcome.latency_ns // 1000
    fields: dict[str, Any] = {
        "container.id": target.container_id or None,
        "proc.name": target.comm or None,
        "proc.pid": target.pid,
        "response.action": action.value,
        "response.detail": outcome.detail,
        "response.dry_run": dry_run,
        "response.event_time": target.event_ts,
        "response.latency_us": latency_us,
        "response.outcome": outcome.status.value,
        "response.rule": trigger.rule,
    }
    message = (
        f"Response {action.value} for rule '{trigger.rule}': {outcome.status.value}: "
        f"{outcome.detail}"
    )
    if latency_us is not None:
        message += f" ({latency_us} us after the event)"
    priority = outcome.status.priority
    return Alert(
        rule=RESPONSE_RULE,
        priority=priority,
        source=trigger.source,
        time=ts,
        output=f"{render_time('evt.time', ts)}: {priority.title} {message}",
        output_fields=fields,
        tags=(RESPONSE_TAG,),
        hostname=trigger.hostname,
        message=message,
    )
