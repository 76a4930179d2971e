"""Running the gateway: inside another event loop (``seabus run``) or on its own (``seabus gateway``)."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web

from seabus.connectors.gateway.app import RouteModule, build_gateway_app
from seabus.connectors.gateway.auth import AgencyAuth
from seabus.connectors.gateway.config import GatewayConfig, gateway_config_path, load_gateway_config
from seabus.connectors.gateway.owners import OwnersIndex
from seabus.connectors.gateway.producer import KafkaGatewayProducer
from seabus.connectors.gateway.state import GATEWAY
from seabus.streams.config import Settings
from seabus.streams.context import BusContext
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import reporting_entities

__all__ = ["GatewayHandle", "serve_gateway", "start_gateway"]

log = structlog.get_logger(__name__)


@dataclass(kw_only=True)
class GatewayHandle:
    """A running gateway; :meth:`stop` closes the listener, then the Kafka producer."""

    runner: web.AppRunner
    producer: KafkaGatewayProducer
    owners: OwnersIndex
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.owners.stop()
        await self.producer.stop()
        log.info("gateway stopped", url=self.url)


async def start_gateway(
    *,
    settings: Settings,
    context: BusContext | None = None,
    host: str | None = None,
    port: int | None = None,
    kafka: KafkaConnection | None = None,
    config: GatewayConfig | None = None,
    config_path: Path | None = None,
    extra_routes: tuple[RouteModule, ...] = (),
) -> GatewayHandle:
    """Connect to Kafka, then listen; raises KafkaUnavailable or GatewayConfigError without listening.

    ``kafka`` defaults to ``settings.connection()`` (``settings.bootstrap`` and ``settings.kafka``); ``port=0`` picks a free port
    (read it from the handle). With the bus's ``context`` (what `seabus run` and `seabus gateway`
    hand it) nothing is read again: the gateway section and the reporting entities come from it.
    """
    known = context.known_entities if context is not None else reporting_entities(settings)
    if config is None:
        # The section loaded at start-up (no file read again), or the file given on the command line.
        config = load_gateway_config(settings, path=config_path, known_entities=known)
    producer = KafkaGatewayProducer(
        kafka=kafka or settings.connection(),
        topic=settings.topic("allegations"),
        request_timeout_ms=int(config.ack_timeout_s * 1000),
    )
    await producer.start()
    try:
        app = build_gateway_app(
            settings=settings,
            producer=producer,
            auth=AgencyAuth.from_agencies(config.agencies),
            config=config,
            known_entities=known,
            extra_routes=extra_routes,
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        bind_host = host or config.host
        site = web.TCPSite(runner, bind_host, config.port if port is None else port)
        await site.start()
    except BaseException:
        await producer.stop()
        raise
    bound = runner.addresses[0][1] if runner.addresses else (config.port if port is None else port)
    owners = app[GATEWAY].owners
    await owners.start(kafka or settings.connection(), settings.topic("owners"))
    handle = GatewayHandle(runner=runner, producer=producer, owners=owners, host=bind_host, port=int(bound))
    if not config.agencies:
        log.warning(
            "gateway has no agency tokens: every request will be refused (401); add some with "
            "`seabus gateway token ENTITY`",
            file=str(config_path or gateway_config_path(settings)),
        )
    log.info("gateway listening", url=handle.url, agencies=len(config.agencies))
    return handle


def serve_gateway(
    *,
    settings: Settings,
    kafka: KafkaConnection,
    host: str | None,
    port: int | None,
    config_path: Path | None,
    extra_routes: tuple[RouteModule, ...] = (),
    context: BusContext | None = None,
) -> None:
    """Run the gateway until SIGINT or SIGTERM (``seabus gateway``)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        handle = await start_gateway(
            settings=settings,
            context=context,
            host=host,
            port=port,
            kafka=kafka,
            config_path=config_path,
            extra_routes=extra_routes,
        )
        try:
            await stop.wait()
        finally:
            await handle.stop()

    asyncio.run(main())
