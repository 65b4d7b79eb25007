"""``response``: whether rules' responses happen, dry run, the allow-list and rate limits.

secengine's own section (Falco has no responses). Off by default: a rule's
``secengine_response`` does nothing until ``response.enabled`` is true, and
``dry_run`` then reports what would have been done without doing it.
:meth:`ResponseSection.settings` turns it into the responder's
:class:`~secengine.response.settings.ResponseSettings` (docs/response.md).
"""

from __future__ import annotations

from pydantic import Field

from secengine.config.base import StrictModel
from secengine.response.settings import DEFAULT_ALLOWED_PROCESSES, AllowList, ResponseSettings

__all__ = ["AllowBlock", "ResponseSection"]


class AllowBlock(StrictModel):
    """What responses never touch (besides pid 1, kernel threads and secengine itself)."""

    process_names: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_PROCESSES),
        description="Process names (`comm`, globs) never signalled; the default lists the "
        "container runtimes and node agents. Setting it replaces the default.",
    )
    exe_paths: list[str] = Field(
        default_factory=list, description="Executable paths (globs) never signalled."
    )
    containers: list[str] = Field(
        default_factory=list,
        description="Container ids or names (globs) never stopped, killed or signalled into.",
    )


class ResponseSection(StrictModel):
    """Responses to rule matches (`secengine_response` in rules; docs/response.md)."""

    enabled: bool = Field(
        default=False, description="The master switch: off, no rule's response happens."
    )
    dry_run: bool = Field(
        default=False, description="Report what would have been done, do nothing."
    )
    in_kernel: bool = Field(
        default=True,
        description="Let the probe kill for rules whose condition it can decide "
        "(`in_kernel: auto` rules).",
    )
    allow: AllowBlock = Field(default_factory=AllowBlock, description="The allow-list.")
    rate: float = Field(
        default=10.0, gt=0, description="Matches responded to per second, over all rules."
    )
    max_burst: int = Field(default=20, ge=1, description="The burst `rate` allows.")
    per_rule_per_minute: int = Field(
        default=30, ge=1, description="Matches responded to per rule per minute."
    )
    runtime_timeout: float = Field(
        default=15.0,
        gt=0,
        description="Seconds a container runtime call may take (beyond a stop's grace period).",
    )

    def settings(self) -> ResponseSettings:
        """The section as the responder's settings."""
        return ResponseSettings(
            enabled=self.enabled,
            dry_run=self.dry_run,
            allow=AllowList(
                tuple(self.allow.process_names),
                tuple(self.allow.exe_paths),
                tuple(self.allow.containers),
            ),
            rate=self.rate,
            max_burst=self.max_burst,
            per_rule_per_minute=self.per_rule_per_minute,
            runtime_timeout=self.runtime_timeout,
            in_kernel=self.in_kernel,
        )
