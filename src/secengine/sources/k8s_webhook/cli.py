"""``secengine run --source k8s_audit``: the webhook's command-line options (the agent runs it)."""

from __future__ import annotations

from typing import Any

from secengine.sources.k8s_webhook.config import (
    DEFAULT_ADDR,
    DEFAULT_MAX_BODY,
    DEFAULT_PATH,
    WebhookConfig,
)

__all__ = ["add_arguments", "config_from_args"]


def add_arguments(parser: Any) -> None:
    """The webhook's options of ``secengine run`` (used with ``--source k8s_audit``)."""
    g = parser.add_argument_group("k8s_audit webhook (with --source k8s_audit)")
    g.add_argument(
        "--k8s-audit-addr",
        default=DEFAULT_ADDR,
        metavar="HOST:PORT",
        help=f"address to listen on (default: {DEFAULT_ADDR}, every interface)",
    )
    g.add_argument(
        "--k8s-audit-path",
        default=DEFAULT_PATH,
        metavar="PATH",
        help=f"URL path kube-apiserver posts to (default: {DEFAULT_PATH})",
    )
    g.add_argument(
        "--k8s-audit-max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help="largest request body accepted, else 413 (default: 12 MiB)",
    )
    g.add_argument(
        "--k8s-audit-cert",
        default=None,
        metavar="PEM",
        help="serve HTTPS with this certificate (chain) file",
    )
    g.add_argument(
        "--k8s-audit-key",
        default=None,
        metavar="PEM",
        help="the certificate's private key (default: in the --k8s-audit-cert file)",
    )
    g.add_argument(
        "--k8s-audit-client-ca",
        default=None,
        metavar="PEM",
        help="require client certificates signed by this CA",
    )
    g.add_argument(
        "--k8s-audit-token-file",
        default=None,
        metavar="FILE",
        help="require 'Authorization: Bearer <token>' with the token in this file",
    )


def config_from_args(args: Any) -> WebhookConfig:
    """The webhook configuration the ``secengine run`` options describe. Raises ConfigError."""
    settings: dict[str, Any] = {
        "listen": args.k8s_audit_addr,
        "path": args.k8s_audit_path,
        "max_body": args.k8s_audit_max_body,
    }
    for opt, key in (
        ("k8s_audit_cert", "tls_cert"),
        ("k8s_audit_key", "tls_key"),
        ("k8s_audit_client_ca", "client_ca"),
        ("k8s_audit_token_file", "bearer_token_file"),
    ):
        value = getattr(args, opt, None)
        if value is not None:
            settings[key] = value
    return WebhookConfig.from_settings(settings)
