"""Decode a rule's ``secengine_response`` value into a :class:`ResponsePlan`, with located errors.

The shape (documented in ``docs/response.md``)::

    secengine_response:
      actions:                     # required, non-empty, in the order they run
        - kill_process             # an action without parameters: its name
        - stop_container: {timeout: 5}
        - program: {command: "logger -t secengine", timeout: 2}
        - tag: {name: quarantine}
      in_kernel: auto              # auto | never (kill_process only)
      dry_run: false               # this rule only reports what it would do

Every problem is a Falco ``LOAD_ERR_EXTENSION`` ("Error in extension item")
whose context chain ends at the offending YAML node, so ``secengine
validate`` prints it with a caret like any other loader error. The reader
is strict where Falco's core keys are lenient: an unknown key or action is
an error (with a "did you mean"), because a misspelt response must never
load as "no response".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ruamel.yaml.nodes import MappingNode, Node

from secengine.ruleset.diagnostics import Context, ItemError
from secengine.ruleset.messages import ErrorCode, ItemType, msg
from secengine.ruleset.response import (
    RESPONSE_KEY,
    Action,
    ActionKind,
    InKernel,
    KillContainer,
    KillProcess,
    KillProcessGroup,
    ResponsePlan,
    RunProgram,
    StopContainer,
    Tag,
)
from secengine.ruleset.yamldoc import (
    is_mapping,
    is_null,
    is_scalar,
    is_sequence,
    map_items,
    scalar_text,
    seq_items,
    to_bool,
    to_uint,
)
from secengine.suggest import did_you_mean

__all__ = ["MAX_PROGRAM_TIMEOUT", "MAX_STOP_TIMEOUT", "read_response"]

#: A context one level below ``parent`` at ``node`` (the reader's ``ctx``).
MakeContext = Callable[[Node, ItemType, str, Context], Context]

#: Upper bounds on the waits a rule may ask for (seconds).
MAX_STOP_TIMEOUT = 300
MAX_PROGRAM_TIMEOUT = 300.0

_PLAN_KEYS = ("actions", "in_kernel", "dry_run")
_PARAMS: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.KILL_PROCESS: (),
    ActionKind.KILL_PROCESS_GROUP: (),
    ActionKind.STOP_CONTAINER: ("timeout",),
    ActionKind.KILL_CONTAINER: (),
    ActionKind.PROGRAM: ("command", "timeout"),
    ActionKind.TAG: ("name",),
}
#: Actions that may appear once per rule (programs and tags may repeat).
_ONCE = frozenset(
    {
        ActionKind.KILL_PROCESS,
        ActionKind.KILL_PROCESS_GROUP,
        ActionKind.STOP_CONTAINER,
        ActionKind.KILL_CONTAINER,
    }
)
_TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}")


def read_response(node: Node, rule_ctx: Context, make_ctx: MakeContext) -> ResponsePlan:
    """The plan ``node`` (the value of ``secengine_response``) describes; ItemError if bad."""
    return _ResponseReader(make_ctx).plan(node, rule_ctx)


def _error(message_id: str, ctx: Context, **kwargs: object) -> ItemError:
    return ItemError(ErrorCode.LOAD_ERR_EXTENSION, msg(message_id, **kwargs), ctx)


class _ResponseReader:
    def __init__(self, make_ctx: MakeContext) -> None:
        self.make_ctx = make_ctx

    def plan(self, node: Node, rule_ctx: Context) -> ResponsePlan:
        ctx = self.make_ctx(node, ItemType.EXTENSION_ITEM, RESPONSE_KEY, rule_ctx)
        if not is_mapping(node):
            raise _error("response_not_map", ctx)
        values = self.keys(node, _PLAN_KEYS, ctx, "response_unknown_key")
        if "actions" not in values:
            raise _error("response_no_actions", ctx)
        actions = self.actions(*values["actions"])
        in_kernel = InKernel.AUTO
        if "in_kernel" in values:
            vnode, vctx = values["in_kernel"]
            text = self.scalar(vnode, vctx)
            try:
                in_kernel = InKernel(text)
            except ValueError:
                names = [m.value for m in InKernel]
                raise _error(
                    "response_bad_choice",
                    vctx,
                    key="in_kernel",
                    value=text,
                    choices=", ".join(names),
                    hint=did_you_mean(text, names),
                ) from None
        dry_run = False
        if "dry_run" in values:
            vnode, vctx = values["dry_run"]
            flag = to_bool(self.scalar(vnode, vctx))
            if flag is None:
                raise _error("response_not_bool", vctx, key="dry_run")
            dry_run = flag
        return ResponsePlan(actions, in_kernel, dry_run)

    # -- pieces --------------------------------------------------------------------------------
    def keys(
        self, node: MappingNode, allowed: tuple[str, ...], ctx: Context, unknown_id: str
    ) -> dict[str, tuple[Node, Context]]:
        """The mapping's values by key, each with its context; unknown or repeated keys refused."""
        out: dict[str, tuple[Node, Context]] = {}
        for knode, vnode in map_items(node):
            key = scalar_text(knode) if is_scalar(knode) else ""
            kctx = self.make_ctx(knode, ItemType.VALUE_FOR, key, ctx)
            if key not in allowed:
                raise _error(
                    unknown_id,
                    kctx,
                    key=key,
                    allowed=", ".join(allowed) or "none",
                    hint=did_you_mean(key, allowed),
                )
            if key in out:
                raise _error("response_repeated_key", kctx, key=key)
            out[key] = (vnode, self.make_ctx(vnode, ItemType.VALUE_FOR, key, ctx))
        return out

    def scalar(self, node: Node, ctx: Context) -> str:
        if not is_scalar(node) or is_null(node) or not scalar_text(node):
            raise _error("response_not_scalar", ctx)
        return scalar_text(node)

    def actions(self, node: Node, ctx: Context) -> tuple[Action, ...]:
        if not is_sequence(node) or not node.value:
            raise _error("response_actions_not_seq", ctx)
        out: list[Action] = []
        for item in seq_items(node):
            ictx = self.make_ctx(item, ItemType.LIST_ITEM, "", ctx)
            action = self.action(item, ictx)
            if action.kind in _ONCE and any(a.kind is action.kind for a in out):
                raise _error("response_repeated_action", ictx, action=action.kind.value)
            if action in out:
                raise _error("response_repeated_action", ictx, action=action.kind.value)
            out.append(action)
        kinds = {a.kind for a in out}
        if {ActionKind.STOP_CONTAINER, ActionKind.KILL_CONTAINER} <= kinds:
            raise _error("response_stop_and_kill", ctx)
        return tuple(out)

    def action(self, node: Node, ctx: Context) -> Action:
        """One entry: ``name`` or ``{name: {param: value}}`` (``{name: }`` and ``{name: {}}`` too)."""
        params: dict[str, tuple[Node, Context]] = {}
        if is_scalar(node) and not is_null(node):
            kind = self.kind(scalar_text(node), ctx)
        elif is_mapping(node) and len(node.value) == 1:
            knode, vnode = node.value[0]
            kind = self.kind(scalar_text(knode) if is_scalar(knode) else "", ctx)
            actx = self.make_ctx(vnode, ItemType.VALUE_FOR, kind.value, ctx)
            if not is_null(vnode):
                if not is_mapping(vnode):
                    raise _error("response_params_not_map", actx, action=kind.value)
                params = self.keys(vnode, _PARAMS[kind], actx, "response_unknown_param")
        else:
            raise _error("response_bad_action", ctx)
        return self.build(kind, params, ctx)

    def kind(self, name: str, ctx: Context) -> ActionKind:
        try:
            return ActionKind(name)
        except ValueError:
            names = [k.value for k in ActionKind]
            raise _error(
                "response_unknown_action",
                ctx,
                action=name,
                choices=", ".join(names),
                hint=did_you_mean(name, names),
            ) from None

    def build(
        self, kind: ActionKind, params: dict[str, tuple[Node, Context]], ctx: Context
    ) -> Action:
        if kind is ActionKind.KILL_PROCESS:
            return KillProcess()
        if kind is ActionKind.KILL_PROCESS_GROUP:
            return KillProcessGroup()
        if kind is ActionKind.KILL_CONTAINER:
            return KillContainer()
        if kind is ActionKind.STOP_CONTAINER:
            if "timeout" not in params:
                return StopContainer()
            vnode, vctx = params["timeout"]
            timeout = to_uint(self.scalar(vnode, vctx))
            if timeout is None or timeout > MAX_STOP_TIMEOUT:
                raise _error("response_bad_timeout", vctx, limit=MAX_STOP_TIMEOUT)
            return StopContainer(timeout)
        if kind is ActionKind.PROGRAM:
            if "command" not in params:
                raise _error("response_missing_param", ctx, action=kind.value, param="command")
            command = self.scalar(*params["command"]).strip()
            if not command:
                raise _error("response_not_scalar", params["command"][1])
            if "timeout" not in params:
                return RunProgram(command)
            vnode, vctx = params["timeout"]
            seconds = _positive_seconds(self.scalar(vnode, vctx))
            if seconds is None or seconds > MAX_PROGRAM_TIMEOUT:
                raise _error("response_bad_timeout", vctx, limit=int(MAX_PROGRAM_TIMEOUT))
            return RunProgram(command, seconds)
        assert kind is ActionKind.TAG
        if "name" not in params:
            raise _error("response_missing_param", ctx, action=kind.value, param="name")
        vnode, vctx = params["name"]
        name = self.scalar(vnode, vctx)
        if not _TAG_NAME.fullmatch(name):
            raise _error("response_bad_tag", vctx, name=name)
        return Tag(name)


def _positive_seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None
