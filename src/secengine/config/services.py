"""Sources and the agent's services: ``sources:``, ``syscall_event_drops``, ``webserver``, ``replay``."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from secengine.config.base import StrictModel
from secengine.sources.lines import DEFAULT_MAX_LINE
from secengine.web.limits import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, HttpLimits

__all__ = ["DropAction", "ReplayLimits", "SourceBlock", "SyscallEventDrops", "Webserver"]


class SourceBlock(StrictModel):
    """An event source under ``sources:``; other keys go to the source plugin."""

    model_config = ConfigDict(extra="allow")
    enabled: bool = Field(default=True, description="Start this source.")
    plugin: str | None = Field(default=None, description="Plugin name (default: the entry's key).")


DropAction = Literal["ignore", "log", "alert", "exit"]


def _default_drop_actions() -> list[DropAction]:
    return ["log", "alert"]


class SyscallEventDrops(StrictModel):
    """What to do when a source drops events (Falco's ``syscall_event_drops``, for every source)."""

    threshold: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Dropped share of the last second's events that triggers the actions.",
    )
    actions: list[DropAction] = Field(
        default_factory=_default_drop_actions, description="`ignore`, `log`, `alert`, `exit`."
    )
    rate: float = Field(default=0.03333, ge=0, description="Actions per second (token bucket).")
    max_burst: int = Field(default=1, ge=1, description="Actions in a burst.")
    simulate_drops: bool = Field(
        default=False, description="Act as if events were dropped every second."
    )

    @field_validator("actions")
    @classmethod
    def _ignore_alone(cls, value: list[str]) -> list[str]:
        if "ignore" in value and len(set(value)) > 1:
            raise ValueError("'ignore' cannot be combined with other actions")
        return value


class Webserver(StrictModel):
    """The health and metrics HTTP endpoint (off by default)."""

    enabled: bool = Field(default=False, description="Serve /healthz and the Prometheus metrics.")
    listen_address: str = Field(default="0.0.0.0", description="Address to listen on.")
    listen_port: int = Field(default=8765, ge=0, le=65535, description="Port (0: any free port).")
    k8s_healthz_endpoint: str = Field(default="/healthz", description="Path of the health check.")
    prometheus_metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus text metrics."
    )
    metrics_endpoint: str = Field(default="/metrics", description="secengine: path of the metrics.")
    ssl_enabled: bool = Field(default=False, description="Serve HTTPS.")
    ssl_certificate: str = Field(
        default="/etc/secengine/secengine.pem", description="Combined certificate and key (PEM)."
    )
    max_connections: int = Field(
        default=DEFAULT_MAX_CONNECTIONS,
        ge=1,
        description="secengine: connections served at once; more wait in the listen queue.",
    )
    header_timeout: float = Field(
        default=DEFAULT_HEADER_TIMEOUT,
        gt=0,
        le=86400,
        description="secengine: seconds to receive a request's headers, and idle keep-alive "
        "seconds, before the connection is closed.",
    )
    keepalive: bool = Field(
        default=True, description="secengine: keep connections open between requests."
    )

    def limits(self) -> HttpLimits:
        """The listener's limits (:mod:`secengine.web.limits`)."""
        return HttpLimits(
            max_connections=self.max_connections,
            header_timeout=self.header_timeout,
            keepalive=self.keepalive,
        )


class ReplayLimits(StrictModel):
    """Bounds on what ``secengine replay`` reads (its input may come from anyone)."""

    max_line_size: int = Field(
        default=DEFAULT_MAX_LINE,
        ge=1,
        description="secengine: longest input line (bytes) replay reads, also the cap on an audit "
        "file that is one JSON document; a longer line is skipped and reported "
        "(`--max-line-size`).",
    )
