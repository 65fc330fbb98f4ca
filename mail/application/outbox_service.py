"""Delivery of the emails in the outbox: forward after the hand-off, deliver, retry, relay, prune.

Every step claims the email first (see ``mail/domain/outbox_email.py``), so
any number of web processes, workers and relays may run these at once: an
email is sent by one of them at a time, and never again once marked sent.
"""

import enum
import logging
from datetime import datetime, timedelta

from common.clock import Clock
from common.ids import IdGenerator
from mail.application.ports import (
    EmailPublisher,
    EmailRenderer,
    EmailSender,
    MailUnitOfWork,
    OutgoingEmail,
    QueuedEmail,
)
from mail.domain.errors import EmailDeliveryFailed, EmailPublishFailed
from mail.domain.outbox_email import DeliveryPolicy, OutboxEmail

logger = logging.getLogger(__name__)

RELAY_BATCH_SIZE = 20
PRUNE_BATCH_SIZE = 500


class DeliveryOutcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed, will retry"
    REFUSED = "refused for good: FAILED"
    ALREADY_SENT = "already sent"
    CLAIMED_ELSEWHERE = "claimed by another sender, or not due"
    MISSING = "not in the outbox"


class OutboxService:
    """``publisher`` is the broker (Celery mode); without one, emails are delivered in this process.

    ``retention``: how long a ``SENT`` email stays in the outbox before the relay deletes it.
    """

    def __init__(
        self,
        *,
        uow: MailUnitOfWork,
        sender: EmailSender,
        renderer: EmailRenderer,
        publisher: EmailPublisher | None,
        clock: Clock,
        ids: IdGenerator,
        policy: DeliveryPolicy,
        retention: timedelta = timedelta(days=30),
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._renderer = renderer
        self._publisher = publisher
        self._clock = clock
        self._ids = ids
        self._policy = policy
        self._retention = retention

    def forward(self, email: QueuedEmail) -> None:
        """A handed-off email: publish it (broker) or deliver it here (no broker). Never raises:
        whatever goes wrong, the email stays pending in the outbox and the relay tries again."""
        try:
            if self._publisher is None:
                self.deliver(outbox_id=email.outbox_id, claim=email.claim)
                return
            try:
                self._publisher.publish(email)
            except EmailPublishFailed as error:
                logger.warning(
                    "email not handed to the broker; the relay will forward it: %s",
                    error,
                    extra={"outbox_id": email.outbox_id},
                )
                self._release(email)
        except Exception:
            logger.exception("email forwarding failed; it stays in the outbox", extra={"outbox_id": email.outbox_id})

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
            return self._record_failure(email, claim=claim, error=error)
        with self._uow as uow:
            # Written whatever happened to the claim meanwhile: the server has the email.
            email.mark_sent(self._clock.now())
            uow.outbox.save(email)
            uow.commit()
        logger.info("email sent", extra={"outbox_id": email.id, "attempts": email.attempts, "kind": email.kind.value})
        return DeliveryOutcome.SENT

    def relay_pass(self, *, limit: int = RELAY_BATCH_SIZE) -> int:
        """One pass of the relay: forward the pending emails whose time has come, then prune; how many were taken."""
        taken = self.relay(limit=limit)
        self.prune()
        return taken

    def relay(self, *, limit: int = RELAY_BATCH_SIZE) -> int:
        """Forward again the pending emails whose time has come; how many were taken."""
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
            self.forward(email)
        return len(queued)

    def prune(self, *, batch_size: int = PRUNE_BATCH_SIZE) -> int:
        """Delete the ``SENT`` emails older than the retention, one short transaction per batch; how many."""
        cutoff = self._clock.now() - self._retention
        deleted = 0
        while True:
            with self._uow as uow:
                count = uow.outbox.delete_sent_before(cutoff, limit=batch_size)
                uow.commit()
            deleted += count
            if count < batch_size:
                break
        if deleted:
            logger.info("outbox pruned", extra={"deleted_emails": deleted, "sent_before": cutoff.isoformat()})
        return deleted

    def pending_count(self) -> int:
        with self._uow as uow:
            return uow.outbox.count_pending()

    def _start_attempt(self, outbox_id: str, claim: str) -> OutboxEmail | DeliveryOutcome:
        now = self._clock.now()
        with self._uow as uow:
            email = uow.outbox.get_for_update(outbox_id) or self._once_free_if_ours(uow, outbox_id, claim, now)
            if email is None:
                return DeliveryOutcome.MISSING
            if email.is_sent:
                return DeliveryOutcome.ALREADY_SENT
            if not email.may_be_claimed_by(claim, now):
                return DeliveryOutcome.CLAIMED_ELSEWHERE
            email.start_attempt(claim=claim, now=now, lease=self._policy.lease)
            uow.outbox.save(email)
            uow.commit()
        return email

    @staticmethod
    def _once_free_if_ours(uow: MailUnitOfWork, outbox_id: str, claim: str, now: datetime) -> OutboxEmail | None:
        """An email absent or locked this instant: as read, unlocked, unless ``claim`` may take it (then
        the checks turn it away); if it may, locked, once the short transaction holding it (another
        digest planner's duplicate-key check, say) ends, rather than left to the relay's next pass."""
        current = uow.outbox.get(outbox_id)
        if current is None or not current.may_be_claimed_by(claim, now):
            return current
        return uow.outbox.get_for_update(outbox_id, skip_locked=False)

    def _record_failure(self, email: OutboxEmail, *, claim: str, error: Exception) -> DeliveryOutcome:
        known = isinstance(error, EmailDeliveryFailed)
        permanent = isinstance(error, EmailDeliveryFailed) and error.permanent
        description = error.reason if isinstance(error, EmailDeliveryFailed) else f"{type(error).__name__}: {error}"
        with self._uow as uow:
            current = uow.outbox.get_for_update(email.id, skip_locked=False)
            # Only while the claim is still ours: after the lease ran out someone else may hold it.
            if current is not None and not current.is_sent and current.claimed_by == claim:
                if permanent:
                    current.mark_failed(reason=description)
                else:
                    current.record_failure(error=description, now=self._clock.now(), policy=self._policy)
                uow.outbox.save(current)
                uow.commit()
                email = current
        extra = {"outbox_id": email.id, "attempts": email.attempts}
        if permanent:
            logger.warning("email refused for good, not retried: %s", description, extra=extra)
            return DeliveryOutcome.REFUSED
        extra["next_attempt_at"] = email.next_attempt_at.isoformat()
        if known:
            logger.warning("email not sent, will retry: %s", description, extra=extra)
        else:
            logger.error("email not sent, will retry", exc_info=error, extra=extra)
        return DeliveryOutcome.FAILED

    def _release(self, email: QueuedEmail) -> None:
        with self._uow as uow:
            current = uow.outbox.get_for_update(email.outbox_id, skip_locked=False)
            if current is not None and current.release(claim=email.claim, now=self._clock.now()):
                uow.outbox.save(current)
                uow.commit()
