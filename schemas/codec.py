"""Avro Single Object Encoding for every seabus message.

A message value is ``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint
of the writer schema + the Avro binary datum. Decoding finds the writer schema
by fingerprint among every version ever released (:mod:`seabus.schemas.registry`) and
resolves the datum to the latest version of its family, so consumers only ever
see one shape per record type.

Decoding is a trust boundary: whatever the bytes, it returns a datum or raises
:class:`~seabus.schemas.errors.CodecError` whose ``reason`` names the case
(``MALFORMED_BYTES``, ``UNKNOWN_FINGERPRINT``, ``TRUNCATED``, ``OVERSIZED``,
``SCHEMA_INVALID``) and whose message says what to do. Messages never quote
field values, so confidential text cannot leak into logs or dead letters.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from typing import Any, TypeVar, overload

import pydantic
from fastavro import schemaless_reader, schemaless_writer
from fastavro._read_common import SchemaResolutionError

from seabus.schemas.cloudevents import OWN_ID_FIELD, check_headers
from seabus.schemas.datum_check import datum_problems, range_problems
from seabus.schemas.errors import CodecError, CodecReason, SchemaLoadError, ValidationFailed
from seabus.schemas.models import RECORD_MODELS, SeabusRecord
from seabus.schemas.registry import SchemaRegistry, SchemaVersion, default_registry
from seabus.schemas.validation import problems_from_pydantic

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HEADER_SIZE",
    "MAGIC",
    "Codec",
    "decode",
    "decode_model",
    "default_codec",
    "encode",
    "encode_model",
    "peek_writer",
]

MAGIC = b"\xc3\x01"
"""The two marker bytes that start every Avro single-object encoded value."""

HEADER_SIZE = 10
"""Marker plus 8-byte fingerprint."""

DEFAULT_MAX_BYTES = 1_048_576
"""Largest value accepted, matching Kafka's default ``message.max.bytes`` (1 MiB)."""

M = TypeVar("M", bound=SeabusRecord)

# Errors fastavro raises on bytes that do not follow the writer schema. The
# reader is C code over untrusted input, so the set is wide on purpose; every
# one is turned into a CodecError below with the original chained as cause.
DATUM_ERRORS = (
    EOFError,
    IndexError,
    KeyError,
    ValueError,  # includes UnicodeDecodeError and out-of-range dates
    OverflowError,
    TypeError,
    struct.error,
    SchemaResolutionError,
)


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    writer: SchemaVersion
    reader: SchemaVersion
    reader_schema: dict[str, Any] | None  # None when writer is the latest version


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


class Codec:
    """Encoder/decoder bound to one schema registry and one size limit."""

    def __init__(self, *, registry: SchemaRegistry | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < HEADER_SIZE:
            raise ValueError(f"max_bytes must be at least {HEADER_SIZE}")
        self.registry = registry if registry is not None else default_registry()
        self.max_bytes = max_bytes
        self._plans: dict[bytes, _ReadPlan] = {}
        for sv in self.registry.all_versions():
            latest = self.registry.latest(sv.family)
            plan = _ReadPlan(
                writer=sv,
                reader=latest,
                reader_schema=None if latest is sv else latest.parsed,
            )
            for fp in (sv.fingerprint, *sv.alternate_fingerprints):
                self._plans[fp] = plan

    # --- encoding ----------------------------------------------------------

    def writer_for(self, record_type: str, *, version: int | None = None) -> SchemaVersion:
        """The schema version ``encode`` writes with (the latest unless ``version``)."""
        try:
            if version is None:
                return self.registry.latest(record_type)
            return self.registry.get(record_type, version)
        except SchemaLoadError as exc:
            raise CodecError(CodecReason.SCHEMA_INVALID, str(exc)) from exc

    def encode(self, record_type: str, datum: Mapping[str, Any], *, version: int | None = None) -> bytes:
        """Encode ``datum`` as ``record_type`` (short, full or family name).

        Fields with an Avro default may be omitted; unknown fields are an error.
        Raises :class:`CodecError` (``SCHEMA_INVALID`` or ``OVERSIZED``).
        """
        sv = self.writer_for(record_type, version=version)
        # fastavro writes an out-of-range int as a longer varint: check, so nothing we write is invalid Avro.
        out_of_range = range_problems(sv.parsed, datum, sv.named_types)
        if out_of_range:
            raise CodecError(
                CodecReason.SCHEMA_INVALID,
                f"{sv.label} cannot hold this datum: " + "; ".join(map(str, out_of_range)),
            )
        out = BytesIO()
        out.write(MAGIC)
        out.write(sv.fingerprint)
        try:
            schemaless_writer(out, sv.parsed, datum, strict_allow_default=True, disable_tuple_notation=True)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise CodecError(CodecReason.SCHEMA_INVALID, _explain_write_error(sv, datum, exc)) from exc
        data = out.getvalue()
        if len(data) > self.max_bytes:
            raise CodecError(
                CodecReason.OVERSIZED,
                f"encoded {sv.name} is {len(data)} bytes, more than the limit of "
                f"{self.max_bytes}; shorten free-text fields or raise the configured limit",
            )
        return data

    # --- decoding ----------------------------------------------------------

    def peek_writer(self, data: bytes) -> SchemaVersion:
        """The writer schema named by the header, without decoding the datum."""
        return self._plan(data, self.max_bytes).writer

    def decode(
        self,
        data: bytes | bytearray | memoryview,
        *,
        expected_type: str | None = None,
        max_bytes: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Decode a value into ``(record short name, datum)`` at the latest version.

        ``expected_type`` (short or full name, e.g. ``"AllegationEvent"``) rejects a valid
        message of another type with ``SCHEMA_INVALID``. Raises only
        :class:`CodecError`.
        """
        raw = bytes(data) if isinstance(data, bytearray | memoryview) else data
        plan = self._plan(raw, self.max_bytes if max_bytes is None else max_bytes)
        name = plan.reader.name
        if expected_type is not None and expected_type not in (name, plan.reader.full_name):
            raise CodecError(
                CodecReason.SCHEMA_INVALID,
                f"value is a {name} ({plan.writer.label}) where a {expected_type} was "
                f"expected; the producer wrote to the wrong topic",
            )
        stream = BytesIO(raw)
        stream.seek(HEADER_SIZE)
        try:
            datum = schemaless_reader(stream, plan.writer.parsed, plan.reader_schema)
        except DATUM_ERRORS as exc:
            raise _datum_error(plan, raw, stream.tell(), exc) from exc
        end = stream.tell()
        if end != len(raw):
            if end > len(raw):
                raise CodecError(
                    CodecReason.TRUNCATED,
                    f"{plan.writer.label} datum ends after {len(raw)} bytes but declares "
                    f"{end}; the value was cut short, have the producer send it again",
                )
            raise CodecError(
                CodecReason.MALFORMED_BYTES,
                f"{len(raw) - end} byte(s) left over after a complete {plan.writer.label} "
                f"datum of {end - HEADER_SIZE} bytes; the producer wrote something other "
                f"than one single-object encoded value",
            )
        if not isinstance(datum, dict):
            raise CodecError(CodecReason.MALFORMED_BYTES, f"{plan.writer.label} did not decode to a record")
        return name, datum

    def _plan(self, data: Any, limit: int) -> _ReadPlan:
        if not isinstance(data, bytes):
            what = "no value (a tombstone)" if data is None else f"a {type(data).__name__}"
            raise CodecError(
                CodecReason.MALFORMED_BYTES,
                f"expected bytes but got {what}; seabus topics carry only Avro values",
            )
        size = len(data)
        if size > limit:
            raise CodecError(
                CodecReason.OVERSIZED,
                f"value is {size} bytes, more than the limit of {limit}; the producer must "
                f"send smaller messages (or the limit be raised in configuration)",
            )
        if size == 0:
            raise CodecError(
                CodecReason.MALFORMED_BYTES,
                "value is empty; seabus topics carry Avro single-object encoded values",
            )
        if data[:2] != MAGIC[:size]:
            hint = ""
            if data[:1] in (b"{", b"["):
                hint = " It looks like JSON;"
            elif data[:4] == b"Obj\x01":
                hint = " It looks like an Avro container file;"
            raise CodecError(
                CodecReason.MALFORMED_BYTES,
                f"value starts with {_hex(data[:2])}, not the Avro single-object marker "
                f"C3 01.{hint} the producer must write Avro Single Object Encoding",
            )
        if size < HEADER_SIZE:
            raise CodecError(
                CodecReason.TRUNCATED,
                f"value is {size} bytes, shorter than the 10-byte single-object header; "
                f"it was cut short, have the producer send it again",
            )
        plan = self._plans.get(data[2:HEADER_SIZE])
        if plan is None:
            raise CodecError(
                CodecReason.UNKNOWN_FINGERPRINT,
                f"writer schema fingerprint {data[2:HEADER_SIZE].hex()} is not one of the "
                f"{len(self.registry.all_versions())} known schema versions; the producer "
                f"uses a schema this bus was not given: add it as a new version under "
                f"schemas/avro (after `seabus schema check`) or fix the producer",
            )
        return plan


def _datum_error(plan: _ReadPlan, data: bytes, position: int, exc: Exception) -> CodecError:
    label = plan.writer.label
    at_end = position >= len(data)
    if isinstance(exc, SchemaResolutionError):
        return CodecError(
            CodecReason.SCHEMA_INVALID,
            f"{label} data cannot be read as {plan.reader.label} ({exc}); the schemas "
            f"are incompatible, run `seabus schema check`",
        )
    negative_length = isinstance(exc, EOFError) and "Expected -" in str(exc)
    if not negative_length and (isinstance(exc, EOFError) or (at_end and isinstance(exc, IndexError))):
        return CodecError(
            CodecReason.TRUNCATED,
            f"{label} datum ends after {len(data) - HEADER_SIZE} bytes, before the schema "
            f"is complete; the value was cut short, have the producer send it again",
        )
    if isinstance(exc, UnicodeDecodeError):
        problem = "a string that is not valid UTF-8"
    elif negative_length:
        problem = "a negative length"
    elif isinstance(exc, IndexError):
        problem = "a union branch or enum symbol index outside the schema"
    elif isinstance(exc, OverflowError | ValueError):
        problem = "a value out of range for its type (e.g. a timestamp)"
    else:
        problem = f"bytes that do not follow the schema ({type(exc).__name__})"
    return CodecError(
        CodecReason.MALFORMED_BYTES,
        f"{label} datum holds {problem} near byte {min(position, len(data))}; the bytes "
        f"were not written with this schema or were corrupted",
    )


def _explain_write_error(sv: SchemaVersion, datum: Any, exc: Exception) -> str:
    """Name every field at fault without quoting values."""
    if not isinstance(datum, Mapping):
        return f"{sv.name} must be a mapping of field names to values, not {type(datum).__name__}"
    problems = datum_problems(sv.parsed, datum, sv.named_types)
    if problems:
        return f"{sv.label} cannot hold this datum: " + "; ".join(map(str, problems))
    return f"{sv.label} cannot hold this datum ({type(exc).__name__}: {exc})"


# --- models ------------------------------------------------------------------


def encode_model(model: SeabusRecord, *, codec: Codec | None = None) -> bytes:
    """Encode a top-level model at the latest version of its schema."""
    return (codec or default_codec()).encode(model.avro_name, model.to_avro())


Headers = Iterable[tuple[str, bytes | None]]


@overload
def decode_model(
    data: bytes,
    expected: type[M],
    *,
    codec: Codec | None = None,
    max_bytes: int | None = None,
    headers: Headers | None = None,
) -> M: ...
@overload
def decode_model(
    data: bytes,
    expected: None = None,
    *,
    codec: Codec | None = None,
    max_bytes: int | None = None,
    headers: Headers | None = None,
) -> SeabusRecord: ...
def decode_model(
    data: bytes,
    expected: type[SeabusRecord] | None = None,
    *,
    codec: Codec | None = None,
    max_bytes: int | None = None,
    headers: Headers | None = None,
) -> SeabusRecord:
    """Decode a value into its model; ``expected`` restricts the record type.

    With ``headers`` (the Kafka record's), CloudEvents headers that are present must
    describe this record (:func:`seabus.schemas.cloudevents.check_headers`); a record
    without them is accepted. Raises :class:`CodecError` (``MALFORMED_HEADERS`` for
    inconsistent headers), or :class:`ValidationFailed` if the datum does not fit its
    model (which ``tests/schemas/test_drift.py`` rules out for shipped schemas).
    """
    name, datum = (codec or default_codec()).decode(
        data, expected_type=None if expected is None else expected.avro_name, max_bytes=max_bytes
    )
    model = RECORD_MODELS.get(name) if expected is None else expected
    if model is None:
        raise CodecError(
            CodecReason.SCHEMA_INVALID,
            f"record type {name} has no model in schemas.models; add one mirroring its schema",
        )
    try:
        record = model.model_validate(datum)
    except pydantic.ValidationError as exc:
        raise ValidationFailed(problems_from_pydantic(exc), subject=name) from exc
    if headers is not None:
        id_field = OWN_ID_FIELD.get(name)
        check_headers(
            headers, record_type=name, record_id=None if id_field is None else getattr(record, id_field)
        )
    return record


@cache
def default_codec() -> Codec:
    """A codec over the shipped schemas with the default size limit."""
    return Codec()


def encode(record_type: str, datum: Mapping[str, Any], *, version: int | None = None) -> bytes:
    """Encode with :func:`default_codec`; see :meth:`Codec.encode`."""
    return default_codec().encode(record_type, datum, version=version)


def decode(
    data: bytes | bytearray | memoryview,
    *,
    expected_type: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[str, dict[str, Any]]:
    """Decode with :func:`default_codec`; see :meth:`Codec.decode`."""
    return default_codec().decode(data, expected_type=expected_type, max_bytes=max_bytes)


def peek_writer(data: bytes) -> SchemaVersion:
    """The writer schema version named by a value's header (raises CodecError)."""
    return default_codec().peek_writer(data)
