"""Metrics of one process: counters from the agents' calls, gauges from the read model, readiness."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from support.routing import make_intake
from views.view_support import T0, delivery, notifications, obligation, report

from seabus.connectors.dashboard import readiness
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import DeliveryOutcome, EscalationLevel
from seabus.schemas.envelopes import Source
from seabus.streams import metrics
from seabus.streams.metrics import REGISTRY, WorkerHealth
from seabus.streams.views import ReaderStatus, ViewIndex


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def families() -> dict[str, list[tuple[dict[str, str], float]]]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        f.name: [(s.labels, s.value) for s in f.samples]
        for f in text_string_to_metric_families(body.decode())
    }


def test_intake_outcomes_are_counted() -> None:
    intake = make_intake()
    e = report("SYNTH-M-1", at=T0)
    before = {
        "received": value("seabus_events_received_total"),
        "routed": value("seabus_events_routed_total"),
        "ms": value("seabus_notifications_total", recipient_class="MEMBER_STATE"),
        "osc": value("seabus_notifications_total", recipient_class="OSC"),
        "latency": value("seabus_publish_to_notification_seconds_count"),
        "within_5s": value("seabus_publish_to_notification_seconds_bucket", le="5.0"),
        "dead": value("seabus_events_dead_lettered_total", reason="MALFORMED_BYTES"),
        "duplicate": value("seabus_events_duplicate_total"),
    }
    source = Source(topic="sea.allegations", partition=0, offset=0)
    routed = intake.handle(
        key=b"SYNTH-M-1",
        value=encode_model(e),
        headers=[],
        source=source,
        state=None,
        now=T0 + timedelta(seconds=2),
    )
    metrics.observe_intake(routed)
    again = intake.handle(
        key=b"SYNTH-M-1", value=encode_model(e), headers=[], source=source, state=routed.state, now=T0
    )
    metrics.observe_intake(again)
    garbage = intake.handle(key=b"x", value=b"\x00garbage", headers=[], source=source, state=None, now=T0)
    metrics.observe_intake(garbage)

    assert value("seabus_events_received_total") - before["received"] == 3
    assert value("seabus_events_routed_total") - before["routed"] == 1
    assert value("seabus_events_duplicate_total") - before["duplicate"] == 1
    assert value("seabus_events_dead_lettered_total", reason="MALFORMED_BYTES") - before["dead"] == 1
    assert value("seabus_notifications_total", recipient_class="MEMBER_STATE") - before["ms"] == 1
    assert value("seabus_notifications_total", recipient_class="OSC") - before["osc"] == 1
    assert value("seabus_publish_to_notification_seconds_count") - before["latency"] == 1  # once per event
    assert value("seabus_publish_to_notification_seconds_bucket", le="5.0") - before["within_5s"] == 1


def test_read_model_figures_are_exported_while_watched() -> None:
    view = ViewIndex(prefix="sea")
    now_due = T0 - timedelta(days=1)  # overdue whatever the clock says
    view.add(obligation("SYNTH-M-2", due_at=now_due, last_level=EscalationLevel.OVERDUE))
    view.add(obligation("SYNTH-M-3", due_at=now_due))
    view.add(obligation("SYNTH-M-4", due_at=T0 + timedelta(days=3650)))
    note = notifications(report("SYNTH-M-2"), routed_at=T0)[0]
    view.add(delivery(note, at=T0))
    view.add(delivery(note, at=T0, outcome=DeliveryOutcome.FAILED))
    forget = metrics.watch_view(view)
    try:
        got = families()
    finally:
        forget()
    opened = {s[0]["level"]: s[1] for s in got["seabus_obligations_open"]}
    overdue = {s[0]["level"]: s[1] for s in got["seabus_obligations_overdue"]}
    assert opened == {"NONE": 2.0, "REMINDER": 0.0, "OVERDUE": 1.0, "SECOND_LEVEL": 0.0}
    assert overdue == {"NONE": 1.0, "REMINDER": 0.0, "OVERDUE": 1.0, "SECOND_LEVEL": 0.0}
    deliveries = {(s[0]["channel"], s[0]["outcome"]): s[1] for s in got["seabus_deliveries"] if s[0]}
    assert deliveries == {("WEBHOOK", "DELIVERED"): 1.0, ("WEBHOOK", "FAILED"): 1.0}
    assert got["seabus_view_caught_up"] == [({}, 0.0)]
    assert families()["seabus_obligations_open"] == []  # no longer watched


def test_every_family_is_exposed_and_parses() -> None:
    names = set(families())
    assert {
        "seabus_events_received",
        "seabus_events_routed",
        "seabus_events_dead_lettered",
        "seabus_notifications",
        "seabus_publish_to_notification_seconds",
        "seabus_responses",
        "seabus_escalations_fired",
        "seabus_consumer_lag",
        "seabus_worker_ready",
        "seabus_obligations_open",
        "seabus_obligations_overdue",
        "seabus_deliveries",
        "process_cpu_seconds",
    } <= names


def _view(*, caught_up: bool = True, age: float | None = 1.0, lag: int = 0) -> ReaderStatus:
    return ReaderStatus(connected=True, caught_up=caught_up, last_contact_age_s=age, partitions=9, lag=lag)


def test_readiness_needs_a_fresh_worker_check_and_a_caught_up_view() -> None:
    fresh = WorkerHealth(ready=True, reason="12 source partition(s) assigned", checked_at=100.0)

    def verdict(worker: WorkerHealth | None, view: ReaderStatus | None) -> dict[str, tuple[bool, str]]:
        return {k: (c.ok, c.detail) for k, c in readiness(worker=worker, view=view, now=105.0).items()}

    assert verdict(fresh, _view()) == {
        "worker": (True, "12 source partition(s) assigned"),
        "view": (True, "following 9 partitions"),
    }
    assert verdict(None, _view())["worker"] == (False, "the worker has not finished starting")
    assert verdict(WorkerHealth(ready=True, reason="ok", checked_at=80.0), None) == {
        "worker": (False, "the worker's last self-check was 25s ago")
    }
    rebalancing = WorkerHealth(ready=False, reason="rebalancing or recovering tables", checked_at=104.0)
    assert verdict(rebalancing, None)["worker"] == (False, "rebalancing or recovering tables")
    assert verdict(fresh, _view(caught_up=False, lag=42))["view"] == (
        False,
        "reading the topics' history (42 records to go)",
    )
    assert verdict(fresh, _view(age=None))["view"] == (False, "Kafka last answered the read model never")
    assert verdict(fresh, _view(age=30.0))["view"] == (False, "Kafka last answered the read model 30s ago")


def test_readiness_without_a_worker_in_the_process_answers_for_the_view_only() -> None:
    """`seabus gateway` with its own read model (view.in_worker: false): no worker to wait for."""
    checks = readiness(worker=None, view=_view(), now=105.0, worker_expected=False)
    assert {k: c.ok for k, c in checks.items()} == {"view": True}
    behind = readiness(worker=None, view=_view(caught_up=False, lag=7), now=105.0, worker_expected=False)
    assert {k: c.ok for k, c in behind.items()} == {"view": False}
