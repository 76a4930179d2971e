"""The real bus (`seabus run`) with the dashboard on, fast deadlines, and plain HTTP helpers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard.dashboard_support import TOKEN, write_dashboard_file
from support import WITH_VIEW, unique_prefix, wait_for
from support.bus import BusPool, BusProcess, producer, read_topic
from support.deadline_policies import write_fast_policies
from support.notify import notifications_among
from views.view_support import report

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import ResponseKind
from seabus.schemas.models import Response
from seabus.streams.kafka_connection import KafkaConnection


@dataclass
class RunningBus:
    prefix: str
    process: BusProcess
    url: str
    kafka: KafkaConnection
    data_dir: Path
    dashboard_file: Path

    def env(self) -> dict[str, str]:
        """The environment a CLI command needs to talk about this bus."""
        keys = ("SEABUS_TOPIC_PREFIX", "SEABUS_APP_ID", "SEABUS_DATA_DIR", "SEABUS_BOOTSTRAP")
        keys += ("SEABUS_GATEWAY__PORT", "SEABUS_DASHBOARD_FILE", "SEABUS_CACHE_DIR")
        return {k: self.process.env[k] for k in keys} | self.kafka.env()


@contextmanager
def running_bus(kafka: KafkaConnection, tmp: Path, *, due: int, poll_s: float = 1.0) -> Iterator[RunningBus]:
    prefix = unique_prefix()
    policies = write_fast_policies(tmp, due=due, reminder=max(1, due // 2), second=3, repeat=3)
    dashboard = write_dashboard_file(tmp, poll_s=poll_s)
    with BusPool() as pool:
        process = pool.start(
            kafka,
            prefix,
            tmp / "data",
            SEABUS_POLICIES_FILE=policies,
            SEABUS_TICK_INTERVAL_S=0.2,
            **WITH_VIEW,
            SEABUS_DASHBOARD_FILE=dashboard,
        )
        bus = RunningBus(
            prefix=prefix,
            process=process,
            url=f"http://127.0.0.1:{process.env['SEABUS_GATEWAY__PORT']}",
            kafka=kafka,
            data_dir=tmp / "data",
            dashboard_file=dashboard,
        )
        try:
            wait_for(lambda: get(bus, "/readyz")[0] == 200, timeout=60, what="/readyz answering 200")
            yield bus
        finally:
            process.stop_cleanly()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def get(bus: RunningBus, path: str, *, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of GET ``path`` (redirects are not followed)."""
    request = urllib.request.Request(bus.url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, {}, b""


def get_json(bus: RunningBus, path: str, *, token: str = TOKEN) -> Any:
    status, _, body = get(bus, path, token=token)
    assert status == 200, (path, status, body[:500])
    return json.loads(body)


def publish(bus: RunningBus, topic: str, key: str, value: bytes) -> None:
    p = producer(bus.kafka)
    p.send(f"{bus.prefix}.{topic}", key=key.encode(), value=value).get(timeout=30)
    p.close()


def publish_report(bus: RunningBus, aid: str, *, state: str, entity: str = "MINUSCA") -> None:
    """Publish a REPORTED event (now) and wait until the bus notified ``state``."""
    publish(
        bus, "allegations", aid, encode_model(report(aid, state=state, entity=entity, at=datetime.now(UTC)))
    )

    def mine(values: list[bytes]) -> bool:
        return any(n.allegation_id == aid for n in notifications_among(values))

    read_topic(bus.kafka, f"{bus.prefix}.notify.{state}", until=mine)


def respond(
    bus: RunningBus, aid: str, recipient: str, kind: ResponseKind = ResponseKind.ACKNOWLEDGED
) -> None:
    response = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient=recipient,
        kind=kind,
        responded_at=datetime.now(UTC),
        responder=f"SYNTH-OFFICE-{recipient}",
        note="SYNTHETIC-NOTE-VIEW-MARKER",
    )
    publish(bus, "responses", aid, encode_model(response))


def mine(items: list[dict[str, Any]], ids: set[str]) -> list[tuple[str, str, str]]:
    """(allegation, recipient, obligation) of the items about ``ids``, in the order given."""
    return [(i["allegation_id"], i["recipient"], i["obligation"]) for i in items if i["allegation_id"] in ids]
