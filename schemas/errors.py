"""The one exception hierarchy of seabus.

Every error that can reach a person derives from :class:`SeabusError` and says
what happened and what to do. Subpackages add one-line subclasses here or in
their own ``errors`` module; nothing catches bare ``Exception`` to hide a bug.

    SeabusError
    ├── ConfigError            a configuration file or variable is wrong
    ├── DependencyMissing      a required program (java, mvn) is not installed
    ├── KafkaUnavailable       the broker could not be reached or refused
    ├── ProvisioningError      topics cannot be brought to the configured shape
    ├── SchemaLoadError        an .avsc file or the schema directory is unusable (schemas.registry)
    ├── CodecError             bytes are not a valid seabus message (schemas.codec)
    └── ValidationFailed       a decoded event breaks the contract (schemas.validation)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seabus.schemas.enums import DeadLetterReason

__all__ = [
    "CodecError",
    "CodecReason",
    "ConfigError",
    "DependencyMissing",
    "KafkaUnavailable",
    "Problem",
    "ProvisioningError",
    "SchemaLoadError",
    "SeabusError",
    "ValidationFailed",
]


class SeabusError(Exception):
    """Root of every seabus error; its message is meant for a person."""


class ConfigError(SeabusError):
    """A configuration file or environment variable is invalid.

    The message names the file, the entry at fault and the fix.
    """


class DependencyMissing(SeabusError):
    """A program seabus needs is not installed."""


class KafkaUnavailable(SeabusError):
    """The Kafka cluster could not be reached or did not answer in time."""


class ProvisioningError(SeabusError):
    """Topics cannot be brought to the configured shape (e.g. a shrink)."""


class SchemaLoadError(SeabusError):
    """An ``.avsc`` file or the layout of the schema directory is unusable."""


CodecReason = DeadLetterReason
"""Why bytes could not be turned into a message (or a message into bytes): one of the dead-letter
reasons MALFORMED_BYTES, MALFORMED_HEADERS, UNKNOWN_FINGERPRINT, TRUNCATED, OVERSIZED or
SCHEMA_INVALID (not a copy of those symbols), so a consumer dead-letters with ``reason=error.reason``."""


class CodecError(SeabusError):
    """Bytes are not a valid seabus message, or a datum does not fit its schema.

    ``reason`` says which of the known cases it is; the message says what was
    found and what to do.
    """

    def __init__(self, reason: CodecReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.detail = message


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a message, located by a field path.

    Paths look like ``allegation.subjects[1].nationality``; an empty path means
    the message as a whole.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<message>'}: {self.message}"


class ValidationFailed(SeabusError):
    """A message is well-formed Avro but breaks the contract; lists every problem."""

    def __init__(self, problems: Iterable[Problem], *, subject: str = "message") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.subject = subject
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{subject} is invalid ({count} {noun}); correct the fields listed and send it again:\n{lines}"
        )
