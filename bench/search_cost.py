"""What a search costs on SQLite, and whether FTS5 would pay: a small, bounded timing script.

    .venv/bin/python bench/search_cost.py            # about half a minute on one core

On a scratch SQLite file (migrated to head), one user gets 200 notes and another 10 000 (written as the
repository writes them, folded text included; a third of each user's notes carry the ``common`` tag). For
each, it times the page the API would serve for ``q=common`` (the escaped ``LIKE`` over the user's notes)
and for ``q=common 학습``, and the same single term through an FTS5 trigram index over the same folded text,
with the same user condition. It prints the median of each, in milliseconds, and checks that LIKE and FTS5
found the same notes. docs/search.md records the figures and the choice they led to.
"""

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.pagination import PageRequest  # noqa: E402
from common.ulid_ids import UlidIdGenerator  # noqa: E402
from database.engine import build_engine, build_session_factory  # noqa: E402
from note.domain.note import Note  # noqa: E402
from note.domain.search import NoteSearch  # noqa: E402
from note.infra.db_models import NoteRow, TagRow, note_tags  # noqa: E402
from note.infra.mappers import note_row_values, note_tag_links  # noqa: E402
from note.infra.share_token_cipher import AesGcmShareTokenCipher  # noqa: E402
from note.infra.unit_of_work import SqlAlchemyNoteUnitOfWork  # noqa: E402
from user.infra.db_models import UserRow  # noqa: E402

CIPHER = AesGcmShareTokenCipher("bench-only-secret-that-is-long-enough-0123456789")

REPEATS = 30
CONTENT = "Benchmarks measure; they do not guess. 오늘 배운 것 " * 2
IDS = UlidIdGenerator()


def migrated(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def load_user(engine, notes: int) -> str:
    """A user with ``notes`` notes, tags and their links, written in bulk; its id."""
    user_id = IDS.new_id()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(UserRow.__table__).values(
                id=user_id, name="Bench", email=f"{user_id}@b.example.com", email_key=f"{user_id}@b.example.com",
                password_hash="x", role="USER", token_version=0, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        tag_ids: dict[str, str] = {}
        rows, links = [], []
        for index in range(notes):
            tags = [f"bench-{index % 50}", f"학습-{index % 50}", *(["common"] if index % 3 == 0 else [])]
            moment = now + timedelta(microseconds=index)
            note = Note(id=IDS.new_id(), user_id=user_id, title=f"TIL {index}", content=CONTENT,
                        memo_date=date(2026, 11, 27), tags=tags, created_at=moment, updated_at=moment)  # fmt: skip
            rows.append(note_row_values(note))
            for name in tags:
                tag_ids.setdefault(name, IDS.new_id())
            links += note_tag_links(note, tag_ids)
        tag_rows = [{"id": tag_id, "user_id": user_id, "name": name} for name, tag_id in tag_ids.items()]
        connection.execute(insert(TagRow.__table__), tag_rows)
        connection.execute(insert(NoteRow.__table__), rows)
        connection.execute(insert(note_tags), links)
    return user_id


def median_ms(run: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="til-search-cost-") as work:
        url = f"sqlite:///{Path(work) / 'search.db'}"
        migrated(url)
        engine = build_engine(url)
        sessions = build_session_factory(engine)
        users = {size: load_user(engine, size) for size in (200, 10_000)}
        with engine.begin() as connection:
            connection.execute(text("CREATE VIRTUAL TABLE fts USING fts5(search_text, tokenize='trigram')"))
            connection.execute(text("INSERT INTO fts (rowid, search_text) SELECT rowid, search_text FROM notes"))
        # The index answers first (every note of the table holding the term), the user's notes are kept after.
        fts_page = text(
            "SELECT id FROM notes WHERE rowid IN (SELECT rowid FROM fts WHERE fts MATCH :term)"
            " AND user_id = :user_id ORDER BY created_at DESC, id DESC LIMIT 10"
        )
        fts_count = text(
            "SELECT count(*) FROM notes WHERE rowid IN (SELECT rowid FROM fts WHERE fts MATCH :term)"
            " AND user_id = :user_id"
        )

        def like(user_id: str, q: str) -> list[str]:
            with SqlAlchemyNoteUnitOfWork(
                sessions, IDS, share_cipher=AesGcmShareTokenCipher("bench-only-secret-that-is-long-enough-0123456789")
            ) as uow:
                page = uow.notes.page_for_user(user_id=user_id, page=PageRequest(), search=NoteSearch.parse(q=q))
            return [note.id for note in page.items]

        def fts(user_id: str, term: str) -> list[str]:
            with engine.connect() as connection:
                connection.execute(fts_count, {"term": f'"{term}"', "user_id": user_id}).scalar_one()
                return list(connection.execute(fts_page, {"term": f'"{term}"', "user_id": user_id}).scalars())

        print(f"# SQLite {engine.dialect.server_version_info}, median of {REPEATS}, one page of 10 with its count")
        for size, user_id in users.items():
            assert like(user_id, "common") == fts(user_id, "common"), "LIKE and FTS5 disagree"
            figures = {
                "LIKE q=common": median_ms(partial(like, user_id, "common")),
                "LIKE q=common 학습": median_ms(partial(like, user_id, "common 학습")),
                "FTS5 trigram common": median_ms(partial(fts, user_id, "common")),
            }
            print(f"{size:>6} notes  " + "  ".join(f"{name}: {ms:6.2f} ms" for name, ms in figures.items()))
        engine.dispose()


if __name__ == "__main__":
    main()
