"""A real SMTP server on 127.0.0.1 that keeps what it receives, for tests and demos.

Built on ``aiosmtpd`` (a development dependency; import this module only from
tests). It listens on an ephemeral port, can offer STARTTLS with a given
certificate, and can require authentication (only over TLS).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["CapturedMessage", "CapturingSmtpServer"]


@dataclass(frozen=True, kw_only=True)
class CapturedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    encrypted: bool
    authenticated_as: str | None


class _Handler:
    def __init__(self, rcpt_reply: str | None) -> None:
        self.messages: list[CapturedMessage] = []
        self.lock = threading.Lock()
        self.rcpt_reply = rcpt_reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        captured = CapturedMessage(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(str(r) for r in envelope.rcpt_tos),
            content=bytes(envelope.original_content or envelope.content),
            encrypted=session.ssl is not None,
            authenticated_as=str(session.auth_data) if session.authenticated else None,
        )
        with self.lock:
            self.messages.append(captured)
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """aiosmtpd's Controller, but bound to port 0 and reporting the port it got."""

    def _trigger_server(self) -> None:
        server = self.server
        assert isinstance(server, asyncio.Server)
        self.port = int(server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]


class CapturingSmtpServer:
    """``with CapturingSmtpServer() as smtp: ... smtp.messages``.

    ``tls_context`` makes the server offer STARTTLS; ``credentials`` (login,
    password) makes it require AUTH, which aiosmtpd only allows after STARTTLS;
    ``rcpt_reply`` (e.g. ``"550 5.1.1 unknown user"``) answers every RCPT TO.
    """

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        rcpt_reply: str | None = None,
    ) -> None:
        self._handler = _Handler(rcpt_reply)
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": 0}
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
        if credentials is not None:
            kwargs["authenticator"] = _authenticator(credentials)
            kwargs["auth_required"] = True
        self._controller = _EphemeralController(self._handler, **kwargs)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[CapturedMessage]:
        with self._handler.lock:
            return list(self._handler.messages)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> CapturingSmtpServer:
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:  # the exception, if any, propagates
        self.stop()


def _authenticator(credentials: tuple[str, str]) -> Any:
    expected_login, expected_password = credentials

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == expected_login
            and data.password.decode() == expected_password
        )
        return AuthResult(success=ok, handled=False, auth_data=expected_login if ok else None)

    return authenticate
