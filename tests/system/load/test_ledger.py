"""The load's verdict (tests/system/load/ledger.py) on made-up histories: it passes a consistent one and names
every kind of disagreement between the database and what the clients were told."""

import pytest

from tests.system.load.ledger import Ledger, StoredNote, Write, check

USER = "01JUSER0000000000000000000"


def ledger_with(*writes: Write, deleted_at: int | None = None, note_id: str = "n1") -> Ledger:
    ledger = Ledger(user_ids={USER})
    first, *rest = writes
    ledger.created(note_id=note_id, user_id=USER, write=first)
    for write in rest:
        ledger.wrote(note_id, write)
    if deleted_at is not None:
        ledger.deleted(note_id, version=deleted_at)
    return ledger


CREATED = Write(version=1, based_on=None, content="c1", client=0)
SECOND = Write(version=2, based_on=1, content="c2", client=1)
THIRD = Write(version=3, based_on=2, content="c3", client=2)


def stored(version: int, content: str) -> dict[str, StoredNote]:
    return {"n1": StoredNote(user_id=USER, version=version, content=content)}


def test_a_consistent_history_passes() -> None:
    assert check(ledger_with(CREATED, SECOND, THIRD), stored(3, "c3")) == []
    assert check(ledger_with(CREATED, SECOND, deleted_at=2), {}) == []


@pytest.mark.parametrize(
    ("ledger", "database", "found"),
    [
        pytest.param(
            ledger_with(CREATED, SECOND, Write(version=2, based_on=1, content="c2b", client=3)),
            stored(2, "c2b"),
            "several writes succeeded on the same version [1]",
            id="two-writes-on-one-version",
        ),
        pytest.param(
            ledger_with(CREATED, SECOND, THIRD), stored(3, "c2"), "a lost update", id="database-holds-another-write"
        ),
        pytest.param(
            ledger_with(CREATED, SECOND), stored(3, "c9"), "the database holds version 3", id="a-write-nobody-knew-of"
        ),
        pytest.param(
            ledger_with(CREATED, Write(version=3, based_on=1, content="c3", client=1)),
            stored(3, "c3"),
            "a write based on version 1 answered version 3",
            id="version-skipped",
        ),
        pytest.param(ledger_with(CREATED, THIRD), stored(3, "c3"), "not 1, 2, 3", id="gap-in-the-versions"),
        pytest.param(ledger_with(CREATED), {}, "told created (201), not in the database", id="created-but-missing"),
        pytest.param(
            ledger_with(CREATED, deleted_at=1), stored(1, "c1"), "told deleted (204), still", id="deleted-but-there"
        ),
        pytest.param(
            ledger_with(CREATED, SECOND, deleted_at=1), {}, "deleted at version 1, but version 2", id="stale-delete"
        ),
        pytest.param(
            ledger_with(CREATED),
            {**stored(1, "c1"), "n2": StoredNote(user_id=USER, version=1, content="?")},
            "no client was told were created",
            id="phantom-note",
        ),
    ],
)
def test_every_disagreement_is_reported(ledger: Ledger, database: dict[str, StoredNote], found: str) -> None:
    problems = check(ledger, database)

    assert any(found in problem for problem in problems), problems


def test_a_note_whose_answer_was_lost_is_not_judged() -> None:
    ledger = ledger_with(CREATED, SECOND)
    ledger.lost_answer("n1")

    assert check(ledger, stored(3, "unknown")) == []
