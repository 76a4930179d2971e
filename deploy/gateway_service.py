"""The HTTP gateway as a service of the worker, so `seabus run` starts and stops it too."""

from __future__ import annotations

import mode
import structlog

from seabus.connectors.gateway import RouteModule, start_gateway
from seabus.connectors.gateway.server import GatewayHandle
from seabus.streams.config import Settings
from seabus.streams.context import BusContext
from seabus.streams.kafka_connection import KafkaConnection

log = structlog.get_logger(__name__)


class GatewayService(mode.Service):
    """Listens while the worker runs; a gateway that cannot start stops the worker with its error."""

    def __init__(
        self,
        *,
        context: BusContext,
        kafka: KafkaConnection,
        extra_routes: tuple[RouteModule, ...] = (),
    ) -> None:
        self.context = context
        self.settings = context.settings
        self.kafka = kafka
        self.extra_routes = extra_routes
        self.handle: GatewayHandle | None = None
        super().__init__()

    @staticmethod
    def enabled(settings: Settings) -> bool:
        """The gateway section says so (a missing gateway file stops start-up here, as always)."""
        return settings.gateway_config().enabled

    async def on_start(self) -> None:
        self.handle = await start_gateway(
            settings=self.settings, context=self.context, kafka=self.kafka, extra_routes=self.extra_routes
        )
        log.info("gateway listening", url=self.handle.url)

    async def on_stop(self) -> None:
        if self.handle is not None:
            await self.handle.stop()
