"""The webhook's settings: where it listens, TLS, the bearer token, body and request limits.

:meth:`WebhookConfig.from_settings` reads a ``sources.k8s_audit`` block of
the agent configuration, accepting Falco's k8saudit plugin keys and its
``open_params`` URL too.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from secengine.errors import ConfigError
from secengine.sources.k8s_audit import MAX_EVENT_SIZE
from secengine.sources.k8s_webhook.auth import read_token
from secengine.suggest import did_you_mean
from secengine.web.limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    HttpLimits,
)

__all__ = [
    "DEFAULT_ADDR",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_BUFFERED_BODIES",
    "DEFAULT_PATH",
    "WebhookConfig",
    "parse_addr",
]

#: Falco's documented default listening address (all interfaces, port 9765).
DEFAULT_ADDR: Final = ":9765"
DEFAULT_PATH: Final = "/k8s-audit"
#: The plugin's ``webhookMaxBatchSize``: 12 MiB, about 20% over kube-apiserver's
#: default ``--audit-webhook-truncate-max-batch-size`` (10 MiB).
DEFAULT_MAX_BODY: Final = 12 * 1024 * 1024
#: Bytes of request bodies received at once, over all connections: about twenty
#: full batches, or thousands of ordinary ones.
DEFAULT_MAX_BUFFERED_BODIES: Final = 256 * 1024 * 1024


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[v6]:PORT`` → (host, port); no host: every interface.

    Raises :class:`~secengine.errors.ConfigError`.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ConfigError(f"k8s audit address {text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(
            f"k8s audit address {text!r}: port {port_text!r} is not a number"
        ) from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"k8s audit address {text!r}: port {port} is out of range")
    return host, port


@dataclass(slots=True)
class WebhookConfig:
    """How the webhook listens and what it accepts.

    ``host`` empty listens on every interface; ``port`` 0 picks a free port
    (see :attr:`K8sAuditWebhookSource.address`). TLS is on when ``tls_cert``
    is set (``tls_key`` may be omitted when the key is in the same PEM
    file, as Falco's ``sslCertificate`` is); ``client_ca`` then makes a
    client certificate signed by that CA mandatory. ``bearer_token``
    requires ``Authorization: Bearer <token>`` on audit posts; an empty one
    is refused (ConfigError), as it would accept anyone. The connection
    limit and timeouts are those of :class:`~secengine.web.limits.HttpLimits`.
    """

    host: str = ""
    port: int = 9765
    path: str = DEFAULT_PATH
    max_body: int = DEFAULT_MAX_BODY
    max_event_size: int | None = MAX_EVENT_SIZE
    tls_cert: str | None = None
    tls_key: str | None = None
    client_ca: str | None = None
    bearer_token: str | None = None
    #: Seconds :meth:`K8sAuditWebhookSource.stop` waits for requests in progress.
    shutdown_timeout: float = 10.0
    #: Seconds kube-apiserver is told to wait before retrying after a 503.
    retry_after: int = 1
    #: When batches are evaluated on the server's thread (the agent's way), audit
    #: requests in progress beyond this many are answered 503: the bound that the
    #: event queue's capacity is otherwise.
    max_in_progress: int = 1024
    #: See :class:`~secengine.web.limits.HttpLimits`.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    keepalive: bool = True
    #: Bytes of request bodies being received at once; beyond, 503 (see :mod:`secengine.web.body`).
    max_buffered_bodies: int = DEFAULT_MAX_BUFFERED_BODIES

    def __post_init__(self) -> None:
        if self.bearer_token is not None and not isinstance(self.bearer_token, str):
            raise ConfigError("k8s audit webhook: bearer_token must be a string")
        if self.bearer_token is not None and not self.bearer_token.strip():
            raise ConfigError(
                "k8s audit webhook: bearer_token is empty, which would accept "
                "any client; give a token or none"
            )
        if not isinstance(self.max_buffered_bodies, int) or not isinstance(self.max_body, int):
            raise ConfigError(
                "k8s audit webhook: max_body and max_buffered_bodies are numbers of bytes"
            )
        if self.max_buffered_bodies < self.max_body:
            raise ConfigError(
                f"k8s audit webhook: max_buffered_bodies "
                f"({self.max_buffered_bodies}) is smaller than max_body "
                f"({self.max_body}): no full batch could be received"
            )
        _ = self.limits  # checks the limits now, the message naming the key

    @property
    def limits(self) -> HttpLimits:
        """The listener's connection limit and timeouts."""
        return HttpLimits(
            max_connections=self.max_connections,
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            keepalive=self.keepalive,
        )

    @property
    def authenticated(self) -> bool:
        """Whether clients must prove who they are (a bearer token or a client certificate)."""
        return self.bearer_token is not None or self.client_ca is not None

    @classmethod
    def from_addr(cls, addr: str = DEFAULT_ADDR, **kwargs: Any) -> WebhookConfig:
        host, port = parse_addr(addr)
        return cls(host=host, port=port, **kwargs)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WebhookConfig:
        """A config from a ``sources.k8s_audit`` block of the agent configuration.

        Keys: ``listen`` (``HOST:PORT``) or Falco's ``open_params`` URL
        (``http://:9765/k8s-audit``, ``https://...``), and the field names of
        this class; Falco's plugin keys ``sslCertificate``,
        ``webhookMaxBatchSize`` and ``maxEventSize`` are accepted too.
        ``bearer_token_file`` reads the token from a file. Raises
        :class:`~secengine.errors.ConfigError` naming a bad key.
        """
        given = dict(settings)
        kwargs: dict[str, Any] = {}
        url = given.pop("open_params", None)
        if url is not None:
            kwargs.update(_from_url(str(url)))
        listen = given.pop("listen", None)
        if listen is not None:
            kwargs["host"], kwargs["port"] = parse_addr(str(listen))
        for falco_key, key in _FALCO_KEYS.items():
            if falco_key in given:
                given.setdefault(key, given.pop(falco_key))
        token_file = given.pop("bearer_token_file", None)
        if token_file is not None:
            kwargs["bearer_token"] = read_token(str(token_file))
        names = set(cls.__dataclass_fields__)
        for key, value in given.items():
            if key not in names:
                accepted = sorted(
                    names | {"listen", "open_params", "bearer_token_file", *_FALCO_KEYS}
                )
                raise ConfigError(
                    f"unknown k8s_audit webhook setting {key!r}" + did_you_mean(key, accepted)
                )
            kwargs[key] = value
        if kwargs.get("scheme") == "https" and not kwargs.get("tls_cert"):
            raise ConfigError("open_params: https needs tls_cert (sslCertificate)")
        kwargs.pop("scheme", None)
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise ConfigError(str(e)) from None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS settings checked with Python's ``ssl`` (None for plain HTTP).

        The webhook calls this when it is created, so that a missing or bad
        certificate, key or CA file is a ConfigError naming the problem before
        anything listens; granian then loads the same files for serving.
        """
        if self.tls_cert is None:
            if self.client_ca is not None:
                raise ConfigError("k8s audit webhook: client_ca needs tls_cert")
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
            if self.client_ca is not None:
                ctx.load_verify_locations(cafile=self.client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"k8s audit webhook TLS: {e}") from e
        return ctx

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


#: Falco's k8saudit plugin configuration keys → ours.
_FALCO_KEYS: Final = {
    "sslCertificate": "tls_cert",
    "webhookMaxBatchSize": "max_body",
    "maxEventSize": "max_event_size",
}


def _from_url(url: str) -> dict[str, Any]:
    """Falco's ``open_params`` webhook URL → host, port, path (and the scheme, checked later)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"open_params {url!r}: only http:// and https:// webhooks are served")
    host, port = parse_addr(
        parts.netloc if ":" in parts.netloc.rsplit("]", 1)[-1] else parts.netloc + ":9765"
    )
    return {"host": host, "port": port, "path": parts.path or DEFAULT_PATH, "scheme": parts.scheme}
