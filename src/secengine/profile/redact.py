"""Keep a container's environment values out of what secengine writes and prints.

A ``podman run -e DB_PASSWORD=...`` command line is recorded (``P.record.json``),
reported and shown in error messages; the values of its environment options
are secrets more often than not. :func:`redact_command` keeps each variable's
name and replaces its value with :data:`REDACTED`; :class:`Scrubber` replaces
the values in free text (the engine's own error messages echo them, e.g.
``invalid environment variable: "=VALUE"``).

What counts as an environment value, for ``docker``/``podman`` commands
(anywhere on the line, since telling the engine's options from the
container's arguments would need every option's arity):

- ``-e NAME=VALUE``, ``--env NAME=VALUE``, ``--env=NAME=VALUE``,
  ``-eNAME=VALUE``, ``-e=NAME=VALUE``;
- ``-e NAME`` / ``--env NAME`` (the value comes from secengine's own
  environment: scrubbed from text, nothing to redact on the line);
- every value in an ``--env-file FILE`` that secengine can read (the path
  itself is kept on the line);

and for any command whose program is ``env``, the ``NAME=VALUE`` words that
follow it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = ["MIN_SCRUB", "REDACTED", "Scrubber", "redact_command", "secret_values"]

#: What replaces a value.
REDACTED: Final = "<redacted>"
#: Values shorter than this are replaced only where they follow their ``NAME=`` in free
#: text: replacing every "1" of an error message would make it unreadable.
MIN_SCRUB: Final = 4

_ENGINES: Final = ("docker", "podman")
_ENV_OPTS: Final = ("-e", "--env")
_ENV_FILE: Final = "--env-file"


def _engine(argv: Sequence[str]) -> bool:
    return bool(argv) and os.path.basename(argv[0]) in _ENGINES


def _env_words(argv: Sequence[str]) -> Iterable[tuple[int, str, str]]:
    """``(index, prefix, NAME[=VALUE])`` for every environment word of an engine command.

    ``prefix`` is what comes before the assignment in the same word (``--env=``).
    """
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in _ENV_OPTS and i + 1 < len(argv):
            yield i + 1, "", argv[i + 1]
            i += 2
            continue
        for opt in ("--env=", "-e="):
            if arg.startswith(opt):
                yield i, opt, arg[len(opt) :]
                break
        else:
            if arg.startswith("-e") and not arg.startswith("--") and len(arg) > 2:
                yield i, "-e", arg[2:]
        i += 1


def _env_files(argv: Sequence[str]) -> list[str]:
    out = []
    for i, arg in enumerate(argv):
        if arg == _ENV_FILE and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif arg.startswith(_ENV_FILE + "="):
            out.append(arg.split("=", 1)[1])
    return out


def _env_assignments(argv: Sequence[str]) -> Iterable[tuple[int, str, str]]:
    """``env NAME=VALUE ... CMD``: the assignments after ``env`` (and its options)."""
    if not argv or os.path.basename(argv[0]) != "env":
        return
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith("-"):
            continue
        if "=" not in arg:
            return
        yield i, "", arg


def _assignments(argv: Sequence[str]) -> list[tuple[int, str, str]]:
    if _engine(argv):
        return list(_env_words(argv))
    return list(_env_assignments(argv))


def redact_command(argv: Sequence[str]) -> list[str]:
    """``argv`` with each environment value replaced by :data:`REDACTED` (names kept)."""
    out = list(argv)
    for i, prefix, word in _assignments(argv):
        if "=" in word:
            name = word.split("=", 1)[0]
            out[i] = f"{prefix}{name}={REDACTED}"
    return out


def _file_values(path: str) -> list[str]:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return [line.split("=", 1)[1].strip() for line in text.splitlines() if "=" in line]


def secret_values(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Every environment value ``argv`` hands its container (for :class:`Scrubber`)."""
    environ = os.environ if environ is None else environ
    values = []
    for _i, _prefix, word in _assignments(argv):
        if "=" in word:
            values.append(word.split("=", 1)[1])
        elif word in environ:
            values.append(environ[word])
    if _engine(argv):
        for path in _env_files(argv):
            values += _file_values(path)
    return [v for v in values if v]


class Scrubber:
    """Replaces a command's environment values in text (messages, forwarded output)."""

    __slots__ = ("_pattern",)

    def __init__(self, values: Iterable[str]) -> None:
        values = sorted(set(values), key=len, reverse=True)  # longest first: no partial hits
        parts = [f"(?<==){re.escape(v)}" for v in values if len(v) < MIN_SCRUB]
        parts += [re.escape(v) for v in values if len(v) >= MIN_SCRUB]
        self._pattern = re.compile("|".join(parts)) if parts else None

    @classmethod
    def for_command(cls, argv: Sequence[str]) -> Scrubber:
        return cls(secret_values(argv))

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)
