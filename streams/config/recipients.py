"""The recipients directory: who can be notified, and by which channels.

Member States are ISO 3166-1 alpha-3 codes (checked against ``pycountry``);
``OSC``, ``OIOS`` and ``VRA`` are the UN offices. A Member State routed to but
absent from the directory still gets its Kafka topic; it has no push channel,
which the router raises to on-call.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from pydantic_settings import NoDecode

from seabus.schemas.errors import ConfigError
from seabus.streams.config.errors import validate_entries
from seabus.streams.config.yamlfile import read_yaml_mapping

OFFICES = ("OSC", "OIOS", "VRA")


class RecipientKind(StrEnum):
    MEMBER_STATE = "MEMBER_STATE"
    OSC = "OSC"
    OIOS = "OIOS"
    VRA = "VRA"


def recipient_kind(recipient_id: str) -> RecipientKind:
    """Offices are their own class; every other id is a Member State."""
    return RecipientKind(recipient_id) if recipient_id in OFFICES else RecipientKind.MEMBER_STATE


def is_valid_recipient_id(recipient_id: str) -> bool:
    return recipient_id in OFFICES or pycountry.countries.get(alpha_3=recipient_id) is not None


def known_time_zone(v: str, *, example: str) -> str:
    """``v`` if it is an IANA zone name; a ValueError naming an ``example`` otherwise."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {v!r}; use an IANA name such as {example}") from exc
    return v


class WebhookChannel(BaseModel):
    """A Standard Webhooks endpoint. Secrets come from environment variables, never the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    secrets_env: Annotated[list[str], Field(min_length=1)]
    allow_private: bool = False
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=50)

    def secrets(self) -> tuple[str, ...]:
        """Current secrets (several during rotation); missing variables are a ConfigError."""
        missing = [name for name in self.secrets_env if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                f"webhook secret variable(s) {', '.join(missing)} are not set; export them "
                "(whsec_<base64> form) before starting the bus"
            )
        return tuple(os.environ[name] for name in self.secrets_env)


class EmailChannel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # NoDecode + the split below: SEABUS_DELIVERY__ONCALL__EMAIL__TO takes "a@x.org, b@x.org".
    to: Annotated[list[str], Field(min_length=1), NoDecode]

    @field_validator("to", mode="before")
    @classmethod
    def _comma_separated(cls, v: object) -> object:
        return [a.strip() for a in v.split(",") if a.strip()] if isinstance(v, str) else v

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for address in v:
            local, _, domain = address.partition("@")
            if not local or "." not in domain:
                raise ValueError(f"{address!r} is not an e-mail address")
        return v


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka: bool = True
    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    timezone: str = "UTC"
    calendar: str | None = None
    channels: Channels = Channels()
    reply_token_env: str | None = None

    @field_validator("id")
    @classmethod
    def _known_id(cls, v: str) -> str:
        if not is_valid_recipient_id(v):
            raise ValueError(
                f"{v!r} is neither an ISO 3166-1 alpha-3 country code nor one of {', '.join(OFFICES)}"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return known_time_zone(v, example="Europe/Paris")

    @property
    def kind(self) -> RecipientKind:
        return recipient_kind(self.id)


class RecipientsDirectory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recipients: list[Recipient]

    def ids(self) -> list[str]:
        return [r.id for r in self.recipients]

    def get(self, recipient_id: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == recipient_id), None)


def load_recipients(path: Path) -> RecipientsDirectory:
    """Load and validate the directory; every office must be present and ids unique."""
    data = read_yaml_mapping(path, what="recipients directory")
    entries = data.get("recipients")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a 'recipients:' list of entries.")
    validate_entries(path, entries, Recipient, key="id", entry="recipient {}")
    directory = RecipientsDirectory.model_validate(data)
    seen: set[str] = set()
    for r in directory.recipients:
        if r.id in seen:
            raise ConfigError(f"{path}: recipient {r.id} is listed twice; keep one entry per id.")
        seen.add(r.id)
    missing = [office for office in OFFICES if office not in seen]
    if missing:
        raise ConfigError(
            f"{path}: the directory lacks {', '.join(missing)}; every office must be listed "
            "because the routing defaults send to them."
        )
    return directory
