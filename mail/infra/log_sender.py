"""``EmailSender`` for when no SMTP server is configured: the email goes to the log."""

import logging

from mail.application.ports import EmailSender, OutgoingEmail
from mail.infra.metrics import email_sent

logger = logging.getLogger(__name__)


class LogEmailSender(EmailSender):
    """Writes the headers and the text part (never credentials: the email holds none)."""

    def __init__(self, *, sender: str) -> None:
        self._sender = sender

    def send(self, email: OutgoingEmail) -> None:
        logger.info(
            "email written to the log (SMTP_HOST is unset)",
            extra={
                "outbox_id": email.id,
                "email_from": self._sender,
                "email_to": email.recipient,
                "email_subject": email.subject,
                "email_text": email.text,
            },
        )
        email_sent()
