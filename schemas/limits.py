"""Every size limit of the contract, in one place: identifiers and the bus's own records.

Two kinds of limit live here.

**Identifiers** (checked by :mod:`seabus.schemas.validation`, so the SDK, the bulk
importer, the HTTP gateway and the router all refuse the same records). An
identifier is copied into record keys, headers, escalations, dead letters,
topic-wide state and dashboards; one that is 400 kB long would make each of
those too big for Kafka. The limits are far above every identifier in use:

=====================================  ======  =================================================
field                                  length  characters
=====================================  ======  =================================================
``allegation_id``                      64      letters, digits, ``. _ : / -``; starts alphanumeric
``subject_ref`` (subjects, interim     64      as ``allegation_id``
actions), ``in_reply_to``
``reporting_entity``,                  32      upper-case letters, digits, ``_ -``; starts with a
``investigating_entity``                       letter or digit (MINUSCA, UN-WOMEN, OIOS, FRA)
``responder``                          128     any printable text (an office, e.g. "Permanent
                                               Mission, SEA focal point"); no control characters
``event_id``, ``response_id``          UUID    checked as UUIDs (36 characters)
``recipient``, country codes           3-4     ISO 3166-1 alpha-3 or OSC, OIOS, VRA
=====================================  ======  =================================================

**Records the bus writes itself** (applied by :mod:`seabus.schemas.envelopes`): a dead
letter or an escalation is built from whatever arrived, so its parts are cut to
fixed budgets and the whole always fits, however big the input:

* a dead letter keeps no copy of the original value (it may hold a narrative or
  names; see ``seabus.schemas.envelopes.redacted_fields``), only a redacted form of
  identifiers with the SHA-256 digest and size of the whole value; the original
  stays at its source coordinates. :data:`DEAD_LETTER_VALUE_BYTES` (32 KiB) was
  the copy's budget before deadletter v4;
* an original key longer than :data:`MAX_KEY_BYTES` is kept as a prefix with its
  digest and size, and the dead letter's own Kafka key becomes ``sha256:<hex>``;
* headers: at most :data:`DEAD_LETTER_MAX_HEADERS`, names cut to
  :data:`DEAD_LETTER_HEADER_NAME_BYTES`, values to
  :data:`DEAD_LETTER_HEADER_VALUE_BYTES`, all of them within
  :data:`DEAD_LETTER_HEADERS_BYTES`;
* message text: :data:`DEAD_LETTER_MESSAGE_BYTES`; escalation reason:
  :data:`ESCALATION_REASON_BYTES`; identifiers echoed into an escalation:
  :data:`MAX_KEY_BYTES` each.

So a dead letter stays under :data:`DEAD_LETTER_MAX_BYTES` (64 KiB) and an
escalation under :data:`ESCALATION_MAX_BYTES` (16 KiB) encoded, far below
Kafka's 1 MB request limit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = [
    "ALLEGATION_ID",
    "DEAD_LETTER_HEADERS_BYTES",
    "DEAD_LETTER_HEADER_NAME_BYTES",
    "DEAD_LETTER_HEADER_VALUE_BYTES",
    "DEAD_LETTER_MAX_BYTES",
    "DEAD_LETTER_MAX_HEADERS",
    "DEAD_LETTER_MESSAGE_BYTES",
    "DEAD_LETTER_VALUE_BYTES",
    "ENTITY_CODE",
    "ESCALATION_MAX_BYTES",
    "ESCALATION_REASON_BYTES",
    "MAX_KEY_BYTES",
    "REFERENCE",
    "RESPONDER",
    "IdentifierRule",
    "bounded_id",
    "bounded_key",
    "clip_bytes",
    "clip_text",
    "preview",
    "sha256_hex",
]


@dataclass(frozen=True, slots=True)
class IdentifierRule:
    """How long an identifier may be and which characters it may hold."""

    max_length: int
    """At most this many characters."""
    forbidden: re.Pattern[str]
    """Matches one character that is not allowed anywhere."""
    first: re.Pattern[str] | None
    """Matches an allowed first character (None: any allowed character)."""
    allowed: str
    """The rule in words, for error messages: what may be used, with an example."""

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value`` (never quoting it), or None when it is fine."""
        if len(value) > self.max_length:
            return (
                f"is {len(value)} characters long, more than the limit of {self.max_length}; "
                f"use {self.allowed}"
            )
        bad = self.forbidden.search(value)
        if bad is not None:
            return (
                f"contains a character that is not allowed (position {bad.start() + 1}); use {self.allowed}"
            )
        if self.first is not None and value and not self.first.match(value):
            return f"does not start with a letter or digit; use {self.allowed}"
        return None


def _reference_rule(example: str) -> IdentifierRule:
    """The rule allegation ids and references share; only the example in its wording differs."""
    return IdentifierRule(
        max_length=64,
        forbidden=re.compile(r"[^A-Za-z0-9._:/-]"),
        first=re.compile(r"[A-Za-z0-9]"),
        allowed=f"at most 64 characters: letters, digits and . _ : / -, starting with a letter or digit {example}",
    )


ALLEGATION_ID = _reference_rule("(e.g. MINUSCA-2025-0042): the entity's short case reference")
"""``allegation_id``: the Kafka key of every event, response, escalation and notification."""

REFERENCE = _reference_rule("(e.g. SUBJ-0001): an opaque reference, never a name")
"""``subject_ref`` (subjects and interim actions) and ``in_reply_to``."""

ENTITY_CODE = IdentifierRule(
    max_length=32,
    forbidden=re.compile(r"[^A-Z0-9_-]"),
    first=re.compile(r"[A-Z0-9]"),
    allowed=(
        "at most 32 characters: upper-case letters, digits, _ and -, starting with a letter or "
        "digit (e.g. MINUSCA, UN-WOMEN, OIOS, or an alpha-3 code such as FRA)"
    ),
)
"""``reporting_entity`` and ``investigating_entity``."""

RESPONDER = IdentifierRule(
    max_length=128,
    forbidden=re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"),
    first=None,
    allowed=(
        "at most 128 characters of printable text without line breaks or control characters, "
        "naming the office (e.g. Permanent Mission, SEA focal point), never a person"
    ),
)
"""``responder`` of a response: an office, free text on one line."""


# --- records the bus writes itself --------------------------------------------

MAX_KEY_BYTES = 256
"""A Kafka key (or an identifier echoed into an escalation) longer than this is replaced by
``sha256:<hex>`` of it; in a dead letter's ``original_key`` it is cut to this many bytes."""

DEAD_LETTER_VALUE_BYTES = 32 * 1024
"""How much of the original value a dead letter keeps (its digest and size are always kept)."""

DEAD_LETTER_MAX_HEADERS = 32
"""How many original headers a dead letter keeps, in order."""

DEAD_LETTER_HEADER_NAME_BYTES = 128
"""Longest header name kept; longer names are cut."""

DEAD_LETTER_HEADER_VALUE_BYTES = 1024
"""Longest header value kept; longer values are cut."""

DEAD_LETTER_HEADERS_BYTES = 8 * 1024
"""All kept header names and values together; headers beyond it are left out."""

DEAD_LETTER_MESSAGE_BYTES = 8 * 1024
"""Longest dead-letter message (UTF-8); a longer one is cut and says so."""

DEAD_LETTER_MAX_BYTES = 64 * 1024
"""An encoded dead letter is always smaller than this (the sum of the budgets above, with room)."""

ESCALATION_REASON_BYTES = 4 * 1024
"""Longest escalation reason (UTF-8); a longer one is cut and says so."""

ESCALATION_MAX_BYTES = 16 * 1024
"""An encoded escalation is always smaller than this."""

_CUT = "… [cut: {size} bytes in all]"


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def clip_bytes(data: bytes, max_bytes: int) -> bytes:
    """The first ``max_bytes`` of ``data``."""
    return data if len(data) <= max_bytes else data[:max_bytes]


def _utf8_prefix(encoded: bytes, max_bytes: int) -> str:
    return encoded[: max(max_bytes, 0)].decode("utf-8", "ignore")


def clip_text(text: str, max_bytes: int) -> str:
    """``text`` if its UTF-8 fits ``max_bytes``, else a prefix ending in a note of the full size.

    The result never exceeds ``max_bytes`` in UTF-8 and is never cut inside a character.
    """
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    marker = _CUT.format(size=len(encoded))
    room = max_bytes - len(marker.encode("utf-8"))
    if room <= 0:
        return _utf8_prefix(encoded, max_bytes)
    return _utf8_prefix(encoded, room) + marker


def bounded_key(key: bytes | None) -> bytes | None:
    """``key`` when at most :data:`MAX_KEY_BYTES`, else ``b"sha256:<hex>"`` of it (71 bytes)."""
    if key is None or len(key) <= MAX_KEY_BYTES:
        return key
    return f"sha256:{sha256_hex(key)}".encode("ascii")


def bounded_id(text: str) -> str:
    """An identifier as :func:`bounded_key` keys it: itself, or ``sha256:<hex>`` of its UTF-8."""
    raw = text.encode("utf-8", "surrogatepass")
    return text if len(raw) <= MAX_KEY_BYTES else f"sha256:{sha256_hex(raw)}"


def preview(text: str | None, limit: int = 80) -> str:
    """``repr`` of ``text`` cut to ``limit`` characters with the full length noted, for messages."""
    if text is None or len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"
