"""In-memory fakes of the mail app's ports, subclassing the real ones.

tests/integration/test_outbox_claiming.py runs the same assertions against
these and the SQLAlchemy versions, so they cannot drift apart.
"""

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime

from common.ids import IdGenerator
from mail.application.outbox import RepositoryOutbox
from mail.application.ports import (
    EmailHandoff,
    EmailPublisher,
    EmailRenderer,
    EmailSender,
    MailUnitOfWork,
    OutgoingEmail,
    QueuedEmail,
    RenderedEmail,
)
from mail.domain.errors import EmailDeliveryFailed, EmailPublishFailed
from mail.domain.outbox_email import DeliveryPolicy, EmailKind, EmailStatus, OutboxEmail
from mail.domain.repository import OutboxEmailRepository
from tests.fakes import _replace


class FakeOutboxEmailRepository(OutboxEmailRepository):
    """One process, one transaction at a time: nothing is ever locked by another, so nothing is skipped."""

    def __init__(self, store: dict[str, OutboxEmail]) -> None:
        self._store = store

    def add(self, email: OutboxEmail) -> bool:
        if email.dedupe_key is not None and any(e.dedupe_key == email.dedupe_key for e in self._store.values()):
            return False
        self._store[email.id] = copy.deepcopy(email)
        return True

    def get(self, email_id: str) -> OutboxEmail | None:
        email = self._store.get(email_id)
        return copy.deepcopy(email) if email else None

    def get_for_update(self, email_id: str, *, skip_locked: bool = True) -> OutboxEmail | None:
        return self.get(email_id)

    def due_for_update(self, *, now: datetime, limit: int) -> Sequence[OutboxEmail]:
        due = sorted((e for e in self._store.values() if e.is_due(now)), key=lambda e: (e.next_attempt_at, e.id))
        return [copy.deepcopy(e) for e in due[:limit]]

    def save(self, email: OutboxEmail) -> None:
        if email.id in self._store:
            self._store[email.id] = copy.deepcopy(email)

    def count_pending(self) -> int:
        return sum(1 for e in self._store.values() if e.status is EmailStatus.PENDING)

    def delete_sent_before(self, cutoff: datetime, *, limit: int) -> int:
        old = sorted(
            (e for e in self._store.values() if e.is_sent and e.sent_at is not None and e.sent_at < cutoff),
            key=lambda e: e.sent_at or cutoff,
        )[:limit]
        for email in old:
            del self._store[email.id]
        return len(old)


class FakeOutbox(RepositoryOutbox):
    """The mail app's ``Outbox`` on a fake repository: staged with the caller's fake unit of work."""

    def __init__(self, store: dict[str, OutboxEmail], *, ids: IdGenerator, policy: DeliveryPolicy) -> None:
        super().__init__(FakeOutboxEmailRepository(store), ids=ids, policy=policy)


class FakeMailUnitOfWork(MailUnitOfWork):
    """The mail app's unit of work on ``outbox_state`` (shared with a ``FakeUserUnitOfWork``, say)."""

    def __init__(self, outbox_state: dict[str, OutboxEmail] | None = None) -> None:
        self.outbox_state: dict[str, OutboxEmail] = {} if outbox_state is None else outbox_state
        self.commits = 0

    def __enter__(self) -> "FakeMailUnitOfWork":
        self._work = copy.deepcopy(self.outbox_state)
        self.outbox = FakeOutboxEmailRepository(self._work)
        return self

    def commit(self) -> None:
        _replace(self.outbox_state, self._work)
        self.commits += 1

    def rollback(self) -> None:
        _replace(self._work, self.outbox_state)


class FakeEmailRenderer(EmailRenderer):
    def render(self, *, kind: EmailKind, payload: Mapping[str, str]) -> RenderedEmail:
        name = payload["name"]
        return RenderedEmail(subject=f"{kind.value} subject", text=f"text for {name}", html=f"<p>html for {name}</p>")


class FakeEmailSender(EmailSender):
    """Keeps what it accepted; while ``down`` is set, every send fails with that message (worth
    retrying); while ``refusing`` is set, every send is refused for good with that reply."""

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.down: str | None = None
        self.refusing: str | None = None

    def send(self, email: OutgoingEmail) -> None:
        if self.refusing is not None:
            raise EmailDeliveryFailed(self.refusing, permanent=True)
        if self.down is not None:
            raise EmailDeliveryFailed(self.down)
        self.sent.append(email)


class FakeEmailPublisher(EmailPublisher):
    """A broker: keeps what was published; while ``down``, every publish fails."""

    def __init__(self) -> None:
        self.published: list[QueuedEmail] = []
        self.down = False

    def publish(self, email: QueuedEmail) -> None:
        if self.down:
            raise EmailPublishFailed("ConnectionRefusedError: [Errno 111] Connection refused")
        self.published.append(email)


class FakeEmailHandoff(EmailHandoff):
    """Keeps what was handed off, for the test to forward (or not) when it likes."""

    def __init__(self) -> None:
        self.handed_off: list[QueuedEmail] = []

    def hand_off(self, email: QueuedEmail) -> None:
        self.handed_off.append(email)
