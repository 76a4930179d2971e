"""The delivery service `seabus run` starts: one consumer, a lane per recipient with a push channel and one for on-call.

:class:`Delivery` is the whole thing with a plain ``start()``/``stop()`` (tests
and the benchmark drive it directly); :class:`DeliveryService` is the same as a
``mode.Service`` so the Faust worker starts it after its own start-up and stops
it on the way out. :func:`build_delivery` reads the configuration and checks
every channel before anything connects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import mode
import structlog

from seabus.connectors.delivery.audit import AuditIndex, ChannelDelivered
from seabus.connectors.delivery.config import DeliveryConfig
from seabus.connectors.delivery.consumer import DeliveryConsumer, Lane, Route
from seabus.connectors.delivery.email_channel import EmailDelivery
from seabus.connectors.delivery.pager import OncallPlan, Pager, plan_oncall
from seabus.connectors.delivery.pipeline import DeliveryPipeline
from seabus.connectors.delivery.plan import RecipientPlan, plan_delivery
from seabus.connectors.delivery.sink import RecordSink
from seabus.connectors.email import SmtpSender
from seabus.connectors.webhooks import WebhookDeliverer
from seabus.connectors.webhooks.ssrf import GetAddrInfo
from seabus.schemas.codec import Codec
from seabus.schemas.enums import DeliveryChannel
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

__all__ = ["Delivery", "DeliveryService", "build_delivery"]

log = structlog.get_logger(__name__)

DEFAULT_WEBHOOK_ATTEMPTS = 8


class Delivery:
    """Lanes, the shared deliverer and SMTP sender, the audit index and the record sink."""

    def __init__(
        self,
        *,
        settings: Settings,
        kafka: KafkaConnection,
        plans: list[RecipientPlan],
        config: DeliveryConfig,
        codec: Codec,
        clock: Callable[[], datetime],
        gateway_url: str,
        oncall: OncallPlan | None = None,
        notice_base_url: str | None = None,
        getaddrinfo: GetAddrInfo | None = None,
    ) -> None:
        self.settings = settings
        self.kafka = kafka
        self.plans = plans
        self.oncall = oncall
        self.pager: Pager | None = None
        self.config = config
        self.gateway_url = gateway_url
        self.notice_base_url = notice_base_url
        self.index = AuditIndex()
        self.consumers: list[DeliveryConsumer] = []
        self.pipeline: DeliveryPipeline | None = None
        self._codec = codec
        self._clock = clock
        self._getaddrinfo = getaddrinfo
        self._sink = RecordSink(kafka=kafka, topic_for=settings.topic)
        self._deliverer: WebhookDeliverer | None = None

    async def catch_up(self) -> int:
        return await self.index.catch_up(
            kafka=self.kafka, topic=self.settings.topic("audit"), codec=self._codec
        )

    async def start(self) -> None:
        await self._sink.start()
        try:
            read = await self.catch_up()
            every = [*self.plans, *([self.oncall.plan] if self.oncall else [])]
            pipeline = self.pipeline = DeliveryPipeline(
                codec=self._codec,
                clock=self._clock,
                sink=self._sink,
                index=self.index,
                plans=every,
                max_bytes=self.settings.max_message_bytes,
            )
            if any(p.webhook for p in every):
                self._deliverer = pipeline.webhooks = WebhookDeliverer(
                    policy=self.config.retry.policy(max_attempts=DEFAULT_WEBHOOK_ATTEMPTS),
                    on_attempt=pipeline.on_webhook_attempt,
                    delivered=ChannelDelivered(self.index, DeliveryChannel.WEBHOOK),
                    endpoint_states=self.index.endpoint_states,
                    clock=self._clock,
                    max_in_flight=self.config.max_in_flight,
                    getaddrinfo=self._getaddrinfo,
                )
            if any(p.email for p in every):
                smtp = self.config.smtp
                assert smtp.host is not None  # plan_delivery refused e-mail channels without a relay
                pipeline.email = EmailDelivery(
                    sender=SmtpSender(
                        host=smtp.host,
                        port=smtp.port,
                        from_address=smtp.from_address,
                        username=smtp.username,
                        password=self.config.smtp_password if smtp.username else None,
                        starttls=smtp.starttls,
                        timeout_s=smtp.timeout_s,
                    ),
                    policy=self.config.retry.policy(max_attempts=self.config.email.max_attempts),
                    delivered=ChannelDelivered(self.index, DeliveryChannel.EMAIL),
                    on_attempt=pipeline.record_attempt,
                    gateway_url=self.gateway_url,
                    clock=self._clock,
                    notice_base_url=self.notice_base_url,
                )
            routes = [
                Route(topic=self.settings.notify_topic(plan.recipient), plan=plan, processor=pipeline)
                for plan in self.plans
            ]
            if self.oncall is not None:
                self.pager = Pager(
                    pipeline=pipeline,
                    oncall=self.oncall,
                    codec=self._codec,
                    max_bytes=self.settings.max_message_bytes,
                )
                routes.append(
                    Route(
                        topic=self.settings.topic("escalations"), plan=self.oncall.plan, processor=self.pager
                    )
                )
            await self.start_consumers(routes)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "delivery started",
            recipients={p.recipient: list(p.channels) for p in self.plans},
            oncall=list(self.oncall.plan.channels) if self.oncall else [],
            audit_records_read=read,
        )

    async def start_consumers(self, routes: list[Route]) -> None:
        """One consumer in group ``<app_id>-delivery`` for every route (bench/delivery overrides this)."""
        consumer = self.consumer(routes, group_id=f"{self.settings.app_id}-delivery")
        self.consumers.append(consumer)
        await consumer.start()

    def consumer(self, routes: list[Route], *, group_id: str) -> DeliveryConsumer:
        return DeliveryConsumer(
            routes=routes,
            kafka=self.kafka,
            group_id=group_id,
            catch_up=self.catch_up,
            session_timeout_s=self.settings.consumer_session_timeout_s,
            legacy_groups={
                r.topic: f"{self.settings.app_id}-delivery-{r.plan.recipient}"
                for r in routes
                if group_id != f"{self.settings.app_id}-delivery-{r.plan.recipient}"
            },
        )

    @property
    def lanes(self) -> list[Lane]:
        """Every recipient's lane (and on-call's, last), across consumers."""
        return [lane for consumer in self.consumers for lane in consumer.lanes]

    async def stop(self) -> None:
        consumers, self.consumers = self.consumers, []
        await asyncio.gather(
            *(c.stop(grace_s=self.config.shutdown_grace_s) for c in consumers), return_exceptions=True
        )
        if self._deliverer is not None:
            await self._deliverer.close()
            self._deliverer = None
        await self._sink.stop()


class DeliveryService(mode.Service):
    """:class:`Delivery` as a service of the Faust worker."""

    def __init__(self, *, delivery: Delivery) -> None:
        self.delivery = delivery
        super().__init__()

    async def on_start(self) -> None:
        await self.delivery.start()

    async def on_stop(self) -> None:
        await self.delivery.stop()


def _gateway_url(settings: Settings) -> str:
    gateway = settings.gateway_config()
    if gateway.public_url:
        return gateway.public_url
    host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::", "") else gateway.host
    return f"http://{host}:{gateway.port}"


def build_delivery(
    *,
    settings: Settings,
    kafka: KafkaConnection,
    directory: RecipientsDirectory,
    codec: Codec,
    clock: Callable[[], datetime],
    config: DeliveryConfig | None = None,
) -> Delivery | None:
    """The configured delivery, or None when it is disabled or no recipient has a push channel.

    Raises :class:`~seabus.connectors.errors.DeliveryConfigError` for an unusable file or channel.
    """
    config = config or settings.delivery  # the section read at start-up
    if not config.enabled:
        log.info("push delivery disabled in the configuration", file=str(config.source))
        return None
    plans = plan_delivery(
        directory, config=config, recipients_file=settings.resolve(settings.recipients_file)
    )
    oncall = plan_oncall(config)
    if oncall is None:
        log.warning(
            "on-call is not paged: no oncall webhook or e-mail in the delivery configuration",
            file=str(config.source),
        )
    if not plans and oncall is None:
        return None
    emails = any(p.email for p in plans)
    gateway_url = config.email.gateway_url or (_gateway_url(settings) if emails else "")
    # Links to formal notices only under the gateway's configured public address (never a guessed one).
    notice_base_url = settings.gateway_config().public_url if emails else None
    return Delivery(
        settings=settings,
        kafka=kafka,
        plans=plans,
        config=config,
        codec=codec,
        clock=clock,
        gateway_url=gateway_url,
        oncall=oncall,
        notice_base_url=notice_base_url,
    )
