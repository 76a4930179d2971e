"""E-mail notices for recipients without a system of their own.

:func:`notice_from_notification` keeps only what an e-mail may say,
:func:`render_email` turns it into a plain-text message, :class:`SmtpSender`
sends it (STARTTLS where offered, required when configured).
"""

from seabus.connectors.email.notice import (
    EmailNotice,
    Obligation,
    ObligationKind,
    default_reply_instructions,
    notice_from_notification,
    render_email,
    render_text,
)
from seabus.connectors.email.smtp import EmailReceipt, SmtpSender, StartTls

__all__ = [
    "EmailNotice",
    "EmailReceipt",
    "Obligation",
    "ObligationKind",
    "SmtpSender",
    "StartTls",
    "default_reply_instructions",
    "notice_from_notification",
    "render_email",
    "render_text",
]
