"""What the load's clients were told, and the checks of it against what the database holds.

Every note a client created, every successful ``If-Match`` write to it and
its deletion are recorded as the clients saw them (status and ``ETag``). The
checks need nothing else:

- every note a client was told was created (201) is in the database, unless a
  client was told it was deleted (204); every note told deleted is gone; the
  database holds no note of the load's accounts that no client was told about;
- no lost update: each successful write's new version is exactly one more than
  the version its ``If-Match`` named, no two successful writes were based on
  the same version, the versions of a note are 1, 2, 3, … with no gap (no write
  that nobody was told about), and the database holds the version and the
  content of the last write — the one with the highest version, which is the
  last one whatever the clients' clocks say;
- a deletion was based on the note's last version (a write after it would
  have been refused 404, a write before it makes the deletion's ``If-Match``
  stale: 412).

A write whose answer never came (a transport error) cannot be checked this
way; its note is reported as uncertain, and the load counts the error itself
as a failure.
"""

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Write:
    """A write that a client was told succeeded: a creation (``based_on`` None) or an ``If-Match`` PUT."""

    version: int  # from the answer's ETag
    based_on: int | None  # the version its If-Match named
    content: str  # unique to this write
    client: int


@dataclass
class NoteHistory:
    note_id: str
    user_id: str
    writes: list[Write] = field(default_factory=list)
    deleted_at: int | None = None  # the If-Match version of the deletion a client was told succeeded (204)
    uncertain: bool = False  # a write or a deletion whose answer never came

    @property
    def last(self) -> Write:
        return max(self.writes, key=lambda write: write.version)


@dataclass(frozen=True)
class StoredNote:
    user_id: str
    version: int
    content: str


@dataclass
class Ledger:
    notes: dict[str, NoteHistory] = field(default_factory=dict)
    user_ids: set[str] = field(default_factory=set)

    def created(self, *, note_id: str, user_id: str, write: Write) -> None:
        self.notes[note_id] = NoteHistory(note_id=note_id, user_id=user_id, writes=[write])

    def wrote(self, note_id: str, write: Write) -> None:
        self.notes[note_id].writes.append(write)

    def deleted(self, note_id: str, *, version: int) -> None:
        self.notes[note_id].deleted_at = version

    def lost_answer(self, note_id: str) -> None:
        if note_id in self.notes:
            self.notes[note_id].uncertain = True

    def successful_updates(self) -> int:
        return sum(len(history.writes) - 1 for history in self.notes.values())


def check(ledger: Ledger, stored: dict[str, StoredNote]) -> list[str]:
    """Every way the database disagrees with what the clients were told. ``stored``: every note of
    ``ledger.user_ids`` in the database, by id."""
    problems: list[str] = []
    for note_id, history in ledger.notes.items():
        if history.uncertain:
            continue
        problems += _check_versions(history)
        row = stored.get(note_id)
        if history.deleted_at is not None:
            if row is not None:
                problems.append(f"{note_id}: told deleted (204), still in the database")
            last = history.last.version
            if history.deleted_at != last:
                problems.append(f"{note_id}: deleted at version {history.deleted_at}, but version {last} was written")
            continue
        if row is None:
            problems.append(f"{note_id}: told created (201), not in the database")
            continue
        last_write = history.last
        if row.user_id != history.user_id:
            problems.append(f"{note_id}: belongs to {row.user_id} in the database, created by {history.user_id}")
        if row.version != last_write.version:
            problems.append(
                f"{note_id}: the database holds version {row.version}; the last write clients were told of "
                f"made version {last_write.version}"
            )
        elif row.content != last_write.content:
            problems.append(
                f"{note_id}: version {row.version} holds {row.content[:40]!r}, not what client "
                f"{last_write.client} was told it wrote ({last_write.content[:40]!r}): a lost update"
            )
    told = set(ledger.notes)
    phantoms = sorted(set(stored) - told)
    if phantoms:
        problems.append(f"{len(phantoms)} notes in the database that no client was told were created: {phantoms[:5]}")
    return problems


def _check_versions(history: NoteHistory) -> list[str]:
    problems = []
    creation, *updates = history.writes
    if creation.based_on is not None or creation.version != 1:
        problems.append(f"{history.note_id}: created at version {creation.version}, not 1")
    for write in updates:
        if write.based_on is None or write.version != write.based_on + 1:
            problems.append(
                f"{history.note_id}: a write based on version {write.based_on} answered version {write.version}"
            )
    twice = sorted(version for version, count in Counter(w.based_on for w in updates).items() if count > 1)
    if twice:
        problems.append(f"{history.note_id}: several writes succeeded on the same version {twice}: a lost update")
    versions = sorted(write.version for write in history.writes)
    if versions != list(range(1, len(versions) + 1)):
        problems.append(f"{history.note_id}: the versions written are {versions}, not 1, 2, 3, …")
    return problems
