"""E-mail delivery of one notification or escalation: build the minimal message, send, retry, record.

The notice is built from three facts of the notification (reference, event
type, obligations with due dates) and nothing else; see
:mod:`seabus.connectors.email.notice`. Attempts are numbered and recorded like webhook
attempts, so the audit topic shows e-mail deliveries the same way. The
Message-ID is derived from the notification id, so a notice re-sent after a
crash is recognisable as the same message by mail clients.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage

from seabus.connectors.delivery.plan import EmailTarget
from seabus.connectors.delivery.records import ChannelOutcome, email_attempt_id
from seabus.connectors.email import Obligation, SmtpSender, notice_from_notification, render_email
from seabus.connectors.email.escalation import render_escalation_email
from seabus.connectors.errors import EmailConfigError, EmailPermanentFailure, EmailTemporaryFailure
from seabus.connectors.webhooks import DeliveredStore, RetryPolicy
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome
from seabus.schemas.models import DeliveryAttempt, Escalation, Notification

__all__ = ["EmailDelivery"]

RecordAttempt = Callable[[DeliveryAttempt], Awaitable[None]]


class EmailDelivery:
    """Sends notices through one SMTP relay; ``policy.max_attempts`` bounds attempts per notice."""

    def __init__(
        self,
        *,
        sender: SmtpSender,
        policy: RetryPolicy,
        delivered: DeliveredStore,
        on_attempt: RecordAttempt,
        gateway_url: str,
        clock: Callable[[], datetime],
        notice_base_url: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.sender = sender
        self.policy = policy
        self._delivered = delivered
        self._on_attempt = on_attempt
        self.gateway_url = gateway_url
        self.notice_base_url = notice_base_url
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def notice_message_id(self, note: Notification) -> str:
        domain = self.sender.from_address.rpartition("@")[2] or "seabus.invalid"
        return f"<{note.notification_id}.{note.recipient.lower()}@{domain}>"

    def message(self, target: EmailTarget, note: Notification) -> EmailMessage:
        """The rendered e-mail (raises EmailConfigError when the notice cannot be built)."""
        notice = notice_from_notification(
            {"allegation_id": note.allegation_id, "event_type": note.event_type.value},
            recipient=note.recipient,
            recipient_name=target.recipient_name,
            to_addresses=target.to,
            gateway_url=self.gateway_url,
            time_zone=target.time_zone,
            obligations=[Obligation(kind=o.kind, due_at=o.due_at) for o in note.obligations],
            notice_base_url=self.notice_base_url,
        )
        return render_email(notice, message_id=self.notice_message_id(note), date=self._clock())

    def escalation_message(
        self, target: EmailTarget, e: Escalation, *, recipient: str, page: bool = False
    ) -> EmailMessage:
        domain = self.sender.from_address.rpartition("@")[2] or "seabus.invalid"
        return render_escalation_email(
            e,
            to=target.to,
            addressee=f"on-call ({target.recipient_name})"
            if page
            else f"the focal point of {target.recipient_name} ({recipient})",
            message_id=f"<{e.escalation_id}.{recipient.lower()}@{domain}>",
            date=self._clock(),
            time_zone=target.time_zone,
            gateway_url=None if page else self.gateway_url,
            page=page,
        )

    async def deliver(
        self, target: EmailTarget, note: Notification, *, first_attempt: int = 1
    ) -> ChannelOutcome:
        """Returns once the outcome is final (DELIVERED or FAILED); store and record errors propagate."""
        return await self.send(
            recipient=note.recipient,
            delivery_id=note.notification_id,
            allegation_id=note.allegation_id,
            build=lambda: self.message(target, note),
            first_attempt=first_attempt,
        )

    async def deliver_escalation(
        self,
        target: EmailTarget,
        e: Escalation,
        *,
        recipient: str,
        page: bool = False,
        first_attempt: int = 1,
    ) -> ChannelOutcome:
        """An escalation to ``recipient``'s addresses (``page``: on-call's), once per escalation id."""
        return await self.send(
            recipient=recipient,
            delivery_id=e.escalation_id,
            allegation_id=e.allegation_id,
            build=lambda: self.escalation_message(target, e, recipient=recipient, page=page),
            first_attempt=first_attempt,
        )

    async def send(
        self,
        *,
        recipient: str,
        delivery_id: str,
        allegation_id: str,
        build: Callable[[], EmailMessage],
        first_attempt: int = 1,
    ) -> ChannelOutcome:
        """Send what ``build`` makes, with retries, recording every attempt under ``delivery_id``."""
        nid = delivery_id
        if await self._delivered.is_delivered(recipient, nid):
            return ChannelOutcome(
                channel=DeliveryChannel.EMAIL,
                outcome=DeliveryOutcome.DELIVERED,
                reason="already delivered; not sent again",
                duplicate=True,
            )

        async def record(attempt: int, outcome: DeliveryOutcome, at: datetime, error: str | None) -> None:
            await self._on_attempt(
                DeliveryAttempt(
                    attempt_id=email_attempt_id(recipient, nid, attempt),
                    notification_id=nid,
                    allegation_id=allegation_id,
                    recipient=recipient,
                    channel=DeliveryChannel.EMAIL,
                    attempt=attempt,
                    outcome=outcome,
                    error=error,
                    attempted_at=at,
                )
            )

        def final(outcome: DeliveryOutcome, reason: str | None, tries: int) -> ChannelOutcome:
            return ChannelOutcome(
                channel=DeliveryChannel.EMAIL, outcome=outcome, reason=reason, attempts=tries
            )

        try:
            message = build()
        except EmailConfigError as exc:
            await record(first_attempt, DeliveryOutcome.FAILED, self._clock(), str(exc))
            return final(DeliveryOutcome.FAILED, str(exc), 1)
        tries = 0
        while True:
            tries += 1
            attempt = first_attempt + tries - 1
            now = self._clock()
            try:
                await self.sender.send(message)
            except EmailPermanentFailure as exc:
                await record(attempt, DeliveryOutcome.FAILED, now, str(exc))
                return final(DeliveryOutcome.FAILED, str(exc), tries)
            except EmailTemporaryFailure as exc:
                if tries >= self.policy.max_attempts:
                    reason = f"no SMTP relay took the notice after {tries} attempt(s), last: {exc}"
                    await record(attempt, DeliveryOutcome.FAILED, now, reason)
                    return final(DeliveryOutcome.FAILED, reason, tries)
                await record(attempt, DeliveryOutcome.RETRYING, now, str(exc))
                await self._sleep(self.policy.delay_for(tries, None, self._rng))
                continue
            await self._delivered.mark_delivered(recipient, nid, now)
            await record(attempt, DeliveryOutcome.DELIVERED, now, None)
            return final(DeliveryOutcome.DELIVERED, None, tries)
