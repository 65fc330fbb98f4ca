"""The only code that turns outbox rows into entities and back."""

import json

from mail.domain.outbox_email import EmailKind, EmailStatus, OutboxEmail
from mail.infra.db_models import OutboxEmailRow


def outbox_email_from_row(row: OutboxEmailRow) -> OutboxEmail:
    return OutboxEmail(
        id=row.id,
        recipient=row.recipient,
        kind=EmailKind(row.kind),
        payload=json.loads(row.payload),
        status=EmailStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        claimed_by=row.claimed_by,
        sent_at=row.sent_at,
        last_error=row.last_error,
        dedupe_key=row.dedupe_key,
        created_at=row.created_at,
    )


def outbox_email_to_row(email: OutboxEmail, row: OutboxEmailRow | None = None) -> OutboxEmailRow:
    row = row or OutboxEmailRow(id=email.id, created_at=email.created_at)
    row.recipient = email.recipient
    row.kind = email.kind.value
    row.payload = json.dumps(email.payload, ensure_ascii=False, sort_keys=True)
    row.status = email.status.value
    row.attempts = email.attempts
    row.next_attempt_at = email.next_attempt_at
    row.claimed_by = email.claimed_by
    row.sent_at = email.sent_at
    row.last_error = email.last_error
    row.dedupe_key = email.dedupe_key
    return row
