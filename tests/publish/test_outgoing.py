"""What every publishing path writes, checked without a broker; and the public names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from publish.publish_support import event

import seabus.connectors.gateway
import seabus.connectors.publisher
from seabus.connectors.publisher import check_event, prepare_event
from seabus.schemas.cloudevents import parse_headers
from seabus.schemas.codec import Codec, decode_model
from seabus.schemas.errors import ValidationFailed
from seabus.schemas.models import AllegationEvent, Confidential


def test_prepared_record_is_what_the_bus_expects() -> None:
    e = event("SYNTH-OUT-1")
    out = prepare_event(e, source="agency-cms")
    assert out.key == b"SYNTH-OUT-1"
    assert decode_model(out.value, AllegationEvent) == e
    meta = parse_headers(out.headers)
    assert (meta.id, meta.source, meta.type, meta.subject, meta.content_type) == (
        e.event_id,
        "agency-cms",
        "org.seabus.AllegationEvent",
        "SYNTH-OUT-1",
        "application/avro",
    )


def test_an_event_too_large_to_send_is_a_validation_problem() -> None:
    e = event("SYNTH-OUT-2")
    huge = e.model_copy(
        update={
            "allegation": e.allegation.model_copy(
                update={"confidential": Confidential(narrative="x" * 20_000)}
            )
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        prepare_event(huge, source="s", codec=Codec(max_bytes=10_000))
    [problem] = caught.value.problems
    assert "more than the limit of 10000" in problem.message
    assert "x" * 50 not in str(caught.value)  # the confidential text is never quoted


def test_check_event_reports_types_then_meaning() -> None:
    with pytest.raises(ValidationFailed) as typed:
        check_event({"event_id": 3}, known_entities=None, now=datetime.now(UTC))
    assert "allegation" in {p.path for p in typed.value.problems}
    e = event("SYNTH-OUT-3", entity="NOPE")
    with pytest.raises(ValidationFailed) as meaning:
        check_event(e, known_entities=frozenset({"MINUSCA"}), now=datetime.now(UTC))
    assert [p.path for p in meaning.value.problems] == ["reporting_entity"]


PUBLISHER_API = [
    "IMPORT_NAMESPACE",
    "BatchResult",
    "EventFailure",
    "FileFormat",
    "GatewayConfigError",
    "ImportFileError",
    "ImportRow",
    "KafkaConnection",
    "KafkaSecurity",
    "OutgoingEvent",
    "PublishFailed",
    "PublishReceipt",
    "Publisher",
    "PublisherClosed",
    "check_event",
    "detect_format",
    "event_problems",
    "inbound_topic",
    "new_event_id",
    "parse_text",
    "prepare_event",
    "read_file",
    "stable_event_id",
    "verify_webhook",
]
GATEWAY_API = [
    "DEFAULT_ROUTES",
    "GATEWAY",
    "AgencyAuth",
    "AgencyToken",
    "GatewayConfig",
    "GatewayHandle",
    "GatewayProducer",
    "GatewayState",
    "HttpProblem",
    "IdempotencyStore",
    "KafkaGatewayProducer",
    "OpenApiDocument",
    "ProblemType",
    "RouteModule",
    "bearer_token",
    "build_gateway_app",
    "gateway_config_path",
    "idempotency_key",
    "load_gateway_config",
    "new_token",
    "problem_response",
    "problem_responses",
    "read_json_body",
    "serve_gateway",
    "start_gateway",
    "token_sha256",
]


@pytest.mark.parametrize(
    ("module", "names"),
    [(seabus.connectors.publisher, PUBLISHER_API), (seabus.connectors.gateway, GATEWAY_API)],
)
def test_public_names_are_pinned(module: object, names: list[str]) -> None:
    """Changing the public surface is a decision: update this list with it."""
    assert module.__all__ == names  # type: ignore[attr-defined]
    assert all(hasattr(module, name) for name in names)
