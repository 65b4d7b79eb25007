"""Who may post audit events: the bearer token, read from its file and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

from secengine.errors import ConfigError

__all__ = ["BearerAuth", "read_token"]


class BearerAuth:
    """Checks ``Authorization: Bearer <token>`` headers against one token.

    The token is compared in constant time (:func:`hmac.compare_digest`), as
    SHA-256 digests so that not even its length shows in the timing.
    """

    __slots__ = ("_digest",)

    def __init__(self, token: str) -> None:
        self._digest = _digest(token.strip())

    def refusal(self, header: str | None) -> str | None:
        """Why an ``Authorization`` header is refused (a metrics label), None if it is not."""
        if not header:
            return "missing_token"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return "not_bearer"
        if not hmac.compare_digest(_digest(token.strip()), self._digest):
            return "wrong_token"
        return None


def read_token(path: str) -> str:
    """The bearer token in ``path`` (surrounding blanks removed); ConfigError if none."""
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"bearer_token_file {path}: {getattr(e, 'strerror', None) or e}"
        ) from None
    if not token:
        raise ConfigError(
            f"bearer_token_file {path} is empty: an empty token would accept any client"
        )
    return token


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
