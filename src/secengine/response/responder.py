"""The responder: carries out a matching rule's responses, with every safety, and reports each.

The engine calls :meth:`Responder.on_match` for each alert of a rule that
has a ``secengine_response`` (:attr:`secengine.engine.Engine.on_response`),
on the evaluation thread, before the alert reaches the sinks. There:

1. nothing happens unless ``response.enabled`` (outcomes counted as ``off``);
2. dry run when the configuration or the rule says so, and always for
   events of a recorded source (a replay must never signal a live process);
3. one token from the global bucket and one from the rule's, else
   ``rate_limited`` (reported once per streak, always counted);
4. the kills (:mod:`.kill`, through pidfds) and tags happen at once, for the
   shortest delay between the event and the signal; container actions and
   programs, which block, go in order to a worker thread (a bounded queue:
   ``queue_full`` when it is full).

Every action's :class:`~secengine.response.outcome.Outcome` is counted
(:class:`~secengine.response.stats.ResponseStats`) and becomes a response
alert (:func:`~secengine.response.alerts.response_alert`): those of step 4's
inline part wait in :meth:`flush` for the caller to publish them after the
triggering alert; the worker's are handed to ``publish``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from secengine.alert import Alert
from secengine.events import Event
from secengine.response.alerts import response_alert
from secengine.response.containers import ContainerRuntimes
from secengine.response.kernel import KernelKills
from secengine.response.kill import kill_process, kill_process_group
from secengine.response.outcome import Outcome, Status
from secengine.response.program import run_program
from secengine.response.safety import Guard
from secengine.response.settings import ResponseSettings
from secengine.response.stats import ResponseStats
from secengine.response.target import Target, target_of
from secengine.ruleset.model import Rule
from secengine.ruleset.response import (
    Action,
    ActionKind,
    KillContainer,
    RunProgram,
    StopContainer,
    Tag,
)

__all__ = ["Claim", "Responder"]

_log = logging.getLogger("secengine.response")

#: Actions that block, run by the worker threads.
_DEFERRED: Final = frozenset(
    {ActionKind.STOP_CONTAINER, ActionKind.KILL_CONTAINER, ActionKind.PROGRAM}
)


class Claim(Protocol):
    """A token bucket (:class:`secengine.agent.ratelimit.TokenBucket`)."""

    def claim(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Job:
    """The blocking actions of one match, run in order by a worker."""

    trigger: Alert
    actions: tuple[Action, ...]
    target: Target
    dry_run: bool
    stdin: bytes


class Responder:
    """Carries out responses (see the module docstring); one per agent, kept across reloads."""

    def __init__(
        self,
        settings: ResponseSettings,
        *,
        bucket: Callable[[float, float], Claim],
        render_json: Callable[[Alert], bytes],
        publish: Callable[[list[Alert]], None],
        runtimes: ContainerRuntimes | None = None,
        guard: Guard | None = None,
        kernel_kills: KernelKills | None = None,
        workers: int = 2,
        max_queued: int = 64,
    ) -> None:
        self.settings = settings
        self.stats = ResponseStats()
        self.guard = guard if guard is not None else Guard(settings.allow)
        self.runtimes = (
            runtimes
            if runtimes is not None
            else ContainerRuntimes(timeout=settings.runtime_timeout)
        )
        self.kernel_kills = kernel_kills
        #: The batch being evaluated came from a recorded source: everything is a dry run.
        self.recorded_batch = False
        self._bucket_factory = bucket
        self._global = bucket(settings.rate, settings.max_burst)
        self._per_rule: dict[str, Claim] = {}
        self._limited: set[str] = set()
        self._render_json = render_json
        self._publish = publish
        self._pending: list[Alert] = []
        self._jobs: queue.Queue[_Job | None] = queue.Queue(max_queued)
        self._workers = workers
        #: started with the first blocking action (most agents never have one)
        self._threads: list[threading.Thread] = []

    # -- configuration ---------------------------------------------------------------------------
    def use_rules(self, rules: Iterable[Rule]) -> None:
        """The rules now evaluated: count those that ask, and say once what will happen."""
        asking = [r.name for r in rules if r.response is not None]
        self.stats.rules_asking = len(asking)
        if not asking:
            return
        if not self.settings.enabled:
            _log.warning(
                "%d rules ask for responses, but responses are off (response.enabled: false)",
                len(asking),
            )
        elif self.settings.dry_run:
            _log.warning("%d rules ask for responses; dry run: nothing will be done", len(asking))
        else:
            _log.info("%d rules ask for responses: %s", len(asking), ", ".join(asking[:10]))

    # -- the engine's hook ------------------------------------------------------------------------
    def on_match(self, rule: Rule, event: Event, alert: Alert) -> None:
        """Respond to ``alert`` of ``rule`` on ``event`` (the engine calls it for rules that ask)."""
        plan = rule.response
        if plan is None:
            return
        if not self.settings.enabled:
            for action in plan.actions:
                self.stats.count(rule.name, action.kind.value, Status.OFF.value, None)
            return
        target = target_of(event)
        dry = self.settings.dry_run or plan.dry_run or self.recorded_batch
        # The probe acts before any limit here can: what it did is reported as done.
        killed = (
            not dry
            and self.kernel_kills is not None
            and plan.has(ActionKind.KILL_PROCESS)
            and self.kernel_kills.killed(rule, event)
        )
        if not self._claim(rule.name):
            self._rate_limited(rule, alert, target, plan.actions, dry, killed)
            return
        deferred: list[Action] = []
        for action in plan.actions:
            if action.kind in _DEFERRED:
                deferred.append(action)
                continue
            if killed and action.kind is ActionKind.KILL_PROCESS:
                outcome = Outcome(Status.IN_KERNEL, f"the probe killed {target.describe()}")
            else:
                outcome = self._inline(action, rule, alert, target, dry)
            self._pending.append(self._record(alert, action.kind, outcome, target, dry))
        if deferred:
            self._defer(alert, tuple(deferred), target, dry)

    def flush(self) -> list[Alert]:
        """The response alerts made on the evaluation thread since the last call."""
        out, self._pending = self._pending, []
        return out

    # -- inline actions -------------------------------------------------------------------------
    def _inline(
        self, action: Action, rule: Rule, alert: Alert, target: Target, dry: bool
    ) -> Outcome:
        kind = action.kind
        try:
            if kind is ActionKind.KILL_PROCESS:
                return kill_process(target, self.guard, dry_run=dry)
            if kind is ActionKind.KILL_PROCESS_GROUP:
                return kill_process_group(target, self.guard, dry_run=dry)
            assert isinstance(action, Tag)
            if dry:
                return Outcome(Status.DRY_RUN, f"would tag the alert {action.name}")
            alert.tags = tuple(sorted({*alert.tags, action.name}))
            return Outcome(Status.DONE, f"alert tagged {action.name}")
        except Exception as e:  # noqa: BLE001 - a response must never stop detection
            _log.exception("response %s for rule %s failed", kind.value, rule.name)
            return Outcome(Status.FAILED, f"{type(e).__name__}: {e}")

    # -- rate limits -------------------------------------------------------------------------------
    def _claim(self, rule: str) -> bool:
        bucket = self._per_rule.get(rule)
        if bucket is None:
            per_minute = self.settings.per_rule_per_minute
            bucket = self._per_rule[rule] = self._bucket_factory(per_minute / 60.0, per_minute)
        if not self._global.claim():
            return False
        if not bucket.claim():
            return False
        self._limited.discard(rule)
        return True

    def _rate_limited(
        self,
        rule: Rule,
        alert: Alert,
        target: Target,
        actions: Sequence[Action],
        dry: bool,
        killed: bool,
    ) -> None:
        first = rule.name not in self._limited
        self._limited.add(rule.name)
        for action in actions:
            if killed and action.kind is ActionKind.KILL_PROCESS:
                outcome = Outcome(Status.IN_KERNEL, f"the probe killed {target.describe()}")
                self._pending.append(self._record(alert, action.kind, outcome, target, dry))
                continue
            outcome = Outcome(
                Status.RATE_LIMITED,
                "over the response rate limits; further ones are counted, not reported, "
                "until one passes",
            )
            made = self._record(alert, action.kind, outcome, target, dry)
            if first:
                self._pending.append(made)

    # -- deferred actions -----------------------------------------------------------------------
    def _defer(self, alert: Alert, actions: tuple[Action, ...], target: Target, dry: bool) -> None:
        needs_stdin = any(a.kind is ActionKind.PROGRAM for a in actions)
        stdin = self._render_json(alert) + b"\n" if needs_stdin else b""
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._work, name=f"secengine-response-{i}", daemon=True)
                for i in range(self._workers)
            ]
            for t in self._threads:
                t.start()
        try:
            self._jobs.put_nowait(_Job(alert, actions, target, dry, stdin))
        except queue.Full:
            for action in actions:
                outcome = Outcome(Status.QUEUE_FULL, "too many responses are in progress")
                self._pending.append(self._record(alert, action.kind, outcome, target, dry))
            return
        self.stats.started(len(actions))

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            for action in job.actions:
                try:
                    outcome = self._blocking(action, job)
                except Exception as e:  # noqa: BLE001 - a worker must survive any action
                    _log.exception("response %s failed", action.kind.value)
                    outcome = Outcome(Status.FAILED, f"{type(e).__name__}: {e}")
                made = self._record(job.trigger, action.kind, outcome, job.target, job.dry_run)
                self.stats.finished()
                try:
                    self._publish([made])
                except Exception:  # noqa: BLE001 - the outcome is counted; publishing is best effort
                    _log.exception("publishing a response alert failed")

    def _blocking(self, action: Action, job: _Job) -> Outcome:
        target = job.target
        if isinstance(action, RunProgram):
            if job.dry_run:
                return Outcome(Status.DRY_RUN, f"would run: {action.command[:100]}")
            return run_program(action.command, job.stdin, action.timeout, target.event_ts)
        refusal = self.guard.container_refusal(target)
        if refusal:
            return Outcome(Status.REFUSED, refusal)
        if not target.in_container:
            return Outcome(Status.NO_TARGET, "the process is not in a container")
        runtime = target.container_type or "its runtime"
        name = target.container_name or target.container_id
        if isinstance(action, StopContainer):
            if job.dry_run:
                return Outcome(Status.DRY_RUN, f"would stop container {name} through {runtime}")
            return self.runtimes.stop(target, action.timeout)
        assert isinstance(action, KillContainer)
        if job.dry_run:
            return Outcome(Status.DRY_RUN, f"would kill container {name} through {runtime}")
        return self.runtimes.kill(target)

    # -- reporting ---------------------------------------------------------------------------------
    def _record(
        self, trigger: Alert, kind: ActionKind, outcome: Outcome, target: Target, dry: bool
    ) -> Alert:
        self.stats.count(trigger.rule, kind.value, outcome.status.value, outcome.latency_ns)
        if outcome.status in (Status.DONE, Status.IN_KERNEL, Status.FAILED):
            _log.warning("response %s for rule %s: %s", kind.value, trigger.rule, outcome.detail)
        return response_alert(trigger, kind, outcome, target, dry_run=dry)

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self, timeout: float = 30.0) -> None:
        """Let queued actions finish (for at most ``timeout`` seconds), then stop the workers."""
        deadline = time.monotonic() + timeout
        for _ in self._threads:
            try:
                self._jobs.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                break
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
