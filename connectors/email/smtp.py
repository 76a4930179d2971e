"""Send a rendered notice over SMTP, encrypted with STARTTLS whenever possible.

The standard library's ``smtplib`` runs in a worker thread (``asyncio.to_thread``)
so the event loop never blocks and no extra dependency is needed. Failures are
sorted for the caller: :class:`EmailTemporaryFailure` (retry later: a 4xx
reply, a lost connection, a timeout) or :class:`EmailPermanentFailure` (fix the
configuration: a 5xx reply, STARTTLS required but not offered, a certificate
that does not verify).
"""

from __future__ import annotations

import asyncio
import copy
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Literal

from seabus.connectors.errors import (
    EmailConfigError,
    EmailDeliveryError,
    EmailPermanentFailure,
    EmailTemporaryFailure,
)
from seabus.schemas.clock import Now, utc_now

__all__ = ["EmailReceipt", "SmtpSender", "StartTls"]

StartTls = Literal["auto", "require", "off"]


@dataclass(frozen=True, kw_only=True)
class EmailReceipt:
    """What the SMTP server accepted: the audit record of an e-mail delivery."""

    message_id: str
    accepted: tuple[str, ...]
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    sent_at: datetime
    encrypted: bool


def _reply_text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


class SmtpSender:
    """One SMTP relay. ``starttls``: ``auto`` upgrades when the server offers it,
    ``require`` refuses to send otherwise, ``off`` never upgrades.

    Credentials are only ever sent over an encrypted connection.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        starttls: StartTls = "auto",
        timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        clock: Now = utc_now,
    ) -> None:
        if starttls not in ("auto", "require", "off"):
            raise EmailConfigError(f"smtp starttls must be auto, require or off, not {starttls!r}")
        if (username is None) != (password is None):
            raise EmailConfigError("smtp username and password must be given together")
        if username is not None and starttls == "off":
            raise EmailConfigError(
                "smtp credentials are configured with starttls off; they would cross the "
                "network in clear. Set starttls to require"
            )
        self.host = host
        self.port = port
        self.from_address = from_address
        self._username = username
        self._password = password
        self.starttls: StartTls = starttls
        self.timeout_s = timeout_s
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._clock = clock

    def __repr__(self) -> str:
        return f"SmtpSender(host={self.host!r}, port={self.port}, starttls={self.starttls!r})"

    async def send(self, message: EmailMessage) -> EmailReceipt:
        """Hand ``message`` to the relay; ``From`` is filled in when the message has none."""
        outgoing = copy.deepcopy(message)
        if outgoing["From"] is None:
            outgoing["From"] = self.from_address
        return await asyncio.to_thread(self._send_blocking, outgoing)

    def _where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def _send_blocking(self, message: EmailMessage) -> EmailReceipt:
        try:
            return self._transaction(message)
        except EmailDeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {addr: (code, _reply_text(text)) for addr, (code, text) in exc.recipients.items()}
            temporary = any(400 <= code < 500 for code, _ in codes.values())
            kind = EmailTemporaryFailure if temporary else EmailPermanentFailure
            summary = "; ".join(f"{a}: {c} {t}" for a, (c, t) in codes.items())
            raise kind(
                f"the {self._where()} refused every recipient ({summary}); "
                + ("try again later" if temporary else "check the recipient's e-mail address")
            ) from exc
        except smtplib.SMTPResponseException as exc:
            text = _reply_text(exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise EmailTemporaryFailure(
                    f"the {self._where()} answered {exc.smtp_code} {text}; try again later"
                ) from exc
            raise EmailPermanentFailure(
                f"the {self._where()} answered {exc.smtp_code} {text}; check the sender "
                "address, credentials and relay permissions"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise EmailPermanentFailure(
                f"the {self._where()} does not support a step this sender needs ({exc}); "
                "check the relay's settings (AUTH, STARTTLS)"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise EmailPermanentFailure(
                f"the {self._where()} presented a certificate that does not verify "
                f"({exc.verify_message}); fix the certificate or the trusted CA"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise EmailTemporaryFailure(
                f"could not complete the exchange with the {self._where()} "
                f"({type(exc).__name__}: {exc}); try again later"
            ) from exc

    def _transaction(self, message: EmailMessage) -> EmailReceipt:
        with smtplib.SMTP(
            self.host, self.port, timeout=self.timeout_s, local_hostname=self._local_hostname
        ) as smtp:
            smtp.ehlo()
            encrypted = False
            if self.starttls != "off" and smtp.has_extn("starttls"):
                smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                smtp.ehlo()
                encrypted = True
            elif self.starttls == "require":
                raise EmailPermanentFailure(
                    f"the {self._where()} does not offer STARTTLS and this sender requires it; "
                    "enable TLS on the relay or use another relay"
                )
            if self._username is not None and self._password is not None:
                if not encrypted:
                    raise EmailPermanentFailure(
                        f"the {self._where()} did not offer STARTTLS, so the credentials were "
                        "not sent; enable TLS on the relay or set starttls to require"
                    )
                smtp.login(self._username, self._password)
            refused = smtp.send_message(message, from_addr=self.from_address)
        recipients = [a.strip() for a in str(message["To"] or "").split(",") if a.strip()]
        refused_codes = {a: (c, _reply_text(t)) for a, (c, t) in refused.items()}
        return EmailReceipt(
            message_id=str(message["Message-ID"] or ""),
            accepted=tuple(a for a in recipients if a not in refused_codes),
            refused=refused_codes,
            sent_at=self._clock(),
            encrypted=encrypted,
        )
