"""``Outbox`` over any outbox repository: what queueing an email means, whatever stores it."""

from collections.abc import Mapping
from datetime import datetime

from common.ids import IdGenerator
from mail.application.ports import Outbox, QueuedEmail
from mail.domain.outbox_email import DeliveryPolicy, EmailKind, OutboxEmail
from mail.domain.repository import OutboxEmailRepository


class RepositoryOutbox(Outbox):
    """Stages a new email, already claimed for its hand-off, in the repository's transaction."""

    def __init__(self, emails: OutboxEmailRepository, *, ids: IdGenerator, policy: DeliveryPolicy) -> None:
        self._emails = emails
        self._ids = ids
        self._policy = policy

    def queue(
        self,
        *,
        kind: EmailKind,
        recipient: str,
        payload: Mapping[str, str],
        now: datetime,
        dedupe_key: str | None = None,
    ) -> QueuedEmail | None:
        email = OutboxEmail.queued(
            id=self._ids.new_id(),
            kind=kind,
            recipient=recipient,
            payload=payload,
            claim=self._ids.new_id(),
            now=now,
            lease=self._policy.lease,
            dedupe_key=dedupe_key,
        )
        if not self._emails.add(email):
            return None
        assert email.claimed_by is not None
        return QueuedEmail(outbox_id=email.id, claim=email.claimed_by)
