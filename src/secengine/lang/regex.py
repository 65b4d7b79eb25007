"""The ``regex`` operator's patterns: RE2 in POSIX mode, fully anchored, linear time.

Falco compiles ``regex`` literals with ``re2::RE2(pattern, RE2::POSIX)`` and
tests values with ``RE2::FullMatch``. Python's ``re`` backtracks: ``(a+)+b``
against thirty ``a`` stalled detection for seconds, and both the pattern (a
rules file) and the value (an event) may be written by an attacker. RE2
(``google-re2``) matches in time linear in the value, and refuses what only a
backtracking engine can do (backreferences, lookaround) when the rule is
loaded, so a bad pattern is a located rule error rather than a stall.

POSIX mode means Falco's syntax: no ``\\d``/``\\w``/``\\b`` or ``(?i)`` flags,
``.`` does not match a newline, ``^``/``$`` also match at line breaks. Values
are matched as the bytes the event carried (text decoded with
``surrogateescape`` is encoded back the same way), which is what libsinsp
hands RE2.
"""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["MAX_MEMORY", "Regex", "compile_regex"]

#: RE2's memory budget per pattern (its compiled program and DFA cache; RE2's
#: default is 8 MiB). A pattern whose program does not fit is refused when the
#: rule loads; a DFA that outgrows it falls back to RE2's NFA, still linear.
MAX_MEMORY = 2 << 20


def _options() -> Any:
    options = re2.Options()
    options.posix_syntax = True
    options.longest_match = True
    options.never_capture = True  # only "does it match" is asked: the DFA alone answers
    options.log_errors = False
    options.max_mem = MAX_MEMORY
    return options


class Regex:
    """A compiled RE2 pattern; equal and hashable by its text, so the IR stays comparable."""

    __slots__ = ("_set", "pattern")

    def __init__(self, pattern: str) -> None:
        encoded = pattern.encode("utf-8", "surrogateescape")
        options = _options()
        try:
            re2.compile(encoded, options)  # for RE2's own message; Set.Add drops it
        except re2.error as exc:
            raise ValueError(_reason(exc)) from None
        matcher = re2.Set.FullMatchSet(options)
        try:
            matcher.Add(encoded)
            matcher.Compile()
        except re2.error:
            raise ValueError("pattern too large - compile failed") from None
        self.pattern = pattern
        self._set = matcher

    def fullmatch(self, value: str) -> bool:
        """True if all of ``value`` matches (RE2 ``FullMatch``)."""
        return self._set.Match(value.encode("utf-8", "surrogateescape")) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash((Regex, self.pattern))

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def _reason(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else ""
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def compile_regex(pattern: str) -> Regex:
    """Compile a ``regex`` literal; ``ValueError`` with RE2's reason if RE2 refuses it."""
    return Regex(pattern)
