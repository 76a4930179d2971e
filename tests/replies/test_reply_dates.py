"""A reply dated before its allegation reached the bus is a 400 at the gateway (real socket, real Kafka)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from replies.replies_support import AGENCY_TOKEN, FRA_TOKEN, bearer, post, reply
from support import free_port
from support.bus import producer

from seabus.connectors.gateway import AgencyAuth, build_gateway_app
from seabus.connectors.gateway.responses import RecipientAuth, response_routes
from seabus.connectors.gateway.state import GATEWAY
from seabus.deploy import topics
from seabus.schemas.cloudevents import format_time
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


def test_a_reply_dated_before_the_allegation_reached_the_bus_is_a_400(
    settings: Settings, kafka: KafkaConnection
) -> None:
    topics.apply(settings, ["FRA"], kafka=kafka)
    aid = "SYNTH-RPL-DATE-1"
    p = producer(kafka)  # what the intake writes when it first accepts an allegation
    p.send(settings.topic("owners"), key=aid.encode(), value=b"MINUSCA").get(timeout=30)
    p.close()
    offices = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA", "FRA")]
    directory = RecipientsDirectory.model_validate({"recipients": offices})

    async def main() -> list[tuple[int, dict[str, Any], dict[str, str]]]:
        app = build_gateway_app(
            settings=settings,
            producer=None,  # type: ignore[arg-type]  # the allegations route is not served here
            auth=AgencyAuth.from_tokens({AGENCY_TOKEN: "MINUSCA"}),
            routes=(),
            extra_routes=(
                response_routes(
                    auth=RecipientAuth.from_tokens({FRA_TOKEN: "FRA"}), directory=directory, kafka=kafka
                ),
            ),
        )
        owners = app[GATEWAY].owners
        await owners.start(kafka, settings.topic("owners"))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with asyncio.timeout(60):
                while owners.known_since(aid) is None:  # noqa: ASYNC110 - the index has no event; polled under a timeout
                    await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{port}/v1/responses"
            back_dated = reply(aid, responded_at=format_time(datetime(1970, 1, 2, tzinfo=UTC)))
            future = reply(aid, responded_at=format_time(datetime.now(UTC) + timedelta(days=30)))
            return [
                await asyncio.to_thread(post, url, back_dated, bearer(FRA_TOKEN)),
                await asyncio.to_thread(post, url, future, bearer(FRA_TOKEN)),
                await asyncio.to_thread(post, url, reply(aid), bearer(FRA_TOKEN)),
            ]
        finally:
            await runner.cleanup()
            await owners.stop()

    (old, problem, _), (ahead, later, _), (fine, receipt, _) = asyncio.run(main())
    assert (old, problem["type"]) == (400, "urn:seabus:problem:validation-failed")
    [error] = problem["errors"]
    assert error["path"] == "responded_at"
    assert "before allegation SYNTH-RPL-DATE-1 reached the bus" in error["detail"]
    assert (ahead, [e["path"] for e in later["errors"]]) == (400, ["responded_at"])
    assert fine == 202, receipt
