"""The output keys: the rate limiter, queue bounds, and one block per sink (``*_output``, ``sinks:``)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from secengine.config.base import StrictModel

__all__ = [
    "DEFAULT_SINK_QUEUE",
    "FileOutput",
    "HttpOutput",
    "OutputsRate",
    "PluginSink",
    "ProgramOutput",
    "QueueCapacity",
    "SinkBlock",
    "StdoutOutput",
    "SyslogOutput",
]

#: The per-sink queue bound used when ``outputs_queue.capacity`` is 0.
DEFAULT_SINK_QUEUE = 10_000


class OutputsRate(StrictModel):
    """Falco's alert rate limiter (a token bucket per event source)."""

    rate: float = Field(
        default=0, ge=0, description="Alerts allowed per second; 0 disables limiting."
    )
    max_burst: int = Field(
        default=1000, ge=1, description="Tokens the bucket holds (and starts with)."
    )


class QueueCapacity(StrictModel):
    capacity: int = Field(default=0, ge=0, description="Queue bound; 0 means the built-in default.")


class SinkBlock(StrictModel):
    """Keys every sink block has."""

    enabled: bool = Field(default=False, description="Send alerts to this output.")
    json_output: bool | None = Field(
        default=None, description="secengine: override the top-level `json_output` for this output."
    )
    queue_capacity: int | None = Field(
        default=None,
        ge=1,
        description="secengine: this output's queue bound (default: outputs_queue).",
    )


class StdoutOutput(SinkBlock):
    enabled: bool = Field(default=True, description="Print alerts on standard output.")


class SyslogOutput(SinkBlock):
    address: str = Field(
        default="/dev/log",
        description="secengine: a local socket path, `unix:///path` or `udp://host:port`.",
    )
    facility: Literal[
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ] = Field(default="user", description="secengine: syslog facility.")
    ident: str = Field(default="secengine", description="secengine: the tag before `[pid]:`.")
    timeout: float = Field(
        default=5.0,
        gt=0,
        description="secengine: seconds a send may wait on a daemon that stopped reading.",
    )


class FileOutput(SinkBlock):
    keep_alive: bool = Field(
        default=False, description="Keep the file open (else reopen per alert)."
    )
    filename: str = Field(default="./events.txt", description="File the alerts are appended to.")
    max_size: int = Field(
        default=0,
        ge=0,
        description="secengine: rotate before the file exceeds this many bytes; 0 never rotates.",
    )
    backups: int = Field(
        default=5, ge=0, description="secengine: rotated files kept (`filename.1` ...)."
    )


class HttpOutput(SinkBlock):
    url: str = Field(default="", description="URL the alerts are POSTed to.")
    user_agent: str = Field(default="falcosecurity/falco", description="User-Agent header.")
    insecure: bool = Field(default=False, description="Do not verify the server's certificate.")
    ca_cert: str = Field(default="", description="CA certificate file to verify the server.")
    ca_bundle: str = Field(default="", description="CA bundle file (used when ca_cert is empty).")
    ca_path: str = Field(
        default="", description="Directory of CA certificates (default: the system's store)."
    )
    mtls: bool = Field(default=False, description="Present a client certificate.")
    client_cert: str = Field(default="/etc/ssl/certs/client.crt", description="Client certificate.")
    client_key: str = Field(default="/etc/ssl/certs/client.key", description="Client key.")
    echo: bool = Field(default=False, description="Print the server's answers on stdout.")
    compress_uploads: bool = Field(default=False, description="gzip the body.")
    keep_alive: bool = Field(default=False, description="Reuse the connection.")
    max_consecutive_timeouts: int = Field(
        default=5, ge=0, description="Timed-out attempts per alert before giving it up."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="secengine: extra request headers."
    )
    timeout: float = Field(default=5.0, gt=0, description="secengine: seconds per request.")
    max_retries: int | None = Field(
        default=5,
        ge=0,
        description="secengine: retries of a failed POST before the alert counts as failed; "
        "null means the default (5); never unbounded.",
    )
    retry_backoff: float = Field(
        default=0.5, gt=0, description="secengine: first retry delay (s), doubling."
    )
    retry_backoff_max: float = Field(
        default=30.0, gt=0, description="secengine: longest retry delay (s)."
    )

    @model_validator(mode="after")
    def _url_needed(self) -> HttpOutput:
        if self.enabled and not self.url:
            raise ValueError("http_output is enabled but has no url")
        return self


class ProgramOutput(SinkBlock):
    keep_alive: bool = Field(
        default=False, description="One long-running process (else one per alert)."
    )
    program: str = Field(default="", description="Shell command that reads alerts on stdin.")

    @model_validator(mode="after")
    def _program_needed(self) -> ProgramOutput:
        if self.enabled and not self.program.strip():
            raise ValueError("program_output is enabled but has no program")
        return self


class PluginSink(SinkBlock):
    """A sink plugin configured under ``sinks:``; other keys go to its constructor."""

    model_config = ConfigDict(extra="allow")
    enabled: bool = Field(default=True, description="Send alerts to this sink.")
    plugin: str | None = Field(default=None, description="Plugin name (default: the entry's key).")
