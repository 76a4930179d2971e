"""The names other packages import from schemas stay put."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "seabus.schemas.codec": [
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
    ],
    "seabus.schemas.cloudevents": [
        "CONTENT_TYPE",
        "SPECVERSION",
        "CloudEventMeta",
        "build_headers",
        "ce_type_for",
        "format_time",
        "parse_headers",
    ],
    "seabus.schemas.compat": ["CompatReport", "Finding", "Rule", "check_all", "check_pair", "release_all"],
    "seabus.schemas.registry": [
        "SCHEMA_DIR",
        "RecordType",
        "SchemaRegistry",
        "SchemaVersion",
        "default_registry",
    ],
    "seabus.schemas.validation": [
        "allegation_event_problems",
        "is_alpha3",
        "parse_allegation_event",
        "parse_model",
        "parse_response",
        "problems_from_pydantic",
        "recipient_class_of",
        "response_problems",
        "validate_allegation_event",
        "validate_notification",
        "validate_response",
    ],
    "seabus.schemas.models": [
        "Allegation",
        "AllegationEvent",
        "Confidential",
        "DeadLetter",
        "DeliveryAttempt",
        "Escalation",
        "Notification",
        "Response",
        "Subject",
        "VictimCount",
    ],
    "seabus.schemas.errors": ["CodecError", "CodecReason", "Problem", "SeabusError", "ValidationFailed"],
    "seabus.schemas.limits": [
        "ALLEGATION_ID",
        "DEAD_LETTER_MAX_BYTES",
        "ENTITY_CODE",
        "ESCALATION_MAX_BYTES",
        "REFERENCE",
        "RESPONDER",
        "bounded_key",
        "clip_text",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names_are_exported(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    assert set(PUBLIC[module_name]) <= exported
    for name in exported:
        assert hasattr(module, name), f"{module_name}.__all__ lists missing {name}"
