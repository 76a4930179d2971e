"""``seabus demo``: clearly synthetic allegations for a running bus, some answered, some not.

Run the bus with the demo deadline policies (windows of seconds) in one shell,
``SEABUS_POLICIES_FILE=deploy/config/policies.demo.yaml make run``, and this in
another: unanswered acknowledgements fall overdue 20 s after publishing, so the
dashboard fills within a minute. Every allegation is ``SYNTH-DEMO-…`` with
``SYNTH-SUBJ-…`` subjects and a narrative saying it is synthetic; each run uses
new ids, so runs add up instead of being dropped as duplicates.

It also issues a dashboard token valid for a day (its hash goes to the local
token file in the data directory, which the running bus reads) and prints it
with the dashboard's address.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from kafka import KafkaProducer

from seabus.connectors.dashboard import issue_local_token
from seabus.connectors.publisher.sdk import Publisher
from seabus.deploy.cli.common import (
    ActionableError,
    connection_or_local,
    seconds_option,
    send_record,
    settings,
)
from seabus.deploy.cli.publish_cmd import known_entities
from seabus.schemas.enums import ResponseKind
from seabus.schemas.errors import SeabusError
from seabus.schemas.ids import synthetic_event_id
from seabus.schemas.models import AllegationEvent, Response
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import random_event

__all__ = ["DemoCase", "demo", "make_case"]

SOURCE = "seabus-demo"
DEMO_POLICIES = Path("policies.demo.yaml")


@dataclass(frozen=True, kw_only=True)
class DemoCase:
    """One synthetic allegation, the Member States it concerns, and whether the demo answers it."""

    event: AllegationEvent
    states: tuple[str, ...]
    answer: bool


def make_case(rng: random.Random, *, index: int, run_id: str, now: datetime, answer_ratio: float) -> DemoCase:
    """The ``index``-th case of a run (the first is never answered, the second always, if asked to)."""
    event = random_event(rng, index=index, now=now)
    allegation_id = f"SYNTH-DEMO-{run_id}-{index:03d}"
    event = event.model_copy(
        update={"allegation_id": allegation_id, "event_id": synthetic_event_id(allegation_id, 1)}
    )
    states = sorted(
        {s.nationality for s in event.allegation.subjects if s.nationality}
        | {s.contributing_state for s in event.allegation.subjects if s.contributing_state}
    )
    if index == 1:
        answer = False
    elif index == 2:
        answer = answer_ratio > 0
    else:
        answer = rng.random() < answer_ratio
    return DemoCase(event=event, states=tuple(states), answer=answer)


def _responses(case: DemoCase, now: datetime) -> list[Response]:
    """An acknowledgement, then a decision to investigate, from each state concerned."""
    out = []
    for state in case.states:
        for kind in (ResponseKind.ACKNOWLEDGED, ResponseKind.INVESTIGATION_ACCEPTED_NIO):
            out.append(
                Response(
                    response_id=str(uuid.uuid4()),
                    allegation_id=case.event.allegation_id,
                    recipient=state,
                    kind=kind,
                    responded_at=now,
                    responder=f"SYNTH-OFFICE-{state}",
                    national_investigation_officer_appointed=True
                    if kind is ResponseKind.INVESTIGATION_ACCEPTED_NIO
                    else None,
                    note="synthetic demo reply",
                )
            )
    return out


def _require_topics(s: Settings, kafka: KafkaConnection) -> None:
    consumer = kafka.kafka_consumer(request_timeout_ms=15000, enable_auto_commit=False)
    try:
        existing = consumer.topics()
    finally:
        consumer.close()
    missing = [t for t in (s.topic("allegations"), s.topic("responses")) if t not in existing]
    if missing:
        raise ActionableError(
            f"{', '.join(missing)} do not exist on {kafka.bootstrap}: start the bus first, e.g. "
            "`SEABUS_POLICIES_FILE=deploy/config/policies.demo.yaml make run`, then run the demo again."
        )


def _dashboard_url(s: Settings) -> str | None:
    try:
        gateway = s.gateway_config()
        dashboard = s.dashboard
    except SeabusError:
        return None
    if not (gateway.enabled and dashboard.enabled):
        return None
    host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host
    return f"http://{host}:{gateway.port}/dashboard"


@click.command("demo")
@click.option(
    "--count", default=12, show_default=True, type=click.IntRange(1, 1000), help="Allegations to publish."
)
@seconds_option("--interval", default=2.0, help="Seconds between allegations.")
@click.option(
    "--answer-ratio",
    default=0.4,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of allegations the states answer (acknowledge and decide) in time.",
)
@seconds_option(
    "--answer-after",
    default=5.0,
    help="Seconds after publishing that answered allegations get their replies (demo policies: due after 20 s).",
)
@click.option("--seed", type=int, default=None, help="Random seed, to repeat the same mix of cases.")
@click.option(
    "--token/--no-token", "issue_token", default=True, show_default=True, help="Issue a dashboard token."
)
def demo(
    count: int, interval: float, answer_ratio: float, answer_after: float, seed: int | None, issue_token: bool
) -> None:
    """Publish clearly synthetic allegations to a running bus; answer some in time, leave the rest."""
    s = settings()
    kafka = connection_or_local(s)
    _require_topics(s, kafka)
    rng = random.Random(seed)
    run_id = datetime.now(UTC).strftime("%H%M%S") + f"{rng.randrange(16**2):02X}"
    policies = s.resolve(DEMO_POLICIES)
    click.echo(
        f"seabus demo: {count} synthetic allegations SYNTH-DEMO-{run_id}-NNN, one every {interval:g} s; "
        f"about {answer_ratio:.0%} answered {answer_after:g} s after publishing."
    )
    click.echo(
        "The bus must run with the demo deadline policies (otherwise nothing falls due for days):\n"
        f"    make demo-run   (or: SEABUS_POLICIES_FILE={policies} seabus run)\n"
        "and `make demo-receivers` shows the escalations and pages it pushes."
    )
    url = _dashboard_url(s)
    if url is None:
        click.echo(
            "The gateway or the dashboard is disabled in its configuration: use `seabus overdue` instead."
        )
    else:
        click.echo(f"Dashboard: {url}")
    if issue_token and url is not None:
        token, path = issue_local_token(s, name="demo", ttl=timedelta(hours=24))
        click.echo(f"Sign in with this dashboard token (valid 24 h; revoke by deleting {path}):\n    {token}")

    publisher = Publisher(
        kafka=kafka, topic=s.topic("allegations"), known_entities=known_entities(s), source=SOURCE
    )
    replies = kafka.kafka_producer(acks="all", enable_idempotence=True)
    pending: list[tuple[float, DemoCase]] = []
    answered = 0
    try:
        for index in range(1, count + 1):
            case = make_case(
                rng, index=index, run_id=run_id, now=datetime.now(UTC), answer_ratio=answer_ratio
            )
            publisher.publish(case.event)
            fate = f"answered in {answer_after:g} s" if case.answer else "left unanswered"
            click.echo(
                f"published {case.event.allegation_id} ({case.event.reporting_entity}; concerns "
                f"{', '.join(case.states) or 'no Member State'}): {fate}"
            )
            if case.answer:
                pending.append((time.monotonic() + answer_after, case))
            answered += _answer_due(
                replies, pending, s, wait_until=time.monotonic() + (interval if index < count else 0)
            )
        answered += _answer_due(replies, pending, s, wait_until=max((t for t, _ in pending), default=0))
    finally:
        replies.close()
        publisher.close()
    click.echo(
        f"done: {count} published, {answered} answered, {count - answered} left unanswered; their "
        "acknowledgements are reminded, fall overdue and reach OSC at second level (the states' and OSC's "
        "topics and webhooks, on-call pages), on the dashboard and in `seabus overdue`."
    )


def _answer_due(
    replies: KafkaProducer, pending: list[tuple[float, DemoCase]], s: Settings, *, wait_until: float
) -> int:
    """Send the replies that fall due before ``wait_until``, sleeping in between; returns cases answered."""
    done = 0
    while True:
        now = time.monotonic()
        for entry in [e for e in pending if e[0] <= now]:
            pending.remove(entry)
            case = entry[1]
            for response in _responses(case, datetime.now(UTC)):
                send_record(
                    replies,
                    topic=s.topic("responses"),
                    record=response,
                    key=response.allegation_id,
                    event_id=response.response_id,
                    time=response.responded_at,
                    source=SOURCE,
                    what="demo reply",
                )
            click.echo(f"answered {case.event.allegation_id} for {', '.join(case.states)}")
            done += 1
        if now >= wait_until:
            return done
        next_at = min([wait_until, *(t for t, _ in pending)])
        time.sleep(max(0.0, next_at - time.monotonic()))
