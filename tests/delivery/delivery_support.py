"""Real webhook receivers on a thread of their own, and the files a delivery test bus reads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from support.bus import read_topic
from support.notify import notifications_among

from seabus.connectors.webhooks.testing import Reply, WebhookReceiver
from seabus.schemas.codec import decode_model
from seabus.schemas.models import DeadLetter, DeliveryAttempt, Escalation, Notification, SeabusRecord
from seabus.streams.kafka_connection import KafkaConnection

T = TypeVar("T")
R = TypeVar("R", bound=SeabusRecord)


class ReceiverThread:
    """Webhook receivers served from a private event loop, so a synchronous test can drive a bus.

    ``specs`` maps a name to the receiver's keyword arguments (``secrets``,
    ``replies``, ``default``, ``stall``).
    """

    def __init__(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        self._specs = specs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.receivers: dict[str, WebhookReceiver] = {}

    def __enter__(self) -> ReceiverThread:
        self._thread.start()

        async def start() -> dict[str, WebhookReceiver]:
            made = {name: WebhookReceiver(**dict(spec)) for name, spec in self._specs.items()}
            for receiver in made.values():
                await receiver.start()
            return made

        self.receivers = self.call(start())
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for receiver in self.receivers.values():
                await receiver.stop()

        self.call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def release(self, name: str) -> None:
        self._loop.call_soon_threadsafe(self.receivers[name].release)

    def __getitem__(self, name: str) -> WebhookReceiver:
        return self.receivers[name]


def webhook(url: str, secret_env: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "secrets_env": [secret_env], "allow_private": True, **extra}


def write_recipients(directory: Path, entries: list[dict[str, Any]]) -> Path:
    """A recipients directory with the three offices (no channels) and ``entries``."""
    offices = [{"id": office, "name": f"{office} (test)"} for office in ("OSC", "OIOS", "VRA")]
    path = directory / "recipients.yaml"
    path.write_text(yaml.safe_dump({"recipients": offices + entries}, sort_keys=False))
    return path


def write_delivery(directory: Path, **overrides: Any) -> Path:
    """delivery.yaml with retries paced in tenths of a second."""
    data: dict[str, Any] = {"retry": {"base_delay_s": 0.2, "max_delay_s": 0.5, "jitter": False}}
    data.update(overrides)
    path = directory / "delivery.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def decoded(values: list[bytes], model: type[R], keep: Callable[[R], bool]) -> list[R]:
    return [m for m in (decode_model(v, model) for v in values) if keep(m)]


def notification_for(kafka: KafkaConnection, prefix: str, recipient: str, aid: str) -> Notification:
    def mine(values: list[bytes]) -> list[Notification]:
        return [n for n in notifications_among(values) if n.allegation_id == aid]

    return mine(read_topic(kafka, f"{prefix}.notify.{recipient}", until=lambda vs: bool(mine(vs))))[0]


def attempts(
    kafka: KafkaConnection, prefix: str, until: Callable[[list[DeliveryAttempt]], bool], timeout: float = 60
) -> list[DeliveryAttempt]:
    def parse(values: list[bytes]) -> list[DeliveryAttempt]:
        return [decode_model(v, DeliveryAttempt) for v in values]

    return parse(read_topic(kafka, f"{prefix}.audit", until=lambda vs: until(parse(vs)), timeout=timeout))


def escalations(
    kafka: KafkaConnection, prefix: str, until: Callable[[list[Escalation]], bool], timeout: float = 60
) -> list[Escalation]:
    def parse(values: list[bytes]) -> list[Escalation]:
        return [decode_model(v, Escalation) for v in values]

    return parse(
        read_topic(kafka, f"{prefix}.escalations", until=lambda vs: until(parse(vs)), timeout=timeout)
    )


def dead_letters(
    kafka: KafkaConnection, prefix: str, until: Callable[[list[DeadLetter]], bool], timeout: float = 60
) -> list[DeadLetter]:
    def parse(values: list[bytes]) -> list[DeadLetter]:
        return [decode_model(v, DeadLetter) for v in values]

    return parse(
        read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: until(parse(vs)), timeout=timeout)
    )


__all__ = [
    "ReceiverThread",
    "Reply",
    "attempts",
    "dead_letters",
    "decoded",
    "escalations",
    "notification_for",
    "webhook",
    "write_delivery",
    "write_recipients",
]
