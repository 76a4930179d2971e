"""The on-call view on the real bus: `seabus run` with fast deadlines, its gateway on a real socket.

Three allegations: A1 (KEN) and, after it, A2 (FRA, another entity) go unanswered;
A3 (KEN) is acknowledged at once. The overdue list must show A1 then A2 first,
at the last escalation level; the timeline must tell A1's story in order; nothing
confidential may reach any answer or any log line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from dashboard.dashboard_support import TOKEN
from dashboard.e2e_support import (
    RunningBus,
    get,
    get_json,
    mine,
    publish,
    publish_report,
    respond,
    running_bus,
)
from prometheus_client.parser import text_string_to_metric_families
from support import wait_for
from views.view_support import NARRATIVE_MARKER, SUBJECT_MARKER

from seabus.deploy.cli import main as cli_main
from seabus.deploy.cli.demo_cmd import demo
from seabus.deploy.cli.overdue_cmd import overdue
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome
from seabus.schemas.models import DeliveryAttempt
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

A1, A2, A3 = "SYNTH-OC-0001", "SYNTH-OC-0002", "SYNTH-OC-0003"
GARBAGE = "SYNTH-OC-GARBAGE"
IDS = {A1, A2, A3}
SECRETS = (SUBJECT_MARKER, NARRATIVE_MARKER, "SYNTHETIC-NOTE-VIEW-MARKER")


def seabus(bus: RunningBus, *args: str) -> Result:
    """``seabus ARGS`` in this process, through the CLI group (which sends logs to stderr)."""
    for command in (overdue, demo):  # registered by deploy/cli/main.py; added here if it does not yet
        if command.name not in cli_main.cli.commands:
            cli_main.cli.add_command(command)
    return CliRunner().invoke(cli_main.cli, list(args), env=bus.env())


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBus]:
    with running_bus(kafka, tmp_path_factory.mktemp("oncall"), due=6) as running:
        publish_report(running, A1, state="KEN")
        publish_report(running, A2, state="FRA", entity="MONUSCO")
        publish_report(running, A3, state="KEN")
        respond(running, A3, "KEN")
        publish(running, "allegations", GARBAGE, b"\x00 not an allegation")
        yield running


def settled(bus: RunningBus) -> dict[str, Any]:
    """The overdue report once A1's and A2's acknowledgements reached the last rung (second level, repeat 1)."""

    def done() -> dict[str, Any] | None:
        report = get_json(bus, "/v1/overdue")
        acks = {
            i["allegation_id"]: i
            for i in report["items"]
            if i["allegation_id"] in IDS and i["obligation"] == "ACKNOWLEDGE"
        }
        final = all(
            (acks.get(a, {}).get("level"), acks.get(a, {}).get("repeat")) == ("SECOND_LEVEL", 1)
            for a in (A1, A2)
        )
        return report if final and A3 not in acks else None

    return wait_for(done, timeout=60, interval=0.5, what="A1 and A2 at their last escalation, A3 answered")


def test_overdue_lists_the_unanswered_first_in_order_with_levels(bus: RunningBus) -> None:
    report = settled(bus)
    assert report["caught_up"] is True
    assert mine(report["items"], IDS) == [
        (A1, "KEN", "ACKNOWLEDGE"),  # overdue longest
        (A2, "FRA", "ACKNOWLEDGE"),
        (A1, "KEN", "DECIDE"),  # then not yet due, soonest first
        (A2, "FRA", "DECIDE"),
        (A3, "KEN", "DECIDE"),
        (A1, "KEN", "REPORT_OUTCOME"),
        (A2, "FRA", "REPORT_OUTCOME"),
        (A3, "KEN", "REPORT_OUTCOME"),
    ]
    items = [i for i in report["items"] if i["allegation_id"] in IDS]
    assert [i["status"] for i in items] == ["OVERDUE"] * 2 + ["DUE"] * 6
    assert items[0]["overdue_by_s"] > items[1]["overdue_by_s"] > 0
    assert [i["level"] for i in items[:2]] == ["SECOND_LEVEL", "SECOND_LEVEL"]
    assert all(i["level"] is None for i in items[2:])
    assert [i["reporting_entity"] for i in items[:2]] == ["MINUSCA", "MONUSCO"]


def test_filters(bus: RunningBus) -> None:
    settled(bus)

    def ids(query: str) -> list[tuple[str, str, str]]:
        return mine(get_json(bus, "/v1/overdue?" + query)["items"], IDS)

    assert ids("recipient=FRA") == [
        (A2, "FRA", "ACKNOWLEDGE"),
        (A2, "FRA", "DECIDE"),
        (A2, "FRA", "REPORT_OUTCOME"),
    ]
    assert ids("reporting_entity=MONUSCO") == ids("recipient=FRA")
    assert ids("level=SECOND_LEVEL") == [(A1, "KEN", "ACKNOWLEDGE"), (A2, "FRA", "ACKNOWLEDGE")]
    assert ids("recipient=KEN&level=SECOND_LEVEL") == [(A1, "KEN", "ACKNOWLEDGE")]
    assert ids("status=OVERDUE&reporting_entity=MINUSCA") == [(A1, "KEN", "ACKNOWLEDGE")]
    assert get(bus, "/v1/overdue?level=SOON", token=TOKEN)[0] == 400


def test_timeline_tells_the_story_in_order_without_confidential_data(bus: RunningBus) -> None:
    settled(bus)
    timeline = get_json(bus, f"/v1/allegations/{A1}/timeline")
    entries = timeline["entries"]
    kinds = [e["kind"] for e in entries]
    assert kinds[0] == "event"
    assert entries[0]["event_type"] == "REPORTED"
    assert entries[0]["reporting_entity"] == "MINUSCA"
    notified = {e["recipient"] for e in entries if e["kind"] == "notification"}
    assert {"KEN", "OSC"} <= notified
    last_notification = max(i for i, k in enumerate(kinds) if k == "notification")
    first_escalation = kinds.index("escalation")
    assert last_notification < first_escalation
    ladder = [
        (e["level"], e["repeat"]) for e in entries if e["kind"] == "escalation" and e["recipient"] == "KEN"
    ]
    assert ladder == [("REMINDER", 0), ("OVERDUE", 0), ("SECOND_LEVEL", 0), ("SECOND_LEVEL", 1)]
    times = [e["at"] for e in entries]
    assert times == sorted(times)
    assert timeline["reporting_entity"] == "MINUSCA"

    answered = get_json(bus, f"/v1/allegations/{A3}/timeline")
    (reply,) = [e for e in answered["entries"] if e["kind"] == "response"]
    assert (reply["recipient"], reply["response_kind"], reply["responder"]) == (
        "KEN",
        "ACKNOWLEDGED",
        "SYNTH-OFFICE-KEN",
    )
    ack = next(o for o in answered["obligations"] if o["obligation"] == "ACKNOWLEDGE")
    assert (ack["state"], ack["answered_kind"]) == ("SATISFIED", "ACKNOWLEDGED")

    status, _, _ = get(bus, f"/v1/allegations/{GARBAGE}/timeline", token=TOKEN)
    assert status == 200, "".join(line for line in bus.process.lines if "GARBAGE" in line or "dead" in line)[
        -3000:
    ]
    garbage = get_json(bus, f"/v1/allegations/{GARBAGE}/timeline")
    assert [(e["kind"], e["reason"]) for e in garbage["entries"]] == [("deadletter", "MALFORMED_BYTES")]

    for path in (f"/v1/allegations/{a}/timeline" for a in IDS):
        body = get(bus, path, token=TOKEN)[2].decode()
        for secret in SECRETS:
            assert secret not in body


def test_pages_and_api_refuse_strangers(bus: RunningBus) -> None:
    for path in ("/v1/overdue", f"/v1/allegations/{A1}/timeline"):
        assert get(bus, path)[0] == 401
        assert get(bus, path, token="sbd_unknown-token")[0] == 401
    status, headers, _ = get(bus, "/dashboard")
    assert status == 303
    assert headers["Location"].startswith("/dashboard/login")
    assert get(bus, f"/allegations/{A1}")[0] == 303


def test_metrics_and_readiness(bus: RunningBus) -> None:
    settled(bus)
    attempt = DeliveryAttempt(
        attempt_id="0b7b7a3c-0000-4000-8000-00000000e2e1",
        notification_id="0b7b7a3c-0000-4000-8000-00000000e2e2",
        allegation_id=A1,
        recipient="KEN",
        channel=DeliveryChannel.EMAIL,
        attempt=1,
        outcome=DeliveryOutcome.DELIVERED,
        attempted_at=datetime.now(UTC),
    )
    publish(bus, "audit", A1, encode_model(attempt))

    Samples = dict[str, list[tuple[str, dict[str, str], float]]]

    def scrape() -> Samples:
        status, headers, body = get(bus, "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain")
        return {
            f.name: [(s.name, s.labels, s.value) for s in f.samples]
            for f in text_string_to_metric_families(body.decode())
        }

    def total(families: Samples, name: str, *, sample: str | None = None, **labels: str) -> float:
        wanted = {sample} if sample else {name, name + "_total"}
        return sum(
            v
            for sample_name, sample_labels, v in families.get(name, [])
            if sample_name in wanted and all(sample_labels.get(k) == w for k, w in labels.items())
        )

    def counted() -> Samples | None:
        families = scrape()
        return (
            families
            if total(families, "seabus_deliveries", channel="EMAIL", outcome="DELIVERED") >= 1
            else None
        )

    got = wait_for(counted, timeout=30, what="the delivery attempt counted from the audit topic")
    assert total(got, "seabus_events_received") >= 4  # three reports and the garbage
    assert total(got, "seabus_events_routed") >= 3
    assert total(got, "seabus_events_dead_lettered", reason="MALFORMED_BYTES") >= 1
    assert total(got, "seabus_notifications", recipient_class="MEMBER_STATE") >= 3
    assert total(got, "seabus_notifications", recipient_class="OSC") >= 3
    latency = "seabus_publish_to_notification_seconds"
    assert total(got, latency, sample=latency + "_count") >= 3
    assert total(got, "seabus_obligations_overdue", level="SECOND_LEVEL") >= 2
    assert total(got, "seabus_obligations_open") >= 8
    assert total(got, "seabus_escalations_fired", level="SECOND_LEVEL") >= 4
    assert total(got, "seabus_responses", kind="ACKNOWLEDGED", outcome="APPLIED") >= 1
    lags = got["seabus_consumer_lag"]
    # Every source the worker reads has a lag; the inbound topics appear once the forwarder has
    # fetched from them, which depends on timing, so only the two routed sources are required.
    assert {labels["topic"] for _, labels, _ in lags} >= {
        f"{bus.prefix}.allegations",
        f"{bus.prefix}.responses",
    }
    assert all(v >= 0 for _, _, v in lags)
    assert total(got, "seabus_worker_ready") == 1
    assert total(got, "seabus_view_caught_up") == 1

    status, _, body = get(bus, "/readyz")
    ready = json.loads(body)
    assert (status, ready["status"]) == (200, "ready")
    assert set(ready["checks"]) == {"worker", "view"}
    timeline = get_json(bus, f"/v1/allegations/{A1}/timeline")
    assert [e["channel"] for e in timeline["entries"] if e["kind"] == "delivery"] == ["EMAIL"]


def test_log_lines_carry_ids_never_confidential_fields(bus: RunningBus) -> None:
    settled(bus)
    lines = [json.loads(line) for line in bus.process.lines if line.startswith("{")]
    # The per-record line is at debug (issue 16); at info the intake logs counts, never ids.
    summaries = [line for line in lines if line.get("event") == "intake summary"]
    assert summaries, "the intake logged no summary"
    assert summaries[0]["routed"] >= 1
    assert not any("allegation_id" in line or "event_id" in line for line in summaries)
    text = "".join(bus.process.lines)
    for secret in SECRETS:
        assert secret not in text


def test_overdue_command_reads_the_topics_directly(bus: RunningBus) -> None:
    settled(bus)
    result = seabus(bus, "overdue", "--json", "--recipient", "KEN", "--overdue-only")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert mine(report["items"], IDS) == [(A1, "KEN", "ACKNOWLEDGE")]
    table = seabus(bus, "overdue", "--level", "second_level")
    assert table.exit_code == 0, table.output
    assert A1 in table.stdout
    assert A2 in table.stdout
    assert A3 not in table.stdout


def test_demo_publishes_answers_some_and_prints_a_working_token(bus: RunningBus, tmp_path: Path) -> None:
    result = seabus(
        bus,
        "demo",
        "--count",
        "3",
        "--interval",
        "0",
        "--answer-ratio",
        "1",
        "--answer-after",
        "1",
        "--seed",
        "7",
    )
    assert result.exit_code == 0, result.output
    output = result.stdout
    assert f"Dashboard: {bus.url}/dashboard" in output
    token = re.search(r"^\s+(sbd_\S+)$", output, re.MULTILINE)
    assert token is not None, output
    ids = re.findall(r"^published (SYNTH-DEMO-\S+) ", output, re.MULTILINE)
    assert len(ids) == 3
    assert re.search(rf"^published {ids[0]} .*: left unanswered$", output, re.MULTILINE)
    assert len(re.findall(r"^answered SYNTH-DEMO-", output, re.MULTILINE)) == 2

    def states() -> dict[str, set[tuple[str, str]]] | None:
        report = get_json(bus, "/v1/overdue", token=token.group(1))
        seen: dict[str, set[tuple[str, str]]] = {a: set() for a in ids}
        for item in report["items"]:
            if item["allegation_id"] in seen:
                seen[item["allegation_id"]].add((item["obligation"], item["status"]))
        unanswered_overdue = ("ACKNOWLEDGE", "OVERDUE") in seen[ids[0]]
        answered_closed = all(
            {o for o, _ in seen[a]} == {"REPORT_OUTCOME"} for a in ids[1:]
        )  # acknowledged and decided: only the outcome stays open
        return seen if unanswered_overdue and answered_closed else None

    wait_for(
        states, timeout=60, interval=0.5, what="the demo's unanswered allegation overdue, the others answered"
    )
