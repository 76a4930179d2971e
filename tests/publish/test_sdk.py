"""The publisher SDK against the real broker: acknowledged means on the topic, anything else raises."""

from __future__ import annotations

import pytest
from publish.publish_support import decode, event, event_ids, has_ids, read_records
from support import free_port

from seabus.connectors.publisher import Publisher, PublisherClosed, PublishFailed
from seabus.schemas.cloudevents import parse_headers
from seabus.schemas.entities import load_reporting_entities
from seabus.schemas.errors import ValidationFailed
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


def publisher(settings: Settings, kafka: KafkaConnection, **kwargs: object) -> Publisher:
    return Publisher(
        kafka=kafka,
        topic=settings.topic("allegations"),
        known_entities=load_reporting_entities(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_publish_returns_the_brokers_position(provisioned: Settings, kafka: KafkaConnection) -> None:
    e = event("SYNTH-SDK-0001")
    with publisher(provisioned, kafka, source="agency-cms") as p:
        receipt = p.publish(e)
    assert (receipt.event_id, receipt.allegation_id) == (e.event_id, "SYNTH-SDK-0001")
    [record] = read_records(kafka, provisioned.topic("allegations"), until=has_ids(e.event_id))
    assert (record.partition, record.offset) == (receipt.partition, receipt.offset)
    assert record.key == b"SYNTH-SDK-0001"
    meta = parse_headers(record.headers.items())
    assert (meta.id, meta.source, meta.subject, meta.time) == (
        e.event_id,
        "agency-cms",
        e.allegation_id,
        e.published_at,
    )
    assert decode(record) == e


def test_publish_accepts_the_json_shape(provisioned: Settings, kafka: KafkaConnection) -> None:
    e = event("SYNTH-SDK-0002")
    with publisher(provisioned, kafka) as p:
        receipt = p.publish(e.model_dump(mode="json"))
    [record] = read_records(kafka, provisioned.topic("allegations"), until=has_ids(e.event_id))
    assert record.offset == receipt.offset
    assert decode(record) == e


def test_invalid_event_lists_every_problem_and_sends_nothing(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    bad = event("SYNTH-SDK-0003", entity="NOT-A-MISSION", nationality="XXY")
    bad = bad.model_copy(update={"event_id": "not-a-uuid", "sequence": -1})
    sentinel = event("SYNTH-SDK-0003", sequence=2)
    with publisher(provisioned, kafka) as p:
        with pytest.raises(ValidationFailed) as caught:
            p.publish(bad)
        p.publish(sentinel)
    assert {problem.path for problem in caught.value.problems} == {
        "event_id",
        "sequence",
        "reporting_entity",
        "allegation.subjects[0].nationality",
    }
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(sentinel.event_id))
    assert event_ids(records) == [sentinel.event_id]


def test_publish_many_reports_each_event_and_keeps_order(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    first = event("SYNTH-SDK-0004")
    invalid = {"event_id": "x", "allegation_id": "SYNTH-SDK-0005"}
    later = [event("SYNTH-SDK-0004", sequence=n) for n in range(2, 6)]
    with publisher(provisioned, kafka) as p:
        result = p.publish_many([first, invalid, *later])
    assert not result.ok
    [failure] = result.failures
    assert (failure.index, failure.event_id, failure.allegation_id) == (1, "x", "SYNTH-SDK-0005")
    assert isinstance(failure.error, ValidationFailed)
    assert [r.event_id for r in result.receipts] == [e.event_id for e in (first, *later)]
    offsets = [r.offset for r in result.receipts]
    assert offsets == sorted(offsets)
    assert len({r.partition for r in result.receipts}) == 1
    ids = [e.event_id for e in (first, *later)]
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(*ids))
    assert event_ids(records) == ids  # one partition, in the order given


def test_unreachable_broker_raises_publish_failed(provisioned: Settings) -> None:
    closed = KafkaConnection(bootstrap=f"127.0.0.1:{free_port()}")
    e = event("SYNTH-SDK-0006")
    with publisher(provisioned, closed, delivery_timeout_s=1.5) as p:
        with pytest.raises(PublishFailed) as caught:
            p.publish(e)
        result = p.publish_many([e, event("SYNTH-SDK-0007")])
    message = str(caught.value)
    assert e.event_id in message
    assert "NOT" in message
    assert "same event_id" in message
    assert [type(f.error) for f in result.failures] == [PublishFailed, PublishFailed]
    assert result.receipts == ()


def test_missing_topic_raises_publish_failed_naming_the_fix(
    settings: Settings, kafka: KafkaConnection
) -> None:
    with (
        publisher(settings, kafka, delivery_timeout_s=1.5) as p,
        pytest.raises(PublishFailed) as caught,
    ):
        p.publish(event("SYNTH-SDK-0008"))
    assert "seabus topics apply" in str(caught.value)


def test_closed_publisher_refuses(provisioned: Settings, kafka: KafkaConnection) -> None:
    p = publisher(provisioned, kafka)
    p.close()
    with pytest.raises(PublisherClosed):
        p.publish(event("SYNTH-SDK-0009"))


def test_a_publisher_recovers_after_a_failure(provisioned: Settings, kafka: KafkaConnection) -> None:
    """After PublishFailed the next publish connects afresh (here: the topic appears meanwhile)."""
    from seabus.deploy import topics

    e = event("SYNTH-SDK-0010")
    other = provisioned.model_copy(update={"topic_prefix": provisioned.topic_prefix + "x"})
    with Publisher(kafka=kafka, topic=other.topic("allegations"), delivery_timeout_s=1.5) as p:
        with pytest.raises(PublishFailed):
            p.publish(e)
        topics.apply(other, [], kafka=kafka)
        receipt = p.publish(e)
    [record] = read_records(kafka, other.topic("allegations"), until=has_ids(e.event_id))
    assert record.offset == receipt.offset


def test_an_agency_publisher_writes_its_inbound_topic_and_only_its_own_events(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    own, foreign = event("SYNTH-SDK-INB-1"), event("SYNTH-SDK-INB-2", entity="MONUSCO")
    with Publisher(kafka=kafka, entity="MINUSCA", prefix=provisioned.topic_prefix) as p:
        assert p.topic == provisioned.inbound_topic("MINUSCA")
        with pytest.raises(ValidationFailed) as caught:
            p.publish(foreign)
        receipt = p.publish(own)
    [problem] = caught.value.problems
    assert problem.path == "reporting_entity"
    assert "MONUSCO is not this publisher's entity MINUSCA" in problem.message
    records = read_records(kafka, provisioned.inbound_topic("MINUSCA"), until=has_ids(own.event_id))
    assert event_ids(records) == [own.event_id]
    assert records[0].offset == receipt.offset


def test_a_publisher_needs_an_entity_or_a_topic(provisioned: Settings, kafka: KafkaConnection) -> None:
    with pytest.raises(ValueError, match="entity"):
        Publisher(kafka=kafka)
