"""Delivery of the emails in the outbox: dispatch after commit, send, retry, relay.

Every step claims the email first (see ``user/domain/outbox_email.py``), so
any number of web processes, workers and relays may run these at once: an
email is sent by one of them at a time, and never again once marked sent.
"""

import enum
import logging

from common.clock import Clock
from common.ids import IdGenerator
from user.application.ports import (
    EmailDeliveryFailed,
    EmailDispatcher,
    EmailDispatchFailed,
    EmailRenderer,
    EmailSender,
    OutgoingEmail,
    QueuedEmail,
    UserUnitOfWork,
)
from user.domain.outbox_email import DeliveryPolicy, OutboxEmail

logger = logging.getLogger(__name__)

RELAY_BATCH_SIZE = 20


class DeliveryOutcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed, will retry"
    ALREADY_SENT = "already sent"
    CLAIMED_ELSEWHERE = "claimed by another sender, or not due"
    MISSING = "not in the outbox"


class EmailOutboxService:
    """``dispatcher`` is the broker (Celery mode); without one, emails are sent in this process."""

    def __init__(
        self,
        *,
        uow: UserUnitOfWork,
        sender: EmailSender,
        renderer: EmailRenderer,
        dispatcher: EmailDispatcher | None,
        clock: Clock,
        ids: IdGenerator,
        policy: DeliveryPolicy,
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._renderer = renderer
        self._dispatcher = dispatcher
        self._clock = clock
        self._ids = ids
        self._policy = policy

    def dispatch(self, email: QueuedEmail) -> None:
        """After the commit: publish the email (broker) or send it here (no broker). Never raises:
        whatever goes wrong, the email stays pending in the outbox and the relay tries again."""
        try:
            if self._dispatcher is None:
                self.deliver(outbox_id=email.outbox_id, claim=email.claim)
                return
            try:
                self._dispatcher.dispatch(email)
            except EmailDispatchFailed as error:
                logger.warning(
                    "email not handed to the broker; the relay will dispatch it: %s",
                    error,
                    extra={"outbox_id": email.outbox_id},
                )
                self._release(email)
        except Exception:
            logger.exception("email dispatch failed; it stays in the outbox", extra={"outbox_id": email.outbox_id})

    def deliver(self, *, outbox_id: str, claim: str) -> DeliveryOutcome:
        """Send one email if it is still pending and ``claim`` may take it; record the outcome."""
        email = self._start_attempt(outbox_id, claim)
        if not isinstance(email, OutboxEmail):
            logger.info("email not sent: %s", email.value, extra={"outbox_id": outbox_id, "claim": claim})
            return email
        try:
            rendered = self._renderer.render(kind=email.kind, payload=email.payload)
            self._sender.send(
                OutgoingEmail(
                    id=email.id,
                    recipient=email.recipient,
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                )
            )
        except Exception as error:
            self._record_failure(email, claim=claim, error=error)
            return DeliveryOutcome.FAILED
        with self._uow as uow:
            # Written whatever happened to the claim meanwhile: the server has the email.
            email.mark_sent(self._clock.now())
            uow.outbox.save(email)
            uow.commit()
        logger.info("email sent", extra={"outbox_id": email.id, "attempts": email.attempts, "kind": email.kind.value})
        return DeliveryOutcome.SENT

    def relay(self, *, limit: int = RELAY_BATCH_SIZE) -> int:
        """Dispatch again the pending emails whose time has come; how many were taken."""
        now = self._clock.now()
        queued: list[QueuedEmail] = []
        with self._uow as uow:
            for email in uow.outbox.due_for_update(now=now, limit=limit):
                claim = self._ids.new_id()
                email.reserve(claim=claim, now=now, lease=self._policy.lease)
                uow.outbox.save(email)
                queued.append(QueuedEmail(outbox_id=email.id, claim=claim))
            uow.commit()
        for email in queued:
            logger.info("relaying a pending email", extra={"outbox_id": email.outbox_id, "claim": email.claim})
            self.dispatch(email)
        return len(queued)

    def pending_count(self) -> int:
        with self._uow as uow:
            return uow.outbox.count_pending()

    def _start_attempt(self, outbox_id: str, claim: str) -> OutboxEmail | DeliveryOutcome:
        now = self._clock.now()
        with self._uow as uow:
            email = uow.outbox.get_for_update(outbox_id)
            if email is None:
                # Absent, or locked this instant by another claimer: tell which.
                current = uow.outbox.get(outbox_id)
                if current is None:
                    return DeliveryOutcome.MISSING
                return DeliveryOutcome.ALREADY_SENT if current.is_sent else DeliveryOutcome.CLAIMED_ELSEWHERE
            if email.is_sent:
                return DeliveryOutcome.ALREADY_SENT
            if not email.may_be_claimed_by(claim, now):
                return DeliveryOutcome.CLAIMED_ELSEWHERE
            email.start_attempt(claim=claim, now=now, lease=self._policy.lease)
            uow.outbox.save(email)
            uow.commit()
        return email

    def _record_failure(self, email: OutboxEmail, *, claim: str, error: Exception) -> None:
        description = str(error) if isinstance(error, EmailDeliveryFailed) else f"{type(error).__name__}: {error}"
        with self._uow as uow:
            current = uow.outbox.get_for_update(email.id, skip_locked=False)
            # Only while the claim is still ours: after the lease ran out someone else may hold it.
            if current is not None and not current.is_sent and current.claimed_by == claim:
                current.record_failure(error=description, now=self._clock.now(), policy=self._policy)
                uow.outbox.save(current)
                uow.commit()
                email = current
        extra = {
            "outbox_id": email.id,
            "attempts": email.attempts,
            "next_attempt_at": email.next_attempt_at.isoformat(),
        }
        if isinstance(error, EmailDeliveryFailed):
            logger.warning("email not sent, will retry: %s", description, extra=extra)
        else:
            logger.error("email not sent, will retry", exc_info=error, extra=extra)

    def _release(self, email: QueuedEmail) -> None:
        with self._uow as uow:
            current = uow.outbox.get_for_update(email.outbox_id, skip_locked=False)
            if current is not None and current.release(claim=email.claim, now=self._clock.now()):
                uow.outbox.save(current)
                uow.commit()
