"""Rule priorities, ordered as Falco orders them (Emergency = 0 … Debug = 7)."""

from __future__ import annotations

import enum

__all__ = ["Priority"]


class Priority(enum.IntEnum):
    """A rule's priority; a lower number is more severe."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Parse Falco's case-insensitive names; ``info`` is an alias of informational.

        Raises ``ValueError("Invalid priority")`` (Falco's message) otherwise.
        """
        if not isinstance(text, str):
            raise ValueError("Invalid priority")  # noqa: TRY004 - Falco's message, one error type
        key = text.strip().lower()
        if key == "info":
            key = "informational"
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError("Invalid priority") from None

    @property
    def title(self) -> str:
        """The full name as alerts print it: ``Warning``, ``Informational``."""
        return self.name.capitalize()

    @property
    def short_upper(self) -> str:
        """The short upper-case name Falco's end-of-run stats print (``INFO``)."""
        return "INFO" if self is Priority.INFORMATIONAL else self.name
