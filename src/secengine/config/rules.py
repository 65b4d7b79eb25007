"""The ``rules:`` selections and ``append_output`` entries: what is evaluated and what alerts carry."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from secengine.config.base import StrictModel

__all__ = ["AppendOutputEntry", "AppendOutputMatch", "RuleMatch", "RuleSelectionEntry"]


class RuleMatch(StrictModel):
    """Rules named by a glob (``*`` wildcards), and/or carrying a tag."""

    rule: str | None = Field(default=None, description="Rule name glob (`*` matches anything).")
    tag: str | None = Field(default=None, description="A tag the rules must have.")

    @model_validator(mode="after")
    def _not_empty(self) -> RuleMatch:
        if self.rule is None and self.tag is None:
            raise ValueError("needs 'rule' or 'tag'")
        return self


class RuleSelectionEntry(StrictModel):
    """One item of ``rules:``: ``{enable: {...}}`` or ``{disable: {...}}``."""

    enable: RuleMatch | None = Field(default=None, description="Enable the matching rules.")
    disable: RuleMatch | None = Field(default=None, description="Disable the matching rules.")

    @model_validator(mode="after")
    def _exactly_one(self) -> RuleSelectionEntry:
        if (self.enable is None) == (self.disable is None):
            raise ValueError("each entry needs exactly one of 'enable' or 'disable'")
        return self


class AppendOutputMatch(StrictModel):
    """Which rules an ``append_output`` entry applies to (all of the given conditions)."""

    source: str | None = Field(default=None, description="Only rules of this source.")
    tags: list[str] = Field(default_factory=list, description="Only rules with all these tags.")
    rule: str | None = Field(default=None, description="Only the rule of this name.")


class AppendOutputEntry(StrictModel):
    """Falco's ``append_output`` entry: text and fields added to matching rules' alerts."""

    match: AppendOutputMatch = Field(
        default_factory=AppendOutputMatch, description="Which rules (default: all)."
    )
    extra_output: str = Field(
        default="", description="Appended, after a space, to the output text."
    )
    extra_fields: list[str | dict[str, str]] = Field(
        default_factory=list,
        description="Added to `output_fields` only: a field name (typed value) or `{name: "
        "format}` (rendered text).",
    )
    suggested_output: bool = Field(
        default=False,
        description="Append `name=%field` for every field flagged as suggested (container.id, "
        "container.name, ...).",
    )

    @field_validator("extra_fields")
    @classmethod
    def _unique_fields(cls, value: list[str | dict[str, str]]) -> list[str | dict[str, str]]:
        seen: set[str] = set()
        for item in value:
            if isinstance(item, dict) and len(item) != 1:
                raise ValueError("a formatted extra field is a map with exactly one key")
            key = item if isinstance(item, str) else next(iter(item))
            if key in seen:
                raise ValueError(f"extra field {key!r} is defined twice")
            seen.add(key)
        return value
