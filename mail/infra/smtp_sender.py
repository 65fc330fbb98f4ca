"""``EmailSender`` over SMTP with smtplib: plain, STARTTLS or implicit TLS, optional login.

Every network step is bounded by ``timeout``, and a watchdog closes the
socket once the whole send has taken ``DEADLINE_FACTOR`` times that, so a
send always ends well within the outbox claim's lease.

A refusal of the email for good (a 5xx reply to its recipient or content,
or an address the server cannot take without SMTPUTF8: ``is_permanent``)
is a *permanent* ``EmailDeliveryFailed``: the outbox marks
the email ``FAILED``. Anything else (4xx, no connection, a timeout) is retried.
"""

import contextlib
import logging
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from mail.application.ports import EmailSender, OutgoingEmail
from mail.domain.errors import EmailDeliveryFailed
from mail.infra.metrics import email_failed, email_refused, email_sent

logger = logging.getLogger(__name__)

DEADLINE_FACTOR = 6
Security = Literal["none", "starttls", "ssl"]


def build_message(email: OutgoingEmail, *, sender: str) -> EmailMessage:
    """Plain text with an HTML alternative. The Message-ID comes from the outbox id,
    so every attempt at one email carries the same one."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = email.recipient
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{email.id}@{sender.rpartition('@')[2]}>"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class SmtpEmailSender(EmailSender):
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``tls_context``: how to check the server's certificate (the system's CAs by default)."""
        self._host = host
        self._port = port
        self._sender = sender
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._tls_context = tls_context

    def send(self, email: OutgoingEmail) -> None:
        message = build_message(email, sender=self._sender)
        try:
            self._send(message)
        except (OSError, smtplib.SMTPException) as error:
            permanent = is_permanent(error)
            (email_refused if permanent else email_failed)()
            raise EmailDeliveryFailed(_describe(error), permanent=permanent) from None
        email_sent()

    def _send(self, message: EmailMessage) -> None:
        smtp = self._connect()
        watchdog = threading.Timer(self._timeout * DEADLINE_FACTOR, _abort, args=(smtp,))
        watchdog.daemon = True
        watchdog.start()
        try:
            if self._security == "starttls":
                smtp.starttls(context=self._tls())
            if self._username:
                smtp.login(self._username, self._password or "")
            smtp.send_message(message)  # returns once the server accepted it
        except BaseException:
            smtp.close()
            raise
        finally:
            watchdog.cancel()
        # Accepted: a failing QUIT must not turn this into a failure (and a second email).
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        if self._security == "ssl":
            return smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=self._tls())
        return smtplib.SMTP(self._host, self._port, timeout=self._timeout)

    def _tls(self) -> ssl.SSLContext:
        return self._tls_context or ssl.create_default_context()


def _abort(smtp: smtplib.SMTP) -> None:
    """Called by the watchdog: break the send off, whichever step it is blocked in."""
    sock = smtp.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def is_permanent(error: BaseException) -> bool:
    """Would the server refuse *this email* again, whatever we wait for?

    Yes for a 5xx reply to its recipients (``RCPT``) or its content
    (``DATA``), and for an address it cannot take without SMTPUTF8. No for
    4xx replies, lost connections and timeouts, and for the refusals that
    are about our own configuration rather than the email (a 5xx to the
    login or to the sender address): once the operator fixes it, the emails
    waiting in the outbox go out.
    """
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return True  # e.g. a non-ASCII address and a server without SMTPUTF8
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def _describe(error: BaseException) -> str:
    """What went wrong, for the outbox row and the log (server replies, never credentials)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
        return f"recipient refused: {replies}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply
