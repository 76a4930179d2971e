"""Run the real gateway on a free local port against a real broker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from publish.publish_support import Record, decode, event_ids, has_ids, read_records
from support import free_port

from seabus.connectors.gateway import AgencyAuth, GatewayConfig, KafkaGatewayProducer, build_gateway_app
from seabus.connectors.gateway.state import RouteModule
from seabus.schemas.enums import PersonnelCategory
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

__all__ = ["Record", "bearer", "decode", "event_ids", "event_json", "has_ids", "read_records", "serve"]

TOKENS = {"sbk_test-minusca-token": "MINUSCA", "sbk_test-monusco-token": "MONUSCO"}
MINUSCA = "sbk_test-minusca-token"


def bearer(token: str = MINUSCA) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def event_json(
    allegation_id: str,
    *,
    sequence: int = 1,
    entity: str = "MINUSCA",
    nationality: str = "FRA",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A valid synthetic event as the JSON an agency would post."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    allegation = synthetic_allegation(
        subjects=[(f"SYNTH-SUBJ-{allegation_id}", nationality, None, PersonnelCategory.STAFF_MEMBER)],
        reported_at=at,
    )
    event = synthetic_event(
        allegation_id=allegation_id,
        sequence=sequence,
        reporting_entity=entity,
        allegation=allegation,
        published_at=at,
        event_id=event_id,
    )
    return dict(json.loads(event.model_dump_json()))


@dataclass
class Running:
    url: str
    producer: KafkaGatewayProducer


@asynccontextmanager
async def serve(
    settings: Settings,
    kafka: KafkaConnection,
    *,
    config: GatewayConfig | None = None,
    ack_timeout_s: float = 10,
    extra_routes: Sequence[RouteModule] = (),
) -> AsyncIterator[Running]:
    """The gateway app with a real aiokafka producer, on 127.0.0.1:<free port>."""
    config = config or GatewayConfig(ack_timeout_s=ack_timeout_s, retry_after_s=3)
    producer = KafkaGatewayProducer(
        kafka=kafka,
        topic=settings.topic("allegations"),
        request_timeout_ms=int(config.ack_timeout_s * 1000),
    )
    await producer.start()
    app = build_gateway_app(
        settings=settings,
        producer=producer,
        auth=AgencyAuth.from_tokens(TOKENS),
        config=config,
        extra_routes=extra_routes,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Running(url=f"http://127.0.0.1:{port}", producer=producer)
    finally:
        await runner.cleanup()
        await producer.stop()
