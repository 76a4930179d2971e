"""Silence reaches people, through the real `seabus run`: windows of seconds, real webhook
receivers, a real SMTP server, the suite's Kafka broker.

KEN is notified of an allegation against a member of its contingent and never answers:
its REMINDER and OVERDUE arrive on ``sea.notify.KEN`` and at KEN's webhook and e-mail, the
SECOND_LEVEL (and its one repeat) on ``sea.notify.OSC`` and at OSC's webhook, and every step
pages on-call (a PagerDuty Events v2 webhook and e-mail) — each exactly once per
``escalation_id``, and with nothing of the allegation's content in any page.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest
import yaml
from delivery.delivery_support import ReceiverThread, attempts, webhook, write_delivery
from support import unique_prefix, wait_for
from support.bus import BusPool, BusProcess, producer, read_all, read_topic
from support.deadline_policies import write_fast_policies
from support.notify import escalations_among, notifications_among
from support.routing import event

from seabus.connectors.delivery import ONCALL
from seabus.connectors.email.testing import CapturingSmtpServer
from seabus.connectors.webhooks import generate_secret
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome, EscalationLevel
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import Escalation, Notification
from seabus.schemas.registry import SCHEMA_DIR
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

AID = "SYNTH-ESC-E2E-0001"
SECRETS = {name: generate_secret() for name in ("KEN", "OSC", ONCALL)}
ROUTING_KEY = "synthetic-routing-key-e2e"
KEN_TO, ONCALL_TO = "focal.point@ken.example.org", "oncall@ops.example.org"
NARRATIVE = "Synthetic narrative"  # what synthetic allegations carry as confidential text
REM, OVD, SEC = EscalationLevel.REMINDER, EscalationLevel.OVERDUE, EscalationLevel.SECOND_LEVEL


@dataclass
class Bus:
    prefix: str
    process: BusProcess
    receivers: ReceiverThread
    smtp: CapturingSmtpServer


def _recipients(tmp: Path, receivers: ReceiverThread) -> Path:
    entries: list[dict[str, Any]] = [
        {
            "id": "OSC",
            "name": "OSC (test)",
            "channels": {"webhook": webhook(receivers["OSC"].url, "SECRET_OSC")},
        },
        {"id": "OIOS", "name": "OIOS (test)"},
        {"id": "VRA", "name": "VRA (test)"},
        {
            "id": "KEN",
            "name": "Kenya (test)",
            "timezone": "Africa/Nairobi",
            "channels": {"webhook": webhook(receivers["KEN"].url, "SECRET_KEN"), "email": {"to": [KEN_TO]}},
        },
    ]
    path = tmp / "recipients.yaml"
    path.write_text(yaml.safe_dump({"recipients": entries}, sort_keys=False))
    return path


def _start(
    pool: BusPool,
    kafka: KafkaConnection,
    tmp: Path,
    receivers: ReceiverThread,
    smtp: CapturingSmtpServer,
    **timing: int,
) -> tuple[str, BusProcess, dict[str, object]]:
    """`seabus run` with fast policies, KEN's and OSC's webhooks, KEN's e-mail and on-call paged."""
    oncall = {
        "name": "on-call (test)",
        "source": "seabus-e2e",
        "webhook": {
            **webhook(receivers[ONCALL].url, "SECRET_ONCALL"),
            "routing_key_env": "SYNTH_ONCALL_ROUTING_KEY",
        },
        "email": {"to": [ONCALL_TO]},
    }
    env: dict[str, object] = {
        "SEABUS_POLICIES_FILE": write_fast_policies(
            tmp, **(timing or {"due": 6, "reminder": 3, "second": 3, "repeat": 3})
        ),
        "SEABUS_TICK_INTERVAL_S": 0.2,
        "SEABUS_RECIPIENTS_FILE": _recipients(tmp, receivers),
        "SEABUS_DELIVERY_FILE": write_delivery(tmp, oncall=oncall),
        "SEABUS_DELIVERY__SMTP__HOST": smtp.host,
        "SEABUS_DELIVERY__SMTP__PORT": smtp.port,
        "SEABUS_DELIVERY__SMTP__FROM_ADDRESS": "seabus@bus.example.org",
        "SYNTH_ONCALL_ROUTING_KEY": ROUTING_KEY,
        "SECRET_KEN": SECRETS["KEN"],
        "SECRET_OSC": SECRETS["OSC"],
        "SECRET_ONCALL": SECRETS[ONCALL],
    }
    prefix = unique_prefix()
    return prefix, pool.start(kafka, prefix, tmp / "data", **env), env


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    tmp = tmp_path_factory.mktemp("escalations")
    specs = {name: {"secrets": [secret]} for name, secret in SECRETS.items()}
    with ReceiverThread(specs) as receivers, CapturingSmtpServer() as smtp, BusPool() as pool:
        prefix, process, _ = _start(pool, kafka, tmp, receivers, smtp)
        try:
            yield Bus(prefix=prefix, process=process, receivers=receivers, smtp=smtp)
        finally:
            process.stop_cleanly()


def publish(kafka: KafkaConnection, prefix: str, aid: str) -> None:
    p = producer(kafka)
    value = encode_model(
        event(aid, subjects=[("SYNTH-SUBJ-ESC-1", "KEN", "KEN", P.MILITARY_CONTINGENT)], adults=0)
    )
    p.send(f"{prefix}.allegations", key=aid.encode(), value=value).get(timeout=30)
    p.close()


def _apache_decode(values: list[bytes]) -> list[tuple[str, dict[str, Any]]]:
    """Each value decoded with Apache ``avro`` and the ``.avsc`` files alone: (full name, datum)."""
    known = {}
    # Every released version: the bus writes the newest, whichever number that is.
    for path in sorted([*SCHEMA_DIR.glob("notification/v*.avsc"), *SCHEMA_DIR.glob("escalation/v*.avsc")]):
        schema = avro.schema.parse(path.read_text())
        form = re.sub(r'\{"type":"(int|long)"\}', r'"\1"', schema.canonical_form)
        known[avro.schema._crc_64_fingerprint(form.encode())] = schema
    out = []
    for value in values:
        assert value[:2] == b"\xc3\x01", "not single-object encoded"
        schema = known[value[2:10]]
        datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(value[10:])))
        out.append((schema.fullname, datum))
    return out


def _steps(values: list[bytes], aid: str = AID) -> list[tuple[EscalationLevel, int]]:
    """The allegation's steps in topic order, each once (a step fired again after a crash repeats)."""
    steps = [(e.level, e.repeat) for e in escalations_among(values) if e.allegation_id == aid]
    return list(dict.fromkeys(steps))


def _hooked(receivers: ReceiverThread, name: str, aid: str = AID) -> list[Escalation]:
    """Escalations of ``aid`` a receiver accepted (2xx), in arrival order."""
    got = [
        Escalation.model_validate_json(r.body)
        for r in receivers[name].requests
        if r.event_type == "org.seabus.Escalation" and 200 <= r.status < 300
    ]
    return [e for e in got if e.allegation_id == aid]


def _paged(receivers: ReceiverThread, aid: str) -> set[str]:
    """The dedup keys (escalation ids) of the pages about ``aid`` on-call accepted."""
    events = [json.loads(r.body) for r in receivers[ONCALL].requests if 200 <= r.status < 300]
    return {e["dedup_key"] for e in events if e["payload"]["custom_details"]["allegation_id"] == aid}


def _webhook_escalations(bus: Bus, name: str) -> list[Escalation]:
    return _hooked(bus.receivers, name)


def test_unanswered_acknowledgement_reaches_state_osc_and_on_call_once_each(
    kafka: KafkaConnection, bus: Bus
) -> None:
    p = producer(kafka)
    value = encode_model(
        event(AID, subjects=[("SYNTH-SUBJ-ESC-1", "KEN", "KEN", P.MILITARY_CONTINGENT)], adults=0)
    )
    p.send(f"{bus.prefix}.allegations", key=AID.encode(), value=value).get(timeout=30)
    p.close()

    # On the topics: the owing state's reminder and overdue, OSC's second level and its repeat.
    ken_values = read_topic(
        kafka, f"{bus.prefix}.notify.KEN", until=lambda vs: len(_steps(vs)) >= 2, timeout=90
    )
    osc_values = read_topic(
        kafka, f"{bus.prefix}.notify.OSC", until=lambda vs: len(_steps(vs)) >= 2, timeout=90
    )
    assert _steps(ken_values) == [(REM, 0), (OVD, 0)]
    assert _steps(osc_values) == [(SEC, 0), (SEC, 1)]
    assert [n.allegation_id for n in notifications_among(ken_values)] == [AID]
    # Both kinds decode with the .avsc files alone; the record names tell them apart.
    names = {name for name, _ in _apache_decode(ken_values + osc_values)}
    assert names == {"seabus.Notification", "seabus.Escalation"}
    on_topics = [e for e in escalations_among(ken_values + osc_values) if e.allegation_id == AID]
    assert len({e.escalation_id for e in on_topics}) == 4  # one id per step, however often written
    ids = {(e.level, e.repeat): e.escalation_id for e in on_topics}
    rem, ovd, sec0, sec1 = ids[(REM, 0)], ids[(OVD, 0)], ids[(SEC, 0)], ids[(SEC, 1)]

    # At the webhooks: each step once, signed, typed by ce-type; the notification before them.
    wait_for(lambda: len(_webhook_escalations(bus, "OSC")) >= 2, timeout=60, what="OSC's webhook escalations")
    wait_for(lambda: len(_webhook_escalations(bus, "KEN")) >= 2, timeout=60, what="KEN's webhook escalations")
    wait_for(lambda: len(bus.receivers[ONCALL].delivered_ids()) >= 4, timeout=60, what="four pages")
    ken = bus.receivers["KEN"]
    assert all(r.verified for r in ken.requests)
    assert ken.requests[0].event_type == "org.seabus.Notification"
    assert Notification.model_validate_json(ken.requests[0].body).allegation_id == AID
    assert [e.escalation_id for e in _webhook_escalations(bus, "KEN")] == [rem, ovd]
    assert [e.escalation_id for e in _webhook_escalations(bus, "OSC")] == [sec0, sec1]
    assert ken.delivered_ids().count(rem) == 1
    assert ken.delivered_ids().count(ovd) == 1

    # On-call: a PagerDuty Events v2 trigger per step, deduplicated by escalation_id.
    pages = [json.loads(r.body) for r in bus.receivers[ONCALL].requests if r.verified and r.status == 200]
    assert sorted(page["dedup_key"] for page in pages) == sorted([rem, ovd, sec0, sec1])
    assert {(page["routing_key"], page["event_action"]) for page in pages} == {(ROUTING_KEY, "trigger")}
    assert {page["payload"]["severity"] for page in pages} == {"info", "warning", "critical"}
    assert all(page["payload"]["custom_details"]["allegation_id"] == AID for page in pages)
    assert not any(NARRATIVE in r.body.decode() for r in bus.receivers[ONCALL].requests)

    # E-mail: KEN's focal point gets the notice and its two steps; on-call four pages.
    def mails() -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(m.content, policy=email.policy.default)  # type: ignore[misc]
            for m in bus.smtp.messages
        ]

    wait_for(
        lambda: len([m for m in mails() if m["To"] == ONCALL_TO]) >= 4, timeout=60, what="on-call e-mails"
    )
    wait_for(lambda: len([m for m in mails() if m["To"] == KEN_TO]) >= 3, timeout=60, what="KEN's e-mails")
    by_id = [str(m["Message-ID"]).strip("<>").split(".")[0] for m in mails()]
    assert sorted(i for i in by_id if i in {rem, ovd, sec0, sec1}) == sorted([rem, rem, ovd, ovd, sec0, sec1])
    assert not any(NARRATIVE in m.get_content() for m in mails())  # type: ignore[attr-defined]

    # The audit trail: every step DELIVERED once per receiver and channel.
    want = {
        ("KEN", DeliveryChannel.WEBHOOK, rem), ("KEN", DeliveryChannel.WEBHOOK, ovd),
        ("KEN", DeliveryChannel.EMAIL, rem), ("KEN", DeliveryChannel.EMAIL, ovd),
        ("OSC", DeliveryChannel.WEBHOOK, sec0), ("OSC", DeliveryChannel.WEBHOOK, sec1),
        *((ONCALL, ch, i) for ch in DeliveryChannel if ch.value in ("WEBHOOK", "EMAIL")
          for i in (rem, ovd, sec0, sec1)),
    }  # fmt: skip

    def delivered(items: list[Any]) -> list[tuple[str, DeliveryChannel, str]]:
        return [
            (a.recipient, a.channel, a.notification_id)
            for a in items
            if a.outcome is DeliveryOutcome.DELIVERED
        ]

    audit = attempts(kafka, bus.prefix, until=lambda items: want <= set(delivered(items)))
    mine = [d for d in delivered(audit) if d[2] in {rem, ovd, sec0, sec1}]
    assert sorted(mine) == sorted(want)  # exactly once each


def test_a_worker_killed_mid_ladder_delivers_each_step_once_per_id_after_restart(
    kafka: KafkaConnection, tmp_path: Path
) -> None:
    """SIGKILL once KEN has its reminder; the restarted worker goes on with the same ids."""
    aid = "SYNTH-ESC-E2E-0002"
    specs = {name: {"secrets": [secret]} for name, secret in SECRETS.items()}
    with ReceiverThread(specs) as receivers, CapturingSmtpServer() as smtp, BusPool() as pool:
        timing = {"due": 12, "reminder": 6, "second": 3, "repeat": 3}
        prefix, first, env = _start(pool, kafka, tmp_path, receivers, smtp, **timing)
        publish(kafka, prefix, aid)
        wait_for(lambda: _hooked(receivers, "KEN", aid), timeout=90, what="KEN's reminder at its webhook")
        first.kill()  # no clean shutdown: whatever was in flight is redone after the restart
        restarted = pool.start(kafka, prefix, tmp_path / "data", **env)
        try:
            values = read_topic(
                kafka,
                f"{prefix}.notify.OSC",
                until=lambda vs: len(_steps(vs, aid)) >= 2,
                timeout=120,
            )
            wait_for(lambda: len({e.escalation_id for e in _hooked(receivers, "OSC", aid)}) >= 2, timeout=60)
            wait_for(lambda: len(_paged(receivers, aid)) >= 4, timeout=60, what="four pages")
        finally:
            restarted.stop_cleanly()
        ken_values = read_all(kafka, f"{prefix}.notify.KEN")
    on_topics = [e for e in escalations_among(ken_values + values) if e.allegation_id == aid]
    steps: dict[tuple[EscalationLevel, int], set[str]] = {(e.level, e.repeat): set() for e in on_topics}
    for e in on_topics:
        steps[(e.level, e.repeat)].add(e.escalation_id)
    assert sorted(steps) == sorted([(REM, 0), (OVD, 0), (SEC, 0), (SEC, 1)])
    assert all(len(ids) == 1 for ids in steps.values()), steps  # a restart makes no second id
    ids = {step: next(iter(found)) for step, found in steps.items()}
    assert {e.escalation_id for e in _hooked(receivers, "KEN", aid)} == {ids[(REM, 0)], ids[(OVD, 0)]}
    assert {e.escalation_id for e in _hooked(receivers, "OSC", aid)} == {ids[(SEC, 0)], ids[(SEC, 1)]}
    assert _paged(receivers, aid) == set(ids.values())
