"""What a reply becomes for OSC and for the reporting entity (pure), checked with the .avsc alone."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import avro.io
import avro.schema
import pytest

from seabus.connectors.delivery.pushed import Pushed
from seabus.schemas.codec import decode_model, default_codec
from seabus.schemas.enums import DisciplinaryAction, OutcomeResult, ResponseKind
from seabus.schemas.errors import ValidationFailed
from seabus.schemas.models import InvestigatorDetails, ReplyNotice, Response
from seabus.schemas.registry import SCHEMA_DIR
from seabus.schemas.testing import synthetic_response
from seabus.schemas.validation import validate_response
from seabus.streams.replies import reply_notices

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
NIO = InvestigatorDetails(
    office="SYNTH-KEN-MIL-JUSTICE",
    role="national investigation officer",
    contact="desk@justice.ken.example.org",
    reference="SYNTH-KEN-CASE-7",
    appointed_at=NOW - timedelta(days=1),
)


def _accepted(**overrides: object) -> Response:
    return synthetic_response(
        1,
        recipient="KEN",
        kind=ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        national_investigation_officer_appointed=True,
        investigator=NIO,
        note="Synthetic remark for OSC",
        responded_at=NOW - timedelta(minutes=1),
        **overrides,
    )


def _decoded(values: list[bytes]) -> list[ReplyNotice]:
    return [decode_model(v, ReplyNotice) for v in values]


def test_osc_gets_the_whole_reply_and_the_reporting_entity_a_minimised_one() -> None:
    response = _accepted()
    out = reply_notices(response, reporting_entity="MINUSCA", now=NOW, codec=default_codec())
    assert [(o.route, o.recipient, o.key) for o in out] == [
        ("notify", "OSC", b"SYNTH-ALLEG-0001"),
        ("notify", "MINUSCA", b"SYNTH-ALLEG-0001"),
    ]
    osc, entity = _decoded([o.value for o in out])
    assert (osc.answered_by, osc.kind, osc.investigator, osc.note) == (
        "KEN",
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        NIO,
        "Synthetic remark for OSC",
    )
    assert osc.national_investigation_officer_appointed is True
    assert (entity.answered_by, entity.kind, entity.investigator, entity.note) == (
        "KEN",
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        None,
        None,
    )
    assert entity.national_investigation_officer_appointed is True
    assert osc.notice_id != entity.notice_id
    assert dict(out[0].headers)["ce_id"] == osc.notice_id.encode()


def test_the_outcome_and_actions_reach_both_and_the_ids_repeat_on_redelivery() -> None:
    response = synthetic_response(
        2,
        recipient="KEN",
        kind=ResponseKind.OUTCOME_REPORTED,
        outcome=OutcomeResult.SUBSTANTIATED,
        actions_taken=(DisciplinaryAction.REPATRIATION, DisciplinaryAction.IMPRISONMENT),
    )
    first = _decoded(
        [o.value for o in reply_notices(response, reporting_entity="UNMISS", now=NOW, codec=default_codec())]
    )
    again = _decoded(
        [
            o.value
            for o in reply_notices(
                response, reporting_entity="UNMISS", now=NOW + timedelta(hours=1), codec=default_codec()
            )
        ]
    )
    assert [n.notice_id for n in first] == [n.notice_id for n in again]
    for notice in first:
        assert notice.outcome is OutcomeResult.SUBSTANTIATED
        assert notice.actions_taken == (DisciplinaryAction.REPATRIATION, DisciplinaryAction.IMPRISONMENT)


def test_nobody_hears_of_their_own_reply() -> None:
    osc_reply = synthetic_response(3, recipient="OSC")
    assert [
        o.recipient
        for o in reply_notices(osc_reply, reporting_entity="MINUSCA", now=NOW, codec=default_codec())
    ] == ["MINUSCA"]
    unknown_entity = synthetic_response(4, recipient="KEN")
    assert [
        o.recipient
        for o in reply_notices(unknown_entity, reporting_entity=None, now=NOW, codec=default_codec())
    ] == ["OSC"]


def test_a_reply_notice_decodes_with_the_avsc_files_alone() -> None:
    [osc, _] = reply_notices(_accepted(), reporting_entity="MINUSCA", now=NOW, codec=default_codec())
    schema = avro.schema.parse((SCHEMA_DIR / "reply_notice" / "v1.avsc").read_text())
    assert schema.fullname == "seabus.ReplyNotice"
    assert osc.value[:2] == b"\xc3\x01"
    datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(osc.value[10:])))
    assert datum["answered_by"] == "KEN"
    assert datum["investigator"]["office"] == "SYNTH-KEN-MIL-JUSTICE"


def test_push_delivery_sends_reply_notices_to_webhooks_only() -> None:
    [osc, _] = reply_notices(_accepted(), reporting_entity="MINUSCA", now=NOW, codec=default_codec())
    pushed = Pushed(decode_model(osc.value, ReplyNotice))
    assert not pushed.emailed
    assert pushed.headers()["ce-type"] == "org.seabus.ReplyNotice"
    assert pushed.delivery_id == decode_model(osc.value, ReplyNotice).notice_id


def test_investigator_details_belong_to_an_investigation_decision() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_response(
            synthetic_response(
                5,
                kind=ResponseKind.ACKNOWLEDGED,
                investigator=NIO,
                actions_taken=(
                    DisciplinaryAction.FINE,
                    DisciplinaryAction.FINE,
                ),
            ),
            now=NOW,
        )
    assert {p.path for p in caught.value.problems} == {"investigator", "actions_taken"}
    future = NIO.model_copy(update={"appointed_at": NOW + timedelta(days=2), "office": " "})
    with pytest.raises(ValidationFailed) as caught:
        validate_response(
            synthetic_response(6, kind=ResponseKind.INVESTIGATION_JOINT_OIOS, investigator=future), now=NOW
        )
    assert {p.path for p in caught.value.problems} == {"investigator.office", "investigator.appointed_at"}
    validate_response(_accepted(), now=NOW)
