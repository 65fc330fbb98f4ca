"""The weekly digest (SPEC §14): which accounts are due, and one account's digest, queued in the outbox.

Exactly once per account and ISO week, however many schedulers race: the
email carries the outbox dedupe key ``digest:<user>:<week>``, so of several
transactions queueing it only the first one stages an email. The week is
also recorded in ``digest_weeks`` in the same transaction, so later passes
skip the account without building its digest again (and a digest pruned from
the outbox after ``OUTBOX_RETENTION_DAYS`` is not sent again).
"""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from common.clock import Clock
from mail.application.ports import EmailHandoff
from mail.domain.outbox_email import EmailKind
from note.application.ports import DigestRecipient, NoteUnitOfWork
from note.application.remembering_service import RememberingService, group_by_years_ago
from note.domain.digest import DigestWeek, digest_dedupe_key, digest_week
from note.domain.note import Note, format_memo_date

logger = logging.getLogger(__name__)

RECIPIENT_BATCH = 500


@dataclass(frozen=True, slots=True)
class DigestContent:
    week_notes: list[Note]
    on_this_day: list[tuple[int, Note]]  # (years ago, note), newest year first
    due_count: int

    @property
    def is_empty(self) -> bool:
        return not self.week_notes and not self.on_this_day and not self.due_count


class DigestService:
    """``emails``: where a queued digest is handed off after its commit (the mail app's ``EmailHandoff``)."""

    def __init__(
        self, *, uow: NoteUnitOfWork, clock: Clock, emails: EmailHandoff, batch_size: int = RECIPIENT_BATCH
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._emails = emails
        self._batch_size = batch_size

    def due_accounts(self) -> Iterator[list[str]]:
        """Batches of ids of the accounts whose digest of this week is due and not dealt with yet."""
        now = self._clock.now()
        after_id: str | None = None
        while True:
            with self._uow as uow:
                batch = list(uow.digest_recipients.weekly(after_id=after_id, limit=self._batch_size))
            due = [recipient.user_id for recipient in batch if _due(recipient, now)]
            if due:
                yield due
            if len(batch) < self._batch_size:
                return
            after_id = batch[-1].user_id

    def send_digest(self, user_id: str) -> bool:
        """Queue (and hand off) this week's digest of the account if it is due; ``True`` if an email was queued.

        One transaction: the email and the week's record commit together. Nothing to show: no email,
        and the week is recorded all the same."""
        now = self._clock.now()
        with self._uow as uow:
            recipient = uow.digest_recipients.get(user_id)
            if recipient is None or not _due(recipient, now):
                return False
            week = digest_week(recipient.timezone, now)
            content = self._content(uow, user_id=user_id, week=week, now=now)
            queued = None
            if not content.is_empty:
                queued = uow.outbox.queue(
                    kind=EmailKind.DIGEST,
                    recipient=recipient.email,
                    payload=digest_payload(recipient=recipient, week=week, content=content),
                    now=now,
                    dedupe_key=digest_dedupe_key(user_id, week),
                )
            uow.digest_weeks.record(user_id=user_id, week=week.key)
            uow.commit()
        if queued is None:
            return False
        self._emails.hand_off(queued)
        logger.info("digest queued", extra={"digest_user_id": user_id, "week": week.key})
        return True

    def send_digests(self, user_ids: Sequence[str]) -> int:
        """Each account's digest in turn (a batch of per-account work); how many were queued."""
        return sum(self.send_digest(user_id) for user_id in user_ids)

    def run_pass(self) -> int:
        """Every due account's digest, here and now (no broker); how many were queued."""
        return sum(self.send_digests(batch) for batch in self.due_accounts())

    @staticmethod
    def _content(uow: NoteUnitOfWork, *, user_id: str, week: DigestWeek, now: datetime) -> DigestContent:
        first, last = week.previous_days
        week_notes = list(uow.notes.with_memo_dates_between(user_id=user_id, first=first, last=last))
        years = group_by_years_ago(
            RememberingService.notes_on_this_day(uow, actor_id=user_id, target=week.monday), target=week.monday
        )
        return DigestContent(
            week_notes=week_notes,
            on_this_day=[(year.years_ago, note) for year in years for note in year.notes],
            due_count=uow.schedules.count_due(user_id=user_id, now=now),
        )


def _due(recipient: DigestRecipient, now: datetime) -> bool:
    week = digest_week(recipient.timezone, now)
    return week.is_due(now) and recipient.last_week != week.key


def digest_payload(*, recipient: DigestRecipient, week: DigestWeek, content: DigestContent) -> dict[str, str]:
    """The templates' placeholders: plain text lines (the HTML template escapes them and keeps the lines)."""
    first, last = week.previous_days
    return {
        "name": recipient.name,
        "week": week.key,
        "first_day": format_memo_date(first),
        "last_day": format_memo_date(last),
        "week_notes": "\n".join(_line(note) for note in content.week_notes) or "-",
        "on_this_day": "\n".join(f"{years}y ago · {_line(note)}" for years, note in content.on_this_day) or "-",
        "due_count": str(content.due_count),
    }


def _line(note: Note) -> str:
    tags = f" [{', '.join(note.tags)}]" if note.tags else ""
    return f"{format_memo_date(note.memo_date)} {note.title}{tags}"
