"""A state's own view over HTTP: its obligations from an in-memory read model, its topic from a real broker."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import pypdfium2 as pdfium
import pytest
from recipients.recipients_support import AGENCY_TOKEN, FRA_TOKEN, KEN_TOKEN, MemoryView, bearer, get, serve
from views.view_support import NARRATIVE_MARKER, T0, escalation, notifications, obligation, report

from seabus.connectors.gateway import GatewayConfig
from seabus.connectors.gateway.config import RateLimitConfig
from seabus.connectors.gateway.recipient_topic import RecipientTopic, latest_notification
from seabus.connectors.notices import notice_path
from seabus.deploy import topics
from seabus.schemas.cloudevents import format_time
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import EscalationLevel, ObligationKind, ObligationState
from seabus.schemas.models import Notification
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection

T = TypeVar("T")
S = timedelta(seconds=1)
NOW = T0 + 60 * S


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def view_of_two_states() -> MemoryView:
    view = MemoryView()
    index = view.index
    index.add(obligation("SYNTH-SV-1", "FRA", due_at=T0 + 30 * S))  # overdue at NOW
    index.add(obligation("SYNTH-SV-2", "FRA", ObligationKind.DECIDE, due_at=T0 + 3600 * S))
    index.add(
        obligation(
            "SYNTH-SV-3",
            "FRA",
            due_at=T0 + 10 * S,
            state=ObligationState.SATISFIED,
            updated_at=T0 + 5 * S,
            answered_at=T0 + 5 * S,
        )
    )
    index.add(obligation("SYNTH-SV-1", "KEN", due_at=T0))  # another state's: never shown to FRA
    index.add(escalation("SYNTH-SV-1", EscalationLevel.OVERDUE, at=T0 + 30 * S, recipient="FRA"))
    return view


def scenario(settings: Settings, view: MemoryView, body: Callable[[str], Any], **options: Any) -> Any:
    async def main() -> Any:
        async with serve(settings, view, clock=NOW, **options) as url:
            return await asyncio.to_thread(body, url)

    return run(main())


# --- obligations --------------------------------------------------------------------------


def test_a_state_gets_its_own_obligations_open_first_with_due_dates_and_answers(settings: Settings) -> None:
    status, body, headers, _ = scenario(
        settings,
        view_of_two_states(),
        lambda url: get(f"{url}/v1/recipients/FRA/obligations", bearer(FRA_TOKEN)),
    )
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    assert (body["recipient"], body["open"], body["overdue"], body["caught_up"]) == ("FRA", 2, 1, True)
    rows = [
        (i["allegation_id"], i["obligation"], i["state"], i["overdue"], i["answered"]) for i in body["items"]
    ]
    assert rows == [
        ("SYNTH-SV-1", "ACKNOWLEDGE", "OPEN", True, False),
        ("SYNTH-SV-2", "DECIDE", "OPEN", False, False),
        ("SYNTH-SV-3", "ACKNOWLEDGE", "SATISFIED", False, True),
    ]
    first, second, answered = body["items"]
    assert datetime.fromisoformat(first["due_at"]) == T0 + 30 * S
    assert first["overdue_by_s"] == 30.0
    assert second["overdue_by_s"] < 0
    assert first["level"] == "OVERDUE"
    assert (answered["answered_kind"], datetime.fromisoformat(answered["answered_at"])) == (
        "ACKNOWLEDGED",
        T0 + 5 * S,
    )
    assert answered["overdue_by_s"] is None
    assert all("KEN" not in json.dumps(i) for i in body["items"])


def test_state_open_keeps_only_what_is_still_owed(settings: Settings) -> None:
    def calls(url: str) -> tuple[Any, Any]:
        fra = f"{url}/v1/recipients/FRA/obligations"
        return get(f"{fra}?state=open", bearer(FRA_TOKEN)), get(f"{fra}?state=maybe", bearer(FRA_TOKEN))

    (status, body, _, _), (bad, problem, headers, _) = scenario(settings, view_of_two_states(), calls)
    assert status == 200
    assert [i["allegation_id"] for i in body["items"]] == ["SYNTH-SV-1", "SYNTH-SV-2"]
    assert (bad, headers["Content-Type"].split(";")[0]) == (400, "application/problem+json")
    assert problem["type"] == "urn:seabus:problem:malformed-request"


def test_a_state_with_nothing_owed_gets_an_empty_list(settings: Settings) -> None:
    status, body, _, _ = scenario(
        settings, MemoryView(), lambda url: get(f"{url}/v1/recipients/KEN/obligations", bearer(KEN_TOKEN))
    )
    assert (status, body["items"], body["open"]) == (200, [], 0)


@pytest.mark.parametrize("route", ["obligations", "notifications"])
@pytest.mark.parametrize(
    ("path_id", "headers", "status", "problem_type"),
    [
        ("FRA", {}, 401, "urn:seabus:problem:unauthenticated"),
        ("FRA", bearer("sbk_unknown-token"), 401, "urn:seabus:problem:unauthenticated"),
        ("FRA", bearer(AGENCY_TOKEN), 403, "urn:seabus:problem:wrong-recipient"),
        ("FRA", bearer(KEN_TOKEN), 403, "urn:seabus:problem:wrong-recipient"),
        ("ZZZ", bearer(FRA_TOKEN), 404, "about:blank"),
    ],
)
def test_only_the_states_own_token_gets_data(
    settings: Settings,
    route: str,
    path_id: str,
    headers: dict[str, str],
    status: int,
    problem_type: str,
) -> None:
    got, problem, answer_headers, raw = scenario(
        settings, view_of_two_states(), lambda url: get(f"{url}/v1/recipients/{path_id}/{route}", headers)
    )
    assert (got, problem["type"]) == (status, problem_type)
    assert answer_headers["Content-Type"].startswith("application/problem+json")
    if status == 401:
        assert answer_headers["WWW-Authenticate"].startswith('Bearer realm="seabus-replies"')
    assert b"SYNTH-SV" not in raw  # no data of anyone's in a refusal


def test_the_recipients_routes_are_rate_limited_like_every_v1_route(settings: Settings) -> None:
    config = GatewayConfig(rate_limit=RateLimitConfig(enabled=True, requests_per_minute=1, burst=2))

    def calls(url: str) -> list[Any]:
        return [get(f"{url}/v1/recipients/FRA/obligations", bearer(FRA_TOKEN)) for _ in range(3)]

    answers = scenario(settings, view_of_two_states(), calls, config=config)
    assert [a[0] for a in answers] == [200, 200, 429]
    assert int(answers[2][2]["Retry-After"]) >= 1


def test_the_openapi_document_describes_the_recipients_routes(settings: Settings) -> None:
    status, doc, _, _ = scenario(settings, view_of_two_states(), lambda url: get(f"{url}/openapi.json"))
    assert status == 200
    for path in (
        "/v1/recipients/{recipient}/obligations",
        "/v1/recipients/{recipient}/notifications",
        "/v1/recipients/{recipient}/notices/{allegation_id}",
    ):
        operation = doc["paths"][path]["get"]
        assert {"200", "401", "403", "404", "429"} <= set(operation["responses"]), path
        assert operation["security"] == [{"recipientToken": []}]
        assert {p["name"] for p in operation["parameters"]} >= {"recipient"}
    notifications_op = doc["paths"]["/v1/recipients/{recipient}/notifications"]["get"]
    assert {p["name"] for p in notifications_op["parameters"]} == {
        "recipient",
        "since",
        "cursor",
        "limit",
        "type",
    }
    assert "503" in notifications_op["responses"]
    schemas = doc["components"]["schemas"]
    assert {
        "RecipientObligations",
        "OwedItem",
        "RecipientNotificationsPage",
        "Notification",
        "Escalation",
    } <= set(schemas)
    assert doc["components"]["securitySchemes"]["recipientToken"]["scheme"] == "bearer"

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    # Everything the two operations refer to, transitively, is in the document. (The shared Problem
    # schema refers to AcceptedEvent, which only the allegations route adds; it is not served here.)
    ours = [doc["paths"][p] for p in doc["paths"] if p.startswith("/v1/recipients/")]
    pending = [r for r in refs(ours) if not r.endswith("/Problem")]
    seen: set[str] = set()
    while pending:
        name = pending.pop().removeprefix("#/components/schemas/")
        if name in seen:
            continue
        assert name in schemas, name
        seen.add(name)
        pending.extend(refs(schemas[name]))
    assert {"RecipientTopicItem", "Allegation"} <= seen


# --- notifications, from the real topic -------------------------------------------------------


def fill_topics(settings: Settings, kafka: KafkaConnection) -> tuple[list[Notification], datetime]:
    """FRA's and KEN's topics with synthetic notifications, an escalation and one undecodable record.

    Record times are set explicitly: three FRA notifications one minute apart from ``base``.
    """
    topics.apply(settings, ["FRA", "KEN"], kafka=kafka)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    producer = kafka.kafka_producer(acks="all")
    sent: list[Notification] = []
    try:
        for n in range(3):
            aid = f"SYNTH-SVN-{n}"
            event = report(aid, state="FRA")
            [fra] = [x for x in notifications(event, routed_at=base + n * 60 * S) if x.recipient == "FRA"]
            sent.append(fra)
            at = int((base + n * 60 * S).timestamp() * 1000)
            producer.send(
                settings.notify_topic("FRA"), key=aid.encode(), value=encode_model(fra), timestamp_ms=at
            )
        [ken] = [
            x
            for x in notifications(report("SYNTH-SVN-KEN", state="KEN"), routed_at=base)
            if x.recipient == "KEN"
        ]
        producer.send(settings.notify_topic("KEN"), key=b"SYNTH-SVN-KEN", value=encode_model(ken))
        late = base + 200 * S
        producer.send(
            settings.notify_topic("FRA"),
            key=b"SYNTH-SVN-0",
            value=encode_model(escalation("SYNTH-SVN-0", EscalationLevel.OVERDUE, at=late, recipient="FRA")),
            timestamp_ms=int(late.timestamp() * 1000),
        )
        producer.send(
            settings.notify_topic("FRA"),
            key=b"SYNTH-SVN-0",
            value=b"\xc3\x01not-a-record",
            timestamp_ms=int((late + S).timestamp() * 1000),
        )
        producer.flush(timeout=30)
    finally:
        producer.close()
    return sent, base


@pytest.mark.kafka
def test_a_state_reads_its_own_topic_since_a_time_oldest_first_with_a_cursor(
    settings: Settings, kafka: KafkaConnection
) -> None:
    sent, base = fill_topics(settings, kafka)
    since = quote(format_time(base + 30 * S))

    def calls(url: str) -> dict[str, Any]:
        fra = f"{url}/v1/recipients/FRA/notifications"
        out: dict[str, Any] = {"since": get(f"{fra}?since={since}", bearer(FRA_TOKEN))}
        pages, cursor = [], None
        for _ in range(10):
            query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
            status, body, _, _ = get(f"{fra}?{query}", bearer(FRA_TOKEN))
            assert status == 200, body
            pages.append(body)
            cursor = body["next"]
            if not body["more"]:
                break
        out["pages"] = pages
        out["escalations"] = get(f"{fra}?type=escalation", bearer(FRA_TOKEN))
        out["future"] = get(
            f"{fra}?since={quote(format_time(datetime.now(UTC) + timedelta(hours=1)))}", bearer(FRA_TOKEN)
        )
        out["ken_cursor_on_fra"] = get(
            f"{url}/v1/recipients/KEN/notifications?cursor={cursor}", bearer(KEN_TOKEN)
        )
        out["bad"] = [
            get(f"{fra}?{q}", bearer(FRA_TOKEN))
            for q in ("since=yesterday", "since=2026-01-01T00:00:00", "limit=501", "limit=0", "type=gossip")
        ]
        out["ken"] = get(f"{url}/v1/recipients/KEN/notifications", bearer(KEN_TOKEN))
        return out

    out = scenario(settings, MemoryView(prefix=settings.topic_prefix), calls, kafka=kafka)

    status, body, headers, _ = out["since"]
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    assert [(i["type"], i["allegation_id"]) for i in body["items"]] == [
        ("notification", "SYNTH-SVN-1"),
        ("notification", "SYNTH-SVN-2"),
        ("escalation", "SYNTH-SVN-0"),
    ]
    assert body["items"][0]["id"] == sent[1].notification_id
    assert body["items"][0]["record"]["recipient"] == "FRA"
    assert body["items"][0]["record"]["sequence"] == sent[1].sequence
    assert [s["reason"] for s in body["skipped"]] == ["UNKNOWN_FINGERPRINT"]
    assert body["more"] is False

    # Page by page with limit=1: everything once, in order, the undecodable record flagged once.
    pages = out["pages"]
    seen = [i["allegation_id"] + ":" + i["type"] for p in pages for i in p["items"]]
    assert seen == [
        "SYNTH-SVN-0:notification",
        "SYNTH-SVN-1:notification",
        "SYNTH-SVN-2:notification",
        "SYNTH-SVN-0:escalation",
    ]
    assert sum(len(p["skipped"]) for p in pages) == 1
    assert pages[-1]["more"] is False

    status, body, _, _ = out["escalations"]
    assert [i["type"] for i in body["items"]] == ["escalation"]
    assert body["items"][0]["record"]["level"] == "OVERDUE"
    status, body, _, _ = out["future"]
    assert (status, body["items"], body["more"]) == (200, [], False)

    status, problem, _, _ = out["ken_cursor_on_fra"]
    assert (status, problem["title"]) == (400, "Invalid Cursor")
    assert [b[0] for b in out["bad"]] == [400] * 5

    status, body, _, raw = out["ken"]
    assert [i["allegation_id"] for i in body["items"]] == ["SYNTH-SVN-KEN"]
    assert b"SYNTH-SVN-0" not in raw


@pytest.mark.kafka
def test_a_topic_not_created_yet_is_an_empty_page(settings: Settings, kafka: KafkaConnection) -> None:
    status, body, _, _ = scenario(
        settings,
        MemoryView(),
        lambda url: get(f"{url}/v1/recipients/KEN/notifications", bearer(KEN_TOKEN)),
        kafka=kafka,
    )
    assert (status, body["items"], body["next"], body["more"]) == (200, [], None, False)


def test_a_forged_cursor_is_refused(settings: Settings) -> None:
    forged = base64.urlsafe_b64encode(json.dumps({"r": "FRA", "p": {"0": -5}}).encode()).decode()
    status, problem, _, _ = scenario(
        settings,
        MemoryView(),
        lambda url: get(f"{url}/v1/recipients/FRA/notifications?cursor={forged}", bearer(FRA_TOKEN)),
    )
    assert (status, problem["title"]) == (400, "Invalid Cursor")


@pytest.mark.kafka
def test_latest_notification_is_the_highest_sequence_of_that_allegation_on_that_topic(
    settings: Settings, kafka: KafkaConnection
) -> None:
    topics.apply(settings, ["FRA", "KEN"], kafka=kafka)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    [first] = [
        n for n in notifications(report("SYNTH-SVL-1", state="FRA"), routed_at=base) if n.recipient == "FRA"
    ]
    second = first.model_copy(
        update={"notification_id": "SYNTH-NTF-SVL-2", "sequence": 2, "routed_at": base + S}
    )
    [other] = [
        n for n in notifications(report("SYNTH-SVL-2", state="FRA"), routed_at=base) if n.recipient == "FRA"
    ]
    producer = kafka.kafka_producer(acks="all")
    try:
        for note in (second, first, other):  # the later one first: order on the topic does not decide
            producer.send(
                settings.notify_topic("FRA"), key=note.allegation_id.encode(), value=encode_model(note)
            )
        producer.send(settings.notify_topic("FRA"), key=b"SYNTH-SVL-1", value=b"\xc3\x01garbage!!")
        producer.flush(timeout=30)
    finally:
        producer.close()
    reader = RecipientTopic(kafka=kafka, prefix=settings.topic_prefix)

    async def main() -> list[Notification | None]:
        return [
            await latest_notification(reader, "FRA", "SYNTH-SVL-1"),
            await latest_notification(reader, "FRA", "SYNTH-SVL-1", not_before=base - timedelta(minutes=10)),
            await latest_notification(reader, "FRA", "SYNTH-SVL-2"),
            await latest_notification(reader, "FRA", "SYNTH-SVL-3"),
            await latest_notification(reader, "KEN", "SYNTH-SVL-1"),  # KEN's topic: empty
            await latest_notification(reader, "URY", "SYNTH-SVL-1"),  # no topic at all
        ]

    found = run(main())
    assert [n.notification_id if n else None for n in found] == [
        "SYNTH-NTF-SVL-2",
        "SYNTH-NTF-SVL-2",
        other.notification_id,
        None,
        None,
        None,
    ]


# --- formal notices -----------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    return " ".join(" ".join(page.get_textpage().get_text_range() for page in document).split())


@pytest.mark.kafka
def test_a_state_gets_its_formal_notice_as_pdf_or_html_and_nobody_else_does(
    settings: Settings, kafka: KafkaConnection
) -> None:
    topics.apply(settings, ["FRA", "KEN"], kafka=kafka)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    [first] = [
        n for n in notifications(report("SYNTH-SVF-1", state="FRA"), routed_at=base) if n.recipient == "FRA"
    ]
    update = first.model_copy(
        update={"notification_id": "SYNTH-NTF-SVF-2", "sequence": 2, "routed_at": base + S}
    )
    [slashed] = [
        n for n in notifications(report("SYNTH-SVF/3", state="FRA"), routed_at=base) if n.recipient == "FRA"
    ]
    producer = kafka.kafka_producer(acks="all")
    try:
        for note in (first, update, slashed):
            producer.send(
                settings.notify_topic("FRA"), key=note.allegation_id.encode(), value=encode_model(note)
            )
        producer.flush(timeout=30)
    finally:
        producer.close()
    view = MemoryView(prefix=settings.topic_prefix)
    view.index.add(first)  # the read model knows of the first only: the topic has the latest
    config = GatewayConfig(public_url="https://seabus.example.org")

    def calls(url: str) -> dict[str, Any]:
        notice = f"{url}/v1/recipients/FRA/notices/SYNTH-SVF-1"
        return {
            "pdf": get(notice, bearer(FRA_TOKEN)),
            "html": get(f"{notice}?format=html&lang=fr", bearer(FRA_TOKEN)),
            "accept_html": get(notice, {**bearer(FRA_TOKEN), "Accept": "text/html"}),
            "ken": get(notice, bearer(KEN_TOKEN)),
            "none": get(notice),
            "agency": get(notice, bearer(AGENCY_TOKEN)),
            "never_told": get(f"{url}/v1/recipients/FRA/notices/SYNTH-SVF-9", bearer(FRA_TOKEN)),
            "ken_own": get(f"{url}/v1/recipients/KEN/notices/SYNTH-SVF-1", bearer(KEN_TOKEN)),
            "bad": [get(f"{notice}?{q}", bearer(FRA_TOKEN)) for q in ("lang=de", "format=docx")],
            # an id with a slash, at the path the e-mail notice links to (connectors.notices.notice_path)
            "slashed": get(url + notice_path("FRA", "SYNTH-SVF/3") + "?format=html", bearer(FRA_TOKEN)),
        }

    out = scenario(settings, view, calls, kafka=kafka, config=config)

    status, _, headers, raw = out["pdf"]
    assert status == 200
    assert headers["Content-Type"] == "application/pdf"
    assert raw.startswith(b"%PDF")
    assert headers["X-Notice-Reference"] == f"SEABUS/{first.allegation.reported_at.year}/SYNTH-SVF-1/FRA"
    assert headers["Cache-Control"] == "no-store"
    assert 'filename="SEABUS-' in headers["Content-Disposition"]
    text = pdf_text(raw)
    assert "SYNTH-SVF-1" in text
    assert "https://seabus.example.org/v1/responses" in text  # public_url as the reply address
    assert "SYNTH-NTF-SVF-2" in text  # the latest notification on the topic, not the view's
    assert NARRATIVE_MARKER not in text

    status, _, headers, raw = out["html"]
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    page = raw.decode()
    assert "Mission permanente de la France" in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert NARRATIVE_MARKER not in page
    assert out["accept_html"][2]["Content-Type"].startswith("text/html")

    assert [out[k][0] for k in ("ken", "none", "agency", "never_told", "ken_own")] == [
        403,
        401,
        403,
        404,
        404,
    ]
    for key in ("ken", "none", "agency", "never_told", "ken_own"):
        assert b"SYNTH-SUBJ" not in out[key][3]
        assert out[key][2]["Content-Type"].startswith("application/problem+json")
    assert [b[0] for b in out["bad"]] == [400, 400]
    status, _, headers, raw = out["slashed"]
    assert (status, headers["X-Notice-Reference"].split("/", 2)[2]) == (200, "SYNTH-SVF/3/FRA")
