"""Authenticated origin and allegation ownership through the real worker and broker.

Each principal writes its own ``<prefix>.inbound.<ID>``; the forwarder stamps the origin
and refuses claims that are not the writer's; the intake refuses another entity's
update of an allegation. (That only the principal can write its inbound topic is the
ACLs' part, tested against the secured cluster with per-principal credentials.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kafka import KafkaProducer
from support.bus import BusProcess, read_topic
from support.notify import notifications_among
from support.reading import read_records
from support.routing import event

from seabus.deploy.cli import main as cli_main
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, DeadLetterReason, EscalationLevel, ResponseKind
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import (
    AllegationEvent,
    DeadLetter,
    Escalation,
    Notification,
    ObligationUpdate,
    OwnershipTransfer,
    ReplyNotice,
    Response,
)
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import ORIGIN_HEADER

pytestmark = pytest.mark.kafka

SUBJECTS = [("SYNTH-SUBJ-ORIGIN-FRA", "FRA", None, P.STAFF_MEMBER)]


@pytest.fixture(scope="module")
def bus(default_bus: tuple[str, BusProcess]) -> tuple[str, BusProcess]:
    """The session's shared default bus (tests/conftest.py): this module's ids are its own."""
    return default_bus


@pytest.fixture
def producer(kafka: KafkaConnection) -> Iterator[KafkaProducer]:
    p = kafka.kafka_producer(acks="all")
    yield p
    p.close()


def as_entity(e: AllegationEvent, entity: str, **update: object) -> AllegationEvent:
    return e.model_copy(update={"reporting_entity": entity, **update})


def send(
    p: KafkaProducer, topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None
) -> None:
    p.send(topic, key=key.encode(), value=value, headers=headers or []).get(timeout=30)


def notifications(kafka: KafkaConnection, prefix: str, until: object) -> list[Notification]:
    values = read_topic(kafka, f"{prefix}.notify.OSC", until=until, timeout=120)  # type: ignore[arg-type]
    return notifications_among(values)


def letters_for(kafka: KafkaConnection, prefix: str, aid: str, count: int) -> list[DeadLetter]:
    def mine(values: list[bytes]) -> list[DeadLetter]:
        return [d for d in (decode_model(v, DeadLetter) for v in values) if d.original_key == aid.encode()]

    return mine(
        read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: len(mine(vs)) >= count, timeout=120)
    )


def escalations_for(kafka: KafkaConnection, prefix: str, aid: str, count: int) -> list[Escalation]:
    def mine(values: list[bytes]) -> list[Escalation]:
        return [
            e
            for e in (decode_model(v, Escalation) for v in values)
            if e.allegation_id == aid and e.level is EscalationLevel.REFUSED_ORIGIN
        ]

    return mine(
        read_topic(kafka, f"{prefix}.escalations", until=lambda vs: len(mine(vs)) >= count, timeout=120)
    )


def test_an_event_on_its_entitys_inbound_topic_is_forwarded_with_its_origin(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], producer: KafkaProducer
) -> None:
    prefix, process = bus
    aid = "SYNTH-ORIGIN-0001"
    forged_header = [(ORIGIN_HEADER, b"MONUSCO")]  # what a writer says about itself is dropped
    report = event(aid, subjects=SUBJECTS)
    send(producer, f"{prefix}.inbound.MINUSCA", aid, encode_model(report), forged_header)
    routed = notifications(
        kafka, prefix, lambda vs: any(n.allegation_id == aid for n in notifications_among(vs))
    )
    assert any(n.allegation_id == aid and n.source_event_id == report.event_id for n in routed)
    forwarded = [
        r
        for r in read_records(
            kafka, f"{prefix}.allegations", until=lambda rs: any(r.key == aid.encode() for r in rs)
        )
        if r.key == aid.encode()
    ]
    assert [[v for k, v in r.headers if k == ORIGIN_HEADER] for r in forwarded] == [[b"MINUSCA"]]
    owners = read_records(kafka, f"{prefix}.owners", until=lambda rs: any(r.key == aid.encode() for r in rs))
    assert [r.value for r in owners if r.key == aid.encode()] == [b"MINUSCA"]
    assert process.running


def test_a_claim_that_is_not_the_writers_is_refused_and_escalated(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], producer: KafkaProducer
) -> None:
    prefix, process = bus
    aid = "SYNTH-ORIGIN-0002"
    # MONUSCO, on its own topic, claims to be MINUSCA.
    send(producer, f"{prefix}.inbound.MONUSCO", aid, encode_model(event(aid, subjects=SUBJECTS)))
    # A trusted topic with a stamped origin that is not the claim (defence in depth).
    stamped = [(ORIGIN_HEADER, b"MONUSCO")]
    seq2 = event(aid, subjects=SUBJECTS, sequence=2, event_type=AllegationEventType.UPDATED)
    send(producer, f"{prefix}.allegations", aid, encode_model(seq2), stamped)
    letters = letters_for(kafka, prefix, aid, 2)
    assert {d.reason for d in letters} == {DeadLetterReason.ORIGIN_MISMATCH}
    assert any(
        "principal MONUSCO" in d.message and "claiming reporting_entity 'MINUSCA'" in d.message
        for d in letters
    ), [d.message for d in letters]
    assert any(d.source_topic == f"{prefix}.inbound.MONUSCO" for d in letters)
    assert len(escalations_for(kafka, prefix, aid, 2)) == 2
    # Nothing was forwarded from MONUSCO's topic: the only record of it is the one written directly.
    records = read_records(kafka, f"{prefix}.allegations")
    assert len([r for r in records if r.key == aid.encode()]) == 1
    assert not any(n.allegation_id == aid for n in notifications(kafka, prefix, lambda vs: True))
    assert process.running


def test_another_entitys_update_is_refused_and_cannot_pre_empt_the_owners_ids(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], producer: KafkaProducer
) -> None:
    prefix, process = bus
    aid = "SYNTH-ORIGIN-0003"
    report = event(aid, subjects=SUBJECTS)
    send(producer, f"{prefix}.inbound.MINUSCA", aid, encode_model(report))
    notifications(kafka, prefix, lambda vs: any(n.allegation_id == aid for n in notifications_among(vs)))
    # MONUSCO, as itself: withdraws MINUSCA's allegation, and pre-publishes the id of MINUSCA's next event.
    owner_next = event(
        aid,
        subjects=[*SUBJECTS, ("SYNTH-SUBJ-ORIGIN-URY", "URY", None, P.STAFF_MEMBER)],
        sequence=2,
        event_type=AllegationEventType.UPDATED,
    )
    withdraw = as_entity(
        event(aid, subjects=SUBJECTS, sequence=9, event_type=AllegationEventType.WITHDRAWN), "MONUSCO"
    )
    squat = as_entity(owner_next, "MONUSCO")
    send(producer, f"{prefix}.inbound.MONUSCO", aid, encode_model(withdraw))
    send(producer, f"{prefix}.inbound.MONUSCO", aid, encode_model(squat))
    letters = letters_for(kafka, prefix, aid, 2)
    assert [d.reason for d in letters] == [DeadLetterReason.NOT_OWNER] * 2
    assert all("belongs to MINUSCA" in d.message and "MONUSCO may not" in d.message for d in letters)
    assert len(escalations_for(kafka, prefix, aid, 2)) == 2
    # The owner's real event with that id is applied, not dropped as a duplicate.
    send(producer, f"{prefix}.inbound.MINUSCA", aid, encode_model(owner_next))

    def to_ury(values: list[bytes]) -> bool:
        return any(n.allegation_id == aid for n in notifications_among(values))

    ury = notifications_among(read_topic(kafka, f"{prefix}.notify.URY", until=to_ury, timeout=120))
    assert [n.source_event_id for n in ury if n.allegation_id == aid] == [owner_next.event_id]
    assert not any(
        u.allegation_id == aid and u.state.value == "CANCELLED"
        for u in (
            decode_model(v, ObligationUpdate)
            for v in read_topic(kafka, f"{prefix}.obligations", until=lambda vs: True)
        )
    )
    assert process.running


def test_a_reply_on_the_states_inbound_topic_counts_and_a_forged_one_does_not(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], producer: KafkaProducer
) -> None:
    prefix, process = bus
    aid = "SYNTH-ORIGIN-0004"
    subjects = [*SUBJECTS, ("SYNTH-SUBJ-ORIGIN-URY-2", "URY", None, P.STAFF_MEMBER)]
    send(producer, f"{prefix}.inbound.MINUSCA", aid, encode_model(event(aid, subjects=subjects)))
    read_topic(
        kafka,
        f"{prefix}.notify.FRA",
        until=lambda vs: any(n.allegation_id == aid for n in notifications_among(vs)),
        timeout=120,
    )

    def reply(recipient: str) -> Response:
        return Response(
            response_id=str(uuid.uuid4()),
            allegation_id=aid,
            recipient=recipient,
            kind=ResponseKind.ACKNOWLEDGED,
            responded_at=datetime.now(UTC),
            responder=f"SYNTH-OFFICE-{recipient}",
        )

    forged = reply("FRA")  # URY answers as FRA, on its own topic
    send(producer, f"{prefix}.inbound.URY", aid, encode_model(forged))
    letters = letters_for(kafka, prefix, aid, 1)
    assert [d.reason for d in letters] == [DeadLetterReason.ORIGIN_MISMATCH]
    assert "principal URY" in letters[0].message
    assert "claiming recipient 'FRA'" in letters[0].message
    real = reply("FRA")
    send(producer, f"{prefix}.inbound.FRA", aid, encode_model(real))

    def satisfied(values: list[bytes]) -> list[ObligationUpdate]:
        return [
            u
            for u in (decode_model(v, ObligationUpdate) for v in values)
            if u.allegation_id == aid and u.kind.value == "ACKNOWLEDGE" and u.state.value == "SATISFIED"
        ]

    done = satisfied(
        read_topic(kafka, f"{prefix}.obligations", until=lambda vs: bool(satisfied(vs)), timeout=120)
    )
    assert {u.recipient for u in done} == {"FRA"}  # URY's forged answer satisfied nothing
    assert process.running


def test_an_audited_transfer_hands_the_allegation_to_the_new_entity(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], producer: KafkaProducer, tmp_path: Path
) -> None:
    prefix, process = bus
    aid = "SYNTH-ORIGIN-0005"
    report = event(aid, subjects=SUBJECTS)
    send(producer, f"{prefix}.inbound.MINUSCA", aid, encode_model(report))
    notifications(kafka, prefix, lambda vs: any(n.allegation_id == aid for n in notifications_among(vs)))

    env = (
        {k: None for k in os.environ if k.startswith("SEABUS_")}
        | kafka.env()
        | {"SEABUS_TOPIC_PREFIX": prefix, "SEABUS_DATA_DIR": str(tmp_path)}
    )
    args = ["transfer", aid, "--from", "MINUSCA", "--to", "MONUSCO", "--authorised-by", "SYNTH-OSC-DESK"]
    done = CliRunner().invoke(cli_main.cli, [*args, "--reason", "Synthetic redeployment"], env=env)
    assert done.exit_code == 0, done.output
    assert f"of {aid} from MINUSCA to MONUSCO recorded" in done.output

    def moved(records: list[Any]) -> bool:
        return [r.value for r in records if r.key == aid.encode()][-1:] == [b"MONUSCO"]

    owners = read_records(kafka, f"{prefix}.owners", until=moved)
    assert [r.value for r in owners if r.key == aid.encode()] == [b"MINUSCA", b"MONUSCO"]

    # What FRA answers now reaches the new owner's feed (before MONUSCO sent anything).
    answer = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient="FRA",
        kind=ResponseKind.ACKNOWLEDGED,
        responded_at=datetime.now(UTC),
        responder="SYNTH-OFFICE-FRA",
    )
    send(producer, f"{prefix}.inbound.FRA", aid, encode_model(answer))

    def heard(values: list[bytes]) -> list[ReplyNotice]:
        return [
            m
            for m in (decode_model(v) for v in values)
            if isinstance(m, ReplyNotice) and m.response_id == answer.response_id
        ]

    feed = heard(read_topic(kafka, f"{prefix}.notify.MONUSCO", until=lambda vs: bool(heard(vs)), timeout=120))
    assert [(n.recipient, n.answered_by) for n in feed] == [("MONUSCO", "FRA")]
    # Now MONUSCO's update is applied and MINUSCA's is refused as not the owner's.
    theirs = as_entity(
        event(aid, subjects=SUBJECTS, sequence=2, event_type=AllegationEventType.UPDATED), "MONUSCO"
    )
    stale = event(aid, subjects=SUBJECTS, sequence=3, event_type=AllegationEventType.WITHDRAWN)
    send(producer, f"{prefix}.inbound.MONUSCO", aid, encode_model(theirs))
    send(producer, f"{prefix}.inbound.MINUSCA", aid, encode_model(stale))
    routed = notifications(
        kafka,
        prefix,
        lambda vs: any(n.source_event_id == theirs.event_id for n in notifications_among(vs)),
    )
    assert [n.sequence for n in routed if n.allegation_id == aid] == [1, 2]
    [letter] = letters_for(kafka, prefix, aid, 1)
    assert letter.reason is DeadLetterReason.NOT_OWNER
    assert "belongs to MONUSCO" in letter.message
    # The transfer itself stays on the allegations topic: the audit trail.
    trail = [
        decode_model(r.value)
        for r in read_records(
            kafka, f"{prefix}.allegations", until=lambda rs: any(r.key == aid.encode() for r in rs)
        )
        if r.key == aid.encode()
    ]
    [transfer] = [t for t in trail if isinstance(t, OwnershipTransfer)]
    assert (transfer.from_entity, transfer.to_entity, transfer.authorised_by) == (
        "MINUSCA",
        "MONUSCO",
        "SYNTH-OSC-DESK",
    )
    assert process.running
