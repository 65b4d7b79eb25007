"""The one exception hierarchy of secengine.

Every error a user can see derives from :class:`SecengineError`, so embedders
can catch one type. The tree (subclasses live next to the code that raises
them)::

    SecengineError
    ├── ConditionError              a condition that does not parse or compile
    │   ├── ConditionSyntaxError    the parser rejected the text (has a position)
    │   └── ConditionCompileError   unknown field, bad operator for a type, bad literal
    ├── RulesLoadError              a rules file could not be loaded (carries the LoadResult)
    │   └── ruleset.ItemError       one item's error, with its location chain
    ├── LocatedError                about a place in an input file (file:line: ...)
    │   ├── EventFormatError        a malformed input event
    │   │   └── capture.blocks.CaptureFormatError  a capture that cannot be read on (file:offset)
    │   └── testing.RuleTestError   a malformed rule-test file
    ├── OutputFormatError           an output template that does not compile
    ├── events.FieldExtractionError a field's extractor raised (counted per field and rule)
    ├── UsageError                  a command line the command cannot act on
    ├── ConfigError                 a bad configuration key or value
    │   ├── config.ConfigFileError  ... in a file (names file:line and the key path)
    │   ├── plugins.UnknownPluginError / DuplicatePluginError
    ├── sinks.SinkError             an output could not open or deliver
    ├── sinks.spool.SpoolError      an output's on-disk spool cannot open or take a record
    ├── fleet.transport.BrokerError a NATS or Redis broker could not be used
    │   ├── BrokerUnavailable       it is away for now (retried with backoff)
    │   └── BrokerRefused           it refuses the client: credentials, permissions, TLS
    ├── fleet.wire.WireError        a broker message that is no event (dead-lettered; also
    │                               a ValueError)
    ├── state.decode.RecordFormatError  a ring-buffer record that cannot be decoded
    ├── state.containers.cri.CriError  a CRI (containerd, CRI-O) call failed: its gRPC
    │                               status as ``reason``, counted by the CRI engine
    ├── bpf.BpfError                a libbpf call failed (errno translated)
    │   └── bpf.BpfUnavailableError no privileges, no BTF or no libbpf: what to do
    ├── bpf.build.BuildError        the probe did not compile (also a RuntimeError)
    ├── profile.ProfileError        the least-privilege advisor could not record or verify
    ├── state.containers.files.FileError  a runtime's file about a container that is there
    │                               but unusable (counted by runtime and reason)
    ├── yamlbounds.YamlLimitError   YAML nesting or alias expansion past its limit (also a
    │                               ValueError)
    ├── ruleset.yamldoc.YamlSyntaxError / ruleset.schema.SchemaConversionError /
    │   ruleset.listexpand.ListExpansionTooLong   a rules file problem, turned into a
    │                               located diagnostic by the loader
    ├── sources.k8s_audit.AuditPayloadError  a webhook body that is no audit event list
    │                               (also a ValueError)
    ├── sources.fieldmap.FieldMapError  a rejected field-map line (also a ValueError)
    ├── sources.syscall_kill.NotDecidable  a rule's kill the probe cannot decide (the kill
    │                               is then user space's; the reason is logged)
    ├── web.body.BodyTooLarge / BodyTimeout (BodyShed) / BodyOverBudget / ClientGone
    │                               why a request body was not read (answered 413/408/503)
    └── testing.RuleTestSkipped / pytest_plugin.RuleTestCaseFailed  a rule test's outcome

A class whose name starts with ``_`` is private control flow, raised and
caught in its own module; ``tests/test_errors.py`` checks every other one.
Where callers caught a builtin (``ValueError``, ``RuntimeError``) the class
keeps it as a second base.
"""

from __future__ import annotations

__all__ = [
    "ConditionCompileError",
    "ConditionError",
    "ConditionSyntaxError",
    "ConfigError",
    "EventFormatError",
    "LocatedError",
    "OutputFormatError",
    "RulesLoadError",
    "SecengineError",
    "UsageError",
]


class SecengineError(Exception):
    """Base of every error secengine raises on purpose."""


class ConditionError(SecengineError):
    """A filter condition is invalid.

    ``offset`` is the 0-based character offset inside the condition text where
    the problem was found (``None`` when it has no single place); ``line`` and
    ``column`` are 1-based within the condition text, as Falco's parser counts.
    """

    def __init__(
        self,
        message: str,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column


class ConditionSyntaxError(ConditionError):
    """The condition text is not valid Falco filter syntax."""


class ConditionCompileError(ConditionError):
    """The condition parsed but cannot be compiled (unknown field, operator/type mismatch...)."""


class RulesLoadError(SecengineError):
    """Loading rules failed; ``result`` holds every diagnostic collected."""

    def __init__(self, message: str, result: object | None = None) -> None:
        super().__init__(message)
        self.result = result


class LocatedError(SecengineError):
    """An error about a place in an input file: the message starts with ``file:line:``.

    ``reason`` is the message without the place; ``path`` and ``line`` the place.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        where = (
            f"{path}:{line}: "
            if path is not None and line is not None
            else (f"{path}: " if path is not None else "")
        )
        super().__init__(where + message)
        self.reason = message
        self.path = path
        self.line = line


class EventFormatError(LocatedError):
    """An input event is malformed; the message names where it came from."""


class OutputFormatError(SecengineError):
    """A rule output template does not compile (Falco: LOAD_ERR_COMPILE_OUTPUT)."""


class ConfigError(SecengineError):
    """A configuration file or option is invalid; the message names the key."""


class UsageError(SecengineError):
    """The command line asks for something the command cannot do (argparse's checks aside)."""
