"""The ``k8s_audit`` webhook: kube-apiserver posts audit events here, over HTTP or TLS.

kube-apiserver's webhook audit backend POSTs batches of audit events
(``EventList`` JSON) to a URL taken from a kubeconfig file. Falco's k8saudit
plugin serves that URL (default ``http://:9765/k8s-audit``); this source does
the same with granian, a Rust HTTP server for Python applications, embedded
in this process on its own thread and event loop
(:mod:`secengine.web`, shared with the metrics endpoint).

The answers are what kube-apiserver needs to neither lose nor duplicate
events:

- **200** once the batch is accepted (a batch whose events are all unusable,
  e.g. without ``stageTimestamp``, is answered 200 too, the events counted as
  rejected: sending it again would not help);
- **400** for a body that is not JSON, not an audit payload (``{"kind": 0}``),
  or not ``Content-Type: application/json``; **401** for a missing or wrong
  bearer token; **405** for a method other than POST; **408** for a body not
  received within ``body_timeout``; **413** for a body over
  ``max_body`` (default 12 MiB, the plugin's ``webhookMaxBatchSize``);
- **503** with ``Retry-After`` when evaluation is behind (queued mode: the
  event queue is full; inline mode: more than ``max_in_progress`` requests
  are in progress) or the server is shutting down: nothing of that batch was
  taken, so kube-apiserver's retry delivers it exactly once.

Accepted batches are either queued on the agent's bounded
:class:`~secengine.sources.base.EventQueue` (:meth:`K8sAuditWebhookSource.start`)
or evaluated on the server's thread right after the 200
(:meth:`K8sAuditWebhookSource.start_inline`, what the agent uses; see the
class for why).

Every answer is counted in :attr:`K8sAuditWebhookSource.stats` by status.
``GET /healthz`` answers ``ok``. TLS uses a certificate and key; with
``client_ca`` the server requires and verifies client certificates.

Whoever can reach the port can send events that raise or hide alerts, so
an empty bearer token is a configuration error (never "no
authentication"), tokens are compared in constant time, refused tokens and
failed TLS handshakes are counted and logged (:mod:`secengine.web.stats`),
and listening beyond loopback without TLS or without authentication logs
one warning. Idle and slow clients are bounded by the listener's
:class:`~secengine.web.limits.HttpLimits`.

:meth:`K8sAuditWebhookSource.stop` stops listening, lets requests already
being handled finish (their batches are queued or evaluated, or refused,
never half-done), then returns.

The package's modules: :mod:`~.config` (settings, Falco's plugin keys),
:mod:`~.auth` (the bearer token), :mod:`~.stats` (counters),
:mod:`~.handler` (the RSGI application answering requests), :mod:`~.source`
(the :class:`~secengine.sources.base.Source` and its server's lifecycle)
and :mod:`~.cli` (``secengine run``'s options).
"""

from __future__ import annotations

from secengine.sources.k8s_webhook.cli import add_arguments, config_from_args
from secengine.sources.k8s_webhook.config import (
    DEFAULT_ADDR,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_BUFFERED_BODIES,
    DEFAULT_PATH,
    WebhookConfig,
    parse_addr,
)
from secengine.sources.k8s_webhook.handler import HEALTH_PATH
from secengine.sources.k8s_webhook.source import K8sAuditWebhookSource
from secengine.sources.k8s_webhook.stats import WebhookStats

__all__ = [
    "DEFAULT_ADDR",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_BUFFERED_BODIES",
    "DEFAULT_PATH",
    "HEALTH_PATH",
    "K8sAuditWebhookSource",
    "WebhookConfig",
    "WebhookStats",
    "add_arguments",
    "config_from_args",
    "parse_addr",
]
