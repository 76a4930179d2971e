"""The e-mail notice: the only facts an e-mail may carry, and how it reads.

E-mail crosses systems the bus does not control, so a notice names the
allegation reference, what is asked and by when, how to reply, and where the
formal notice (the Note Verbale of :mod:`seabus.connectors.notices`) is served, and
nothing else. :class:`EmailNotice` has no field for a narrative, a subject, a victim
or a location, and rejects unknown fields, so confidential content cannot be
handed to the renderer by mistake; :func:`notice_from_notification` reads a
short whitelist of keys from a full notification and ignores the rest.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from seabus.connectors.errors import EmailConfigError
from seabus.connectors.notices.content import notice_path
from seabus.connectors.notices.labels import ASKED
from seabus.schemas.enums import ObligationKind

__all__ = [
    "EmailNotice",
    "Obligation",
    "ObligationKind",
    "default_reply_instructions",
    "notice_from_notification",
    "render_email",
    "render_text",
]


# The contract's own enum (every kind a notification can carry), re-exported under its old name here.
_WHAT_IS_ASKED = {kind: text["en"] for kind, text in ASKED.items()}

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _one_line(value: str) -> str:
    if any(c in value for c in "\r\n\x00"):
        raise ValueError("must be a single line")
    return value


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a plain e-mail address (local@domain)")
    return value


def _time_zone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from exc
    return value


def _gateway(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def _optional_gateway(value: str | None) -> str | None:
    return None if value is None else _gateway(value)


OneLine = Annotated[str, AfterValidator(_one_line)]
Address = Annotated[str, AfterValidator(_address)]


class Obligation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ObligationKind
    due_at: AwareDatetime


class EmailNotice(BaseModel):
    """Everything an e-mail notice may say; there is deliberately no room for more."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: Annotated[str, Field(pattern=r"^([A-Z]{3}|OSC|OIOS|VRA)$")]
    recipient_name: Annotated[OneLine, Field(min_length=1, max_length=200)]
    to_addresses: Annotated[tuple[Address, ...], Field(min_length=1)]
    allegation_ref: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$")]
    event_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
    obligations: tuple[Obligation, ...] = ()
    reply_instructions: Annotated[str, Field(min_length=1, max_length=2000)]
    gateway_url: Annotated[str, AfterValidator(_gateway)]
    time_zone: Annotated[str | None, AfterValidator(_time_zone)] = None
    notice_url: Annotated[str | None, AfterValidator(_optional_gateway)] = None
    """The formal notice's address, when the gateway's public URL is configured."""
    notice_path: Annotated[
        str | None, Field(pattern=r"^/v1/recipients/[A-Z]{3,4}/notices/[A-Za-z0-9%._~-]{1,240}$")
    ] = None
    """The formal notice's path on the gateway, told when there is no public URL to link to."""


def default_reply_instructions(*, gateway_url: str, allegation_ref: str) -> str:
    """How a recipient without its own system answers: the gateway or the CLI."""
    base = gateway_url.rstrip("/")
    return (
        "Reply through the seabus gateway with the token issued to your office:\n"
        f"  POST {base}/v1/responses\n"
        "  Authorization: Bearer <your token>\n"
        f"naming the reference {allegation_ref} and the obligation you are answering,\n"
        "or from a terminal with the seabus command line: seabus respond\n"
        "(see 'seabus respond --help')."
    )


def _format_due(due: datetime, zone: str | None) -> str:
    utc = due.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if zone is None or zone == "UTC":
        return utc
    local = due.astimezone(ZoneInfo(zone))
    return f"{utc} ({local.strftime('%Y-%m-%d %H:%M')} {zone} time)"


def render_text(notice: EmailNotice) -> str:
    """The plain-text body: reference, obligations with due dates, how to reply."""
    lines = [
        f"To the focal point of {notice.recipient_name} ({notice.recipient}),",
        "",
        "The United Nations notification bus on sexual exploitation and abuse has a",
        "notification for you. For confidentiality its content is not sent by e-mail.",
        "",
        f"Allegation reference: {notice.allegation_ref}",
        f"Notification type:    {notice.event_type}",
        "",
    ]
    if notice.obligations:
        lines.append("What is asked of you, and by when:")
        for ob in sorted(notice.obligations, key=lambda o: o.due_at):
            asked = f"{ob.kind.value}: {_WHAT_IS_ASKED[ob.kind]}"
            lines.append(textwrap.fill(asked, 76, initial_indent="  - ", subsequent_indent="    "))
            lines.append(f"    due {_format_due(ob.due_at, notice.time_zone)}")
    else:
        lines.append("Nothing is asked of you by a due date for this notification.")
    if notice.notice_url:
        lines += [
            "",
            "The formal notice (Note Verbale, in English and French, HTML or PDF) is at:",
            f"  {notice.notice_url}",
            "Fetch it with the reply token issued to your office (Authorization: Bearer <your token>).",
        ]
    elif notice.notice_path:
        lines += [
            "",
            "The formal notice (Note Verbale, in English and French, HTML or PDF) is served by the",
            "seabus gateway to the reply token issued to your office:",
            f"  GET {notice.notice_path}",
            "  Authorization: Bearer <your token>",
            "Ask the bus operators for the gateway's address if you do not have it.",
        ]
    lines += [
        "",
        "To read the notification and to reply:",
        notice.reply_instructions,
        "",
        f"Gateway: {notice.gateway_url}",
        "",
        "This message is generated automatically; do not reply to it by e-mail.",
    ]
    return "\n".join(lines) + "\n"


def render_email(
    notice: EmailNotice,
    *,
    from_address: str | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """The notice as a plain-text e-mail (no attachments, no HTML, no tracking)."""
    message = EmailMessage()
    message["Subject"] = f"[seabus] Allegation {notice.allegation_ref}: notification"
    message["To"] = ", ".join(notice.to_addresses)
    if from_address is not None:
        message["From"] = _address(from_address)
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain="seabus.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(notice))
    return message


def _due_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)  # Avro timestamp-millis
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise ValueError(f"due_at {value!r} is not a datetime, ISO-8601 text or epoch milliseconds")


def _obligations_from(raw: Any) -> list[Obligation]:
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ValueError("'obligations' must be a list of {kind, due_at}")
    result = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise ValueError("each obligation must be a mapping with kind and due_at")
        result.append(Obligation(kind=item["kind"], due_at=_due_at(item["due_at"])))
    return result


def notice_from_notification(
    notification: Mapping[str, Any],
    *,
    recipient: str,
    recipient_name: str,
    to_addresses: Sequence[str],
    gateway_url: str,
    time_zone: str | None = None,
    obligations: Sequence[Obligation] | None = None,
    reply_instructions: str | None = None,
    notice_base_url: str | None = None,
) -> EmailNotice:
    """Build a notice from a full notification, reading only what an e-mail may carry.

    Keys read: ``allegation_id``, ``event_type`` (or ``type``) and, unless
    ``obligations`` is given, ``obligations`` as a list of ``{kind, due_at}``.
    Every other key (narrative, subjects, victims, location...) is ignored.
    ``notice_base_url`` (the gateway's ``public_url``) makes the e-mail link to
    the formal notice; without it the e-mail names the notice's path instead.
    """
    try:
        ref = notification["allegation_id"]
    except KeyError as exc:
        raise EmailConfigError(
            "the notification has no allegation_id, so no e-mail notice can name it; "
            "check the notification's schema"
        ) from exc
    event_type = notification.get("event_type") or notification.get("type") or "notification"
    path = notice_path(recipient, str(ref))
    try:
        chosen = (
            list(obligations)
            if obligations is not None
            else _obligations_from(notification.get("obligations"))
        )
        return EmailNotice(
            recipient=recipient,
            recipient_name=recipient_name,
            to_addresses=tuple(to_addresses),
            allegation_ref=str(ref),
            event_type=str(event_type),
            obligations=tuple(chosen),
            reply_instructions=reply_instructions
            or default_reply_instructions(gateway_url=gateway_url, allegation_ref=str(ref)),
            gateway_url=gateway_url,
            time_zone=time_zone,
            notice_path=path,
            notice_url=f"{notice_base_url.rstrip('/')}{path}" if notice_base_url else None,
        )
    except (ValidationError, ValueError, KeyError) as exc:
        raise EmailConfigError(
            f"cannot build the e-mail notice for {recipient} about {ref}: {exc}; "
            "fix the recipient's e-mail settings or the notification"
        ) from exc
